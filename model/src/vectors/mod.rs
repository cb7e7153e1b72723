//! Test vectors, generated from the codec and the model: the data other implementations
//! consume. This module builds and checks them in memory; the harness reads and writes files.

pub mod cast;
pub mod codec;
pub mod samples;
pub mod trace;

/// The draft revision every vector file names.
pub const DRAFT: &str = "draft-mcmillion-mimi-delivery-service-latest";

/// The version of the vector file formats (codec, trace and the manifest listing them):
/// raised whenever a field is added, removed or changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// `valid` | `invalid` | `acceptable`, as in Wycheproof.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
    Acceptable,
}
