//! The codec: bytes ⇄ structures for every structure of the draft, strict on input and
//! canonical on output. Nothing else in the project reads or writes wire bytes.
//!
//! One file per draft section (`key_packages`, `sending`, `welcome`, `receiving`,
//! `external_joins`), the error body (`errors`), the DS view of MLS (`mls`), and the strict
//! cursor underneath (`reader`). `STRUCTURES` names every structure for the CLI, the codec
//! vectors and the fuzz targets.

pub mod bytes;
pub mod errors;
pub mod external_joins;
pub mod key_packages;
pub mod mls;
pub mod reader;
pub mod receiving;
pub mod sending;
pub mod welcome;

pub use bytes::{Bytes, PartitionKey};
pub use errors::{DsError, ErrorCode};
pub use external_joins::{ExternalJoinRequest, GroupInfoRequest, GroupInfoResponse, RatchetTree};
pub use key_packages::{
    KeyPackageBundleRequest, KeyPackageBundleResponse, KeyPackageRequest, KeyPackageResponse,
    KeyPackageResult,
};
pub use mls::{ContentType, MlsMessage, MlsView, ProposalView, SenderType, WireFormat};
pub use reader::{DecodeError, Reader, Reason, Writer};
pub use receiving::{
    Epoch, HintedEpoch, Message, MessageCommitData, ReceiveRequest, ReceiveResponse,
};
pub use sending::{CommitData, SendRequest, ServiceProviderId, WelcomeData};
pub use welcome::{WelcomeInitRequest, WelcomeInitResponse};

use serde::{de::DeserializeOwned, Serialize};

/// A top-level wire structure.
pub trait Wire: Sized + Serialize + DeserializeOwned {
    /// The kebab-case name used by the CLI, the vectors and the fuzz targets.
    const NAME: &'static str;

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    fn write(&self, w: &mut Writer);

    /// Rules JSON can break but decoded bytes cannot (the `select` on content type).
    fn check(&self) -> Result<(), &'static str> {
        Ok(())
    }

    /// Decodes exactly one value: trailing bytes are an error.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::read(&mut r)?;
        r.finish()?;
        Ok(value)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write(&mut w);
        w.out
    }

    /// The JSON the CLI prints for a decoded value.
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("codec structures serialize to JSON")
    }
}

impl Wire for MlsMessage {
    const NAME: &'static str = "mls-message";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        MlsMessage::read(r)
    }

    fn write(&self, w: &mut Writer) {
        MlsMessage::write(self, w)
    }

    /// A top-level MLSMessage prints as its DS view alone (the keys `decode mls-message`
    /// promises); embedded ones also carry `hex`.
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.view).expect("the DS view serializes to JSON")
    }
}

/// `ProtocolVersion`: only `mls10` (1) is accepted.
pub(crate) fn read_version(r: &mut Reader<'_>, field: &'static str) -> Result<u16, DecodeError> {
    let start = r.offset();
    match r.u16(field)? {
        1 => Ok(1),
        version => Err(r.error_at(start, Reason::UnsupportedVersion { field, version })),
    }
}

/// Reads an embedded MLSMessage that must have one wire format (the draft's `// Welcome`,
/// `// GroupInfo` annotations).
pub(crate) fn read_mls_of(
    r: &mut Reader<'_>,
    field: &'static str,
    expected: WireFormat,
) -> Result<MlsMessage, DecodeError> {
    read_mls_among(r, field, &[expected])
}

pub(crate) fn read_mls_among(
    r: &mut Reader<'_>,
    field: &'static str,
    allowed: &[WireFormat],
) -> Result<MlsMessage, DecodeError> {
    let start = r.offset();
    let msg = MlsMessage::read(r)?;
    if allowed.contains(&msg.view.wire_format) {
        Ok(msg)
    } else {
        Err(r.error_at(
            start,
            Reason::Invalid {
                field,
                rule: wire_format_rule(allowed),
            },
        ))
    }
}

fn wire_format_rule(allowed: &[WireFormat]) -> &'static str {
    match allowed {
        [WireFormat::KeyPackage] => "must be an MLSMessage with wire format key_package",
        [WireFormat::Welcome] => "must be an MLSMessage with wire format welcome",
        [WireFormat::GroupInfo] => "must be an MLSMessage with wire format group_info",
        [WireFormat::PublicMessage] => "must be an MLSMessage with wire format public_message",
        _ => "must be an MLSMessage with wire format public_message or private_message",
    }
}

/// One structure the CLI, the codec vectors and the fuzz targets can name.
pub struct Structure {
    pub name: &'static str,
    /// Strict decode, then the JSON of the value.
    pub decode: fn(&[u8]) -> Result<serde_json::Value, DecodeError>,
    /// JSON to canonical bytes; the bytes are decoded again so only valid encodings leave.
    pub encode: fn(serde_json::Value) -> Result<Vec<u8>, String>,
}

fn structure<T: Wire>() -> Structure {
    Structure {
        name: T::NAME,
        decode: |bytes| T::from_bytes(bytes).map(|v| v.to_json()),
        encode: |json| {
            let value: T = serde_json::from_value(json).map_err(|e| format!("{}: {e}", T::NAME))?;
            value
                .check()
                .map_err(|rule| format!("{}: {rule}", T::NAME))?;
            let bytes = value.to_bytes();
            T::from_bytes(&bytes)
                .map_err(|e| format!("{}: encoding does not decode again, {e}", T::NAME))?;
            Ok(bytes)
        },
    }
}

/// Every structure, by name: the draft's, the ones our errata add, and `mls-message`.
pub fn structures() -> Vec<Structure> {
    vec![
        structure::<MlsMessage>(),
        structure::<KeyPackageRequest>(),
        structure::<KeyPackageResponse>(),
        structure::<KeyPackageBundleRequest>(),
        structure::<KeyPackageResult>(),
        structure::<KeyPackageBundleResponse>(),
        structure::<CommitData>(),
        structure::<SendRequest>(),
        structure::<WelcomeInitRequest>(),
        structure::<WelcomeInitResponse>(),
        structure::<ReceiveRequest>(),
        structure::<Message>(),
        structure::<Epoch>(),
        structure::<HintedEpoch>(),
        structure::<ReceiveResponse>(),
        structure::<ExternalJoinRequest>(),
        structure::<GroupInfoRequest>(),
        structure::<GroupInfoResponse>(),
        structure::<DsError>(),
    ]
}

pub fn find_structure(name: &str) -> Option<Structure> {
    structures().into_iter().find(|s| s.name == name)
}
