//! Draft §"Endpoints / External Joins": ExternalJoinRequest and the GroupInfo request and
//! response.

use super::bytes::Bytes;
use super::mls::{read_ratchet_tree, MlsMessage, WireFormat};
use super::reader::{DecodeError, Reader, Writer};
use super::sending::CommitData;
use super::{read_mls_of, Wire};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalJoinRequest {
    /// A PublicMessage (the external commit).
    pub message: MlsMessage,
    pub commit_data: CommitData,
}

impl Wire for ExternalJoinRequest {
    const NAME: &'static str = "external-join-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ExternalJoinRequest {
            message: read_mls_of(r, "ExternalJoinRequest.message", WireFormat::PublicMessage)?,
            commit_data: CommitData::read(r)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        self.message.write(w);
        self.commit_data.write(w);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct GroupInfoRequest {
    pub group_id: Bytes,
}

impl Wire for GroupInfoRequest {
    const NAME: &'static str = "group-info-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(GroupInfoRequest {
            group_id: r.opaque("GroupInfoRequest.group_id")?.into(),
        })
    }

    fn write(&self, w: &mut Writer) {
        w.opaque(self.group_id.as_slice());
    }
}

/// `RatchetTree` (RFC 9420 §12.4.3.3): kept as its exact bytes (length prefix included),
/// checked structurally when decoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatchetTree {
    pub hex: Bytes,
}

impl RatchetTree {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        read_ratchet_tree(r)?;
        Ok(RatchetTree {
            hex: r.consumed_since(start).into(),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInfoResponse {
    pub group_info: MlsMessage,
    pub ratchet_tree: Option<RatchetTree>,
}

impl Wire for GroupInfoResponse {
    const NAME: &'static str = "group-info-response";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(GroupInfoResponse {
            group_info: read_mls_of(r, "GroupInfoResponse.group_info", WireFormat::GroupInfo)?,
            ratchet_tree: r.optional("GroupInfoResponse.ratchet_tree", RatchetTree::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        self.group_info.write(w);
        w.optional(self.ratchet_tree.as_ref(), |w, t| w.raw(t.hex.as_slice()));
    }
}
