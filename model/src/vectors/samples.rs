//! Real MLS messages the codec vectors embed: object 0 of the MLS working group's
//! `messages.json` (mlswg/mls-implementations, copied unchanged into `mls_samples.json`).

use crate::codec::{Bytes, MlsMessage};

#[derive(serde::Deserialize)]
struct SampleFile {
    welcome: Bytes,
    group_info: Bytes,
    key_package: Bytes,
    public_application: Bytes,
    public_proposal: Bytes,
    public_commit: Bytes,
    private_message: Bytes,
    ratchet_tree: Bytes,
}

/// One MLSMessage of each kind the draft's structures embed, plus a RatchetTree encoding.
pub struct Samples {
    pub welcome: MlsMessage,
    pub group_info: MlsMessage,
    pub key_package: MlsMessage,
    pub public_application: MlsMessage,
    pub public_proposal: MlsMessage,
    pub public_commit: MlsMessage,
    pub private_message: MlsMessage,
    /// `optional<Node> ratchet_tree<V>` with its length prefix.
    pub ratchet_tree: Bytes,
}

impl Samples {
    pub fn load() -> Samples {
        let file: SampleFile = serde_json::from_str(include_str!("mls_samples.json"))
            .expect("mls_samples.json is valid JSON of hex strings");
        let parse = |b: &Bytes| {
            MlsMessage::from_bytes(b.as_slice())
                .expect("every MLS sample decodes (tested against openmls)")
        };
        Samples {
            welcome: parse(&file.welcome),
            group_info: parse(&file.group_info),
            key_package: parse(&file.key_package),
            public_application: parse(&file.public_application),
            public_proposal: parse(&file.public_proposal),
            public_commit: parse(&file.public_commit),
            private_message: parse(&file.private_message),
            ratchet_tree: file.ratchet_tree,
        }
    }
}
