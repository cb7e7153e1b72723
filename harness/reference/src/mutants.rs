//! Deliberately broken variants of the reference DS. Each is one plausible implementation bug,
//! applied around the model (input rewritten, answer or state altered), so the suite can
//! prove it catches it: every mutant must fail a case that names a rule it breaks.
//!
//! The rules come from the catalogues, not from memory: every wire-testable requirement and
//! every erratum that decides wire behaviour ([`rules`]) has at least one mutant, or an entry
//! in [`WITHOUT_MUTANT`] saying why it has none. Each is a [`Model`], so the same mutants serve the
//! reference DS (`--mutant`) and the model's bounded exhaustive explorer.

use crate::variants::{variants, Variant};
use mimi_ds_binding as binding;
use mimi_ds_binding::tls::{self, Identity};
use mimi_ds_model::codec::{
    Bytes, CommitData, ContentType, DecodeError, Epoch, ErrorCode, HintedEpoch, KeyPackageResponse,
    MlsMessage, PartitionKey, ProposalView, RatchetTree, Reason, ReceiveResponse, SendRequest,
    ServiceProviderId, Wire, WireFormat,
};
use mimi_ds_model::ds::partitions::to_vec;
use mimi_ds_model::ds::{
    apply, forks, Endpoint, Input, Model, Observed, Outbound, Outcome, Response, State,
};
use mimi_ds_model::errata::{self, ErratumId, ERRATA};
use mimi_ds_model::requirements::{self as req, ReqId, CATALOGUE};
use mimi_ds_model::vectors::cast::{provider, FOLLOWER_B, FOLLOWER_C, OUTSIDER};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use std::sync::Arc;

pub type MutantInfo = Variant<Mutant>;

variants! {
    /// One planted bug of the reference DS.
    Mutant in MUTANTS {
        // Receiving.
        CounterOffByOne "counter-off-by-one":
            "skips counter + 1 messages of the requested partition",
            [RECEIVE_SKIP_COUNTER, RECEIVE_COUNTER], [COUNTER_SKIPS_ALL_SEQUENCED];
        HintRepeatsRequestedEpoch "hint-repeats-requested-epoch":
            "also hints the requested epoch, so one epoch is referenced twice",
            [RECEIVE_HINTS_NO_DUPLICATE_EPOCH, RECEIVE_HINTS_OTHER_EPOCHS], [HINT_SELECTION];
        HintsSkipCounter "hints-skip-counter":
            "applies the counter to hinted epochs too, dropping their first messages",
            [RECEIVE_HINTS_COMPLETE], [];
        UnmaskedHintKey "unmasked-hint-key":
            "names hinted epochs by the raw partition key instead of its hash",
            [RECEIVE_MASKED_KEY], [MASKED_PARTITION_KEY_HASH];
        RawNextPartitionKey "raw-next-partition-key":
            "relays a commit's next partition key unmasked",
            [RECEIVE_MASKED_KEY], [MASKED_PARTITION_KEY_HASH];
        ReorderConcurrentSends "reorder-concurrent-sends":
            "returns the last two messages of an epoch in swapped order",
            [RECEIVE_SEQUENCING_ORDER], [];
        TerminatedBranchUnreadable "terminated-branch-unreadable":
            "refuses reads of a terminated partition with branch_terminated",
            [RECEIVE_RESPONDS], [UNKNOWN_AND_TERMINATED_PARTITION_READS];
        HintsAcrossGroups "hints-across-groups":
            "hints every partition holding messages, whatever group it belongs to",
            [PARTITION_ACCESS_CONTROL], [HINTS_WITHIN_GROUP];
        ReadFollowsChain "read-follows-chain":
            "appends the epochs the returned commits announce to the requested epoch",
            [PARTITION_KEY_EPOCH_ACCESS, PARTITION_ACCESS_CONTROL], [];
        ReceiveSearchesOneGroup "receive-searches-one-group":
            "looks a ReceiveRequest's key up only in the first group it hosts",
            [], [RECEIVE_BY_PARTITION_KEY_ALONE];
        // Sending.
        AcceptUnknownGroup "accept-unknown-group":
            "accepts a SendRequest for a group it does not host",
            [SEND_UNKNOWN_GROUP_REJECTED], [SEND_VALIDATION];
        LoseSecondMessage "lose-second-message":
            "answers the second send to a partition but never sequences it",
            [SEND_SEQUENCED_TO_PARTITION, RECEIVE_SKIP_COUNTER], [];
        CommitDataOnAnyMessage "commit-data-on-any-message":
            "reads the select literally: decodes CommitData after any message, then ignores it on non-commits",
            [SEND_COMMIT_DATA], [SELECT_COMMIT_ONLY];
        RelayForeignGroupInfo "relay-foreign-group-info":
            "accepts a commit whose GroupInfo belongs to another group",
            [SEND_COMMIT_DATA], [GROUP_INFO_GROUP_MISMATCH];
        SkipRatchetTreeCheck "skip-ratchet-tree-check":
            "accepts a commit whose GroupInfo has no ratchet tree it can infer",
            [SEND_RATCHET_TREE_REQUIRED], [RATCHET_TREE_INFERENCE];
        RatchetTreeRequiredAsMalformed "ratchet-tree-required-as-malformed":
            "refuses a GroupInfo without an inferable tree as malformed, so the sender cannot tell to retry with one",
            [SEND_RATCHET_TREE_REQUIRED], [RATCHET_TREE_REQUIRED_SIGNAL];
        IgnoreWelcomeProvidersLength "ignore-welcome-providers-length":
            "accepts WelcomeData whose service_providers and secrets differ in length",
            [SEND_WELCOME_PROVIDERS_LENGTH], [WELCOME_PROVIDERS_LENGTH_MISMATCH];
        RejectUnseenPartitionKey "reject-unseen-partition-key":
            "refuses sends to partition keys it has not seen announced (a hard-and-fast rule)",
            [PARTITION_KEYS_NO_HARD_RULES], [NO_HARD_RULES_VS_TERMINATION];
        RejectForkingCommit "reject-forking-commit":
            "refuses a second commit to an epoch as stale instead of letting the group fork",
            [FORKS_TOLERATED], [FORK_DETECTION];
        RejectAfterCommit "reject-after-commit":
            "refuses messages to an epoch that already has a commit, as if members had all moved on",
            [POLICY_NO_POSITIVE], [POSITIVE_POLICY_MEANING];
        RejectDuplicateSend "reject-duplicate-send":
            "refuses a byte-identical retry instead of sequencing it again",
            [SEND_SEQUENCED_TO_PARTITION], [DUPLICATE_SEND];
        RefuseUnlistedProviders "refuse-unlisted-providers":
            "serves only a static allow-list of partner providers (b.example and c.example)",
            [ENDPOINTS_FOR_THIRD_PARTIES], [PROVIDER_AUTHORIZATION];
        // Welcome, hub side.
        WelcomeWithoutAffirmative "welcome-without-affirmative":
            "pushes the Welcome although the provider refused the WelcomeInit",
            [WELCOME_PUSH_IF_ACCEPTED, WELCOME_INIT_BEFORE_PUSH], [];
        UnansweredWelcomeInitAsYes "unanswered-welcome-init-as-yes":
            "pushes the Welcome when the WelcomeInit got no answer (a closed connection, an error status, an undecodable body), as if the provider had said yes",
            [WELCOME_PUSH_IF_ACCEPTED], [WELCOME_INIT_UNANSWERED];
        WelcomeBeforeAnswer "welcome-before-answer":
            "pushes the Welcome right after the WelcomeInit, without waiting for the answer",
            [WELCOME_INIT_BEFORE_PUSH], [];
        SkipWelcomeInit "skip-welcome-init":
            "pushes the Welcome straight away, with no WelcomeInit first",
            [WELCOME_INIT_REQUEST, WELCOME_INIT_BEFORE_PUSH], [];
        WelcomeNeverPushed "welcome-never-pushed":
            "sends the WelcomeInit but never the Welcome, even after a yes",
            [SEND_PUSHES_WELCOME], [WELCOME_PUSH];
        WelcomeToFirstProviderOnly "welcome-to-first-provider-only":
            "fans a Welcome out to the first provider it names and forgets the others",
            [FLOW_CREATE_FAN_OUT_WELCOME], [];
        WelcomeInitListsAllRefs "welcome-init-lists-all-refs":
            "lists every KeyPackageRef of the Welcome to every provider, not just its own users'",
            [SEND_WELCOME_PROVIDERS_ONE_TO_ONE], [WELCOME_HUB_LOCAL_USERS];
        IgnoreWelcomeData "ignore-welcome-data":
            "sequences a commit but ignores its WelcomeData",
            [SEND_WELCOME_DATA], [];
        // Welcome, receiving provider.
        WelcomeInitAlwaysYes "welcome-init-always-yes":
            "answers every WelcomeInit with yes, even for KeyPackageRefs of no local user",
            [WELCOME_INIT_REQUEST], [WELCOME_INIT_ANSWER];
        AcceptUnannouncedWelcome "accept-unannounced-welcome":
            "takes a Welcome push for KeyPackageRefs it never said yes to",
            [WELCOME_PUSH_IF_ACCEPTED], [WELCOME_REFUSED];
        AcceptNonWelcomeMessage "accept-non-welcome-message":
            "takes any MLSMessage pushed to its welcome endpoint, Welcome or not",
            [WELCOME_AS_MLS_MESSAGE], [];
        // KeyPackages.
        KeyPackageHandedOutTwice "key-package-handed-out-twice":
            "never marks a KeyPackage as used",
            [KEY_PACKAGES_RESPONSE_MATCHES], [KEY_PACKAGE_LAST_RESORT];
        AcceptRevokedToken "accept-revoked-token":
            "ignores bearer token revocation",
            [KEY_PACKAGES_BEARER_INVALIDATION], [];
        AcceptUnknownToken "accept-unknown-token":
            "hands out KeyPackages whatever bearer token the request carries",
            [KEY_PACKAGES_BEARER_TOKEN], [BEARER_TOKEN_SCOPE];
        UserCheckedBeforeToken "user-checked-before-token":
            "looks the user up before the token, telling a prober without a token which users exist",
            [], [BEARER_TOKEN_SCOPE];
        OtherSuiteKeyPackage "other-suite-key-package":
            "hands out a KeyPackage of another cipher suite when none matches",
            [KEY_PACKAGES_RESPONSE_MATCHES], [KEY_PACKAGE_UNSUPPORTED_PARAMETERS];
        NoUploadsIsUnknownUser "no-uploads-is-unknown-user":
            "answers unknown_user for a user who uploaded no KeyPackage",
            [], [NO_KEY_PACKAGES_UPLOADED];
        BundleOutOfOrder "bundle-out-of-order":
            "answers a bundle's requests in reverse order",
            [KEY_PACKAGES_BUNDLING], [KEY_PACKAGE_BUNDLE];
        RefuseAnonymousKeyPackageRequests "refuse-anonymous-key-package-requests":
            "refuses KeyPackage requests that name no provider, as every request through OHTTP does",
            [KEY_PACKAGES_OVER_OHTTP, KEY_PACKAGES_REQUEST_VIA_OHTTP], [PROVIDER_AUTHORIZATION];
        // External joins.
        ExternalJoinToCreationPartition "external-join-to-creation-partition":
            "sequences external commits to the group's first partition, not the most recent",
            [EXTERNAL_JOIN_MOST_RECENT_PARTITION], [EXTERNAL_JOIN_MOST_RECENT_PARTITION];
        ExternalJoinUnvalidated "external-join-unvalidated":
            "accepts any message as an external join, external commit or not",
            [EXTERNAL_JOIN_VALIDATED], [EXTERNAL_JOIN_VALIDATION];
        RefuseExternalJoins "refuse-external-joins":
            "requires a partition key for every message, so external joins are refused",
            [PARTITION_EXTERNAL_EXCEPTION, EXTERNAL_JOIN_TO_HUB, FLOW_EXTERNAL_JOIN_STEPS],
            [EXTERNAL_EXCEPTION_SCOPE];
        GroupInfoOfFirstCommit "group-info-of-first-commit":
            "serves the GroupInfo of the group's first commit, not of the most recent partition",
            [EXTERNAL_JOIN_GROUP_INFO_REQUEST], [GROUP_INFO_SOURCE];
        EmptyTreeBesideFullGroupInfo "empty-tree-beside-full-group-info":
            "always fills ratchet_tree, with an empty tree when the GroupInfo already carries one",
            [EXTERNAL_JOIN_INFERRED_TREE], [];
        RefuseExternallyCreatedPartition "refuse-externally-created-partition":
            "refuses sends to a partition an external commit announced until a member commit confirms it",
            [FLOW_EXTERNAL_JOIN_NEW_PARTITION], [];
        // Forks.
        IgnoreBranchTermination "ignore-branch-termination":
            "records the termination but keeps sequencing sends to the branch",
            [FORK_TERMINATION_BLOCKS_SENDS], [BRANCH_TERMINATED_SENDS];
        TerminationCoversDescendants "termination-covers-descendants":
            "terminating a branch also terminates every partition its commits announced",
            [], [BRANCH_TERMINATED_SENDS];
        AcceptTerminatingUnknownKey "accept-terminating-unknown-key":
            "answers accepted to terminating a partition key it never held",
            [FORK_TERMINATION_MAY], [TERMINATE_BRANCH_SCOPE];
        // Policy.
        PolicyAcrossForks "policy-across-forks":
            "applies a ban from one fork to every fork of the group",
            [POLICY_PER_FORK, POLICY_BAN_PER_FORK], [POLICY_PER_FORK_STATE];
        IgnoreBans "ignore-bans":
            "never refuses a clear-text Add of an identity its fork bans",
            [POLICY_EXAMPLES], [BAN_LIST_EXTENSION];
        IgnoreMute "ignore-mute":
            "records mutes but sequences muted users' application messages",
            [POLICY_EXAMPLES], [MUTE_AND_RATE_LIMIT];
        MuteBlocksHandshakes "mute-blocks-handshakes":
            "refuses a muted user's proposals and commits too, not only application messages",
            [], [MUTE_AND_RATE_LIMIT];
        RateLimitRemoteSenders "rate-limit-remote-senders":
            "once any local user's budget is spent, refuses SendRequests from other providers too",
            [POLICY_NO_REMOTE_RATE_LIMIT], [];
        RejectPresumedContent "reject-presumed-content":
            "refuses encrypted messages to a fork with bans, presuming they add a banned user",
            [POLICY_ONLY_UNAMBIGUOUS, POLICY_NEGATIVE_ONLY], [NEGATIVE_POLICY_VISIBILITY];
        // Following.
        FollowerSequencesLocally "follower-sequences-locally":
            "accepts its user's message for a group hosted elsewhere without forwarding it to the hub",
            [SEND_FOLLOWER_TO_HUB, HUB_SEQUENCES_AND_FANS_OUT], [];
        FollowerAnswersReadsLocally "follower-answers-reads-locally":
            "answers its user's reads itself instead of asking the hub",
            [RECEIVE_FOLLOWER_REQUESTS], [];
        ForgetFollowedGroups "forget-followed-groups":
            "accepts following a group but does not remember it",
            [FLOW_CREATE_FOLLOWERS_READ], [];
        ReadsAfterSelfRemove "reads-after-self-remove":
            "keeps reading a group after its last user left it",
            [FLOW_SELF_REMOVE_STOP_PUSHES], [SELF_REMOVE_SIGNALLING];
        SelfRemoveLeavesEveryGroup "self-remove-leaves-every-group":
            "takes the last local user leaving one group as leaving every group it follows",
            [FLOW_SELF_REMOVE_STOP_PUSHES, RECEIVE_FOLLOWER_REQUESTS], [];
        ForwardUnfollowedSends "forward-unfollowed-sends":
            "accepts its user's message for a group it neither hosts nor follows",
            [SEND_FOLLOWER_TO_HUB], [FORWARDED_LOCAL_REQUESTS];
        TakePushesFromAnyone "take-pushes-from-anyone":
            "takes a pushed ReceiveResponse from any provider, not only the group's hub",
            [RECEIVE_PUSH], [PUSH_ACCEPTANCE];
        TakePushesFromAnyFollowedHub "take-pushes-from-any-followed-hub":
            "takes a push from the hub of any group it follows, not only from the hub of the group whose messages it carries",
            [RECEIVE_PUSH], [PUSH_ACCEPTANCE];
        // Pushes, hub side.
        PushOnlyNewMessage "push-only-new-message":
            "after each accepted message pushes its partition holding just that message",
            [RECEIVE_PUSH, RECEIVE_HINTS_COMPLETE], [PUSH_SNAPSHOT];
        PushMixedEpoch "push-mixed-epoch":
            "pushes every partition of the group run together in the epoch field",
            [RECEIVE_PUSH, RECEIVE_SEQUENCING_ORDER], [PUSHED_RESPONSE_EPOCH];
        PushToEveryPeer "push-to-every-peer":
            "pushes each accepted message's group to every provider it knows of, members or not",
            [PARTITION_ACCESS_CONTROL], [PUSH_RECIPIENTS];
        // Decoding.
        ShortPartitionKeyPadded "short-partition-key-padded":
            "takes partition keys shorter than 16 bytes, padding them with zeros",
            [SEND_PARTITION_KEY_LENGTH], [PARTITION_KEY_ENCODING];
        ProviderIdAnyCase "provider-id-any-case":
            "takes service provider ids in any letter case, as DNS would, lowercasing them",
            [], [SERVICE_PROVIDER_ID];
        ServerErrorOnMalformed "server-error-on-malformed":
            "answers an undecodable body with 500 and no DsError",
            [], [TRANSPORT];
        ServerErrorOnHugeLength "server-error-on-huge-length":
            "answers 500 to a body with a length prefix announcing 64 KiB or more beyond its end, allocating the announced length first",
            [], [TRANSPORT];
        SequenceBeforeTrailingCheck "sequence-before-trailing-check":
            "stores an application message or proposal as soon as its SendRequest is read, then refuses the body as malformed for the trailing bytes after it",
            [], [TRANSPORT];
        AcceptTrailingBytes "accept-trailing-bytes":
            "decodes a body's longest valid prefix and ignores what follows",
            [], [TRANSPORT];
        // The binding.
        TrustUnidentifiedCallers "trust-unidentified-callers":
            "takes a federation request with no valid provider identity as coming from b.example",
            [ENDPOINTS_FOR_THIRD_PARTIES], [PROVIDER_AUTHORIZATION];
        TrustHeaderOverCertificate "trust-header-over-certificate":
            "over TLS, takes the caller from the Mimi-Ds-Provider header whatever the certificate names",
            [ENDPOINTS_FOR_THIRD_PARTIES], [TLS_CALLER];
        AcceptAnyCertificate "accept-any-certificate":
            "over TLS, takes any client certificate, whoever issued it, at its word",
            [ENDPOINTS_FOR_THIRD_PARTIES], [TLS_CALLER];
        RefusalsWithoutDsError "refusals-without-dserror":
            "refuses with the right 4xx status but an empty body instead of a DsError",
            [], [TRANSPORT];
        SendTakesAnyWireFormat "send-takes-any-wire-format":
            "takes any MLSMessage as a SendRequest's message, a GroupInfo or a Welcome too",
            [], [MLS_MESSAGE_PARSING];
        WelcomeInitYesAsFf "welcome-init-yes-as-ff":
            "answers yes to a WelcomeInit with the byte 0xff, as a boolean of its language",
            [], [WELCOME_INIT_RESPONSE];
        NotifyAnswers200 "notify-answers-200":
            "answers a push with 200 instead of 201, so the hub would push it again and again",
            [], [PUSH_AND_PULL];
        // Policy, continued.
        UnannouncedKeysInheritGroupBans "unannounced-keys-inherit-group-bans":
            "applies every ban of the group to a partition no sequenced commit announced yet",
            [POLICY_PER_FORK], [POLICY_BEFORE_ANNOUNCEMENT];
        // Concurrency: races of the server around an await point (`race`), which only
        // overlapping requests show.
        SamePositionRace "same-position-race":
            "numbers a send by the log's length read before an await point and puts it there: two overlapping sends get one position, the later landing in front of the earlier",
            [RECEIVE_SEQUENCING_ORDER], [];
        LostUpdateRace "lost-update-race":
            "applies a send to a copy of the state taken before an await point and writes the copy back, losing a send that landed in between",
            [SEND_SEQUENCED_TO_PARTITION], [];
    }
}

/// A rule a mutant can break: a requirement of the draft or one of our errata decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    Requirement(ReqId),
    Erratum(ErratumId),
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::Requirement(r) => r.0,
            Rule::Erratum(e) => e.0,
        }
    }
}

/// Errata that decide nothing a DS shows on the wire, so no mutant can break them.
pub const ERRATA_NOT_DECIDING_WIRE: &[(ErratumId, &str)] = &[
    (
        errata::PARTITION_KEY_EXPORTER,
        "the exporter label: members derive keys, a DS never computes one",
    ),
    (
        errata::GROUP_CREATION_LOCAL,
        "group creation is the suite's test-control contract, not a federation exchange",
    ),
    (
        errata::CREATE_GROUP_DUPLICATE,
        "the answer of a test-control action, which no provider sees",
    ),
    (
        errata::CANONICAL_HINTS,
        "the reference's own pick among allowed hints; the checker accepts every other",
    ),
];

/// Wire rules without a mutant here, and why: rare, honest, and printed by the score.
pub const WITHOUT_MUTANT: &[(Rule, &str)] = &[
    (
        Rule::Erratum(errata::REFUSAL_ORDER),
        "a discretion, not a rule: it widens what is accepted (any applicable refusal); the freedom last-applicable-refusal proves the vectors accept it, and each refusal's own rule has its mutants",
    ),
];

/// Mutants the vectors cannot kill, and the command that does: the vectors' score and the
/// self-test leave them out, and a test of that command proves it kills each.
pub const NOT_BY_VECTORS: &[(Mutant, &str)] = &[
    // A refused body that changed the state: only a read after it shows it.
    (Mutant::SequenceBeforeTrailingCheck, "fuzz"),
    // A length prefix no vector's malformed body announces.
    (Mutant::ServerErrorOnHugeLength, "fuzz"),
    // Races: a vector sends one request at a time, and these need requests that overlap.
    (Mutant::SamePositionRace, "stress"),
    (Mutant::LostUpdateRace, "stress"),
];

/// The command that kills `mutant` when the vectors cannot; `None` for the vectors' own.
pub fn not_by_vectors(mutant: Mutant) -> Option<&'static str> {
    NOT_BY_VECTORS
        .iter()
        .find(|(m, _)| *m == mutant)
        .map(|(_, by)| *by)
}

/// Every rule the suite must be able to catch a DS breaking: each wire-testable
/// requirement and each erratum that decides wire behaviour, in catalogue order.
pub fn rules() -> Vec<Rule> {
    let requirements = CATALOGUE
        .iter()
        .filter(|r| r.testable.is_wire_testable())
        .map(|r| Rule::Requirement(r.id));
    let decisions = ERRATA
        .iter()
        .filter(|e| !ERRATA_NOT_DECIDING_WIRE.iter().any(|(id, _)| *id == e.id))
        .map(|e| Rule::Erratum(e.id));
    requirements.chain(decisions).collect()
}

impl MutantInfo {
    /// Whether this mutant breaks `rule`.
    pub fn breaks_rule(&self, rule: Rule) -> bool {
        match rule {
            Rule::Requirement(r) => self.requirements.contains(&r),
            Rule::Erratum(e) => self.errata.contains(&e),
        }
    }
}

/// The mutants breaking `rule`.
pub fn mutants_of(rule: Rule) -> impl Iterator<Item = &'static MutantInfo> {
    MUTANTS.iter().filter(move |m| m.breaks_rule(rule))
}

/// Why `rule` has no mutant, if it is listed as having none.
pub fn why_without_mutant(rule: Rule) -> Option<&'static str> {
    WITHOUT_MUTANT
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, why)| *why)
}

impl Mutant {
    /// Whether the server applies this mutant's sends around an await point ([`race`]).
    pub fn races(self) -> bool {
        matches!(self, Mutant::SamePositionRace | Mutant::LostUpdateRace)
    }
}

/// A send as a race mutant applies it: `snapshot` is the state as the server read it before
/// its await point, `state` the state now, after other requests may have run.
pub fn race(mutant: Mutant, snapshot: &State, state: &mut State, input: &Input) -> Observed {
    let position = sent(input).and_then(|r| {
        let log = &snapshot.partitions.partition(&r.partition_key)?.log;
        Some((r.partition_key, log.len()))
    });
    if mutant == Mutant::LostUpdateRace {
        *state = snapshot.clone();
    }
    let observed = mimi_ds_model::ds::Reference.apply(state, input);
    if let (Mutant::SamePositionRace, Some((key, position))) = (mutant, position) {
        if let Some(log) = partition_mut(state, &key).map(|p| &mut p.log) {
            if observed.response == Response::Accepted && log.len() > position + 1 {
                let newest = log.pop_back().expect("longer than the position");
                log.insert(position, newest);
            }
        }
    }
    observed
}

/// What the mutant does with an input before the model sees it.
enum Before {
    Apply(Input),
    /// Answer without touching the state.
    Answer(Response),
}

/// A mutant is a DS behaviour like the reference: the reference DS serves it, the exhaustive
/// explorer explores it, both judging it against the reference from the state the mutant
/// itself reached.
/// Mutants of the certificate check, which only a run over mutual TLS can show: the score
/// and the self-test run the vectors against them over TLS.
pub const OVER_TLS: &[Mutant] = &[
    Mutant::TrustHeaderOverCertificate,
    Mutant::AcceptAnyCertificate,
];

/// Why random traces (`run --explore`) cannot catch `mutant`, if they cannot: what it breaks
/// is outside what a trace varies.
pub fn beyond_explore(mutant: Mutant) -> Option<&'static str> {
    if OVER_TLS.contains(&mutant) {
        return Some("a mutant of the certificate check: traces present no wrong certificates; the certificate cases catch it over TLS");
    }
    (not_by_vectors(mutant) == Some("stress")).then_some(
        "a race: a trace sends one request at a time, so nothing overlaps; `stress` catches it",
    )
}

/// The server configuration of `accept-any-certificate`: `identity` served, and every client
/// certificate taken as verified once its holder proves it has the key, whoever issued it.
pub fn any_certificate(identity: &Identity) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(Arc::new(AnyCertificate(provider)))
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![tls::H2.to_vec(), tls::HTTP1.to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ClientCertVerifier for AnyCertificate {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl Model for Mutant {
    fn apply(&self, state: &mut State, input: &Input) -> Observed {
        let before = state.clone();
        let input = match self.before(state, input.clone()) {
            Before::Answer(response) => {
                return Observed {
                    response,
                    outbound: Vec::new(),
                }
            }
            Before::Apply(input) => input,
        };
        let Outcome {
            expect,
            mut outbound,
        } = apply(state, &input);
        let mut response = expect.canonical;
        self.after(&before, state, &input, &mut response, &mut outbound);
        Observed { response, outbound }
    }
}

impl Mutant {
    /// The other hook: how this DS decodes a body the strict decoder refused at `endpoint`;
    /// `None` keeps the refusal.
    pub fn decode_refused(
        self,
        endpoint: Endpoint,
        from: &ServiceProviderId,
        body: &[u8],
    ) -> Option<Input> {
        let decodes = |bytes: &[u8]| {
            Some(binding::input_of(endpoint, from, bytes))
                .filter(|i| !matches!(i, Input::Malformed { .. }))
        };
        match (self, endpoint) {
            // The longest prefix that decodes wins.
            (Mutant::AcceptTrailingBytes, _) => {
                (1..body.len()).rev().find_map(|n| decodes(&body[..n]))
            }
            (Mutant::CommitDataOnAnyMessage, Endpoint::Send) => (1..body.len()).find_map(|n| {
                let mut request = SendRequest::from_bytes(&body[..n]).ok()?;
                let data = CommitData::from_bytes(&body[n..]).ok()?;
                request.commit_data.is_none().then(|| {
                    request.commit_data = Some(data);
                    Input::Send {
                        from: from.clone(),
                        request,
                    }
                })
            }),
            (Mutant::ShortPartitionKeyPadded, Endpoint::Send | Endpoint::Receive) => {
                // Where the key starts: after the message of a SendRequest, first otherwise.
                let starts = (0..body.len()).filter(|&n| {
                    endpoint == Endpoint::Receive && n == 0
                        || endpoint == Endpoint::Send && MlsMessage::from_bytes(&body[..n]).is_ok()
                });
                starts.into_iter().find_map(|n| {
                    let length = usize::from(*body.get(n)?);
                    let key = body.get(n + 1..n + 1 + length).filter(|_| length < 16)?;
                    let mut padded = body[..n].to_vec();
                    padded.push(16);
                    padded.extend(key);
                    padded.resize(n + 17, 0);
                    padded.extend(&body[n + 1 + length..]);
                    decodes(&padded)
                })
            }
            (Mutant::SendTakesAnyWireFormat, Endpoint::Send) => (1..body.len()).find_map(|n| {
                let message = MlsMessage::from_bytes(&body[..n]).ok()?;
                let key: [u8; 16] = match &body[n..] {
                    [16, key @ ..] => key.try_into().ok()?,
                    _ => return None,
                };
                Some(Input::Send {
                    from: from.clone(),
                    request: SendRequest {
                        message,
                        partition_key: PartitionKey(key),
                        commit_data: None,
                    },
                })
            }),
            (Mutant::ProviderIdAnyCase, Endpoint::Send) => {
                let mut lowered = body.to_vec();
                for (at, length) in capitalised_names(body) {
                    lowered[at..at + length].make_ascii_lowercase();
                }
                (lowered != body).then(|| decodes(&lowered)).flatten()
            }
            _ => None,
        }
    }

    /// The server-side hooks for a body the strict decoder refused at `endpoint`, for bugs
    /// that live where bytes are read: whether the DS answers it with a 500.
    pub fn fails_on_refused(self, endpoint: Endpoint, body: &[u8]) -> bool {
        let me = provider(FOLLOWER_B);
        match self {
            Mutant::ServerErrorOnMalformed => true,
            Mutant::ServerErrorOnHugeLength => matches!(
                binding::decode(endpoint, &me, body),
                Err(DecodeError { reason: Reason::LengthBeyondInput { length, remaining, .. }, .. })
                    if length - remaining >= 64 << 10
            ),
            _ => false,
        }
    }

    /// What this DS sequences of a body it then refuses as malformed: for
    /// `sequence-before-trailing-check`, the SendRequest before the trailing bytes, unless
    /// it carries a commit (whose CommitData is read before anything is stored).
    pub fn applied_before_refusal(
        self,
        endpoint: Endpoint,
        from: &ServiceProviderId,
        body: &[u8],
    ) -> Option<Input> {
        if (self, endpoint) != (Mutant::SequenceBeforeTrailingCheck, Endpoint::Send) {
            return None;
        }
        match binding::decode(endpoint, from, body) {
            Err(DecodeError {
                offset,
                reason: Reason::TrailingBytes { .. },
            }) => binding::decode(endpoint, from, &body[..offset])
                .ok()
                .filter(|input| {
                    sent(input)
                        .is_some_and(|r| r.message.view.content_type != Some(ContentType::Commit))
                }),
            _ => None,
        }
    }

    fn before(self, state: &State, input: Input) -> Before {
        use Before::{Answer, Apply};
        let refuse = |code| Answer(Response::Error(code));
        let sent = sent(&input).cloned();
        let sent = sent.as_ref();
        match (self, input) {
            (Mutant::UnannouncedKeysInheritGroupBans, input @ Input::Send { .. })
                if adds_identity_banned_anywhere(state, &sent.expect("a send").message)
                    && !state
                        .partitions
                        .index
                        .contains_key(&sent.expect("a send").partition_key) =>
            {
                let _ = input;
                refuse(ErrorCode::PolicyRejected)
            }
            (Mutant::CounterOffByOne, Input::Receive { from, mut request }) => {
                request.counter = request.counter.saturating_add(1);
                Apply(Input::Receive { from, request })
            }
            (Mutant::TerminatedBranchUnreadable, Input::Receive { request, .. })
                if state
                    .partitions
                    .partition(&request.partition_key)
                    .is_some_and(|p| p.terminated) =>
            {
                refuse(ErrorCode::BranchTerminated)
            }
            (Mutant::ReceiveSearchesOneGroup, Input::Receive { request, .. })
                if state
                    .partitions
                    .index
                    .get(&request.partition_key)
                    .is_some_and(|g| state.partitions.groups.keys().next() != Some(g)) =>
            {
                Answer(Response::Receive(Default::default()))
            }
            (Mutant::WelcomeWithoutAffirmative, Input::WelcomeInitAnswered { provider, .. }) => {
                Apply(Input::WelcomeInitAnswered {
                    provider,
                    accepted: true,
                    no_answer: None,
                })
            }
            (Mutant::AcceptRevokedToken, Input::RevokeToken { .. }) => Answer(Response::Accepted),
            (Mutant::PolicyAcrossForks, _)
                if sent.is_some_and(|r| adds_identity_banned_anywhere(state, &r.message)) =>
            {
                refuse(ErrorCode::PolicyRejected)
            }
            (Mutant::RejectUnseenPartitionKey, _)
                if sent.is_some_and(|r| {
                    hosted(state, &r.message)
                        && !state.partitions.index.contains_key(&r.partition_key)
                }) =>
            {
                refuse(ErrorCode::UnknownPartition)
            }
            (Mutant::CommitDataOnAnyMessage, input) => Apply(with_request(input, |request| {
                if request.message.view.content_type != Some(ContentType::Commit) {
                    request.commit_data = None;
                }
            })),
            (
                Mutant::RelayForeignGroupInfo,
                input @ (Input::Send { .. } | Input::LocalSend { .. }),
            ) => Apply(with_request(input, |request| {
                if let Some(data) = &mut request.commit_data {
                    strip_foreign_group_info(data, &request.message);
                }
            })),
            (Mutant::RelayForeignGroupInfo, Input::ExternalJoin { from, mut request }) => {
                strip_foreign_group_info(&mut request.commit_data, &request.message);
                Apply(Input::ExternalJoin { from, request })
            }
            (Mutant::RejectForkingCommit, _)
                if sent.is_some_and(|r| {
                    r.message.view.content_type == Some(ContentType::Commit)
                        && commits_in(state, &r.partition_key) > 0
                }) =>
            {
                refuse(ErrorCode::Malformed)
            }
            (Mutant::RejectAfterCommit, _)
                if sent.is_some_and(|r| {
                    r.message.view.content_type != Some(ContentType::Commit)
                        && commits_in(state, &r.partition_key) > 0
                }) =>
            {
                refuse(ErrorCode::PolicyRejected)
            }
            (Mutant::RejectDuplicateSend, _)
                if sent.is_some_and(|r| {
                    state
                        .partitions
                        .partition(&r.partition_key)
                        .is_some_and(|p| p.log.iter().any(|m| m.message == r.message))
                }) =>
            {
                refuse(ErrorCode::Malformed)
            }
            (Mutant::RefuseUnlistedProviders, input)
                if matches!(
                    input,
                    Input::Send { .. }
                        | Input::Receive { .. }
                        | Input::ExternalJoin { .. }
                        | Input::GroupInfo { .. }
                ) && input.sender().is_some_and(|from| !partner(from)) =>
            {
                refuse(ErrorCode::UnauthorizedProvider)
            }
            (Mutant::AcceptNonWelcomeMessage, Input::WelcomePush { welcome, .. })
                if welcome.view.wire_format != WireFormat::Welcome =>
            {
                Answer(Response::Accepted)
            }
            (Mutant::UserCheckedBeforeToken, Input::KeyPackage { request })
                if !state.key_packages.users.contains_key(&request.user_id) =>
            {
                refuse(ErrorCode::UnknownUser)
            }
            (
                Mutant::RefuseAnonymousKeyPackageRequests,
                Input::KeyPackage { .. } | Input::KeyPackageBundle { .. },
            ) => refuse(ErrorCode::UnauthorizedProvider),
            (Mutant::ExternalJoinUnvalidated, Input::ExternalJoin { request, .. })
                if !is_external_commit(&request.message) =>
            {
                Answer(Response::Accepted)
            }
            (Mutant::RefuseExternalJoins, Input::ExternalJoin { .. }) => {
                refuse(ErrorCode::UnknownPartition)
            }
            (Mutant::RefuseExternallyCreatedPartition, _)
                if sent.is_some_and(|r| {
                    state
                        .partitions
                        .find(&r.partition_key)
                        .is_some_and(|(_, g, _)| g.created_by_external_commit(&r.partition_key))
                }) =>
            {
                refuse(ErrorCode::UnknownPartition)
            }
            (Mutant::MuteBlocksHandshakes, Input::LocalSend { user, .. })
                if state.policy.muted.contains(&user) =>
            {
                refuse(ErrorCode::PolicyRejected)
            }
            (Mutant::RateLimitRemoteSenders, Input::Send { .. })
                if state.policy.budgets.values().any(|b| *b == 0) =>
            {
                refuse(ErrorCode::PolicyRejected)
            }
            (Mutant::RejectPresumedContent, _)
                if sent.is_some_and(|r| {
                    r.message.view.wire_format == WireFormat::PrivateMessage
                        && state
                            .partitions
                            .partition(&r.partition_key)
                            .is_some_and(|p| !p.bans.is_empty())
                }) =>
            {
                refuse(ErrorCode::PolicyRejected)
            }
            (_, input) => Apply(input),
        }
    }

    /// What the mutant does after the model answered: may alter the answer, the calls and
    /// the state it keeps.
    fn after(
        self,
        before: &State,
        state: &mut State,
        input: &Input,
        response: &mut Response,
        outbound: &mut Vec<Outbound>,
    ) {
        match (self, input, &mut *response) {
            (
                Mutant::HintRepeatsRequestedEpoch,
                Input::Receive { request, .. },
                Response::Receive(r),
            ) => {
                if let Some(p) = state.partitions.partition(&request.partition_key) {
                    r.hints.push(hint_of(p));
                }
            }
            (Mutant::HintsSkipCounter, Input::Receive { request, .. }, Response::Receive(r)) => {
                for hint in &mut r.hints {
                    let skip = (request.counter as usize).min(hint.epoch.messages.len());
                    hint.epoch.messages.drain(..skip);
                }
            }
            (Mutant::UnmaskedHintKey, Input::Receive { .. }, Response::Receive(r)) => {
                for hint in &mut r.hints {
                    if let Some(key) = raw_key(state, &hint.masked_partition_key) {
                        hint.masked_partition_key = key.0.to_vec().into();
                    }
                }
            }
            (Mutant::RawNextPartitionKey, Input::Receive { .. }, Response::Receive(r)) => {
                let epochs =
                    std::iter::once(&mut r.epoch).chain(r.hints.iter_mut().map(|h| &mut h.epoch));
                for message in epochs.flat_map(|e| e.messages.iter_mut()) {
                    if let Some(commit) = &mut message.commit {
                        if let Some(key) = raw_key(state, &commit.next_partition_key) {
                            commit.next_partition_key = key.0.to_vec().into();
                        }
                    }
                }
            }
            (Mutant::ReorderConcurrentSends, Input::Receive { .. }, Response::Receive(r)) => {
                let n = r.epoch.messages.len();
                if n >= 2 {
                    r.epoch.messages.swap(n - 2, n - 1);
                }
            }
            (Mutant::HintsAcrossGroups, Input::Receive { request, .. }, Response::Receive(r)) => {
                let own = state.partitions.index.get(&request.partition_key);
                let others = state
                    .partitions
                    .groups
                    .iter()
                    .filter(|(id, _)| Some(*id) != own)
                    .flat_map(|(_, g)| g.partitions.values())
                    .filter(|p| !p.log.is_empty());
                r.hints.extend(others.map(hint_of));
            }
            (Mutant::ReadFollowsChain, Input::Receive { request, .. }, Response::Receive(r)) => {
                if let Some((_, group, _)) = state.partitions.find(&request.partition_key) {
                    let later = group
                        .partitions
                        .values()
                        .filter(|p| p.parent == Some(request.partition_key));
                    for p in later {
                        r.epoch.messages.extend(to_vec(&p.log));
                        r.hints.retain(|h| h.masked_partition_key != p.masked);
                    }
                }
            }
            (
                Mutant::AcceptUnknownGroup,
                Input::Send { .. },
                Response::Error(ErrorCode::UnknownGroup),
            )
            | (
                Mutant::SkipRatchetTreeCheck,
                Input::Send { .. } | Input::LocalSend { .. } | Input::ExternalJoin { .. },
                Response::Error(ErrorCode::RatchetTreeRequired),
            )
            | (
                Mutant::AcceptUnannouncedWelcome,
                Input::WelcomePush { .. },
                Response::Error(ErrorCode::WelcomeRefused),
            ) => {
                *response = Response::Accepted;
            }
            (
                Mutant::IgnoreWelcomeProvidersLength,
                Input::Send { request, .. } | Input::LocalSend { request, .. },
                Response::Error(ErrorCode::Malformed),
            ) => {
                let welcome = request
                    .commit_data
                    .as_ref()
                    .and_then(|d| d.welcome_data.as_ref());
                if let Some(w) = welcome {
                    let secrets = w.welcome.view.new_members.as_ref().map_or(0, Vec::len);
                    if secrets != w.service_providers.len() {
                        *response = Response::Accepted;
                    }
                }
            }
            (
                Mutant::RatchetTreeRequiredAsMalformed,
                _,
                Response::Error(code @ ErrorCode::RatchetTreeRequired),
            ) => {
                *code = ErrorCode::Malformed;
            }
            (
                Mutant::LoseSecondMessage,
                Input::Send { request, .. } | Input::LocalSend { request, .. },
                Response::Accepted,
            ) => {
                let was = before
                    .partitions
                    .partition(&request.partition_key)
                    .map_or(0, |p| p.log.len());
                if was == 1 {
                    *state = before.clone();
                }
            }
            (Mutant::WelcomeBeforeAnswer, _, Response::Accepted) => {
                if let Some(welcome) = welcome_of(input) {
                    let early: Vec<Outbound> = outbound
                        .iter()
                        .filter_map(|call| match call {
                            Outbound::WelcomeInit { to, .. } => Some(Outbound::WelcomePush {
                                to: to.clone(),
                                welcome: welcome.clone(),
                            }),
                            _ => None,
                        })
                        .collect();
                    outbound.extend(early);
                }
            }
            (Mutant::SkipWelcomeInit, _, Response::Accepted) => {
                if let Some(welcome) = welcome_of(input) {
                    state.welcomes = before.welcomes.clone();
                    for call in outbound.iter_mut() {
                        if let Outbound::WelcomeInit { to, .. } = call {
                            *call = Outbound::WelcomePush {
                                to: to.clone(),
                                welcome: welcome.clone(),
                            };
                        }
                    }
                }
            }
            (Mutant::WelcomeNeverPushed, Input::WelcomeInitAnswered { .. }, _) => {
                outbound.clear();
            }
            (Mutant::WelcomeToFirstProviderOnly, _, Response::Accepted) => {
                let mut inits = outbound
                    .iter()
                    .filter_map(|c| match c {
                        Outbound::WelcomeInit { to, .. } => Some(to.clone()),
                        _ => None,
                    })
                    .skip(1);
                if inits.next().is_some() {
                    let first = outbound
                        .iter()
                        .position(|c| matches!(c, Outbound::WelcomeInit { .. }));
                    let mut index = 0;
                    outbound.retain(|c| {
                        let keep =
                            !matches!(c, Outbound::WelcomeInit { .. }) || Some(index) == first;
                        index += 1;
                        keep
                    });
                    forget_unsent_welcomes(before, state, outbound);
                }
            }
            (Mutant::WelcomeInitListsAllRefs, _, Response::Accepted) => {
                if let Some(welcome) = welcome_of(input) {
                    let all = welcome.view.new_members.clone().unwrap_or_default();
                    for call in outbound.iter_mut() {
                        if let Outbound::WelcomeInit { request, .. } = call {
                            request.key_package_refs = all.clone();
                        }
                    }
                }
            }
            (Mutant::IgnoreWelcomeData, _, Response::Accepted) if welcome_of(input).is_some() => {
                outbound.retain(|c| !matches!(c, Outbound::WelcomeInit { .. }));
                state.welcomes = before.welcomes.clone();
            }
            (
                Mutant::WelcomeInitAlwaysYes,
                Input::WelcomeInit { request, .. },
                Response::WelcomeInit(answer),
            ) => {
                answer.accepted = true;
                state
                    .follower
                    .awaiting_welcome
                    .extend(request.key_package_refs.iter().cloned());
            }
            (
                Mutant::KeyPackageHandedOutTwice,
                Input::KeyPackage { .. } | Input::KeyPackageBundle { .. },
                _,
            ) => {
                state.key_packages = before.key_packages.clone();
            }
            (
                Mutant::AcceptUnknownToken,
                Input::KeyPackage { request },
                Response::Error(ErrorCode::InvalidBearerToken),
            ) => {
                let mut trusting = before.clone();
                trusting.key_packages.tokens.insert(
                    request.bearer_token.clone(),
                    mimi_ds_model::ds::TokenScope::Shared,
                );
                let expect = apply(&mut trusting, input).expect;
                trusting.key_packages.tokens = before.key_packages.tokens.clone();
                *response = expect.canonical;
                *state = trusting;
            }
            (
                Mutant::OtherSuiteKeyPackage,
                Input::KeyPackage { request },
                Response::Error(ErrorCode::UnsupportedParameters),
            ) => {
                let stored = state.key_packages.users.get_mut(&request.user_id);
                if let Some(any) = stored.and_then(|s| s.iter_mut().find(|k| !k.handed_out)) {
                    any.handed_out = !any.key_package.view.last_resort;
                    *response = Response::KeyPackage(KeyPackageResponse {
                        key_package: any.key_package.clone(),
                    });
                }
            }
            (
                Mutant::NoUploadsIsUnknownUser,
                Input::KeyPackage { request },
                Response::Error(code @ ErrorCode::KeyPackageExhausted),
            ) if state
                .key_packages
                .users
                .get(&request.user_id)
                .is_some_and(|stored| stored.is_empty()) =>
            {
                *code = ErrorCode::UnknownUser;
            }
            (
                Mutant::BundleOutOfOrder,
                Input::KeyPackageBundle { .. },
                Response::KeyPackageBundle(b),
            ) => {
                b.results.reverse();
            }
            (
                Mutant::ExternalJoinToCreationPartition,
                Input::ExternalJoin { request, .. },
                Response::Accepted,
            ) => {
                move_external_commit_to_creation(
                    before,
                    state,
                    request.message.view.group_id.as_ref(),
                );
            }
            (
                Mutant::GroupInfoOfFirstCommit,
                Input::GroupInfo { request, .. },
                Response::GroupInfo(r),
            ) => {
                let first = state
                    .partitions
                    .groups
                    .get(&request.group_id)
                    .and_then(|g| g.commits.iter().find_map(|c| c.group_info.clone()));
                if let Some(group_info) = first {
                    r.group_info = group_info;
                }
            }
            (
                Mutant::EmptyTreeBesideFullGroupInfo,
                Input::GroupInfo { .. },
                Response::GroupInfo(r),
            ) if r.ratchet_tree.is_none() => {
                // An empty `optional<Node> ratchet_tree<V>`: a zero length prefix.
                r.ratchet_tree = Some(RatchetTree {
                    hex: Bytes(vec![0]),
                });
            }
            (
                Mutant::IgnoreBranchTermination,
                Input::Send { request, .. } | Input::LocalSend { request, .. },
                Response::Error(ErrorCode::BranchTerminated),
            ) => {
                let key = request.partition_key;
                let mut reopened = before.clone();
                set_terminated(&mut reopened, &key, false);
                let Outcome {
                    expect,
                    outbound: calls,
                } = apply(&mut reopened, input);
                set_terminated(&mut reopened, &key, true);
                *response = expect.canonical;
                *outbound = calls;
                *state = reopened;
            }
            (
                Mutant::TerminationCoversDescendants,
                Input::TerminateBranch { partition_key },
                Response::Accepted,
            ) => {
                if let Some(group) = state
                    .partitions
                    .index
                    .get(partition_key)
                    .cloned()
                    .and_then(|g| state.partitions.groups.get_mut(&g))
                {
                    let below: Vec<PartitionKey> = group
                        .partitions
                        .keys()
                        .filter(|k| group.ancestors(k).contains(partition_key))
                        .copied()
                        .collect();
                    for key in below {
                        set_terminated(state, &key, true);
                    }
                }
            }
            (
                Mutant::AcceptTerminatingUnknownKey,
                Input::TerminateBranch { .. },
                Response::Error(ErrorCode::UnknownPartition),
            ) => {
                *response = Response::Accepted;
            }
            (
                Mutant::ForwardUnfollowedSends,
                Input::LocalSend { .. },
                Response::Error(ErrorCode::UnknownGroup),
            ) => {
                *response = Response::Accepted;
            }
            (
                Mutant::TakePushesFromAnyone,
                Input::Push { .. },
                Response::Error(ErrorCode::UnauthorizedProvider),
            ) => {
                *response = Response::Accepted;
            }
            (
                Mutant::TakePushesFromAnyFollowedHub,
                Input::Push { from, .. },
                Response::Error(ErrorCode::UnauthorizedProvider),
            ) if before.follower.groups.values().any(|g| g.hub == *from) => {
                *response = Response::Accepted;
            }
            (Mutant::SelfRemoveLeavesEveryGroup, Input::SelfRemove { .. }, Response::Accepted) => {
                for group in state.follower.groups.values_mut() {
                    group.self_removed = true;
                }
            }
            (
                Mutant::PushOnlyNewMessage | Mutant::PushMixedEpoch | Mutant::PushToEveryPeer,
                Input::Send { .. } | Input::LocalSend { .. } | Input::ExternalJoin { .. },
                Response::Accepted,
            ) => outbound.extend(self.pushes(before, state, input)),
            (
                Mutant::IgnoreBans,
                Input::Send { request, .. } | Input::LocalSend { request, .. },
                Response::Error(ErrorCode::PolicyRejected),
            ) => {
                let key = request.partition_key;
                let mut lax = before.clone();
                let bans = set_bans(&mut lax, &key, Default::default());
                let Outcome {
                    expect,
                    outbound: calls,
                } = apply(&mut lax, input);
                set_bans(&mut lax, &key, bans);
                *response = expect.canonical;
                *outbound = calls;
                *state = lax;
            }
            (
                Mutant::IgnoreMute,
                Input::LocalSend { user, .. },
                Response::Error(ErrorCode::PolicyRejected),
            ) if before.policy.muted.contains(user) => {
                let mut lax = before.clone();
                lax.policy.muted.remove(user);
                let Outcome {
                    expect,
                    outbound: calls,
                } = apply(&mut lax, input);
                lax.policy.muted.insert(user.clone());
                *response = expect.canonical;
                *outbound = calls;
                *state = lax;
            }
            (Mutant::FollowerSequencesLocally, Input::LocalSend { .. }, _)
            | (Mutant::FollowerAnswersReadsLocally, Input::LocalReceive { .. }, _) => {
                outbound.retain(|c| !matches!(c, Outbound::Send { .. } | Outbound::Receive { .. }));
            }
            (Mutant::ForgetFollowedGroups, Input::FollowGroup { .. }, _)
            | (Mutant::ReadsAfterSelfRemove, Input::SelfRemove { .. }, _) => {
                state.follower.groups = before.follower.groups.clone();
            }
            _ => {}
        }
    }
}

/// Where `body` holds a length-prefixed name of letters, digits, dots and dashes with a
/// capital letter in it: (offset of the name, its length).
fn capitalised_names(body: &[u8]) -> Vec<(usize, usize)> {
    let name_byte = |b: &u8| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-';
    (0..body.len())
        .filter_map(|at| {
            let length = usize::from(body[at]);
            let name = body.get(at + 1..at + 1 + length)?;
            let looks_like_a_name = length >= 3
                && name.iter().all(name_byte)
                && name.iter().any(u8::is_ascii_uppercase)
                && name.contains(&b'.');
            looks_like_a_name.then_some((at + 1, length))
        })
        .collect()
}

/// The SendRequest of a federation send or of a local user's send.
fn sent(input: &Input) -> Option<&SendRequest> {
    match input {
        Input::Send { request, .. } | Input::LocalSend { request, .. } => Some(request),
        _ => None,
    }
}

/// `input` with its SendRequest rewritten by `change`, if it has one.
fn with_request(mut input: Input, change: impl FnOnce(&mut SendRequest)) -> Input {
    if let Input::Send { request, .. } | Input::LocalSend { request, .. } = &mut input {
        change(request);
    }
    input
}

fn hosted(state: &State, message: &MlsMessage) -> bool {
    message
        .view
        .group_id
        .as_ref()
        .is_some_and(|g| state.partitions.groups.contains_key(g))
}

fn commits_in(state: &State, key: &PartitionKey) -> u32 {
    state.partitions.partition(key).map_or(0, |p| p.commits)
}

/// The static allow-list of `refuse-unlisted-providers`.
fn partner(provider: &ServiceProviderId) -> bool {
    [FOLLOWER_B, FOLLOWER_C].contains(&provider.as_str())
}

fn is_external_commit(message: &MlsMessage) -> bool {
    let view = &message.view;
    view.wire_format == WireFormat::PublicMessage
        && view.content_type == Some(ContentType::Commit)
        && view.sender_type == Some(mimi_ds_model::codec::SenderType::NewMemberCommit)
}

fn strip_foreign_group_info(data: &mut mimi_ds_model::codec::CommitData, message: &MlsMessage) {
    let foreign = data
        .group_info
        .as_ref()
        .is_some_and(|g| g.view.group_id != message.view.group_id);
    if foreign {
        data.group_info = None;
    }
}

fn hint_of(partition: &mimi_ds_model::ds::Partition) -> HintedEpoch {
    HintedEpoch {
        masked_partition_key: partition.masked.clone(),
        epoch: mimi_ds_model::codec::Epoch {
            messages: to_vec(&partition.log),
        },
    }
}

/// The partition key whose mask is `masked`, among every group's partitions.
fn raw_key(state: &State, masked: &Bytes) -> Option<PartitionKey> {
    state
        .partitions
        .groups
        .values()
        .flat_map(|g| g.partitions.iter())
        .find(|(_, p)| p.masked == *masked)
        .map(|(k, _)| *k)
}

fn welcome_of(input: &Input) -> Option<MlsMessage> {
    let data = match input {
        Input::Send { request, .. } | Input::LocalSend { request, .. } => {
            request.commit_data.as_ref()
        }
        Input::ExternalJoin { request, .. } => Some(&request.commit_data),
        _ => None,
    }?;
    data.welcome_data.as_ref().map(|w| w.welcome.clone())
}

/// Drops the waiting Welcomes of providers that got no WelcomeInit in `sent`.
fn forget_unsent_welcomes(before: &State, state: &mut State, sent: &[Outbound]) {
    let contacted: Vec<&ServiceProviderId> = sent
        .iter()
        .filter(|c| matches!(c, Outbound::WelcomeInit { .. }))
        .map(Outbound::to)
        .collect();
    let waiting = &mut state.welcomes.waiting;
    let added: Vec<ServiceProviderId> = waiting
        .keys()
        .filter(|p| !contacted.contains(p))
        .cloned()
        .collect();
    for provider in added {
        match before.welcomes.waiting.get(&provider) {
            Some(old) => {
                waiting.insert(provider, old.clone());
            }
            None => {
                waiting.remove(&provider);
            }
        }
    }
}

/// Partition `key`, wherever it is hosted.
fn partition_mut<'a>(
    state: &'a mut State,
    key: &PartitionKey,
) -> Option<&'a mut mimi_ds_model::ds::Partition> {
    let group_id = state.partitions.index.get(key)?.clone();
    state
        .partitions
        .groups
        .get_mut(&group_id)?
        .partitions
        .get_mut(key)
}

fn set_terminated(state: &mut State, key: &PartitionKey, terminated: bool) {
    if let Some(p) = partition_mut(state, key) {
        p.terminated = terminated;
    }
}

/// Replaces the bans of partition `key`; returns the old ones.
fn set_bans(
    state: &mut State,
    key: &PartitionKey,
    bans: std::collections::BTreeSet<Bytes>,
) -> std::collections::BTreeSet<Bytes> {
    partition_mut(state, key)
        .map(|p| std::mem::replace(&mut p.bans, bans))
        .unwrap_or_default()
}

impl Mutant {
    /// The broken pushes of the push mutants after an accepted message.
    fn pushes(self, before: &State, state: &State, input: &Input) -> Vec<Outbound> {
        let message = match input {
            Input::Send { request, .. } | Input::LocalSend { request, .. } => &request.message,
            Input::ExternalJoin { request, .. } => &request.message,
            _ => return Vec::new(),
        };
        let Some(group_id) = &message.view.group_id else {
            return Vec::new();
        };
        let Some(group) = state.partitions.groups.get(group_id) else {
            return Vec::new();
        };
        let then = before.partitions.groups.get(group_id);
        let response = match self {
            Mutant::PushOnlyNewMessage => {
                // The partition that grew, holding its newest message only.
                let grown = group.partitions.iter().find(|(key, p)| {
                    let was = then
                        .and_then(|g| g.partitions.get(*key))
                        .map_or(0, |old| old.log.len());
                    p.log.len() > was
                });
                let Some((_, grown)) = grown else {
                    return Vec::new();
                };
                ReceiveResponse {
                    epoch: Epoch::default(),
                    hints: vec![HintedEpoch {
                        masked_partition_key: grown.masked.clone(),
                        epoch: Epoch {
                            messages: to_vec(&grown.log.skip(grown.log.len().saturating_sub(1))),
                        },
                    }],
                }
            }
            _ => ReceiveResponse {
                epoch: Epoch {
                    messages: group
                        .partitions
                        .values()
                        .flat_map(|p| to_vec(&p.log))
                        .collect(),
                },
                hints: Vec::new(),
            },
        };
        let recipients: Vec<ServiceProviderId> = match self {
            Mutant::PushToEveryPeer => [FOLLOWER_B, FOLLOWER_C, OUTSIDER]
                .into_iter()
                .map(provider)
                .filter(|p| *p != state.me)
                .collect(),
            _ => group
                .participants
                .iter()
                .filter(|p| **p != state.me)
                .cloned()
                .collect(),
        };
        recipients
            .into_iter()
            .map(|to| Outbound::Push {
                to,
                response: response.clone(),
            })
            .collect()
    }
}

fn adds_identity_banned_anywhere(state: &State, message: &MlsMessage) -> bool {
    let view = &message.view;
    if view.wire_format != WireFormat::PublicMessage
        || view.content_type != Some(ContentType::Commit)
    {
        return false;
    }
    let Some(group) = view
        .group_id
        .as_ref()
        .and_then(|g| state.partitions.groups.get(g))
    else {
        return false;
    };
    view.proposals.iter().any(|p| match p {
        ProposalView::Add { identity, .. } => group
            .partitions
            .values()
            .any(|part| part.bans.contains(identity)),
        _ => false,
    })
}

fn move_external_commit_to_creation(before: &State, state: &mut State, group_id: Option<&Bytes>) {
    let Some(group_id) = group_id else { return };
    let Some(old) = before.partitions.groups.get(group_id) else {
        return;
    };
    let target = forks::most_recent_partition(old);
    let Some(group) = state.partitions.groups.get_mut(group_id) else {
        return;
    };
    let creation = group.creation;
    if target == creation {
        return;
    }
    let moved = group
        .partitions
        .get_mut(&target)
        .and_then(|p| p.log.pop_back());
    if let (Some(message), Some(first)) = (moved, group.partitions.get_mut(&creation)) {
        first.log.push_back(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_variants_are_unique() {
        let mut names: Vec<&str> = MUTANTS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MUTANTS.len());
        for m in MUTANTS {
            assert_eq!(
                MUTANTS.iter().filter(|o| o.kind == m.kind).count(),
                1,
                "{}",
                m.name
            );
            assert!(
                !m.requirements.is_empty() || !m.errata.is_empty(),
                "{} breaks nothing",
                m.name
            );
        }
    }

    #[test]
    fn the_exemption_tables_name_only_real_rules_once() {
        let all = rules();
        for (rule, why) in WITHOUT_MUTANT {
            assert!(all.contains(rule), "{} is not a wire rule", rule.id());
            assert!(!why.is_empty());
            assert_eq!(mutants_of(*rule).count(), 0, "{} has a mutant", rule.id());
        }
        for (erratum, _) in ERRATA_NOT_DECIDING_WIRE {
            assert!(errata::find(erratum.0).is_some());
            assert!(
                !MUTANTS.iter().any(|m| m.errata.contains(erratum)),
                "{erratum} is said not to decide the wire but a mutant breaks it"
            );
        }
    }
}
