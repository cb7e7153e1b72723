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
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PartitionKey(pub [u8; 16]);

/// The bytes' lexicographic order, compared as one big-endian number: the same order as the
/// arrays', without a call to `memcmp` on every step of a lookup in the hub's maps.
impl Ord for PartitionKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl PartialOrd for PartitionKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

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

#[cfg(test)]
mod tests {
    use super::PartitionKey;
    use proptest::prelude::*;

    proptest! {
        /// Comparing keys as numbers orders them as their bytes, which the hub's maps (and
        /// everything that lists them in order) rely on.
        #[test]
        fn partition_keys_order_as_their_bytes(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), at in 0..16usize) {
            prop_assert_eq!(PartitionKey(a).cmp(&PartitionKey(b)), a.cmp(&b));
            // Keys equal up to one byte, where random ones rarely are.
            let mut near = a;
            near[at] = b[at];
            prop_assert_eq!(PartitionKey(a).cmp(&PartitionKey(near)), a.cmp(&near));
        }
    }
}
