//! The DS view of MLS messages against outside truth: the 2100 real MLSMessages of the MLS
//! working group's test vectors (`tests/data/mls-messages.json`), each decoded by our strict
//! walk and by openmls 0.9.2, field by field wherever openmls exposes the field; then the
//! negative cases (truncation, bad varints, unknown enum values, trailing bytes).

use std::collections::BTreeMap;

use mimi_ds_model::codec::mls::read_ratchet_tree;
use mimi_ds_model::codec::{
    ContentType, DecodeError, MlsMessage, ProposalView, Reader, Reason, SenderType, WireFormat,
    Writer,
};
use openmls::ciphersuite::hash_ref::make_key_package_ref;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _, VLBytes};
use openmls::prelude::{
    BasicCredential, KeyPackage, KeyPackageIn, MlsMessageBodyIn, MlsMessageIn, ProtocolMessage,
    RatchetTreeIn, Sender, SenderExtensionIndex,
};
use openmls_rust_crypto::RustCrypto;
use sha2::{Digest, Sha256};

/// The vector keys that hold a whole MLSMessage, with the wire format each must have.
const MESSAGE_KEYS: [(&str, WireFormat); 7] = [
    ("mls_welcome", WireFormat::Welcome),
    ("mls_group_info", WireFormat::GroupInfo),
    ("mls_key_package", WireFormat::KeyPackage),
    ("public_message_application", WireFormat::PublicMessage),
    ("public_message_proposal", WireFormat::PublicMessage),
    ("public_message_commit", WireFormat::PublicMessage),
    ("private_message", WireFormat::PrivateMessage),
];

fn vectors() -> Vec<BTreeMap<String, String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/mls-messages.json");
    let text = std::fs::read_to_string(path).expect("vendored MLS vectors");
    serde_json::from_str(&text).expect("vectors are an array of string maps")
}

fn message(vector: &BTreeMap<String, String>, key: &str) -> Vec<u8> {
    hex::decode(&vector[key]).expect("hex")
}

/// How many values of each kind agreed with openmls (or, where noted, another oracle).
#[derive(Default)]
struct Compared(BTreeMap<&'static str, usize>);

impl Compared {
    fn equal<T: PartialEq + std::fmt::Debug>(
        &mut self,
        kind: &'static str,
        context: &str,
        ours: T,
        theirs: T,
    ) {
        assert_eq!(ours, theirs, "{kind} disagrees for {context}");
        *self.0.entry(kind).or_default() += 1;
    }
}

fn openmls_content_type(content_type: openmls::prelude::ContentType) -> ContentType {
    match content_type {
        openmls::prelude::ContentType::Application => ContentType::Application,
        openmls::prelude::ContentType::Proposal => ContentType::Proposal,
        openmls::prelude::ContentType::Commit => ContentType::Commit,
    }
}

/// openmls' `Sender` as our (type, index) pair. `SenderExtensionIndex` hides its number, so
/// an external sender is compared by equality against the index we read.
fn openmls_sender(sender: &Sender, our_index: Option<u32>) -> (SenderType, Option<u32>) {
    match sender {
        Sender::Member(leaf) => (SenderType::Member, Some(leaf.u32())),
        Sender::External(index) => {
            let ours = our_index.expect("an external sender has an index");
            assert_eq!(
                *index,
                SenderExtensionIndex::new(ours),
                "external sender index"
            );
            (SenderType::External, Some(ours))
        }
        Sender::NewMemberProposal => (SenderType::NewMemberProposal, None),
        Sender::NewMemberCommit => (SenderType::NewMemberCommit, None),
    }
}

/// RefHash computed without our code or openmls' hashing: tls_codec's `VLBytes` encoding of
/// `RefHashInput` and sha2 (all the vectors use SHA-256 suites).
fn independent_key_package_ref(key_package: &[u8]) -> Vec<u8> {
    let mut input = VLBytes::new(b"MLS 1.0 KeyPackage Reference".to_vec())
        .tls_serialize_detached()
        .unwrap();
    input.extend(
        VLBytes::new(key_package.to_vec())
            .tls_serialize_detached()
            .unwrap(),
    );
    Sha256::digest(&input).to_vec()
}

#[test]
fn every_vector_message_agrees_with_openmls() {
    let crypto = RustCrypto::default();
    let mut compared = Compared::default();
    let mut messages = 0;
    for (n, vector) in vectors().iter().enumerate() {
        for (key, wire_format) in MESSAGE_KEYS {
            let context = format!("vector {n} {key}");
            let bytes = message(vector, key);
            let ours = MlsMessage::from_bytes(&bytes).unwrap_or_else(|e| panic!("{context}: {e}"));
            messages += 1;
            assert_eq!(
                ours.bytes.as_slice(),
                bytes.as_slice(),
                "{context}: kept bytes"
            );
            let mut reencoded = Writer::default();
            ours.write(&mut reencoded);
            compared.equal(
                "re-encoding",
                &context,
                reencoded.out.as_slice(),
                bytes.as_slice(),
            );
            let view = &ours.view;
            compared.equal("version", &context, view.version, 1);
            compared.equal(
                "wire_format (vector key)",
                &context,
                view.wire_format,
                wire_format,
            );

            let theirs = MlsMessageIn::tls_deserialize_exact(&bytes)
                .unwrap_or_else(|e| panic!("{context}: openmls rejects it: {e:?}"));
            match theirs.extract() {
                MlsMessageBodyIn::PublicMessage(public) => {
                    compared.equal(
                        "wire_format",
                        &context,
                        view.wire_format,
                        WireFormat::PublicMessage,
                    );
                    let sender = openmls_sender(public.sender(), view.sender_index);
                    compared.equal(
                        "sender",
                        &context,
                        (view.sender_type, view.sender_index),
                        (Some(sender.0), sender.1),
                    );
                    compared.equal(
                        "proposals",
                        &context,
                        view.proposals.clone(),
                        openmls_proposals(&public, &crypto),
                    );
                    // The rest through ProtocolMessage, the view a DS is meant to use.
                    let protocol = ProtocolMessage::from(public);
                    compare_protocol_message(&mut compared, &context, view, &protocol);
                }
                MlsMessageBodyIn::PrivateMessage(private) => {
                    compared.equal(
                        "wire_format",
                        &context,
                        view.wire_format,
                        WireFormat::PrivateMessage,
                    );
                    compare_protocol_message(
                        &mut compared,
                        &context,
                        view,
                        &ProtocolMessage::from(private),
                    );
                }
                MlsMessageBodyIn::Welcome(welcome) => {
                    compared.equal(
                        "wire_format",
                        &context,
                        view.wire_format,
                        WireFormat::Welcome,
                    );
                    compared.equal(
                        "cipher_suite",
                        &context,
                        view.cipher_suite,
                        Some(u16::from(welcome.ciphersuite())),
                    );
                    let refs: Vec<Vec<u8>> = welcome
                        .secrets()
                        .iter()
                        .map(|s| s.new_member().as_slice().to_vec())
                        .collect();
                    let ours: Vec<Vec<u8>> = view
                        .new_members
                        .iter()
                        .flatten()
                        .map(|b| b.0.clone())
                        .collect();
                    compared.equal("new_members", &context, ours, refs);
                }
                MlsMessageBodyIn::GroupInfo(group_info) => {
                    compared.equal(
                        "wire_format",
                        &context,
                        view.wire_format,
                        WireFormat::GroupInfo,
                    );
                    compared.equal(
                        "cipher_suite",
                        &context,
                        view.cipher_suite,
                        Some(u16::from(group_info.ciphersuite())),
                    );
                    compared.equal(
                        "group_id",
                        &context,
                        view.group_id.as_ref().map(|g| g.as_slice()),
                        Some(group_info.group_id().as_slice()),
                    );
                    compared.equal(
                        "epoch",
                        &context,
                        view.epoch,
                        Some(group_info.epoch().as_u64()),
                    );
                    compared.equal(
                        "tree_hash",
                        &context,
                        view.tree_hash.as_ref().map(|t| t.as_slice()),
                        Some(group_info.group_context().tree_hash()),
                    );
                    let ratchet_tree = group_info.extensions().ratchet_tree();
                    compared.equal(
                        "has_ratchet_tree",
                        &context,
                        view.has_ratchet_tree,
                        Some(ratchet_tree.is_some()),
                    );
                    if let Some(extension) = ratchet_tree {
                        // Not part of the view, but the same walk the DS uses for RatchetTree.
                        let tree = extension.ratchet_tree().tls_serialize_detached().unwrap();
                        compared.equal(
                            "ratchet_tree node count",
                            &context,
                            read_ratchet_tree_exact(&tree),
                            Ok(openmls_node_count(extension.ratchet_tree())),
                        );
                    }
                }
                MlsMessageBodyIn::KeyPackage(key_package_in) => {
                    compared.equal(
                        "wire_format",
                        &context,
                        view.wire_format,
                        WireFormat::KeyPackage,
                    );
                    compare_key_package(
                        &mut compared,
                        &context,
                        view,
                        &bytes,
                        key_package_in,
                        &crypto,
                    );
                }
            }
        }
    }
    assert_eq!(messages, 2100, "the vectors hold 2100 MLSMessages");
    for (kind, count) in &compared.0 {
        eprintln!("{kind}: {count} values agree");
    }
    for kind in [
        "re-encoding",
        "version",
        "wire_format",
        "wire_format (vector key)",
        "group_id",
        "epoch",
        "content_type",
        "sender",
        "cipher_suite",
        "new_members",
        "tree_hash",
        "has_ratchet_tree",
        "ratchet_tree node count",
        "proposals",
        "key_package_ref",
        "key_package_ref (independent)",
        "identity",
        "last_resort",
    ] {
        assert!(
            compared.0.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} was compared"
        );
    }
}

/// The proposals a DS sees in a PublicMessage, as openmls parsed them. openmls has no public
/// getter for the content, but `PublicMessageIn` serializes with serde, and an Add's
/// `KeyPackage` deserializes from that form, which gives openmls' own `hash_ref`.
fn openmls_proposals(
    public: &openmls::prelude::PublicMessageIn,
    crypto: &RustCrypto,
) -> Vec<ProposalView> {
    let body = serde_json::to_value(public).unwrap()["content"]["body"].clone();
    let (content_type, content) = single_variant(&body);
    match content_type {
        "Application" => vec![],
        "Proposal" => vec![openmls_proposal(content, crypto)],
        "Commit" => content["proposals"]
            .as_array()
            .expect("a commit's proposals")
            .iter()
            .map(|proposal_or_ref| match single_variant(proposal_or_ref) {
                ("Proposal", proposal) => openmls_proposal(proposal, crypto),
                ("Reference", reference) => ProposalView::Reference {
                    proposal_ref: json_bytes(&reference["value"]).into(),
                },
                (other, _) => panic!("unexpected ProposalOrRef {other}"),
            })
            .collect(),
        other => panic!("unexpected content {other}"),
    }
}

fn openmls_proposal(proposal: &serde_json::Value, crypto: &RustCrypto) -> ProposalView {
    match single_variant(proposal) {
        ("Add", add) => {
            let key_package: KeyPackage =
                serde_json::from_value(add["key_package"].clone()).expect("a KeyPackage");
            let credential =
                BasicCredential::try_from(key_package.leaf_node().credential().clone())
                    .expect("a basic credential");
            ProposalView::Add {
                key_package_ref: key_package
                    .hash_ref(crypto)
                    .unwrap()
                    .as_slice()
                    .to_vec()
                    .into(),
                identity: credential.identity().to_vec().into(),
            }
        }
        // The vectors carry only Add proposals; map a new kind's fields before comparing it.
        (other, _) => panic!("the vectors held no {other} proposal until now"),
    }
}

/// serde's form of an enum value: an object with one key, the variant's name.
fn single_variant(value: &serde_json::Value) -> (&str, &serde_json::Value) {
    let object = value.as_object().expect("an enum in serde form");
    assert_eq!(object.len(), 1, "one variant: {value}");
    let (name, inner) = object.iter().next().unwrap();
    (name.as_str(), inner)
}

/// openmls' serde form of `VLBytes`: `{"vec": [bytes]}`.
fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::from_value(value["vec"].clone()).expect("VLBytes in serde form")
}

fn compare_protocol_message(
    compared: &mut Compared,
    context: &str,
    view: &mimi_ds_model::codec::MlsView,
    theirs: &ProtocolMessage,
) {
    compared.equal(
        "group_id",
        context,
        view.group_id.as_ref().map(|g| g.as_slice()),
        Some(theirs.group_id().as_slice()),
    );
    compared.equal("epoch", context, view.epoch, Some(theirs.epoch().as_u64()));
    compared.equal(
        "content_type",
        context,
        view.content_type,
        Some(openmls_content_type(theirs.content_type())),
    );
}

fn compare_key_package(
    compared: &mut Compared,
    context: &str,
    view: &mimi_ds_model::codec::MlsView,
    message_bytes: &[u8],
    theirs: KeyPackageIn,
    crypto: &RustCrypto,
) {
    // The KeyPackage struct follows the 4-byte MLSMessage header (version, wire_format).
    let key_package_bytes = &message_bytes[4..];
    compared.equal(
        "key_package_ref (independent)",
        context,
        view.key_package_ref.as_ref().map(|r| r.0.clone()),
        Some(independent_key_package_ref(key_package_bytes)),
    );
    match view.identity.as_ref() {
        Some(identity) => {
            let credential = BasicCredential::try_from(theirs.unverified_credential().credential)
                .expect("a basic credential");
            compared.equal(
                "identity",
                context,
                identity.as_slice(),
                credential.identity(),
            );
        }
        None => panic!("{context}: the vectors use basic credentials"),
    }
    // openmls reaches suite, ref and last_resort only on a `KeyPackage`, which `validate()`
    // gives after checking a lifetime these old vectors no longer meet. Its serde forms match
    // `KeyPackageIn`'s, so the unchecked conversion goes through serde; `hash_ref` then
    // re-encodes the package, and `make_key_package_ref` hashes the exact wire bytes.
    let key_package: KeyPackage = serde_json::from_value(serde_json::to_value(&theirs).unwrap())
        .expect("KeyPackageIn and KeyPackage share a serde form");
    compared.equal(
        "cipher_suite",
        context,
        view.cipher_suite,
        Some(u16::from(key_package.ciphersuite())),
    );
    let reencoded_ref = key_package.hash_ref(crypto).unwrap();
    let wire_ref =
        make_key_package_ref(key_package_bytes, key_package.ciphersuite(), crypto).unwrap();
    let ours = view.key_package_ref.as_ref().map(|r| r.as_slice());
    compared.equal(
        "key_package_ref",
        context,
        ours,
        Some(reencoded_ref.as_slice()),
    );
    compared.equal("key_package_ref", context, ours, Some(wire_ref.as_slice()));
    compared.equal(
        "last_resort",
        context,
        view.last_resort,
        key_package.last_resort(),
    );
}

fn read_ratchet_tree_exact(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(bytes);
    let count = read_ratchet_tree(&mut r)?;
    r.finish()?;
    Ok(count)
}

/// openmls keeps blank nodes private; its serde form shows every entry (`null` when blank).
fn openmls_node_count(tree: &RatchetTreeIn) -> usize {
    serde_json::to_value(tree)
        .unwrap()
        .as_array()
        .expect("a ratchet tree serializes as an array")
        .len()
}

#[test]
fn vector_ratchet_trees_agree_with_openmls() {
    let mut compared = Compared::default();
    for (n, vector) in vectors().iter().enumerate() {
        let bytes = message(vector, "ratchet_tree");
        let theirs = RatchetTreeIn::tls_deserialize_exact(&bytes).unwrap();
        compared.equal(
            "ratchet_tree node count",
            &format!("vector {n}"),
            read_ratchet_tree_exact(&bytes),
            Ok(openmls_node_count(&theirs)),
        );
    }
    assert_eq!(compared.0["ratchet_tree node count"], 300);
}

// ---- negative cases -------------------------------------------------------------------

fn first(key: &str) -> Vec<u8> {
    message(&vectors()[0], key)
}

fn decode_error(bytes: &[u8]) -> DecodeError {
    match MlsMessage::from_bytes(bytes) {
        Ok(msg) => panic!("decoded although it should not: {:?}", msg.view),
        Err(e) => e,
    }
}

#[test]
fn empty_input_is_truncated_at_the_version() {
    assert_eq!(
        decode_error(&[]),
        DecodeError {
            offset: 0,
            reason: Reason::Truncated {
                field: "MLSMessage.version",
                needed: 2,
                remaining: 0
            }
        }
    );
}

#[test]
fn a_trailing_byte_is_rejected_after_the_message() {
    let mut bytes = first("mls_key_package");
    let end = bytes.len();
    bytes.push(0);
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: end,
            reason: Reason::TrailingBytes { count: 1 }
        }
    );
}

#[test]
fn version_2_is_unsupported() {
    let mut bytes = first("public_message_commit");
    bytes[1] = 2;
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 0,
            reason: Reason::UnsupportedVersion {
                field: "MLSMessage.version",
                version: 2
            }
        }
    );
}

#[test]
fn wire_format_6_is_unknown() {
    let mut bytes = first("public_message_commit");
    bytes[3] = 6;
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 2,
            reason: Reason::UnknownValue {
                field: "MLSMessage.wire_format",
                value: 6
            }
        }
    );
}

/// A public message with its group_id length prefix (at byte 4) replaced by `prefix`.
fn with_group_id_prefix(prefix: &[u8]) -> Vec<u8> {
    let bytes = first("public_message_application");
    let group_id_len = usize::from(bytes[4]);
    assert!(group_id_len < 64, "a one-byte prefix in the vector");
    [&bytes[..4], prefix, &bytes[5..]].concat()
}

#[test]
fn a_non_minimal_varint_is_rejected() {
    let group_id_len = first("public_message_application")[4];
    let bytes = with_group_id_prefix(&[0x40, group_id_len]);
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 4,
            reason: Reason::NonMinimalVarint {
                field: "FramedContent.group_id"
            }
        }
    );
}

#[test]
fn the_reserved_varint_prefix_is_rejected() {
    let bytes = with_group_id_prefix(&[0xc0]);
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 4,
            reason: Reason::ReservedVarintPrefix {
                field: "FramedContent.group_id"
            }
        }
    );
}

#[test]
fn a_huge_length_prefix_on_a_short_input_is_rejected_without_allocating() {
    let bytes = [0x00, 0x01, 0x00, 0x01, 0xbf, 0xff, 0xff, 0xff, 0xaa, 0xbb];
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 8,
            reason: Reason::LengthBeyondInput {
                field: "FramedContent.group_id",
                length: (1 << 30) - 1,
                remaining: 2
            }
        }
    );
}

#[test]
fn every_truncation_of_real_messages_errors_without_panicking() {
    for vector in vectors().iter().take(3) {
        for (key, _) in MESSAGE_KEYS {
            let bytes = message(vector, key);
            for cut in 0..bytes.len() {
                let e = decode_error(&bytes[..cut]);
                assert!(
                    matches!(
                        e.reason,
                        Reason::Truncated { .. } | Reason::LengthBeyondInput { .. }
                    ),
                    "{key} cut at {cut}: {e}"
                );
                assert!(
                    e.offset <= cut,
                    "{key} cut at {cut}: offset {} past the input",
                    e.offset
                );
            }
        }
    }
}

#[test]
fn every_single_byte_corruption_of_real_messages_decodes_or_errors() {
    for (key, _) in MESSAGE_KEYS {
        let bytes = first(key);
        for at in 0..bytes.len() {
            let mut corrupted = bytes.clone();
            corrupted[at] ^= 0xff;
            if let Err(e) = MlsMessage::from_bytes(&corrupted) {
                assert!(e.offset <= corrupted.len(), "{key} byte {at}: {e}");
            }
        }
    }
}

// ---- hand-built messages for the fields the vectors do not reach -------------------------

/// A PublicMessage header from a member with leaf index 3, up to and including content_type.
fn public_message_header(sender: &[u8], content_type: u8) -> Writer {
    let mut w = Writer::default();
    w.u16(1);
    w.u16(1);
    w.opaque(b"group");
    w.u64(7);
    w.raw(sender);
    w.opaque(b"");
    w.u8(content_type);
    w
}

const MEMBER_3: [u8; 5] = [1, 0, 0, 0, 3];

#[test]
fn a_remove_proposal_from_an_external_sender_is_visible() {
    let mut w = public_message_header(&[2, 0, 0, 0, 9], 2);
    w.u16(3);
    w.u32(5);
    w.opaque(b"signature");
    let msg = MlsMessage::from_bytes(&w.out).unwrap();
    assert_eq!(msg.view.sender_type, Some(SenderType::External));
    assert_eq!(msg.view.sender_index, Some(9));
    assert_eq!(
        msg.view.proposals,
        vec![ProposalView::Remove { removed: 5 }]
    );
}

#[test]
fn a_commit_lists_its_proposals_by_value_and_by_reference() {
    let mut w = public_message_header(&MEMBER_3, 3);
    w.vector(|p| {
        p.u8(1);
        p.u16(7);
        p.vector(|e| {
            e.u16(0xff00);
            e.opaque(b"ban list");
        });
        p.u8(2);
        p.opaque(b"ref");
    });
    w.u8(0);
    w.opaque(b"signature");
    w.opaque(b"confirmation");
    w.opaque(b"membership");
    let msg = MlsMessage::from_bytes(&w.out).unwrap();
    assert_eq!(
        msg.view.proposals,
        vec![
            ProposalView::GroupContextExtensions {
                extensions: vec![(0xff00, b"ban list".to_vec().into())]
            },
            ProposalView::Reference {
                proposal_ref: b"ref".to_vec().into()
            },
        ]
    );
}

#[test]
fn a_commit_path_presence_byte_other_than_0_or_1_is_rejected() {
    let mut w = public_message_header(&MEMBER_3, 3);
    w.vector(|_| {});
    let at = w.out.len();
    w.u8(2);
    assert_eq!(
        decode_error(&w.out),
        DecodeError {
            offset: at,
            reason: Reason::BadOptionalTag {
                field: "Commit.path",
                tag: 2
            }
        }
    );
}

fn assert_unknown(bytes: &[u8], offset: usize, field: &'static str, value: u64) {
    assert_eq!(
        decode_error(bytes),
        DecodeError {
            offset,
            reason: Reason::UnknownValue { field, value }
        },
        "{field}"
    );
}

/// Where the sender starts in `public_message_header`: version, wire format, group_id, epoch.
const SENDER_OFFSET: usize = 2 + 2 + 6 + 8;

#[test]
fn unknown_enum_values_are_rejected_where_they_stand() {
    // The header goes on past the bad sender type; the error stands at the sender.
    let w = public_message_header(&[5], 1);
    assert_unknown(&w.out, SENDER_OFFSET, "Sender.sender_type", 5);

    let w = public_message_header(&MEMBER_3, 4);
    assert_unknown(&w.out, w.out.len() - 1, "FramedContent.content_type", 4);

    let mut w = public_message_header(&MEMBER_3, 2);
    let at = w.out.len();
    w.u16(8);
    assert_unknown(&w.out, at, "Proposal.proposal_type", 8);

    let mut w = public_message_header(&MEMBER_3, 3);
    let at = w.out.len() + 1;
    w.vector(|p| p.u8(3));
    assert_unknown(&w.out, at, "ProposalOrRef.type", 3);
}

#[test]
fn a_key_package_of_an_unknown_suite_or_version_is_rejected() {
    let mut bytes = first("mls_key_package");
    bytes[7] = 0x40;
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 6,
            reason: Reason::UnknownValue {
                field: "KeyPackage.cipher_suite",
                value: 0x40
            }
        }
    );
    let mut bytes = first("mls_key_package");
    bytes[5] = 2;
    assert_eq!(
        decode_error(&bytes),
        DecodeError {
            offset: 4,
            reason: Reason::UnsupportedVersion {
                field: "KeyPackage.version",
                version: 2
            }
        }
    );
}

#[test]
fn an_odd_length_list_of_unmerged_leaves_is_truncated() {
    let mut w = Writer::default();
    w.vector(|t| {
        t.u8(1);
        t.u8(2);
        t.opaque(b"key");
        t.opaque(b"");
        t.opaque(&[0, 0, 0, 1, 0]);
    });
    let e = read_ratchet_tree_exact(&w.out).unwrap_err();
    assert!(
        matches!(
            e.reason,
            Reason::Truncated {
                field: "ParentNode.unmerged_leaves",
                needed: 4,
                remaining: 1
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset, w.out.len() - 1);
}
