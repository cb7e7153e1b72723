//! The requirement catalogue: every normative statement of
//! draft-mcmillion-mimi-delivery-service, quoted verbatim, with a stable id.
//!
//! This module owns the ids. Everything else (the model, the checker, vectors,
//! reports) refers to a requirement through the `ReqId` constants declared
//! here, so an id is spelt exactly once in the source tree. Each entry says who
//! it binds and whether a Delivery Service can be tested on it over HTTP.
//!
//! Levels follow BCP 14 where the draft uses its uppercase keywords; every
//! other sentence that prescribes behaviour ("the hub rejects the message
//! if…") is a `Statement`. Where the draft leaves a statement open, the
//! decision taken is in [`crate::errata`].

use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::fmt;

/// Stable identifier of one requirement, named after the draft section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ReqId(pub &'static str);

impl fmt::Display for ReqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Strength of a requirement: a BCP 14 keyword, or a plain statement of
/// behaviour (graded like a MUST when it describes what the DS does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "MUST NOT")]
    MustNot,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    #[serde(rename = "MAY")]
    May,
    #[serde(rename = "STATEMENT")]
    Statement,
}

impl Level {
    /// The BCP 14 keyword the quote must contain, if this level has one.
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            Level::Must => Some("MUST"),
            Level::MustNot => Some("MUST NOT"),
            Level::Should => Some("SHOULD"),
            Level::ShouldNot => Some("SHOULD NOT"),
            Level::May => Some("MAY"),
            Level::Statement => None,
        }
    }
}

/// Who a requirement binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The Service Provider hosting the group.
    Hub,
    /// A Service Provider whose users take part in a group hosted elsewhere.
    Follower,
    /// Any Delivery Service / Service Provider, whatever its role.
    Provider,
    /// A group member's MLS client.
    Client,
}

/// Whether a DS can be graded on a requirement by talking to it over HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Testability {
    /// Observable on the wire between providers.
    Wire,
    /// Binds clients only; the model encodes it for clients, no DS verdict.
    ClientOnly(&'static str),
    /// Nothing observable can confirm or refute it.
    NotTestable(&'static str),
}

impl Testability {
    pub fn is_wire_testable(self) -> bool {
        matches!(self, Testability::Wire)
    }

    /// Why a DS cannot be graded on it, when it cannot.
    pub fn why_not(self) -> Option<&'static str> {
        match self {
            Testability::Wire => None,
            Testability::ClientOnly(why) | Testability::NotTestable(why) => Some(why),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Testability::Wire => "wire",
            Testability::ClientOnly(_) => "client-only",
            Testability::NotTestable(_) => "not-testable",
        }
    }
}

/// One normative statement of the draft.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub id: ReqId,
    pub level: Level,
    /// Heading path in the draft, outermost first, joined by " / ".
    pub section: &'static str,
    /// The sentence(s) exactly as in the draft source (line breaks joined by a space).
    pub quote: &'static str,
    pub binds: &'static [Party],
    pub testable: Testability,
}

// Flattens `testable` into a bool plus `why_not` so reports and vectors can
// filter on it without knowing the Rust enum.
impl Serialize for Requirement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_struct("Requirement", 8)?;
        entry.serialize_field("id", &self.id)?;
        entry.serialize_field("level", &self.level)?;
        entry.serialize_field("section", self.section)?;
        entry.serialize_field("quote", self.quote)?;
        entry.serialize_field("binds", self.binds)?;
        entry.serialize_field("testable", &self.testable.is_wire_testable())?;
        entry.serialize_field("testability", self.testable.label())?;
        entry.serialize_field("why_not", &self.testable.why_not())?;
        entry.end()
    }
}

/// Looks a requirement up by its id string.
pub fn find(id: &str) -> Option<&'static Requirement> {
    CATALOGUE.iter().find(|requirement| requirement.id.0 == id)
}

/// Declares one `ReqId` constant per entry and the `CATALOGUE` holding them,
/// so each id string is written once.
macro_rules! requirements {
    ($(
        $name:ident = $id:literal {
            level: $level:ident,
            section: $section:literal,
            quote: $quote:literal,
            binds: [$($party:ident),+ $(,)?],
            testable: $testable:ident $(($why:literal))? $(,)?
        }
    )+) => {
        $(
            #[doc = $quote]
            pub const $name: ReqId = ReqId($id);
        )+

        /// Every normative statement of the draft, in draft order.
        pub static CATALOGUE: &[Requirement] = &[
            $(
                Requirement {
                    id: $name,
                    level: Level::$level,
                    section: $section,
                    quote: $quote,
                    binds: &[$(Party::$party),+],
                    testable: Testability::$testable $(($why))?,
                },
            )+
        ];
    };
}

requirements! {
    HUB_SEQUENCES_AND_FANS_OUT = "conventions/hub-sequences-and-fans-out" {
        level: Statement,
        section: "Conventions and Definitions",
        quote: "Group messages and Welcome messages are always sent to the hub for sequencing and fanout.",
        binds: [Hub, Follower],
        testable: Wire,
    }

    PARTITION_KEY_EXPORTED = "partition-keys/exported-from-key-schedule" {
        level: Statement,
        section: "Partition Keys",
        quote: "A partition key is a short secret that group members export from the MLS key schedule.",
        binds: [Client],
        testable: ClientOnly("only members hold the key schedule; to a DS the key is 16 opaque bytes"),
    }

    PARTITION_KEY_PER_EPOCH = "partition-keys/provided-per-epoch" {
        level: Statement,
        section: "Partition Keys",
        quote: "Whenever members send or receive group messages, they provide the partition key for the current epoch.",
        binds: [Client, Follower],
        testable: ClientOnly("a DS cannot tell which epoch a member is in; the wire format always carries a key"),
    }

    PARTITION_ACCESS_CONTROL = "partition-keys/access-control" {
        level: Statement,
        section: "Partition Keys",
        quote: "Messages sent with a given partition key are only provided to users who request to receive messages with the same partition key.",
        binds: [Hub],
        testable: Wire,
    }

    PARTITION_EXTERNAL_EXCEPTION = "partition-keys/external-commit-exception" {
        level: Statement,
        section: "Partition Keys",
        quote: "(Exceptions may be selectively made for external commits / proposals, given that the sender isn't in the group yet.)",
        binds: [Hub],
        testable: Wire,
    }

    PARTITION_KEY_EPOCH_ACCESS = "partition-keys/removed-members-locked-out" {
        level: Statement,
        section: "Partition Keys",
        quote: "The partition key acts as epoch-level access control, in addition to the group ID. Users which have been removed from a group may still be able to message the group, as they know the group ID. However, they will not know the correct partition key.",
        binds: [Hub],
        testable: Wire,
    }

    PARTITION_KEYS_NO_HARD_RULES = "partition-keys/no-hard-rules" {
        level: MustNot,
        section: "Partition Keys",
        quote: "Service Providers MUST NOT implement hard-and-fast rules about which partition keys are acceptable.",
        binds: [Provider],
        testable: Wire,
    }

    PARTITION_KEYS_ABUSE_SIGNAL = "partition-keys/abuse-signal" {
        level: Statement,
        section: "Partition Keys",
        quote: "Instead, it should be considered as a general signal of abuse or spam.",
        binds: [Provider],
        testable: NotTestable("how much weight a provider gives a signal is internal to it"),
    }

    ENDPOINTS_FOR_THIRD_PARTIES = "endpoints/served-to-providers" {
        level: Statement,
        section: "Endpoints",
        quote: "All endpoints exposed by a Delivery Service are accessed by third-party Service Providers, for the purpose of learning about the Service Provider's users or interacting with a group for which the Service Provider is the hub.",
        binds: [Provider],
        testable: Wire,
    }

    KEY_PACKAGES_BEARER_FROM_DISCOVERY = "key-packages/bearer-token-from-discovery" {
        level: Statement,
        section: "Endpoints / Key Packages",
        quote: "As part of discovery, users also receive a bearer token associated with each contact.",
        binds: [Client],
        testable: NotTestable("discovery is outside the draft; the suite provisions tokens by test control"),
    }

    KEY_PACKAGES_BEARER_UNIQUENESS = "key-packages/bearer-token-uniqueness" {
        level: Statement,
        section: "Endpoints / Key Packages",
        quote: "The bearer token may or may not be unique to the user who requested it, depending on the RSP's preference.",
        binds: [Provider],
        testable: NotTestable("both choices conform; the RSP's choice is not visible in one exchange"),
    }

    KEY_PACKAGES_REQUEST_VIA_OHTTP = "key-packages/request-via-lsp-ohttp" {
        level: Statement,
        section: "Endpoints / Key Packages",
        quote: "When a user wishes to fetch a KeyPackage for the purpose of adding a user to a group, the user submits a `KeyPackageRequest` to the RSP, with its LSP acting as an OHTTP proxy",
        binds: [Client, Provider],
        testable: Wire,
    }

    KEY_PACKAGES_RESPONSE_MATCHES = "key-packages/response-matches-parameters" {
        level: Statement,
        section: "Endpoints / Key Packages",
        quote: "The RSP responds with a `KeyPackageResponse` structure that matches the requested parameters",
        binds: [Provider],
        testable: Wire,
    }

    KEY_PACKAGES_BUNDLING = "key-packages/bundling" {
        level: May,
        section: "Endpoints / Key Packages / Privacy",
        quote: "Several `KeyPackageRequest` structures MAY be bundled into the same transaction, if a user needs KeyPackages from many users of the same service and is comfortable leaking that these users are associated.",
        binds: [Client, Provider],
        testable: Wire,
    }

    KEY_PACKAGES_OVER_OHTTP = "key-packages/over-ohttp" {
        level: Statement,
        section: "Endpoints / Key Packages / Privacy",
        quote: "Note that the `KeyPackageRequest` and `KeyPackageResponse` structures are exchanged over OHTTP.",
        binds: [Provider, Client],
        testable: Wire,
    }

    KEY_PACKAGES_BEARER_TOKEN = "key-packages/bearer-token" {
        level: Statement,
        section: "Endpoints / Key Packages / Privacy",
        quote: "To prevent abuse (such as constantly exhausting a user's uploaded KeyPackages), this endpoint is protected with a bearer token learned during discovery.",
        binds: [Provider],
        testable: Wire,
    }

    KEY_PACKAGES_BEARER_INVALIDATION = "key-packages/bearer-token-invalidation" {
        level: Statement,
        section: "Endpoints / Key Packages / Privacy",
        quote: "Bearer tokens that are abused may be invalidated at-will by the RSP, triggering users to go through the discovery flow again.",
        binds: [Provider],
        testable: Wire,
    }

    SEND_FOLLOWER_TO_HUB = "send/follower-sends-to-hub" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "When a follower has a user participating in a group, and that user wishes to send a message, the follower issues a `SendRequest` to the hub",
        binds: [Follower],
        testable: Wire,
    }

    SEND_PARTITION_KEY_LENGTH = "send/partition-key-16" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "opaque PartitionKey<16>;",
        binds: [Provider],
        testable: Wire,
    }

    SEND_UNKNOWN_GROUP_REJECTED = "send/unknown-group-rejected" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "The hub rejects the message if the `group_id` of `message doesn't match any known group.",
        binds: [Hub],
        testable: Wire,
    }

    SEND_SEQUENCED_TO_PARTITION = "send/sequenced-to-partition" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "Otherwise, the hub sequences the message to the provided `partition_key` of the group",
        binds: [Hub],
        testable: Wire,
    }

    SEND_PUSHES_WELCOME = "send/pushes-welcome" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "and pushes the Welcome to any providers.",
        binds: [Hub],
        testable: Wire,
    }

    SEND_COMMIT_DATA = "send/commit-data" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "If the message is a commit, then a `CommitData` is provided which contains the next partition key in `next_partition_key`, and an optional GroupInfo in `group_info` to support external joiners.",
        binds: [Follower, Hub],
        testable: Wire,
    }

    SEND_WELCOME_DATA = "send/welcome-data" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "If any Welcome messages need to be sent, a `WelcomeData` is provided which contains the Welcome in `welcome`, and a list of service provider ids in `service_providers`.",
        binds: [Follower, Hub],
        testable: Wire,
    }

    SEND_WELCOME_PROVIDERS_LENGTH = "send/welcome-providers-length" {
        level: Must,
        section: "Endpoints / Sending Messages",
        quote: "The `service_providers` array MUST be the same length as the `secrets` array of the Welcome message.",
        binds: [Client, Follower],
        testable: Wire,
    }

    SEND_WELCOME_PROVIDERS_ONE_TO_ONE = "send/welcome-providers-one-to-one" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "Each provider indicated in `service_providers` corresponds one-to-one with the user at the same entry in the `secrets` array.",
        binds: [Hub],
        testable: Wire,
    }

    SEND_RATCHET_TREE_REQUIRED = "send/ratchet-tree-required" {
        level: Statement,
        section: "Endpoints / Sending Messages",
        quote: "If `group_info` does not have a `ratchet_tree` extension and the hub is unable to infer a ratchet tree that matches `GroupInfo.group_context.tree_hash`, the hub rejects the request such that it can be retried with an explicit ratchet tree provided.",
        binds: [Hub],
        testable: Wire,
    }

    WELCOME_INIT_BEFORE_PUSH = "welcome/init-before-push" {
        level: Statement,
        section: "Endpoints / Welcome",
        quote: "When a user of a non-hub Service Provider is added to a group, the hub first contacts the Service Provider and lists the `KeyPackageRef` entries that were indicated as belonging to this Service Provider.",
        binds: [Hub],
        testable: Wire,
    }

    WELCOME_PUSH_IF_ACCEPTED = "welcome/push-only-if-accepted" {
        level: Statement,
        section: "Endpoints / Welcome",
        quote: "If the Service Provider responds affirmatively, the hub pushes the Welcome message.",
        binds: [Hub],
        testable: Wire,
    }

    WELCOME_INIT_REQUEST = "welcome/init-request" {
        level: Statement,
        section: "Endpoints / Welcome",
        quote: "The first step is done by sending a `WelcomeInitRequest` to the Service Provider",
        binds: [Hub, Provider],
        testable: Wire,
    }

    WELCOME_AS_MLS_MESSAGE = "welcome/mls-message-encoding" {
        level: Statement,
        section: "Endpoints / Welcome",
        quote: "The Welcome message is provided as an encoded `MLSMessage`.",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_FOLLOWER_REQUESTS = "receive/follower-requests" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "When a follower has a user participating in a group, and that user wishes to receive a message, the follower issues a `ReceiveRequest` to the hub",
        binds: [Follower],
        testable: Wire,
    }

    RECEIVE_COUNTER = "receive/counter" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "The `partition_key` field contains the partition key that the user wishes to receive messages for, and the `counter` field contains the number of messages the user has already received in that partition.",
        binds: [Follower, Hub],
        testable: Wire,
    }

    RECEIVE_RESPONDS = "receive/responds" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "The hub responds with the following, which represents a series of messages in a series of epochs",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_MASKED_KEY = "receive/masked-key-is-hash" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "opaque MaskedPartitionKey<V>; // = Hash(partition_key)",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_SKIP_COUNTER = "receive/skip-counter" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "The `epoch` field contains a list of messages sent to the requested `partition_key`, skipping the first `counter` messages.",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_HINTS_OTHER_EPOCHS = "receive/hints/other-epochs" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "Messages sent to other epochs may be provided in `hints`.",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_HINTS_COMPLETE = "receive/hints/skip-none" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "Each `HintedEpoch` structure contains a masked partition key and a list of messages sent to that partition key (skipping none).",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_HINTS_NO_DUPLICATE_EPOCH = "receive/hints/no-duplicate-epoch" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "The same epoch may not be referenced twice separately in the same `ReceiveResponse`.",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_HINTS_UNORDERED = "receive/hints/unordered" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "No order between epochs may be inferred by the order in `hints`.",
        binds: [Client, Follower],
        testable: ClientOnly("frees the hub to order hints at will; only a reader can wrongly rely on the order"),
    }

    RECEIVE_SEQUENCING_ORDER = "receive/sequencing-order" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "However, the order of the `messages` array in each `Epoch` does reflect the order that the messages were sequenced and should be processed.",
        binds: [Hub, Client],
        testable: Wire,
    }

    RECEIVE_PUSH = "receive/push" {
        level: May,
        section: "Endpoints / Receiving Messages",
        quote: "The hub MAY proactively push `ReceiveResponse` structures to a following Service Provider.",
        binds: [Hub],
        testable: Wire,
    }

    RECEIVE_HUB_DISCRETION = "receive/hub-discretion" {
        level: Statement,
        section: "Endpoints / Receiving Messages",
        quote: "The hub has complete discretion in which epochs it provides in `hints`, and when it pushes `ReceiveResponse` structures.",
        binds: [Hub],
        testable: NotTestable("a freedom: the checker accepts every allowed choice, so no observation breaks it"),
    }

    RECEIVE_CLIENT_IGNORES_UNEXPECTED_COMMIT = "receive/client-ignores-unexpected-commit" {
        level: Must,
        section: "Endpoints / Receiving Messages",
        quote: "When processing Commits, users MUST ignore Commits where `next_partition_key` or `group_info` does not match what was expected.",
        binds: [Client],
        testable: ClientOnly("only a member can derive the expected next partition key and GroupInfo"),
    }

    EXTERNAL_JOIN_TO_HUB = "external-join/request-to-hub" {
        level: Statement,
        section: "Endpoints / External Joins",
        quote: "A user that wishes to perform an external join to a group may do so by sending an `ExternalJoinRequest` to the hub",
        binds: [Client, Hub],
        testable: Wire,
    }

    EXTERNAL_JOIN_VALIDATED = "external-join/validated" {
        level: Statement,
        section: "Endpoints / External Joins",
        quote: "If the hub recognizes the `group_id` and successfully validates the request",
        binds: [Hub],
        testable: Wire,
    }

    EXTERNAL_JOIN_MOST_RECENT_PARTITION = "external-join/most-recent-partition" {
        level: Statement,
        section: "Endpoints / External Joins",
        quote: "it sequences the message to the most recent partition key of the group.",
        binds: [Hub],
        testable: Wire,
    }

    EXTERNAL_JOIN_GROUP_INFO_REQUEST = "external-join/group-info-request" {
        level: Statement,
        section: "Endpoints / External Joins",
        quote: "A group does not require a published GroupInfo to allow `ExternalJoinRequests`, however a user can request it as follows",
        binds: [Hub],
        testable: Wire,
    }

    EXTERNAL_JOIN_INFERRED_TREE = "external-join/inferred-ratchet-tree" {
        level: May,
        section: "Endpoints / External Joins",
        quote: "The hub MAY provide an inferred ratchet tree in `ratchet_tree` if one is not present in the `group_info`.",
        binds: [Hub],
        testable: Wire,
    }

    FORKS_TOLERATED = "fork-termination/forks-tolerated" {
        level: Statement,
        section: "Fork Termination",
        quote: "The endpoints above are designed to gracefully support forks in the group state through the use of the partition key.",
        binds: [Hub],
        testable: Wire,
    }

    FORK_TERMINATION_MAY = "fork-termination/may-terminate" {
        level: May,
        section: "Fork Termination",
        quote: "When a hub detects that the group state has forked, it MAY decide to terminate one of the branches by blocking further messages from being sent to its partition key.",
        binds: [Hub],
        testable: Wire,
    }

    FORK_TERMINATION_BLOCKS_SENDS = "fork-termination/block-sends" {
        level: Statement,
        section: "Fork Termination",
        quote: "blocking further messages from being sent to its partition key.",
        binds: [Hub],
        testable: Wire,
    }

    FORK_TERMINATION_DISCRETION = "fork-termination/hub-discretion" {
        level: Statement,
        section: "Fork Termination",
        quote: "When or if to terminate a branch, is left to the discretion of the hub.",
        binds: [Hub],
        testable: NotTestable("a freedom: never terminating and terminating either branch all conform"),
    }

    FORK_TERMINATION_NO_AUTO_REJOIN = "fork-termination/no-auto-rejoin" {
        level: MustNot,
        section: "Fork Termination",
        quote: "Users MUST NOT respond to a branch termination by automatically issuing an external join to rejoin the group.",
        binds: [Client],
        testable: ClientOnly("a client's reaction to termination; a DS sees only an external join, not its cause"),
    }

    POLICY_NEGATIVE_ONLY = "policy/negative-only" {
        level: Statement,
        section: "Policy Enforcement",
        quote: r#"Generally, a hub or follower DS is only able to enforce "negative" policy on the aspects of the group state that it has visiblity into. "Negative" policy consists of rules for rejecting messages which are unambiguously invalid."#,
        binds: [Hub, Follower],
        testable: Wire,
    }

    POLICY_EXAMPLES = "policy/muted-and-banned" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "Examples of such rules might include rejecting application messages from a user that is muted, or rejecting a commit that contains an Add proposal for a banned user.",
        binds: [Hub, Follower],
        testable: Wire,
    }

    POLICY_PER_FORK = "policy/per-fork" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "the DS must always make policy enforcmenent decisions with respect to the group state as it exists in the indicated fork.",
        binds: [Hub, Follower],
        testable: Wire,
    }

    POLICY_BAN_PER_FORK = "policy/ban-only-in-accepting-fork" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "If one fork of a group exists where a proposal was sent that updated the group metadata to ban a specific user, but another fork exists where this proposal was not sent (or not accepted), the ban must only apply in the fork that accepted the proposal.",
        binds: [Hub, Follower],
        testable: Wire,
    }

    POLICY_ONLY_UNAMBIGUOUS = "policy/only-unambiguous-criteria" {
        level: MustNot,
        section: "Policy Enforcement",
        quote: "A DS MUST NOT reject messages based on criteria that are not unambiguously known by the DS to be satisfied.",
        binds: [Hub, Follower],
        testable: Wire,
    }

    POLICY_NO_REMOTE_RATE_LIMIT = "policy/no-rate-limit-of-non-local-users" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "In particular, a DS can not enforce a per-user rate limit on messages sent to the group for any users that are not local to the DS.",
        binds: [Hub],
        testable: Wire,
    }

    POLICY_LOCAL_RATE_LIMIT = "policy/local-rate-limit" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "When the DS has a local relationship with a user, the DS can authenticate the user and unambiguously rate-limit just them.",
        binds: [Follower],
        testable: NotTestable("a freedom of the user's own provider; local authentication is outside the draft"),
    }

    POLICY_FOLLOWER_ENFORCES_HUB = "policy/follower-enforces-hub-policy" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "It's understood that hub servers will make arrangements with follower servers, where the follower server enforces the hub's policies in situations where the hub can not, as a precondition to interoperate.",
        binds: [Follower],
        testable: NotTestable("a bilateral arrangement outside the protocol"),
    }

    POLICY_CLIENTS_ENFORCE = "policy/clients-enforce" {
        level: Statement,
        section: "Policy Enforcement",
        quote: "clients must be aware of the policy a group is under and enforce it themselves.",
        binds: [Client],
        testable: ClientOnly("group policy as members understand it"),
    }

    POLICY_CLIENTS_IGNORE_VIOLATIONS = "policy/clients-ignore-violations" {
        level: Must,
        section: "Policy Enforcement",
        quote: "Messages which violate the group's policy MUST be ignored and supressed by the UI, as if they were cryptographically invalid.",
        binds: [Client],
        testable: ClientOnly("concerns what a client shows its user"),
    }

    POLICY_CLIENTS_REPORT = "policy/clients-report" {
        level: Should,
        section: "Policy Enforcement",
        quote: "Clients SHOULD report to their local DS when the hub or another follower is not meeting the preconditions to interoperate.",
        binds: [Client],
        testable: ClientOnly("reports go from a client to its own DS over an undefined channel"),
    }

    POLICY_NO_POSITIVE = "policy/no-positive-policy" {
        level: MustNot,
        section: "Policy Enforcement",
        quote: r#"A DS MUST NOT enforce "positive" policy decisions, consisting of rules that require a given message to be accepted by the members of the group."#,
        binds: [Hub, Follower],
        testable: Wire,
    }

    FLOW_CREATE_FETCH_KEY_PACKAGES = "flows/create-group/fetch-key-packages" {
        level: Statement,
        section: "Example Flows / Creating a Group",
        quote: "User fetches KeyPackages for all the initial group members it wishes to include.",
        binds: [Client],
        testable: ClientOnly("a client's step; its DS side is key-packages/*"),
    }

    FLOW_CREATE_WITH_LSP = "flows/create-group/lsp-becomes-hub" {
        level: Statement,
        section: "Example Flows / Creating a Group",
        quote: "User initiates creation of the group with its LSP and provides the Welcome message.",
        binds: [Hub],
        testable: NotTestable("local to the hub; the suite performs it through test control"),
    }

    FLOW_CREATE_FAN_OUT_WELCOME = "flows/create-group/fan-out-welcome" {
        level: Statement,
        section: "Example Flows / Creating a Group",
        quote: "LSP (now hub) fans out Welcome message to all follower Service Providers.",
        binds: [Hub],
        testable: Wire,
    }

    FLOW_CREATE_FOLLOWERS_READ = "flows/create-group/followers-read" {
        level: Statement,
        section: "Example Flows / Creating a Group",
        quote: "Followers begin reading messages.",
        binds: [Follower],
        testable: Wire,
    }

    FLOW_EXTERNAL_JOIN_STEPS = "flows/external-join/group-info-then-commit" {
        level: Statement,
        section: "Example Flows / Externally Joining",
        quote: "User requests the group's GroupInfo and sends an external Commit.",
        binds: [Client, Hub],
        testable: Wire,
    }

    FLOW_EXTERNAL_JOIN_NEW_PARTITION = "flows/external-join/new-partition-usable" {
        level: Statement,
        section: "Example Flows / Externally Joining",
        quote: "User can immediately begin sending/receiving messages to the new partition key its Commit created.",
        binds: [Hub],
        testable: Wire,
    }

    FLOW_EXTERNAL_JOIN_MEMBERS_VERIFY = "flows/external-join/members-verify" {
        level: Statement,
        section: "Example Flows / Externally Joining",
        quote: "Group members that receive the external Commit will verify it, and if verification succeeds they will begin processing messages from the new partition key.",
        binds: [Client],
        testable: ClientOnly("verification of the external Commit needs the group's secrets"),
    }

    FLOW_SELF_REMOVE_PROPOSAL = "flows/self-remove/remove-proposal" {
        level: Statement,
        section: "Example Flows / Self-Remove",
        quote: "User sends a `Remove` proposal to group.",
        binds: [Client],
        testable: ClientOnly("to the hub it is an ordinary SendRequest"),
    }

    FLOW_SELF_REMOVE_INFORM_LSP = "flows/self-remove/inform-lsp" {
        level: Statement,
        section: "Example Flows / Self-Remove",
        quote: "User informs its LSP that it no longer wishes to receive messages for the group.",
        binds: [Client, Follower],
        testable: NotTestable("between a user and its own provider; the suite does it through test control"),
    }

    FLOW_SELF_REMOVE_STOP_PUSHES = "flows/self-remove/stop-pushes" {
        level: Statement,
        section: "Example Flows / Self-Remove",
        quote: "Assuming this is the only user the LSP has in the group, it stops requesting messages for the group / starts rejecting message pushes.",
        binds: [Follower],
        testable: Wire,
    }

    FLOW_SELF_REMOVE_KEEP_RECEIVING = "flows/self-remove/keep-receiving" {
        level: Should,
        section: "Example Flows / Self-Remove",
        quote: "After sending its `Remove` proposal, the user SHOULD continue receiving group messages for the same epoch to check that it's proposal was sequenced before the next Commit, and resend it if not.",
        binds: [Client],
        testable: ClientOnly("the user decides to keep reading after its Remove proposal; its provider only forwards the reads it is asked for (receive/follower-requests), and cannot tell a Remove from any other proposal when handshakes are encrypted"),
    }
}

/// Reading an id back (vectors, reports) resolves it in the catalogue: an id that is not
/// there is an error, so no recorded file can name a requirement that does not exist.
/// A requirement id in JSON: one of the catalogue's strings.
impl schemars::JsonSchema for ReqId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReqId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<&str> = CATALOGUE.iter().map(|r| r.id.0).collect();
        schemars::json_schema!({ "type": "string", "enum": ids })
    }
}

impl<'de> serde::Deserialize<'de> for ReqId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        find(&text).map(|r| r.id).ok_or_else(|| {
            serde::de::Error::custom(format!("no requirement {text:?} in the catalogue"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const DRAFT: &str = include_str!("../draft/draft-mcmillion-mimi-delivery-service.md");
    const BCP14_KEYWORDS: [&str; 3] = ["MUST", "SHOULD", "MAY"];

    fn normalise(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Byte offsets of `word` in `text` where it stands as a whole word.
    fn word_offsets(text: &str, word: &str) -> Vec<usize> {
        let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        text.match_indices(word)
            .map(|(at, _)| at)
            .filter(|&at| {
                let before = at.checked_sub(1).map(|i| text.as_bytes()[i]);
                let after = text.as_bytes().get(at + word.len()).copied();
                !before.is_some_and(is_word_byte) && !after.is_some_and(is_word_byte)
            })
            .collect()
    }

    #[test]
    fn ids_are_distinct_and_well_formed() {
        let mut seen = HashSet::new();
        for requirement in CATALOGUE {
            let id = requirement.id.0;
            assert!(seen.insert(id), "duplicate id {id}");
            let segments: Vec<&str> = id.split('/').collect();
            assert!(segments.len() >= 2, "{id}: needs a section prefix");
            for segment in segments {
                assert!(
                    !segment.is_empty()
                        && !segment.starts_with('-')
                        && !segment.ends_with('-')
                        && segment
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "{id}: segment {segment:?} is not lowercase kebab"
                );
            }
        }
    }

    #[test]
    fn catalogue_is_large_enough() {
        assert!(CATALOGUE.len() >= 40, "only {} entries", CATALOGUE.len());
    }

    #[test]
    fn find_returns_the_entry_and_nothing_for_unknown_ids() {
        for requirement in CATALOGUE {
            assert_eq!(
                find(requirement.id.0).map(|found| found.id),
                Some(requirement.id)
            );
        }
        assert!(find("no/such-requirement").is_none());
    }

    #[test]
    fn quotes_are_verbatim() {
        let draft = normalise(DRAFT);
        for requirement in CATALOGUE {
            assert!(
                draft.contains(&normalise(requirement.quote)),
                "{}: quote not found in the draft: {:?}",
                requirement.id,
                requirement.quote
            );
        }
    }

    #[test]
    fn levels_match_keywords_in_quotes() {
        for requirement in CATALOGUE {
            let quote = requirement.quote;
            match requirement.level {
                // "MUST" alone must not be satisfied by a "MUST NOT" (same for SHOULD).
                Level::Must => assert!(
                    quote.replace("MUST NOT", "").contains("MUST"),
                    "{}",
                    requirement.id
                ),
                Level::Should => assert!(
                    quote.replace("SHOULD NOT", "").contains("SHOULD"),
                    "{}",
                    requirement.id
                ),
                Level::Statement => {
                    for keyword in BCP14_KEYWORDS {
                        assert!(
                            word_offsets(quote, keyword).is_empty(),
                            "{}: a STATEMENT quoting {keyword}",
                            requirement.id
                        );
                    }
                }
                level => {
                    let keyword = level.keyword().expect("BCP 14 level");
                    assert!(
                        quote.contains(keyword),
                        "{}: {keyword} missing from quote",
                        requirement.id
                    );
                }
            }
        }
    }

    #[test]
    fn every_bcp14_keyword_in_the_draft_body_is_quoted() {
        let draft = normalise(DRAFT);
        let body_start = draft.find("--- middle").expect("draft has a middle");
        let body_end = draft.find("--- back").expect("draft has a back");
        let quoted_spans: Vec<(usize, usize)> = CATALOGUE
            .iter()
            .flat_map(|requirement| {
                let quote = normalise(requirement.quote);
                draft
                    .match_indices(quote.as_str())
                    .map(|(at, found)| (at, at + found.len()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut keyword_count = 0;
        for keyword in BCP14_KEYWORDS {
            for at in word_offsets(&draft, keyword) {
                if !(body_start..body_end).contains(&at) {
                    continue;
                }
                keyword_count += 1;
                assert!(
                    quoted_spans
                        .iter()
                        .any(|&(start, end)| start <= at && at < end),
                    "{keyword} at …{}… is in no requirement's quote",
                    &draft[at.saturating_sub(60)..(at + 60).min(draft.len())]
                );
            }
        }
        // Guards the scan itself: the draft has 13 BCP 14 keywords in its body.
        assert_eq!(keyword_count, 13);
    }

    #[test]
    fn sections_name_draft_headings() {
        let headings: HashSet<&str> = DRAFT
            .lines()
            .filter_map(|line| line.strip_prefix('#'))
            .map(|line| line.trim_start_matches('#').trim())
            .collect();
        for requirement in CATALOGUE {
            for heading in requirement.section.split(" / ") {
                assert!(
                    headings.contains(heading),
                    "{}: no heading {heading:?}",
                    requirement.id
                );
            }
        }
    }

    #[test]
    fn entries_serialize_with_the_documented_keys() {
        let json = serde_json::to_value(CATALOGUE).expect("catalogue serializes");
        let entries = json.as_array().expect("an array");
        assert_eq!(entries.len(), CATALOGUE.len());
        for entry in entries {
            for key in [
                "id", "level", "section", "quote", "binds", "testable", "why_not",
            ] {
                assert!(entry.get(key).is_some(), "missing {key} in {entry}");
            }
        }
        let no_hard_rules = &entries[CATALOGUE
            .iter()
            .position(|r| r.id == PARTITION_KEYS_NO_HARD_RULES)
            .unwrap()];
        assert_eq!(no_hard_rules["level"], "MUST NOT");
        assert_eq!(no_hard_rules["binds"], serde_json::json!(["provider"]));
        assert_eq!(no_hard_rules["testable"], true);
        let client_only = serde_json::to_value(find(POLICY_CLIENTS_REPORT.0).unwrap()).unwrap();
        assert_eq!(client_only["testable"], false);
        assert!(client_only["why_not"].is_string());
    }
}
