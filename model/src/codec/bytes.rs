//! Byte strings that read as hex in JSON, and the fixed and derived keys of the draft.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An owned byte string; hex in JSON and in `Debug`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Self {
        Bytes(b.to_vec())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Self {
        Bytes(b)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text)
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("bad hex {text:?}: {e}")))
    }
}

/// A partition key: exactly 16 bytes exported from the MLS key schedule
/// (errata `errata/partition-key-encoding`, `errata/partition-key-exporter`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PartitionKey(pub [u8; 16]);

impl PartitionKey {
    pub const LEN: usize = 16;

    /// The masked form used in `Message.next_partition_key` and `HintedEpoch`:
    /// SHA-256 of the raw key, unsalted (errata `errata/masked-partition-key-hash`).
    pub fn masked(&self) -> Bytes {
        use sha2::{Digest, Sha256};
        Bytes(Sha256::digest(self.0).to_vec())
    }
}

impl fmt::Debug for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(self.0))
    }
}

impl Serialize for PartitionKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for PartitionKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Bytes(raw) = Bytes::deserialize(d)?;
        let key: [u8; 16] = raw.as_slice().try_into().map_err(|_| {
            serde::de::Error::custom(format!("a partition key is 16 bytes, got {}", raw.len()))
        })?;
        Ok(PartitionKey(key))
    }
}

impl schemars::JsonSchema for Bytes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HexBytes".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9a-f]{2})*$",
            "description": "bytes as lowercase hex"
        })
    }
}

impl schemars::JsonSchema for PartitionKey {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PartitionKey".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{32}$",
            "description": "a 16-byte partition key as lowercase hex"
        })
    }
}
