//! Draft §"Endpoints / Receiving Messages": ReceiveRequest and the ReceiveResponse of epochs
//! and hints.

use super::bytes::{Bytes, PartitionKey};
use super::mls::{MlsMessage, WireFormat};
use super::reader::{DecodeError, Reader, Writer};
use super::sending::{commit_data_matches, read_partition_key};
use super::{read_mls_among, read_mls_of, Wire};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    pub partition_key: PartitionKey,
    /// How many messages of this partition the follower already has.
    pub counter: u32,
}

impl Wire for ReceiveRequest {
    const NAME: &'static str = "receive-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReceiveRequest {
            partition_key: read_partition_key(r, "ReceiveRequest.partition_key")?,
            counter: r.u32("ReceiveRequest.counter")?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.partition_key(&self.partition_key.0);
        w.u32(self.counter);
    }
}

/// What follows a commit in a `Message` (the draft's `select`, commit only per errata
/// `errata/select-commit-only`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageCommitData {
    /// `MaskedPartitionKey` = SHA-256(next partition key) (errata
    /// `errata/masked-partition-key-hash`).
    pub next_partition_key: Bytes,
    pub group_info: Option<MlsMessage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// A PublicMessage or PrivateMessage.
    pub message: MlsMessage,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub commit: Option<MessageCommitData>,
}

impl Wire for Message {
    const NAME: &'static str = "message";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let message = read_mls_among(
            r,
            "Message.message",
            &[WireFormat::PublicMessage, WireFormat::PrivateMessage],
        )?;
        let commit = if commit_data_matches(&message, true).is_ok() {
            Some(MessageCommitData {
                next_partition_key: r.opaque("Message.next_partition_key")?.into(),
                group_info: r.optional("Message.group_info", |r| {
                    read_mls_of(r, "Message.group_info", WireFormat::GroupInfo)
                })?,
            })
        } else {
            None
        };
        Ok(Message { message, commit })
    }

    fn write(&self, w: &mut Writer) {
        self.message.write(w);
        if let Some(c) = &self.commit {
            w.opaque(c.next_partition_key.as_slice());
            w.optional(c.group_info.as_ref(), |w, g| g.write(w));
        }
    }

    fn check(&self) -> Result<(), &'static str> {
        commit_data_matches(&self.message, self.commit.is_some())
    }
}

#[derive(
    Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Epoch {
    /// In sequencing order.
    pub messages: Vec<Message>,
}

impl Wire for Epoch {
    const NAME: &'static str = "epoch";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Epoch {
            messages: r.vector("Epoch.messages", Message::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.vector(|w| self.messages.iter().for_each(|m| m.write(w)));
    }

    fn check(&self) -> Result<(), &'static str> {
        self.messages.iter().try_for_each(Message::check)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HintedEpoch {
    pub masked_partition_key: Bytes,
    pub epoch: Epoch,
}

impl Wire for HintedEpoch {
    const NAME: &'static str = "hinted-epoch";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(HintedEpoch {
            masked_partition_key: r.opaque("HintedEpoch.masked_partition_key")?.into(),
            epoch: Epoch::read(r)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.opaque(self.masked_partition_key.as_slice());
        self.epoch.write(w);
    }

    fn check(&self) -> Result<(), &'static str> {
        self.epoch.check()
    }
}

#[derive(
    Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ReceiveResponse {
    pub epoch: Epoch,
    pub hints: Vec<HintedEpoch>,
}

impl Wire for ReceiveResponse {
    const NAME: &'static str = "receive-response";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReceiveResponse {
            epoch: Epoch::read(r)?,
            hints: r.vector("ReceiveResponse.hints", HintedEpoch::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        self.epoch.write(w);
        w.vector(|w| self.hints.iter().for_each(|h| h.write(w)));
    }

    fn check(&self) -> Result<(), &'static str> {
        self.epoch.check()?;
        self.hints.iter().try_for_each(HintedEpoch::check)
    }
}
