//! What a Delivery Service sees of an MLS message without keys (RFC 9420): the DS view.
//!
//! The draft embeds `MLSMessage` values without a length prefix, so finding where one ends
//! means walking its whole structure; this module owns that walk and keeps what a DS may
//! act on (routing fields, Welcome recipients, GroupInfo tree hash, KeyPackageRef, and the
//! proposals visible in a PublicMessage for negative policy).

use super::bytes::Bytes;
use super::read_version;
use super::reader::{DecodeError, Reader, Reason, Writer, MAX_VARINT};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// `WireFormat` (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireFormat {
    PublicMessage,
    PrivateMessage,
    Welcome,
    GroupInfo,
    KeyPackage,
}

/// `ContentType` (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Application,
    Proposal,
    Commit,
}

/// `SenderType` (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    Member,
    External,
    NewMemberProposal,
    NewMemberCommit,
}

/// A proposal as a DS sees it in a PublicMessage (by value, or by reference in a commit).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ProposalView {
    /// An Add: the added KeyPackage's reference and its credential identity (basic
    /// credentials; empty for other credential types).
    Add {
        key_package_ref: Bytes,
        identity: Bytes,
    },
    Update,
    Remove {
        removed: u32,
    },
    PreSharedKey,
    ReInit,
    ExternalInit,
    /// GroupContextExtensions: each extension's type and data (group metadata, e.g. a ban list).
    GroupContextExtensions {
        extensions: Vec<(u16, Bytes)>,
    },
    /// A commit's ProposalOrRef by reference.
    Reference {
        proposal_ref: Bytes,
    },
}

/// The DS view of one MLSMessage. The fields a wire format does not carry are `None` and are
/// left out of JSON, so `decode mls-message` prints exactly the keys that format has.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MlsView {
    pub version: u16,
    pub wire_format: WireFormat,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub group_id: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub epoch: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_type: Option<ContentType>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sender_type: Option<SenderType>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sender_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cipher_suite: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub new_members: Option<Vec<Bytes>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tree_hash: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub has_ratchet_tree: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_package_ref: Option<Bytes>,
    /// Proposals visible to the DS (PublicMessage proposal or commit); not part of the
    /// `decode` JSON, used by the model's negative policy.
    #[serde(skip)]
    pub proposals: Vec<ProposalView>,
    /// A KeyPackage carrying the `last_resort` extension (type 0x000a).
    #[serde(skip)]
    pub last_resort: bool,
    /// A KeyPackage's credential identity (basic credential), for routing uploads to users.
    #[serde(skip)]
    pub identity: Option<Bytes>,
}

/// Reads one MLSMessage and returns its DS view; `r` ends just past the message.
///
/// The walk is complete: every field of every wire format is read (an MLSMessage carries no
/// outer length, so a field skipped would misplace the end), enum values the structure
/// depends on must be known, and each error names the RFC 9420 field where it was found.
pub fn read_mls_message(r: &mut Reader<'_>) -> Result<MlsView, DecodeError> {
    let version = read_version(r, "MLSMessage.version")?;
    let wire_format = read_wire_format(r)?;
    let mut view = MlsView::empty(version, wire_format);
    match wire_format {
        WireFormat::PublicMessage => read_public_message(r, &mut view)?,
        WireFormat::PrivateMessage => read_private_message(r, &mut view)?,
        WireFormat::Welcome => read_welcome(r, &mut view)?,
        WireFormat::GroupInfo => read_group_info(r, &mut view)?,
        WireFormat::KeyPackage => {
            let key_package = read_key_package(r)?;
            view.cipher_suite = Some(key_package.cipher_suite);
            view.key_package_ref = Some(key_package.key_package_ref);
            view.last_resort = key_package.last_resort;
            view.identity = key_package.basic_identity;
        }
    }
    Ok(view)
}

/// Reads a `RatchetTree` (`optional<Node> ratchet_tree<V>`, RFC 9420 §12.4.3.3) strictly and
/// returns its node count.
pub fn read_ratchet_tree(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let mut nodes = 0;
    r.each("ratchet_tree", |r| {
        nodes += 1;
        r.optional("ratchet_tree.node", read_node).map(drop)
    })?;
    Ok(nodes)
}

impl MlsView {
    /// A view with only the header fields set; the walk fills in what the format carries.
    pub fn empty(version: u16, wire_format: WireFormat) -> Self {
        MlsView {
            version,
            wire_format,
            group_id: None,
            epoch: None,
            content_type: None,
            sender_type: None,
            sender_index: None,
            cipher_suite: None,
            new_members: None,
            tree_hash: None,
            has_ratchet_tree: None,
            key_package_ref: None,
            proposals: Vec::new(),
            last_resort: false,
            identity: None,
        }
    }
}

/// `ExtensionType` ratchet_tree (RFC 9420 §17.3).
const EXTENSION_RATCHET_TREE: u16 = 0x0002;
/// `ExtensionType` last_resort (RFC 9420 §17.3).
const EXTENSION_LAST_RESORT: u16 = 0x000a;
/// The RefHash label of a KeyPackageRef (RFC 9420 §5.2).
const KEY_PACKAGE_REF_LABEL: &[u8] = b"MLS 1.0 KeyPackage Reference";

fn unknown(
    r: &Reader<'_>,
    start: usize,
    field: &'static str,
    value: impl Into<u64>,
) -> DecodeError {
    r.error_at(
        start,
        Reason::UnknownValue {
            field,
            value: value.into(),
        },
    )
}

fn read_wire_format(r: &mut Reader<'_>) -> Result<WireFormat, DecodeError> {
    const FIELD: &str = "MLSMessage.wire_format";
    let start = r.offset();
    Ok(match r.u16(FIELD)? {
        1 => WireFormat::PublicMessage,
        2 => WireFormat::PrivateMessage,
        3 => WireFormat::Welcome,
        4 => WireFormat::GroupInfo,
        5 => WireFormat::KeyPackage,
        other => return Err(unknown(r, start, FIELD, other)),
    })
}

fn read_content_type(r: &mut Reader<'_>, field: &'static str) -> Result<ContentType, DecodeError> {
    let start = r.offset();
    Ok(match r.u8(field)? {
        1 => ContentType::Application,
        2 => ContentType::Proposal,
        3 => ContentType::Commit,
        other => return Err(unknown(r, start, field, other)),
    })
}

/// `PublicMessage` (RFC 9420 §6.2): FramedContent, its auth data, and the membership tag.
fn read_public_message(r: &mut Reader<'_>, view: &mut MlsView) -> Result<(), DecodeError> {
    view.group_id = Some(r.opaque("FramedContent.group_id")?.into());
    view.epoch = Some(r.u64("FramedContent.epoch")?);
    let (sender_type, sender_index) = read_sender(r)?;
    view.sender_type = Some(sender_type);
    view.sender_index = sender_index;
    r.opaque("FramedContent.authenticated_data")?;
    let content_type = read_content_type(r, "FramedContent.content_type")?;
    view.content_type = Some(content_type);
    match content_type {
        ContentType::Application => {
            r.opaque("FramedContent.application_data")?;
        }
        ContentType::Proposal => view.proposals.push(read_proposal(r)?),
        ContentType::Commit => view.proposals = read_commit(r)?,
    }
    r.opaque("FramedContentAuthData.signature")?;
    if content_type == ContentType::Commit {
        r.opaque("FramedContentAuthData.confirmation_tag")?;
    }
    if sender_type == SenderType::Member {
        r.opaque("PublicMessage.membership_tag")?;
    }
    Ok(())
}

/// `Sender` (RFC 9420 §6): its type and, for members and external senders, its index.
fn read_sender(r: &mut Reader<'_>) -> Result<(SenderType, Option<u32>), DecodeError> {
    const FIELD: &str = "Sender.sender_type";
    let start = r.offset();
    Ok(match r.u8(FIELD)? {
        1 => (SenderType::Member, Some(r.u32("Sender.leaf_index")?)),
        2 => (SenderType::External, Some(r.u32("Sender.sender_index")?)),
        3 => (SenderType::NewMemberProposal, None),
        4 => (SenderType::NewMemberCommit, None),
        other => return Err(unknown(r, start, FIELD, other)),
    })
}

/// `PrivateMessage` (RFC 9420 §6.3): only the routing header is readable without keys.
fn read_private_message(r: &mut Reader<'_>, view: &mut MlsView) -> Result<(), DecodeError> {
    view.group_id = Some(r.opaque("PrivateMessage.group_id")?.into());
    view.epoch = Some(r.u64("PrivateMessage.epoch")?);
    view.content_type = Some(read_content_type(r, "PrivateMessage.content_type")?);
    r.opaque("PrivateMessage.authenticated_data")?;
    r.opaque("PrivateMessage.encrypted_sender_data")?;
    r.opaque("PrivateMessage.ciphertext")?;
    Ok(())
}

/// `Welcome` (RFC 9420 §12.4.3.1): the suite and the KeyPackageRef of each new member.
fn read_welcome(r: &mut Reader<'_>, view: &mut MlsView) -> Result<(), DecodeError> {
    view.cipher_suite = Some(r.u16("Welcome.cipher_suite")?);
    let new_members = r.vector("Welcome.secrets", |r| {
        let new_member = r.opaque("EncryptedGroupSecrets.new_member")?;
        read_hpke_ciphertext(r)?;
        Ok(Bytes::from(new_member))
    })?;
    view.new_members = Some(new_members);
    r.opaque("Welcome.encrypted_group_info")?;
    Ok(())
}

/// `GroupInfo` (RFC 9420 §12.4.3) with its `GroupContext` (§8.1).
fn read_group_info(r: &mut Reader<'_>, view: &mut MlsView) -> Result<(), DecodeError> {
    read_version(r, "GroupContext.version")?;
    view.cipher_suite = Some(r.u16("GroupContext.cipher_suite")?);
    view.group_id = Some(r.opaque("GroupContext.group_id")?.into());
    view.epoch = Some(r.u64("GroupContext.epoch")?);
    view.tree_hash = Some(r.opaque("GroupContext.tree_hash")?.into());
    r.opaque("GroupContext.confirmed_transcript_hash")?;
    read_extensions(r, "GroupContext.extensions", |_, _| {})?;
    let mut has_ratchet_tree = false;
    read_extensions(r, "GroupInfo.extensions", |extension_type, _| {
        has_ratchet_tree |= extension_type == EXTENSION_RATCHET_TREE
    })?;
    view.has_ratchet_tree = Some(has_ratchet_tree);
    r.opaque("GroupInfo.confirmation_tag")?;
    r.u32("GroupInfo.signer")?;
    r.opaque("GroupInfo.signature")?;
    Ok(())
}

/// What the DS keeps of a KeyPackage (in a KeyPackage message or an Add proposal).
struct KeyPackageSummary {
    cipher_suite: u16,
    key_package_ref: Bytes,
    /// The identity of a basic credential; `None` for other credential types.
    basic_identity: Option<Bytes>,
    last_resort: bool,
}

/// `KeyPackage` (RFC 9420 §10), hashed into its KeyPackageRef (§5.2).
fn read_key_package(r: &mut Reader<'_>) -> Result<KeyPackageSummary, DecodeError> {
    let start = r.offset();
    read_version(r, "KeyPackage.version")?;
    let suite_offset = r.offset();
    let cipher_suite = r.u16("KeyPackage.cipher_suite")?;
    // Checked before the rest so the error points at the suite, not past the KeyPackage.
    let hash = RefHashAlgorithm::for_suite(cipher_suite)
        .ok_or_else(|| unknown(r, suite_offset, "KeyPackage.cipher_suite", cipher_suite))?;
    r.opaque("KeyPackage.init_key")?;
    let basic_identity = read_leaf_node(r)?;
    let mut last_resort = false;
    read_extensions(r, "KeyPackage.extensions", |extension_type, _| {
        last_resort |= extension_type == EXTENSION_LAST_RESORT
    })?;
    r.opaque("KeyPackage.signature")?;
    let encoded = r.consumed_since(start);
    let key_package_ref = hash
        .ref_hash(KEY_PACKAGE_REF_LABEL, encoded)
        .ok_or_else(|| {
            r.error_at(
                start,
                Reason::Invalid {
                    field: "KeyPackage",
                    rule: "longer than 2^30 - 1 bytes, so RefHash cannot encode it (RFC 9420 §5.2)",
                },
            )
        })?;
    Ok(KeyPackageSummary {
        cipher_suite,
        key_package_ref,
        basic_identity,
        last_resort,
    })
}

/// The hash of a cipher suite (RFC 9420 §17.1), as far as RefHash needs it.
#[derive(Clone, Copy)]
enum RefHashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl RefHashAlgorithm {
    fn for_suite(cipher_suite: u16) -> Option<Self> {
        match cipher_suite {
            1..=3 => Some(Self::Sha256),
            4..=6 => Some(Self::Sha512),
            7 => Some(Self::Sha384),
            _ => None,
        }
    }

    /// `RefHash(label, value) = Hash(RefHashInput { opaque label<V>; opaque value<V>; })`;
    /// `None` when `value` is too long for an MLS varint.
    fn ref_hash(self, label: &[u8], value: &[u8]) -> Option<Bytes> {
        if value.len() > MAX_VARINT {
            return None;
        }
        // Only the two length prefixes are built; the value is hashed in place, not copied.
        let mut label_prefix = Writer::default();
        label_prefix.varint(label.len());
        let mut value_prefix = Writer::default();
        value_prefix.varint(value.len());
        let parts = [
            label_prefix.out.as_slice(),
            label,
            value_prefix.out.as_slice(),
            value,
        ];
        Some(Bytes(match self {
            Self::Sha256 => digest::<Sha256>(&parts),
            Self::Sha384 => digest::<Sha384>(&parts),
            Self::Sha512 => digest::<Sha512>(&parts),
        }))
    }
}

fn digest<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = D::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

/// `LeafNode` (RFC 9420 §7.2); returns the basic credential's identity, if it is one.
fn read_leaf_node(r: &mut Reader<'_>) -> Result<Option<Bytes>, DecodeError> {
    r.opaque("LeafNode.encryption_key")?;
    r.opaque("LeafNode.signature_key")?;
    let basic_identity = read_credential(r)?;
    read_capabilities(r)?;
    const SOURCE: &str = "LeafNode.leaf_node_source";
    let source_offset = r.offset();
    match r.u8(SOURCE)? {
        1 => {
            r.u64("Lifetime.not_before")?;
            r.u64("Lifetime.not_after")?;
        }
        2 => {}
        3 => {
            r.opaque("LeafNode.parent_hash")?;
        }
        other => return Err(unknown(r, source_offset, SOURCE, other)),
    }
    read_extensions(r, "LeafNode.extensions", |_, _| {})?;
    r.opaque("LeafNode.signature")?;
    Ok(basic_identity)
}

/// `Credential` (RFC 9420 §5.3). Other credential types have no length prefix to skip by.
fn read_credential(r: &mut Reader<'_>) -> Result<Option<Bytes>, DecodeError> {
    const FIELD: &str = "Credential.credential_type";
    let start = r.offset();
    match r.u16(FIELD)? {
        1 => Ok(Some(r.opaque("Credential.identity")?.into())),
        2 => {
            r.each("Credential.certificates", |r| {
                r.opaque("Certificate.cert_data").map(drop)
            })?;
            Ok(None)
        }
        other => Err(unknown(r, start, FIELD, other)),
    }
}

/// `Capabilities` (RFC 9420 §7.2): five lists of 16-bit code points.
fn read_capabilities(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    for field in [
        "Capabilities.versions",
        "Capabilities.cipher_suites",
        "Capabilities.extensions",
        "Capabilities.proposals",
        "Capabilities.credentials",
    ] {
        r.each(field, |r| r.u16(field).map(drop))?;
    }
    Ok(())
}

/// `Extension extensions<V>` (RFC 9420 §7.2): hands each extension's type and data to `seen`.
fn read_extensions<'a>(
    r: &mut Reader<'a>,
    field: &'static str,
    mut seen: impl FnMut(u16, &'a [u8]),
) -> Result<(), DecodeError> {
    r.each(field, |r| {
        let extension_type = r.u16("Extension.extension_type")?;
        seen(extension_type, r.opaque("Extension.extension_data")?);
        Ok(())
    })
}

/// `HPKECiphertext` (RFC 9420 §7.6).
fn read_hpke_ciphertext(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    r.opaque("HPKECiphertext.kem_output")?;
    r.opaque("HPKECiphertext.ciphertext")?;
    Ok(())
}

/// `Proposal` (RFC 9420 §12.1). A proposal type we do not know cannot be skipped: the
/// structure carries no length for its body.
fn read_proposal(r: &mut Reader<'_>) -> Result<ProposalView, DecodeError> {
    const FIELD: &str = "Proposal.proposal_type";
    let start = r.offset();
    Ok(match r.u16(FIELD)? {
        1 => {
            let key_package = read_key_package(r)?;
            ProposalView::Add {
                key_package_ref: key_package.key_package_ref,
                identity: key_package.basic_identity.unwrap_or_default(),
            }
        }
        2 => {
            read_leaf_node(r)?;
            ProposalView::Update
        }
        3 => ProposalView::Remove {
            removed: r.u32("Remove.removed")?,
        },
        4 => {
            read_pre_shared_key_id(r)?;
            ProposalView::PreSharedKey
        }
        5 => {
            r.opaque("ReInit.group_id")?;
            // Any version: moving a group to another version is what ReInit is for.
            r.u16("ReInit.version")?;
            r.u16("ReInit.cipher_suite")?;
            read_extensions(r, "ReInit.extensions", |_, _| {})?;
            ProposalView::ReInit
        }
        6 => {
            r.opaque("ExternalInit.kem_output")?;
            ProposalView::ExternalInit
        }
        7 => {
            let mut extensions = Vec::new();
            read_extensions(
                r,
                "GroupContextExtensions.extensions",
                |extension_type, data| extensions.push((extension_type, Bytes::from(data))),
            )?;
            ProposalView::GroupContextExtensions { extensions }
        }
        other => return Err(unknown(r, start, FIELD, other)),
    })
}

/// `PreSharedKeyID` (RFC 9420 §8.4).
fn read_pre_shared_key_id(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    const PSK_TYPE: &str = "PreSharedKeyID.psktype";
    const USAGE: &str = "PreSharedKeyID.usage";
    let start = r.offset();
    match r.u8(PSK_TYPE)? {
        1 => {
            r.opaque("PreSharedKeyID.psk_id")?;
        }
        2 => {
            let usage_offset = r.offset();
            // ResumptionPSKUsage: application(1), reinit(2), branch(3).
            match r.u8(USAGE)? {
                1..=3 => {}
                other => return Err(unknown(r, usage_offset, USAGE, other)),
            }
            r.opaque("PreSharedKeyID.psk_group_id")?;
            r.u64("PreSharedKeyID.psk_epoch")?;
        }
        other => return Err(unknown(r, start, PSK_TYPE, other)),
    }
    r.opaque("PreSharedKeyID.psk_nonce")?;
    Ok(())
}

/// `Commit` (RFC 9420 §12.4): its proposals by value or reference, and the optional path.
fn read_commit(r: &mut Reader<'_>) -> Result<Vec<ProposalView>, DecodeError> {
    const FIELD: &str = "ProposalOrRef.type";
    let proposals = r.vector("Commit.proposals", |r| {
        let start = r.offset();
        match r.u8(FIELD)? {
            1 => read_proposal(r),
            2 => Ok(ProposalView::Reference {
                proposal_ref: r.opaque("ProposalOrRef.reference")?.into(),
            }),
            other => Err(unknown(r, start, FIELD, other)),
        }
    })?;
    r.optional("Commit.path", read_update_path)?;
    Ok(proposals)
}

/// `UpdatePath` (RFC 9420 §7.6).
fn read_update_path(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    read_leaf_node(r)?;
    r.each("UpdatePath.nodes", |r| {
        r.opaque("UpdatePathNode.encryption_key")?;
        r.each("UpdatePathNode.encrypted_path_secret", read_hpke_ciphertext)
    })?;
    Ok(())
}

/// `Node` of a ratchet tree (RFC 9420 §12.4.3.3).
fn read_node(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    const FIELD: &str = "Node.node_type";
    let start = r.offset();
    match r.u8(FIELD)? {
        1 => {
            read_leaf_node(r)?;
        }
        2 => {
            r.opaque("ParentNode.encryption_key")?;
            r.opaque("ParentNode.parent_hash")?;
            r.each("ParentNode.unmerged_leaves", |r| {
                r.u32("ParentNode.unmerged_leaves").map(drop)
            })?;
        }
        other => return Err(unknown(r, start, FIELD, other)),
    }
    Ok(())
}

/// An MLSMessage embedded in a draft structure: its exact bytes and its DS view.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MlsMessage {
    pub bytes: Bytes,
    pub view: MlsView,
}

impl MlsMessage {
    pub fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let view = read_mls_message(r)?;
        Ok(MlsMessage {
            bytes: Bytes::from(r.consumed_since(start)),
            view,
        })
    }

    pub fn write(&self, w: &mut Writer) {
        w.raw(self.bytes.as_slice());
    }

    /// Decodes exactly one MLSMessage from `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let msg = Self::read(&mut r)?;
        r.finish()?;
        Ok(msg)
    }

    /// A PrivateMessage of `content_type` in `epoch` of `group_id` whose ciphertext is
    /// `ciphertext`: all a DS reads of one (its clear header), for workloads that need many
    /// distinct messages of a group without an MLS stack.
    pub fn private_message(
        group_id: &[u8],
        epoch: u64,
        content_type: ContentType,
        ciphertext: &[u8],
    ) -> Self {
        let mut w = Writer::default();
        w.u16(1); // version mls10
        w.u16(2); // wire_format private_message
        w.opaque(group_id);
        w.u64(epoch);
        w.u8(match content_type {
            ContentType::Application => 1,
            ContentType::Proposal => 2,
            ContentType::Commit => 3,
        });
        w.opaque(b""); // authenticated_data
        w.opaque(&[0x5e; 4]); // encrypted_sender_data
        w.opaque(ciphertext);
        MlsMessage::from_bytes(&w.out).expect("a well-formed PrivateMessage")
    }
}

/// JSON form: `{"hex": "...", <view keys>}`. Only `hex` is read back; the view is recomputed.
impl Serialize for MlsMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            hex: &'a Bytes,
            #[serde(flatten)]
            view: &'a MlsView,
        }
        Shown {
            hex: &self.bytes,
            view: &self.view,
        }
        .serialize(s)
    }
}

/// In JSON an MLSMessage is its `hex`; the DS view beside it is informative and not read.
impl schemars::JsonSchema for MlsMessage {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MlsMessage".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let hex = generator.subschema_for::<Bytes>();
        schemars::json_schema!({
            "type": "object",
            "required": ["hex"],
            "properties": { "hex": hex },
            "description": "an MLSMessage: its bytes as hex, with its DS view (wire_format, group_id, ...) for people"
        })
    }
}

impl<'de> Deserialize<'de> for MlsMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Given {
            hex: Bytes,
        }
        let given = Given::deserialize(d)?;
        MlsMessage::from_bytes(given.hex.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("embedded MLSMessage {e}")))
    }
}

/// The bare structs of the MLS working group's vectors (`tests/data/mls-messages.json`), each
/// walked by the helper for its type: the proposals, commits and key packages the vector
/// messages carry are too few to reach every branch.
#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn bare_structs(key: &str) -> Vec<Vec<u8>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/mls-messages.json");
        let text = std::fs::read_to_string(path).expect("vendored MLS vectors");
        let vectors: Vec<BTreeMap<String, String>> = serde_json::from_str(&text).expect("vectors");
        vectors
            .iter()
            .map(|v| hex::decode(&v[key]).expect("hex"))
            .collect()
    }

    /// Walks every vector of `key` with `walk`, which must consume each exactly.
    fn walk_all<T>(key: &str, walk: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>) -> Vec<T> {
        let structs = bare_structs(key);
        assert_eq!(structs.len(), 300);
        structs
            .iter()
            .enumerate()
            .map(|(n, bytes)| {
                let mut r = Reader::new(bytes);
                let value = walk(&mut r).unwrap_or_else(|e| panic!("{key} {n}: {e}"));
                r.finish().unwrap_or_else(|e| panic!("{key} {n}: {e}"));
                value
            })
            .collect()
    }

    #[test]
    fn mls_bare_add_proposals_are_key_packages_with_their_ref() {
        let structs = bare_structs("add_proposal");
        let summaries = walk_all("add_proposal", read_key_package);
        for (bytes, summary) in structs.iter().zip(&summaries) {
            // RefHashInput written out by hand: both prefixes fit two-byte varints here.
            let label = KEY_PACKAGE_REF_LABEL;
            assert!(label.len() < 64 && (64..16384).contains(&bytes.len()));
            let mut input = vec![label.len() as u8];
            input.extend_from_slice(label);
            input.extend_from_slice(&(0x4000 | bytes.len() as u16).to_be_bytes());
            input.extend_from_slice(bytes);
            assert_eq!(
                summary.key_package_ref.as_slice(),
                Sha256::digest(&input).as_slice()
            );
            assert!(summary.basic_identity.is_some());
        }
    }

    #[test]
    fn mls_bare_proposals_and_commits_walk_exactly() {
        walk_all("update_proposal", read_leaf_node);
        walk_all("remove_proposal", |r| r.u32("Remove.removed"));
        walk_all("pre_shared_key_proposal", read_pre_shared_key_id);
        walk_all("external_init_proposal", |r| {
            r.opaque("ExternalInit.kem_output").map(|_| ())
        });
        walk_all("group_context_extensions_proposal", |r| {
            read_extensions(r, "GroupContextExtensions.extensions", |_, _| {})
        });
        walk_all("re_init_proposal", |r| {
            r.opaque("ReInit.group_id")?;
            r.u16("ReInit.version")?;
            r.u16("ReInit.cipher_suite")?;
            read_extensions(r, "ReInit.extensions", |_, _| {})
        });
        let commits = walk_all("commit", read_commit);
        assert!(commits.iter().any(|proposals| !proposals.is_empty()));
    }

    #[test]
    fn mls_bare_ratchet_trees_walk_exactly() {
        let counts = walk_all("ratchet_tree", read_ratchet_tree);
        assert!(
            counts.iter().all(|count| count % 2 == 1),
            "a full tree ends with a leaf"
        );
    }

    #[test]
    fn mls_ref_hash_refuses_values_too_long_for_a_varint() {
        // A slice of zeros that is never read: only its length matters.
        let too_long = vec![0u8; MAX_VARINT + 1];
        assert!(RefHashAlgorithm::Sha256
            .ref_hash(KEY_PACKAGE_REF_LABEL, &too_long)
            .is_none());
    }

    #[test]
    fn mls_unknown_suites_have_no_ref_hash() {
        assert!(RefHashAlgorithm::for_suite(0).is_none());
        assert!(RefHashAlgorithm::for_suite(8).is_none());
        assert!(RefHashAlgorithm::for_suite(0x0a0a).is_none());
    }
}
