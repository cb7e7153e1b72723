//! The MLS side of the scenario kit: real openmls 0.9.2 clients, each a user of one provider,
//! whose messages the trace vectors carry.
//!
//! This module owns everything openmls: KeyPackages that never expire (not_before 0,
//! not_after u64::MAX), groups with the mixed-plaintext wire policy (commits as
//! PublicMessage) or the ciphertext one (commits as PrivateMessage), partition keys
//! exported with the label of errata `errata/partition-key-exporter`, commits with Welcome
//! and GroupInfo, a ban carried in a GroupContextExtensions commit by value, external joins
//! and self-remove proposals. Everything leaves as the model's `MlsMessage` (bytes + DS view).
//!
//! It also owns which seed each client's [`SeededProvider`] gets: the SHA-256 of the seed
//! scope's label (see [`seeded_as`]), the client's identity and provider, and how many clients
//! of that identity and provider the scope made before. Playing the same stories in the same
//! scopes thus gives the same bytes, and a change in one scope leaves the others' alone.

use mimi_ds_model::codec::{MlsMessage, PartitionKey, ServiceProviderId, Writer};
use mimi_ds_model::ds::BAN_EXTENSION_TYPE;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;

use crate::seeded::{SeededProvider, SUITE};

/// Errata `errata/partition-key-exporter`: MLS-Exporter("MIMI DS partition key", "", 16).
const PARTITION_KEY_LABEL: &str = "MIMI DS partition key";

/// The wire format a group's handshake messages travel in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshakes {
    /// PublicMessage commits and proposals: the DS sees their proposals.
    Clear,
    /// PrivateMessage commits and proposals: the DS sees only the content type.
    Encrypted,
}

impl Handshakes {
    fn policy(self) -> WireFormatPolicy {
        match self {
            Handshakes::Clear => MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
            Handshakes::Encrypted => MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY,
        }
    }
}

/// Every leaf supports the ban extension, so a GroupContextExtensions proposal may carry it.
fn capabilities() -> Capabilities {
    Capabilities::new(
        None,
        None,
        Some(&[ExtensionType::Unknown(BAN_EXTENSION_TYPE)]),
        None,
        None,
    )
}

fn join_config(handshakes: Handshakes) -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(handshakes.policy())
        .use_ratchet_tree_extension(true)
        .build()
}

/// An openmls message as the model sees it.
fn to_model(message: &MlsMessageOut) -> MlsMessage {
    let bytes = message
        .tls_serialize_detached()
        .expect("openmls messages serialize");
    MlsMessage::from_bytes(&bytes).expect("the codec reads every message openmls writes")
}

fn to_in(message: &MlsMessage) -> MlsMessageBodyIn {
    MlsMessageIn::tls_deserialize_exact(message.bytes.as_slice())
        .expect("openmls reads back its own message")
        .extract()
}

/// The scope clients get their seeds in: a label, and how many clients of each identity
/// and provider it has made.
#[derive(Default)]
struct SeedScope {
    label: String,
    made: HashMap<(String, String), u32>,
}

thread_local! {
    static SCOPE: RefCell<SeedScope> = RefCell::new(SeedScope::default());
}

/// Runs `play` with the clients it creates seeded under `label` (a fresh count), then
/// restores the scope around it.
pub fn seeded_as<T>(label: &str, play: impl FnOnce() -> T) -> T {
    let scope = SeedScope {
        label: label.into(),
        made: HashMap::new(),
    };
    let outer = SCOPE.with(|s| s.replace(scope));
    let played = play();
    SCOPE.with(|s| s.replace(outer));
    played
}

/// The seed of the next client `identity` of `provider` in the current scope.
fn next_seed(identity: &str, provider: &str) -> [u8; 32] {
    SCOPE.with(|s| {
        let mut scope = s.borrow_mut();
        let made = scope
            .made
            .entry((identity.into(), provider.into()))
            .or_default();
        let ordinal = *made;
        *made += 1;
        let mut hash = Sha256::new();
        hash.update(b"mimi-ds-vectors client seed");
        for part in [
            scope.label.as_bytes(),
            identity.as_bytes(),
            provider.as_bytes(),
        ] {
            hash.update((part.len() as u32).to_be_bytes());
            hash.update(part);
        }
        hash.update(ordinal.to_be_bytes());
        hash.finalize().into()
    })
}

/// The lifetime of every KeyPackage and of a group founder's leaf: from 0 to u64::MAX, so
/// nothing depends on the clock (openmls only checks the range when asked to, and the DS
/// never checks it).
fn never_expires() -> Lifetime {
    Lifetime::init(0, u64::MAX)
}

/// One user of one provider, with its own seeded crypto provider and signature key.
pub struct Client {
    pub identity: Vec<u8>,
    pub provider: ServiceProviderId,
    crypto: SeededProvider,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

impl Client {
    pub fn new(identity: &str, provider: &str) -> Self {
        let crypto = SeededProvider::new(next_seed(identity, provider));
        let (private, public) = crypto
            .crypto()
            .signature_key_gen(SUITE.signature_algorithm())
            .expect("Ed25519 keys generate");
        let signer = SignatureKeyPair::from_raw(SUITE.signature_algorithm(), private, public);
        signer
            .store(crypto.storage())
            .expect("the memory store takes the key");
        let credential = CredentialWithKey {
            credential: BasicCredential::new(identity.as_bytes().to_vec()).into(),
            signature_key: signer.public().into(),
        };
        Client {
            identity: identity.as_bytes().to_vec(),
            provider: ServiceProviderId::new(provider).expect("scenario providers are domains"),
            crypto,
            signer,
            credential,
        }
    }

    /// A KeyPackage that never expires.
    pub fn key_package(&self, last_resort: bool) -> (KeyPackage, MlsMessage) {
        let mut builder = KeyPackage::builder()
            .key_package_lifetime(never_expires())
            .leaf_node_capabilities(capabilities());
        if last_resort {
            builder = builder.mark_as_last_resort();
        }
        let bundle = builder
            .build(SUITE, &self.crypto, &self.signer, self.credential.clone())
            .expect("KeyPackages build");
        let key_package = bundle.key_package().clone();
        let message = to_model(&MlsMessageOut::from(key_package.clone()));
        (key_package, message)
    }

    /// Starts a group `group_id` as its only member.
    pub fn create_group(self, group_id: &[u8], handshakes: Handshakes) -> Member {
        let group = MlsGroup::builder()
            .with_group_id(GroupId::from_slice(group_id))
            .ciphersuite(SUITE)
            .with_wire_format_policy(handshakes.policy())
            .use_ratchet_tree_extension(true)
            .with_capabilities(capabilities())
            .lifetime(never_expires())
            .build(&self.crypto, &self.signer, self.credential.clone())
            .expect("groups build");
        Member {
            client: self,
            group,
        }
    }

    /// Joins from a Welcome (whose GroupInfo carries the ratchet tree).
    pub fn join(self, welcome: &MlsMessage, handshakes: Handshakes) -> Member {
        let MlsMessageBodyIn::Welcome(welcome) = to_in(welcome) else {
            panic!("not a Welcome")
        };
        let group =
            StagedWelcome::new_from_welcome(&self.crypto, &join_config(handshakes), welcome, None)
                .expect("the Welcome is for one of our KeyPackages")
                .into_group(&self.crypto)
                .expect("the group starts");
        Member {
            client: self,
            group,
        }
    }

    /// Joins by external commit from `group_info` (with its ratchet tree); the commit is
    /// not yet known to anyone else.
    pub fn join_externally(
        self,
        group_info: &MlsMessage,
        handshakes: Handshakes,
    ) -> (Member, MlsMessage) {
        let MlsMessageBodyIn::GroupInfo(info) = to_in(group_info) else {
            panic!("not a GroupInfo")
        };
        let (group, bundle) = MlsGroup::external_commit_builder()
            .with_config(join_config(handshakes))
            .build_group(&self.crypto, info, self.credential.clone())
            .expect("the GroupInfo carries what an external joiner needs")
            .leaf_node_parameters(
                LeafNodeParameters::builder()
                    .with_capabilities(capabilities())
                    .build(),
            )
            .load_psks(self.crypto.storage())
            .expect("no PSKs")
            .build(
                self.crypto.rand(),
                self.crypto.crypto(),
                &self.signer,
                |_| true,
            )
            .expect("the external commit builds")
            .finalize(&self.crypto)
            .expect("the external commit finalizes");
        let commit = to_model(bundle.commit());
        (
            Member {
                client: self,
                group,
            },
            commit,
        )
    }
}

/// What a commit carries to the DS besides itself.
pub struct Committed {
    pub commit: MlsMessage,
    /// The Welcome for the members it adds, if any.
    pub welcome: Option<MlsMessage>,
    /// The partition key of the epoch the commit creates.
    pub next_partition_key: PartitionKey,
}

/// A client in one group.
pub struct Member {
    pub client: Client,
    group: MlsGroup,
}

impl Member {
    /// The partition key of the member's current epoch.
    pub fn partition_key(&self) -> PartitionKey {
        let secret = self
            .group
            .export_secret(
                self.client.crypto.crypto(),
                PARTITION_KEY_LABEL,
                &[],
                PartitionKey::LEN,
            )
            .expect("the exporter gives 16 bytes");
        PartitionKey(secret.try_into().expect("16 bytes"))
    }

    pub fn provider(&self) -> &ServiceProviderId {
        &self.client.provider
    }

    /// An application message (always a PrivateMessage).
    pub fn application(&mut self, text: &str) -> MlsMessage {
        let out = self
            .group
            .create_message(&self.client.crypto, &self.client.signer, text.as_bytes())
            .expect("members can send");
        to_model(&out)
    }

    /// The GroupInfo of the current epoch, with or without its ratchet tree.
    pub fn group_info(&self, with_ratchet_tree: bool) -> MlsMessage {
        let out = self
            .group
            .export_group_info(
                self.client.crypto.crypto(),
                &self.client.signer,
                with_ratchet_tree,
            )
            .expect("GroupInfo exports");
        to_model(&out)
    }

    /// A Remove proposal for the member itself (draft §"Self-Remove" step 1).
    pub fn self_remove(&mut self) -> MlsMessage {
        to_model(
            &self
                .group
                .leave_group(&self.client.crypto, &self.client.signer)
                .expect("members can leave"),
        )
    }

    /// Commits adding `key_packages` (a Welcome for them), merged at once: the member moves
    /// to the new epoch as the committer of its own branch does.
    pub fn add(&mut self, key_packages: &[KeyPackage]) -> Committed {
        let (commit, welcome, _) = self
            .group
            .add_members(&self.client.crypto, &self.client.signer, key_packages)
            .expect("adds commit");
        self.merged(to_model(&commit), Some(to_model(&welcome)))
    }

    /// An empty-path update commit, merged.
    pub fn update(&mut self) -> Committed {
        let bundle = self
            .group
            .self_update(
                &self.client.crypto,
                &self.client.signer,
                LeafNodeParameters::default(),
            )
            .expect("updates commit");
        let commit = to_model(bundle.commit());
        self.merged(commit, None)
    }

    /// The member's leaf in the ratchet tree, for another to remove it.
    pub fn leaf_index(&self) -> u32 {
        self.group.own_leaf_index().u32()
    }

    /// A commit removing the member at `leaf`, merged.
    pub fn remove(&mut self, leaf: u32) -> Committed {
        let (commit, _, _) = self
            .group
            .remove_members(
                &self.client.crypto,
                &self.client.signer,
                &[LeafNodeIndex::new(leaf)],
            )
            .expect("the removal commits");
        self.merged(to_model(&commit), None)
    }

    /// Commits a GroupContextExtensions proposal by value whose ban extension lists
    /// `identities` (the convention of `mimi_ds_model::ds::policy`), merged.
    pub fn ban(&mut self, identities: &[&[u8]]) -> Committed {
        let mut list = Writer::default();
        list.vector(|w| identities.iter().for_each(|i| w.opaque(i)));
        // openmls accepts an unknown GroupContext extension only if members must support it.
        let required = RequiredCapabilitiesExtension::new(
            &[ExtensionType::Unknown(BAN_EXTENSION_TYPE)],
            &[],
            &[],
        );
        let extensions = Extensions::from_vec(vec![
            Extension::RequiredCapabilities(required),
            Extension::Unknown(BAN_EXTENSION_TYPE, UnknownExtension(list.out)),
        ])
        .expect("two distinct extensions");
        let (commit, _, _) = self
            .group
            .update_group_context_extensions(&self.client.crypto, extensions, &self.client.signer)
            .expect("the ban commits");
        self.merged(to_model(&commit), None)
    }

    fn merged(&mut self, commit: MlsMessage, welcome: Option<MlsMessage>) -> Committed {
        self.group
            .merge_pending_commit(&self.client.crypto)
            .expect("own commit merges");
        Committed {
            commit,
            welcome,
            next_partition_key: self.partition_key(),
        }
    }

    /// Processes another member's commit and moves to its epoch.
    pub fn process_commit(&mut self, commit: &MlsMessage) {
        let message = match to_in(commit) {
            MlsMessageBodyIn::PublicMessage(m) => ProtocolMessage::from(m),
            MlsMessageBodyIn::PrivateMessage(m) => ProtocolMessage::from(m),
            _ => panic!("not a handshake message"),
        };
        let processed = self
            .group
            .process_message(&self.client.crypto, message)
            .expect("members process commits");
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            panic!("not a commit")
        };
        self.group
            .merge_staged_commit(&self.client.crypto, *staged)
            .expect("commits merge");
    }
}
