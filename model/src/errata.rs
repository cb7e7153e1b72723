//! The errata record: every question draft-mcmillion-mimi-delivery-service
//! leaves open, and how this suite decides it.
//!
//! This module owns the decisions. The codec, the model and the checker cite
//! an `ErratumId` constant wherever they act on one, so a reader of a verdict
//! can find why it was given. Where a second reading is defensible, it is
//! recorded as `alternative`; vectors that depend on the choice mark the
//! alternative's outcome `acceptable` rather than invalid.

use crate::requirements::{self as req, ReqId};
use std::fmt;

/// Stable identifier of one decision, always prefixed `errata/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ErratumId(pub &'static str);

impl fmt::Display for ErratumId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One open question of the draft and the decision taken on it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Erratum {
    pub id: ErratumId,
    /// What the draft leaves open, quoting its words.
    pub question: &'static str,
    pub decision: &'static str,
    pub reason: &'static str,
    /// The other defensible reading, which vectors accept as `acceptable`.
    pub alternative: Option<&'static str>,
    /// The requirements whose meaning the decision settles.
    pub requirements: &'static [ReqId],
}

/// Looks a decision up by its id string.
pub fn find(id: &str) -> Option<&'static Erratum> {
    ERRATA.iter().find(|erratum| erratum.id.0 == id)
}

/// Declares one `ErratumId` constant per entry and the `ERRATA` list holding
/// them, so each id string is written once.
macro_rules! errata {
    ($(
        $name:ident = $id:literal {
            question: $question:literal,
            decision: $decision:literal,
            reason: $reason:literal,
            alternative: $alternative:expr,
            requirements: [$($requirement:path),* $(,)?] $(,)?
        }
    )+) => {
        $(
            #[doc = $decision]
            pub const $name: ErratumId = ErratumId($id);
        )+

        /// Every decision, roughly in draft order.
        pub static ERRATA: &[Erratum] = &[
            $(
                Erratum {
                    id: $name,
                    question: $question,
                    decision: $decision,
                    reason: $reason,
                    alternative: $alternative,
                    requirements: &[$($requirement),*],
                },
            )+
        ];
    };
}

errata! {
    SELECT_COMMIT_ONLY = "errata/select-commit-only" {
        question: "The `select (SendRequest.message.content_type)` and `select (Message.message.content_type)` list `case application:`, `case proposal:` and `case commit:` all before `CommitData commit_data;` (and before `next_partition_key` / `group_info` in Message), which read literally gives every message commit data.",
        decision: "CommitData in SendRequest, and (next_partition_key, group_info) in Message, are present only when content_type is commit; for application and proposal the select is empty. Commit data on a non-commit, or none on a commit, is malformed.",
        reason: "The prose says \"If the message is a commit, then a `CommitData` is provided\"; application messages and proposals do not move the epoch, so they have no next partition key to give. The empty cases were almost surely meant to end in `;` / fall through to nothing, as is usual in TLS presentation language.",
        alternative: None,
        requirements: [req::SEND_COMMIT_DATA, req::RECEIVE_MASKED_KEY],
    }

    PARTITION_KEY_ENCODING = "errata/partition-key-encoding" {
        question: "`opaque PartitionKey<16>;` — a fixed 16-byte value, or a variable-length vector of at most 16 bytes?",
        decision: "In TLS presentation language (RFC 8446 §3.4) angle brackets denote a variable-length vector, so PartitionKey is length-prefixed with the MLS variable-size varint (RFC 9420 §2.1.2); its length MUST be exactly 16. Any other length, and a non-minimal varint, is malformed.",
        reason: "Square brackets, not angle brackets, mark fixed-length vectors, and the draft writes `<V>` for every other MLS-style vector, so a prefix is what the notation says. The length is fixed by the exporter (errata/partition-key-exporter); accepting shorter keys would weaken the 128-bit access control the draft builds on.",
        alternative: None,
        requirements: [req::SEND_PARTITION_KEY_LENGTH, req::PARTITION_KEY_EXPORTED],
    }

    MLS_MESSAGE_PARSING = "errata/mls-message-parsing" {
        question: "`MLSMessage message; // PublicMessage or PrivateMessage` is followed by `PartitionKey partition_key;` with no length in between, so a DS finds where an embedded MLSMessage ends only by walking all of it; and MLS code points (proposal types, credential types, wire formats) can be registered after RFC 9420. What does a DS answer to one it cannot walk?",
        decision: "A DS walks every embedded MLSMessage field by field as RFC 9420 defines it and refuses the whole request as `malformed` when it meets a value whose encoding it cannot walk: a version other than mls10 (1) in MLSMessage, KeyPackage or GroupContext; a wire format other than 1-5; a content type other than 1-3; a sender type other than 1-4; a proposal type other than 1-7 (add .. group_context_extensions); a ProposalOrRef type other than 1-2; a credential type other than basic (1) and x509 (2); a leaf node source other than 1-3; a PSK type other than 1-2 or a resumption usage other than 1-3; a ratchet-tree node type other than 1-2; a KeyPackage (a KeyPackage message or an Add) whose cipher suite is not 1-7, since its KeyPackageRef cannot be computed. Extension types and data, capability lists, other cipher suites and every opaque field are read without interpretation. Where the draft's comment names the wire format (`// PublicMessage or PrivateMessage`, `// GroupInfo`, `// Welcome`, ExternalJoinRequest's `// PublicMessage`, KeyPackageResponse's KeyPackage), any other is malformed. No signature, tag or key is checked.",
        reason: "Nothing delimits an embedded MLSMessage, so a field the DS cannot walk leaves the rest of the body unreadable; refusing the request is the only answer that never misreads it. RFC 9420's code points are the ones every DS can be expected to know.",
        alternative: Some("A DS that knows code points registered after RFC 9420 walks messages the model refuses; acceptable, since they are valid MLS. The trace vectors carry only RFC 9420 code points; the codec vectors plant unknown values (e.g. wire format 0 and 6) only in invalid cases."),
        requirements: [req::SEND_SEQUENCED_TO_PARTITION, req::WELCOME_AS_MLS_MESSAGE, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    PARTITION_KEY_EXPORTER = "errata/partition-key-exporter" {
        question: "\"A partition key is a short secret that group members export from the MLS key schedule\" — with which label, context and length?",
        decision: "partition_key = MLS-Exporter(\"MIMI DS partition key\", \"\", 16): label \"MIMI DS partition key\", empty context, length 16.",
        reason: "All members must derive the same bytes independently, so the triple must be fixed. The label names the protocol so the secret is separated from other exporter uses; the context is empty because the epoch is already bound by the key schedule; 16 bytes (128 bits) makes keys unguessable and matches `PartitionKey<16>`. The DS never computes it; only vectors and modelled clients do.",
        alternative: None,
        requirements: [req::PARTITION_KEY_EXPORTED, req::PARTITION_KEY_PER_EPOCH],
    }

    MASKED_PARTITION_KEY_HASH = "errata/masked-partition-key-hash" {
        question: "`opaque MaskedPartitionKey<V>; // = Hash(partition_key)` — which hash (the cipher suite's? SHA-256?), salted with the group or not? And a commit's CommitData carries the raw next key while its Message carries the masked one.",
        decision: "MaskedPartitionKey = SHA-256 over the 16 raw key bytes, unsalted, independent of the cipher suite: 32 bytes, encoded as opaque<V>. The hub stores the raw next_partition_key from CommitData and relays only its mask in Message.next_partition_key and HintedEpoch.masked_partition_key.",
        reason: "The hub must compute the mask without MLS state: a ReceiveRequest names no group and a PrivateMessage reveals no cipher suite, so a suite-dependent hash could not be chosen. Members recognise a hint by hashing keys they already hold. For cipher suites 1–3 (the ones deployed) SHA-256 is the suite hash, so both readings agree there. Salting is unnecessary: the input is a 128-bit secret, not a low-entropy value.",
        alternative: Some("The cipher suite's hash (SHA-384 or SHA-512 for suites 4–7). It differs only for those suites and is acceptable there, since the draft's `Hash` is usually the suite hash in MLS documents."),
        requirements: [req::RECEIVE_MASKED_KEY, req::RECEIVE_HINTS_COMPLETE],
    }

    RECEIVE_BY_PARTITION_KEY_ALONE = "errata/receive-by-partition-key-alone" {
        question: "`ReceiveRequest` has only `partition_key` and `counter` — no `group_id`. How does the hub find the group?",
        decision: "The partition key alone identifies one (group, epoch) partition: the hub keeps a global index from partition key to partition. Should two groups ever use the same key, they are treated as the same partition.",
        reason: "The draft deliberately omits the group so that a read reveals nothing beyond knowledge of the secret. A collision of two 128-bit exporter outputs has negligible probability, so no rule to disambiguate it is worth its complexity; the hub cannot tell a collision from a deliberate reuse anyway.",
        alternative: None,
        requirements: [req::RECEIVE_COUNTER, req::PARTITION_ACCESS_CONTROL],
    }

    COUNTER_SKIPS_ALL_SEQUENCED = "errata/counter-skips-all-sequenced" {
        question: "\"the `counter` field contains the number of messages the user has already received in that partition\" and the epoch is sent \"skipping the first `counter` messages\": counted from what, over which messages, and what if it is past the end?",
        decision: "counter is the number of messages of that partition the follower already has: a 0-based skip over everything sequenced there, of every content type, including external commits sequenced there by ExternalJoinRequest. A counter at or past the end yields an empty `epoch`, not an error.",
        reason: "Counting everything sequenced keeps the counter a plain index into the hub's log, so follower and hub agree without parsing messages. A follower serving several users tracks one counter per partition. An empty answer past the end is what a poll that raced a slow write sees, and an error would add nothing a follower can act on.",
        alternative: Some("An error (`malformed`) for a counter greater than the number of messages sequenced; acceptable, since the follower asked for messages it cannot have received."),
        requirements: [req::RECEIVE_COUNTER, req::RECEIVE_SKIP_COUNTER],
    }

    UNKNOWN_AND_TERMINATED_PARTITION_READS = "errata/unknown-and-terminated-partition-reads" {
        question: "What does the hub answer to a ReceiveRequest for a partition key it has never seen, or for a partition whose branch it terminated?",
        decision: "Unknown key: an empty ReceiveResponse (empty epoch, no hints), indistinguishable from a known but empty partition. Terminated partition: still readable exactly as before; termination blocks sends only.",
        reason: "A distinct answer would be an oracle telling a prober which keys exist, and a follower that reads a next key announced by a commit before anyone sent to it would otherwise race. Termination is defined as \"blocking further messages from being sent\", and members on the terminated branch still need what was sequenced there to recover.",
        alternative: Some("Error `unknown_partition` for an unknown key; acceptable, since the draft does not forbid it and a 128-bit key makes the oracle weak. Not acceptable for a terminated partition."),
        requirements: [req::RECEIVE_RESPONDS, req::FORK_TERMINATION_BLOCKS_SENDS, req::PARTITION_ACCESS_CONTROL],
    }

    EXTERNAL_JOIN_MOST_RECENT_PARTITION = "errata/external-join-most-recent-partition" {
        question: "An ExternalJoinRequest is sequenced \"to the most recent partition key of the group\" — which one, when the group has forked?",
        decision: "The partition announced by the most recently sequenced commit of the group (by the hub's global sequencing order, external commits included) whose announced partition — the key in its CommitData.next_partition_key — is not terminated; if no commit qualifies, the group's creation partition. Whether the partition the commit was sequenced *into* is terminated does not matter. Once sequenced, the ExternalJoinRequest's own commit_data.next_partition_key becomes the most recent.",
        reason: "The hub's sequencing order is the only order it knows for sure, and skipping terminated branches keeps external joiners off branches the hub has already given up on (the draft names joining a wrong branch as a cause of forks). Treating the external commit like any other commit keeps a chain of joins on one branch.",
        alternative: None,
        requirements: [req::EXTERNAL_JOIN_MOST_RECENT_PARTITION, req::FORK_TERMINATION_MAY, req::FLOW_EXTERNAL_JOIN_NEW_PARTITION],
    }

    HINT_SELECTION = "errata/hint-selection" {
        question: "\"Messages sent to other epochs may be provided in `hints`\" and \"The hub has complete discretion in which epochs it provides\": which epochs may be hinted, how completely, in which order?",
        decision: "A hint may name any partition of the same group other than the requested one, terminated branches included. Each hinted epoch is complete (all its messages, skipping none) in sequencing order, under SHA-256 of its key; no partition is hinted twice; the requested partition is never repeated as a hint, even with counter > 0.",
        reason: "\"(skipping none)\" and \"The same epoch may not be referenced twice\" fix completeness and uniqueness; repeating the requested epoch as a hint would reference it twice and undo the counter's skip. Terminated branches are still readable (errata/unknown-and-terminated-partition-reads), so hinting them gives nothing new away.",
        alternative: None,
        requirements: [req::RECEIVE_HINTS_OTHER_EPOCHS, req::RECEIVE_HINTS_COMPLETE, req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH, req::RECEIVE_SEQUENCING_ORDER, req::RECEIVE_HUB_DISCRETION],
    }

    HINTS_WITHIN_GROUP = "errata/hints-within-group" {
        question: "Partition keys are access control — messages \"are only provided to users who request to receive messages with the same partition key\" — yet hints deliver other epochs' messages to a requester who named a different key.",
        decision: "Hints are only ever drawn from the group of the requested partition; a request for an unknown key gets no hints. Within that group hinting is the hub's discretion and does not breach access control.",
        reason: "A requester who holds one key of the group is, or was, a member; the draft itself allows hints, so the access-control sentence is read as a rule about groups and about the `epoch` field, not about hints. Hinting across groups, or to an unknown key, would leak to non-members.",
        alternative: None,
        requirements: [req::PARTITION_ACCESS_CONTROL, req::RECEIVE_HINTS_OTHER_EPOCHS, req::PARTITION_KEY_EPOCH_ACCESS],
    }

    PUSH_AND_PULL = "errata/push-and-pull" {
        question: "\"The hub MAY proactively push `ReceiveResponse` structures\": to which endpoint, with what retry and deduplication, and is pull still required?",
        decision: "Both: every hub answers ReceiveRequest, and may also push a ReceiveResponse to a follower's `notify` endpoint (errata/transport), only to the providers errata/push-recipients allows. The follower answers 201 and drops byte-identical duplicates; the hub retries until it gets 201. A follower whose last user in the group self-removed rejects pushes for that group with `unknown_group`. A push still being made (or retried) is work in progress: a hub serving the test-control `idle` call does not report idle before it is done.",
        reason: "This is how draft-ietf-mimi-protocol's hub delivers with `/notify`, so providers implementing both need one mechanism. Pull must stay because push is only a MAY. Retry-until-201 plus dropping exact duplicates gives at-least-once delivery without double processing.",
        alternative: None,
        requirements: [req::RECEIVE_PUSH, req::RECEIVE_HUB_DISCRETION, req::FLOW_SELF_REMOVE_STOP_PUSHES],
    }

    PUSHED_RESPONSE_EPOCH = "errata/pushed-response-epoch" {
        question: "A pushed `ReceiveResponse` answers no request, so its `epoch` field (\"messages sent to the requested `partition_key`\") names no partition.",
        decision: "In a push, `epoch` is empty and every delivered partition travels as a HintedEpoch, named by its masked key, holding the partition from its first message; which state of the partition it holds is errata/push-snapshot. A follower matches masks against SHA-256 of the keys its users hold.",
        reason: "A HintedEpoch is the only structure that says which partition its messages belong to, and starting each at the partition's first message makes every push self-contained, so duplicates and retries are harmless. Pushes race with new messages: a hub that snapshots a log and sends it while more messages arrive has still pushed a true state of that partition, so any prefix it held is a correct push.",
        alternative: Some("A non-empty `epoch` continuing the follower's last ReceiveRequest from its last counter; acceptable from a hub that tracks it, since a follower can resolve it from its own state."),
        requirements: [req::RECEIVE_PUSH, req::RECEIVE_HINTS_COMPLETE],
    }

    WELCOME_INIT_RESPONSE = "errata/welcome-init-response" {
        question: "\"If the Service Provider responds affirmatively, the hub pushes the Welcome message\" — but no response structure to `WelcomeInitRequest` is defined.",
        decision: "The provider answers `struct { uint8 accepted; } WelcomeInitResponse;`: 1 accepts, 0 refuses, any other value is malformed (and treated as a refusal by the hub).",
        reason: "One byte is the least that carries \"affirmatively\"; a bool-like uint8 with 0/1 follows RFC 9420's encoding of optional and booleans, and rejecting other values keeps the codec strict.",
        alternative: None,
        requirements: [req::WELCOME_PUSH_IF_ACCEPTED, req::WELCOME_INIT_REQUEST],
    }

    WELCOME_PUSH = "errata/welcome-push" {
        question: "\"the hub pushes the Welcome message\" and \"The Welcome message is provided as an encoded `MLSMessage`\" — pushed where, in which structure?",
        decision: "A separate request to the provider's `welcome` endpoint whose body is the MLSMessage (wire_format mls_welcome) exactly as received in WelcomeData.welcome, answered 201. It is sent only after a WelcomeInitResponse with accepted = 1, once per accepting provider.",
        reason: "The draft describes two steps, so they are two requests; sending the Welcome unchanged keeps it verifiable by the joiner and lets the provider match it to the KeyPackageRefs it accepted.",
        alternative: None,
        requirements: [req::WELCOME_AS_MLS_MESSAGE, req::WELCOME_INIT_BEFORE_PUSH, req::SEND_PUSHES_WELCOME],
    }

    SERVICE_PROVIDER_ID = "errata/service-provider-id" {
        question: "`opaque ServiceProviderId<V>;` — what bytes identify a provider?",
        decision: "The provider's DNS domain name in ASCII, lowercase (letters, digits, `-`, `.`; internationalised names in A-label form), with no trailing dot, and whose last label is not all digits (RFC 3696 §2: `1.2.3.4` is an IP address, not a domain name). Anything else is malformed.",
        reason: "The domain is what mutual TLS authenticates (errata/transport), so the hub can contact the provider without a directory, and one canonical spelling lets ids be compared byte for byte.",
        alternative: None,
        requirements: [req::SEND_WELCOME_DATA, req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE],
    }

    WELCOME_PROVIDERS_LENGTH_MISMATCH = "errata/welcome-providers-length-mismatch" {
        question: "\"The `service_providers` array MUST be the same length as the `secrets` array of the Welcome message\" binds the sender; what does the hub do when it is not?",
        decision: "The hub rejects the whole SendRequest as `malformed` and sequences nothing.",
        reason: "The Welcome's `secrets` array is readable without any key, so the mismatch is unambiguously known to the hub; with it, the one-to-one mapping of providers to KeyPackageRefs is undefined and no WelcomeInit can be built correctly.",
        alternative: None,
        requirements: [req::SEND_WELCOME_PROVIDERS_LENGTH, req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    WELCOME_REFUSED = "errata/welcome-refused" {
        question: "What happens to the commit when a provider refuses the WelcomeInit, and to a Welcome push a provider never accepted?",
        decision: "The commit is sequenced when the SendRequest is accepted, whatever the WelcomeInit outcome; a refusing provider just gets no Welcome push. A provider receiving a Welcome push whose KeyPackageRefs it did not accept answers `welcome_refused`.",
        reason: "The draft says the hub sequences the message and pushes the Welcome, in that order; holding the commit hostage to one provider's answer would let any provider block the group. Refusing unannounced Welcomes keeps the two-step consent meaningful.",
        alternative: None,
        requirements: [req::SEND_SEQUENCED_TO_PARTITION, req::WELCOME_PUSH_IF_ACCEPTED],
    }

    WELCOME_INIT_UNANSWERED = "errata/welcome-init-unanswered" {
        question: "What does the hub do when a WelcomeInit gets no usable answer: the connection closes without a response, the provider answers an error status, or the body is no WelcomeInitResponse?",
        decision: "It counts as a refusal: that provider gets no Welcome push, and the commit stays sequenced (errata/welcome-refused). The hub makes the WelcomeInit call once. The vectors give no answer three ways: a closed connection, a 500 with no body, and a 200 with an empty body.",
        reason: "The draft pushes the Welcome only after an affirmative answer; no answer is not one, and holding the commit until one comes would let any provider stall the group. One call keeps the calls a vector expects countable.",
        alternative: Some("A hub that retries an unanswered WelcomeInit before giving up is not excluded by the draft; the vectors count its retry as a call they do not expect, so such a DS fails the no-answer cases and should say so in its report."),
        requirements: [req::WELCOME_PUSH_IF_ACCEPTED, req::WELCOME_INIT_BEFORE_PUSH],
    }

    WELCOME_HUB_LOCAL_USERS = "errata/welcome-hub-local-users" {
        question: "The WelcomeInit step applies \"When a user of a non-hub Service Provider is added\"; what about the hub's own users?",
        decision: "For entries of `service_providers` naming the hub itself, the hub sends no WelcomeInit and no push over the federation; it delivers locally. Only other providers see WelcomeInit and Welcome requests, each listing only its own KeyPackageRefs.",
        reason: "The draft scopes the step to non-hub providers, and a request from the hub to itself would be unobservable anyway.",
        alternative: None,
        requirements: [req::WELCOME_INIT_BEFORE_PUSH, req::SEND_PUSHES_WELCOME],
    }

    RATCHET_TREE_REQUIRED_SIGNAL = "errata/ratchet-tree-required-signal" {
        question: "\"the hub rejects the request such that it can be retried with an explicit ratchet tree provided\" — with what signal?",
        decision: "A DsError with code `ratchet_tree_required` (errata/transport); nothing is sequenced, so the retry is a fresh SendRequest or ExternalJoinRequest.",
        reason: "The sender must tell this rejection apart from every other to know a retry with a `ratchet_tree` extension will help; a dedicated code does that.",
        alternative: None,
        requirements: [req::SEND_RATCHET_TREE_REQUIRED, req::EXTERNAL_JOIN_INFERRED_TREE],
    }

    GROUP_INFO_SOURCE = "errata/group-info-source" {
        question: "Which GroupInfo does a GroupInfoRequest return in a forked group, and what if none was published (\"A group does not require a published GroupInfo\")?",
        decision: "The group_info of the commit that created the most recent partition (errata/external-join-most-recent-partition), with an inferred ratchet_tree if the hub has one and the GroupInfo lacks it. If that commit carried no GroupInfo, or the group has had no commit, the hub answers `unknown_partition`: nothing is published for the partition a join would use. `unknown_group` is kept for groups that do not exist.",
        reason: "Serving the GroupInfo of the same partition the join will be sequenced to keeps joiners on the branch the hub will use. The draft defines no code for \"nothing published\"; `unknown_partition` is the closest existing code (there is no published state for the partition) and keeps `unknown_group` meaning only that the group does not exist.",
        alternative: Some("Error `unknown_group` for a group with nothing published; acceptable, since the joiner's reaction (it cannot join yet) is the same."),
        requirements: [req::EXTERNAL_JOIN_GROUP_INFO_REQUEST, req::EXTERNAL_JOIN_INFERRED_TREE, req::FLOW_EXTERNAL_JOIN_STEPS],
    }

    EXTERNAL_JOIN_VALIDATION = "errata/external-join-validation" {
        question: "\"If the hub recognizes the `group_id` and successfully validates the request\" — validates what?",
        decision: "The DS view only: the message is a PublicMessage (else malformed), content_type commit and sender type new_member_commit (else malformed), group_id known (else unknown_group), commit_data well formed with a 16-byte key, group_info if present a GroupInfo of the same group, and a ratchet tree available (else ratchet_tree_required). The hub does not compare the commit's epoch with its own view nor verify signatures.",
        reason: "These are the checks the hub can make unambiguously from the bytes. Under encrypted handshakes the hub cannot know a partition's epoch, and a stale external commit merely forks the group, which termination handles; rejecting on it would be a criterion not unambiguously known.",
        alternative: Some("A hub that sees every commit in the clear rejects an external commit whose epoch differs from the most recent partition's epoch (`malformed`); acceptable, as it then knows the mismatch unambiguously."),
        requirements: [req::EXTERNAL_JOIN_VALIDATED, req::EXTERNAL_JOIN_TO_HUB, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    EXTERNAL_EXCEPTION_SCOPE = "errata/external-exception-scope" {
        question: "\"(Exceptions may be selectively made for external commits / proposals, given that the sender isn't in the group yet.)\" — which exceptions?",
        decision: "The exception is the ExternalJoinRequest: an external commit is sequenced to the most recent partition without the sender knowing its key. External proposals travel as ordinary SendRequests to a partition key the sender names; no other cross-partition delivery exists, apart from hints.",
        reason: "The draft defines only one endpoint that works without a partition key; inventing another route for proposals would be a protocol extension, not a reading.",
        alternative: None,
        requirements: [req::PARTITION_EXTERNAL_EXCEPTION, req::EXTERNAL_JOIN_MOST_RECENT_PARTITION],
    }

    NO_HARD_RULES_VS_TERMINATION = "errata/no-hard-rules-vs-termination" {
        question: "\"Service Providers MUST NOT implement hard-and-fast rules about which partition keys are acceptable\", yet a hub \"MAY decide to terminate one of the branches by blocking further messages from being sent to its partition key\".",
        decision: "Termination is a discretionary, per-fork decision the hub takes after it detects a fork; it is not a rule about acceptable keys. A DS never rejects a SendRequest merely because its partition key is unknown or new: a send to a key the hub has never seen is sequenced, creating that partition in the group.",
        reason: "A commit's next key is known to the hub only if the commit was sent with CommitData it could parse; a member may legitimately send to a key the hub has not seen (e.g. after an encrypted commit), so rejecting unknown keys would be exactly the hard rule forbidden. Termination targets a specific, observed fork, which is a different act.",
        alternative: None,
        requirements: [req::PARTITION_KEYS_NO_HARD_RULES, req::PARTITION_KEYS_ABUSE_SIGNAL, req::FORK_TERMINATION_MAY, req::FORK_TERMINATION_DISCRETION],
    }

    FORK_DETECTION = "errata/fork-detection" {
        question: "\"When a hub detects that the group state has forked\" — what counts as a fork, and is the second commit accepted?",
        decision: "A fork is a partition in which more than one commit has been sequenced (including an external commit sequenced there). Every such commit is sequenced; each announced next key starts its own branch. Only after that may the hub terminate a branch.",
        reason: "The draft says the endpoints \"gracefully support forks\"; rejecting the second commit would decide for the members which commit they accept. Two commits in one epoch is the one fork signal visible even when handshakes are encrypted, since content_type is in the clear.",
        alternative: None,
        requirements: [req::FORKS_TOLERATED, req::FORK_TERMINATION_MAY],
    }

    BRANCH_TERMINATED_SENDS = "errata/branch-terminated-sends" {
        question: "What does a send to a terminated branch get back, and does termination cover the branch's descendants?",
        decision: "A SendRequest to a terminated partition is rejected with `branch_terminated`, whatever its content type; nothing is sequenced. Termination covers that partition only; a partition announced by a commit in it is terminated only if the hub terminates it too.",
        reason: "A distinct code lets the follower tell its user the branch is gone (without prompting an automatic rejoin, which clients MUST NOT do). Per-partition termination matches \"blocking further messages from being sent to its partition key\" word for word.",
        alternative: None,
        requirements: [req::FORK_TERMINATION_BLOCKS_SENDS, req::FORK_TERMINATION_NO_AUTO_REJOIN],
    }

    POSITIVE_POLICY_MEANING = "errata/positive-policy-meaning" {
        question: "\"A DS MUST NOT enforce \"positive\" policy decisions\" — what would a DS observably do that breaks this?",
        decision: "Among other things, refusing messages to a partition because a commit was already sequenced there. Late application messages and proposals to an epoch that already has a commit are sequenced.",
        reason: "Refusing them assumes the members accepted that commit, i.e. requires a message to be accepted by the members — the definition of positive policy. Members that rejected the commit stay in the old epoch and still need it.",
        alternative: None,
        requirements: [req::POLICY_NO_POSITIVE, req::FORKS_TOLERATED],
    }

    POLICY_PER_FORK_STATE = "errata/policy-per-fork-state" {
        question: "Does a muted/banned check apply to messages on a fork where the mute or ban was never committed?",
        decision: "No. The DS evaluates every policy check against the state of the partition the message names: the state after the commits on that branch only. A ban committed on branch A has no effect on sends to branch B; a commit from a fork is checked against its own branch.",
        reason: "The draft: \"the ban must only apply in the fork that accepted the proposal\". The partition key is how a client indicates its fork, so it is the only sound key for the state.",
        alternative: None,
        requirements: [req::POLICY_PER_FORK, req::POLICY_BAN_PER_FORK, req::POLICY_EXAMPLES],
    }

    POLICY_BEFORE_ANNOUNCEMENT = "errata/policy-before-announcement" {
        question: "\"the DS must always make policy enforcmenent decisions with respect to the group state as it exists in the indicated fork\" — what is that state for a partition key used before any commit announcing it was sequenced (or never announced)?",
        decision: "Until a commit announcing it is sequenced, such a partition is in no fork the DS knows: nothing is banned in it, so no commit sent there is refused for a ban (mutes and rate limits of local users still apply; they are not per fork). Commits sequenced in it pass on that empty list, changed only by their own GroupContextExtensions, to the partitions they announce. When a commit announcing the key is sequenced later, the partition takes the list that commit leaves, for messages still to come; nothing already sequenced is revisited, and partitions it announced before keep their lists. Only the first commit announcing a key places it; later ones, and any commit announcing the group's creation partition, change nothing.",
        reason: "A DS knows nothing of the fork a key belongs to before it sees the key announced, and \"A DS MUST NOT reject messages based on criteria that are not unambiguously known\"; an empty list is the only state that refuses nothing on a guess. Taking the fork's list once the announcement arrives lets later messages be judged as the draft asks.",
        alternative: None,
        requirements: [req::POLICY_PER_FORK, req::POLICY_BAN_PER_FORK, req::POLICY_ONLY_UNAMBIGUOUS, req::PARTITION_KEYS_NO_HARD_RULES],
    }

    NEGATIVE_POLICY_VISIBILITY = "errata/negative-policy-visibility" {
        question: "Which rejections are \"unambiguously invalid\" for a DS that sees only ciphertext?",
        decision: "A hub may reject (`policy_rejected`) only what it reads in the clear: an Add of a banned user in a PublicMessage commit, or a message from a user its local relationship authenticates. It never rejects PrivateMessages for their presumed content, nor rate-limits users of other providers.",
        reason: "Application messages are always PrivateMessages whose sender is encrypted, so a hub cannot know a remote sender is muted; only the follower serving that user can.",
        alternative: None,
        requirements: [req::POLICY_NEGATIVE_ONLY, req::POLICY_ONLY_UNAMBIGUOUS, req::POLICY_NO_REMOTE_RATE_LIMIT, req::POLICY_EXAMPLES],
    }

    GROUP_CREATION_LOCAL = "errata/group-creation-local" {
        question: "\"User initiates creation of the group with its LSP\" — no endpoint creates a group or its epoch-0 partition.",
        decision: "Group creation is local to the hub. The suite drives it through a test-control action \"create group\" carrying the group_id and the creation partition key (and, optionally, a Welcome with its providers, fanned out as for a commit). It is not a federation endpoint.",
        reason: "Only the hub's own user creates a group, so no other provider ever calls it; but a black-box suite needs a group to exist before sends can be tested, which a small setup contract gives (as Complement does for Matrix).",
        alternative: None,
        requirements: [req::FLOW_CREATE_WITH_LSP, req::FLOW_CREATE_FAN_OUT_WELCOME, req::SEND_UNKNOWN_GROUP_REJECTED],
    }

    FORWARDED_LOCAL_REQUESTS = "errata/forwarded-local-requests" {
        question: "\"the follower issues a `SendRequest` to the hub\" and \"the follower issues a `ReceiveRequest` to the hub\" for its local user; what it tells that user is local. What does the test-control answer to a local send or read that the follower forwards report?",
        decision: "That it forwarded: `accepted`, once the call to the hub is made, whatever the hub answered; the hub's answer (a refusal, or the ReceiveResponse) is not part of the control answer and is not graded. Before forwarding, a follower refuses with `unknown_group` a group it neither hosts nor follows (a read also for a group its last user left, errata/self-remove-signalling) and with `policy_rejected` a send its local mute or rate limit forbids (errata/mute-and-rate-limit), and then makes no call.",
        reason: "For a follower target the runner plays the hub, so what is graded is that the right request reached it; the hub's own answers are graded where the hub is the target. The runner's hub accepts every forwarded send and answers every forwarded read with an empty ReceiveResponse.",
        alternative: None,
        requirements: [req::SEND_FOLLOWER_TO_HUB, req::RECEIVE_FOLLOWER_REQUESTS],
    }

    KEY_PACKAGE_BUNDLE = "errata/key-package-bundle" {
        question: "\"Several `KeyPackageRequest` structures MAY be bundled into the same transaction\" — in what structure, with what per-request errors?",
        decision: "`struct { KeyPackageRequest requests<V>; } KeyPackageBundleRequest;` answered by `struct { KeyPackageResult results<V>; } KeyPackageBundleResponse;`, one result per request in order, each a KeyPackage or a DsError. A user with no KeyPackage left and no last resort gives `key_package_exhausted`. Single and bundled requests travel inside OHTTP (RFC 9458) encapsulating binary HTTP (RFC 9292).",
        reason: "Per-request results let one bad token or exhausted user not fail the whole bundle; order gives the mapping without repeating user ids. OHTTP of binary HTTP is the standard way to hide the client from the LSP, which the draft says is the purpose.",
        alternative: None,
        requirements: [req::KEY_PACKAGES_BUNDLING, req::KEY_PACKAGES_OVER_OHTTP, req::KEY_PACKAGES_REQUEST_VIA_OHTTP],
    }

    KEY_PACKAGE_LAST_RESORT = "errata/key-package-last-resort" {
        question: "The draft warns of \"constantly exhausting a user's uploaded KeyPackages\" but says nothing of what happens once they are exhausted.",
        decision: "Each one-time KeyPackage is handed out at most once. When none matching is left, the RSP returns a matching last-resort KeyPackage of the user — one whose own `KeyPackage.extensions` list holds an extension of type 0x000a (`last_resort`, as draft-ietf-mls-extensions and openmls number it; its data is not read) — as often as asked; only with neither does it answer `key_package_exhausted`.",
        reason: "RFC 9420 reuses KeyPackages only when marked last resort; handing a one-time KeyPackage twice would let two groups share its init key.",
        alternative: None,
        requirements: [req::KEY_PACKAGES_RESPONSE_MATCHES, req::KEY_PACKAGES_BEARER_TOKEN],
    }

    KEY_PACKAGE_UNSUPPORTED_PARAMETERS = "errata/key-package-unsupported-parameters" {
        question: "\"The RSP responds with a `KeyPackageResponse` structure that matches the requested parameters\" — and when it has none matching?",
        decision: "A KeyPackageResponse always carries a KeyPackage with exactly the requested version and cipher_suite. If the user has KeyPackages but none for those parameters, the answer is `unsupported_parameters`; never a KeyPackage for other parameters.",
        reason: "A mismatching KeyPackage cannot be added to the group, so returning one only burns it; a distinct code tells the requester to pick other parameters rather than retry.",
        alternative: None,
        requirements: [req::KEY_PACKAGES_RESPONSE_MATCHES],
    }

    BEARER_TOKEN_SCOPE = "errata/bearer-token-scope" {
        question: "\"a bearer token can be long-lived and shared by every user. Alternatively, users may be provided a uniquely identifying bearer token\" — what does the RSP check, and in which order?",
        decision: "The token is checked first: one the RSP did not issue, or has invalidated, gets `invalid_bearer_token` whatever the user_id. Only then is the user looked up (`unknown_user` if absent). Whether a token is shared or per-requester is the RSP's choice, and a token is valid for every user it was issued for.",
        reason: "Checking the token before the user avoids an oracle: without a valid token a prober learns nothing about which users exist. Both token designs are conforming per the draft, so the suite tests only issue/invalidate behaviour, set up by test control.",
        alternative: None,
        requirements: [req::KEY_PACKAGES_BEARER_TOKEN, req::KEY_PACKAGES_BEARER_UNIQUENESS, req::KEY_PACKAGES_BEARER_INVALIDATION],
    }

    SEND_VALIDATION = "errata/send-validation" {
        question: "Before it \"sequences the message to the provided `partition_key`\", what may the hub check on a SendRequest?",
        decision: "Only what the bytes show: message is a PublicMessage or PrivateMessage (else malformed), the group_id is known (else unknown_group), the select rule (errata/select-commit-only), a WelcomeData.welcome is a Welcome, the group_info if present is a GroupInfo of the same group, the partition is not terminated, and clear-text negative policy. Nothing cryptographic, and not the sender type.",
        reason: "A DS holds no group secrets; every further check would rest on criteria it does not unambiguously know.",
        alternative: None,
        requirements: [req::SEND_UNKNOWN_GROUP_REJECTED, req::SEND_SEQUENCED_TO_PARTITION, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    REFUSAL_ORDER = "errata/refusal-order" {
        question: "The draft gives reasons to reject (\"The hub rejects the message if the `group_id` of `message doesn't match any known group\", a missing ratchet tree, a terminated branch, negative policy) but orders no checks: which refusal does a request get when several apply?",
        decision: "Any one of them: when several refusals apply to one request, a DS may answer any of their codes, and nothing changes. The vectors accept each (the others as `also` alternatives). Some orders stay fixed because what comes first decides what the rest can see: the caller's identity and the body's decoding before anything about the group, the group before its partitions, and at the KeyPackage endpoints the bearer token first (errata/bearer-token-scope), so a refusal reveals nothing about users to a caller without a valid token.",
        reason: "The draft orders no checks and each code is true of the request; fixing one order would fail conforming implementations for the order of their checks, not for their behaviour.",
        alternative: None,
        requirements: [req::SEND_UNKNOWN_GROUP_REJECTED, req::FORK_TERMINATION_BLOCKS_SENDS, req::SEND_RATCHET_TREE_REQUIRED, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    DUPLICATE_SEND = "errata/duplicate-send" {
        question: "A follower retrying a SendRequest after a timeout cannot know whether the first attempt was sequenced; the draft has no idempotency key.",
        decision: "Every accepted SendRequest is sequenced, so a byte-identical retry appears twice. Members discard the duplicate (MLS rejects a reused generation).",
        reason: "Deduplicating would need the hub to remember every message; MLS already makes duplicates harmless to members. For the checker, an operation that timed out is indeterminate: it may or may not have been sequenced.",
        alternative: Some("Dropping a byte-identical duplicate of a message already sequenced in the same partition; acceptable, since no member can tell."),
        requirements: [req::SEND_SEQUENCED_TO_PARTITION, req::RECEIVE_SEQUENCING_ORDER],
    }

    SELF_REMOVE_SIGNALLING = "errata/self-remove-signalling" {
        question: "Step 3 says the LSP \"stops requesting messages for the group / starts rejecting message pushes\", while the user \"SHOULD continue receiving group messages for the same epoch\"; and how does the user inform its LSP?",
        decision: "Informing the LSP is local (a test-control action). The follower keeps reading the epoch of the Remove proposal until a commit there is sequenced or the user gives up; after that, if the user was its last in the group, it sends no further ReceiveRequests for the group and rejects pushes for it with `unknown_group`.",
        reason: "Read in order, the SHOULD refines step 3: stopping immediately would make the check impossible. Rejecting pushes with `unknown_group` tells the hub the follower no longer follows, so it stops retrying.",
        alternative: None,
        requirements: [req::FLOW_SELF_REMOVE_INFORM_LSP, req::FLOW_SELF_REMOVE_STOP_PUSHES, req::FLOW_SELF_REMOVE_KEEP_RECEIVING],
    }

    PROVIDER_AUTHORIZATION = "errata/provider-authorization" {
        question: "The endpoints \"are accessed by third-party Service Providers\"; which providers may send to or read from a group?",
        decision: "Any authenticated provider may call send, receive, external-join and group-info; the partition key is the access control. `unauthorized_provider` answers a request without a valid provider identity, or from a provider the hub blocks by local arrangement. KeyPackage endpoints take no provider identity (OHTTP hides it); the bearer token protects them.",
        reason: "With encrypted handshakes the hub cannot know which providers have members, so membership cannot be an authorisation rule; the draft puts access control in the partition key.",
        alternative: None,
        requirements: [req::ENDPOINTS_FOR_THIRD_PARTIES, req::PARTITION_ACCESS_CONTROL, req::KEY_PACKAGES_BEARER_TOKEN],
    }

    TRANSPORT = "errata/transport" {
        question: "The draft defines structures but no transport: paths, media type, status codes, errors, provider authentication.",
        decision: "HTTPS POST to `/mimi-ds/v1/<endpoint>` with endpoints key-package, key-package-bundle, send, receive, external-join, group-info (on the hub or RSP) and welcome-init, welcome, notify (on the receiving provider). Bodies are the TLS-presentation encoding with media type `application/mimi-ds`. No body, request or answer, is longer than 16 MiB (16 777 216 bytes): a receiver may stop reading there, and an answer over it fails. Providers authenticate by mutual TLS (the certificate's DNS name is the ServiceProviderId); in plain-HTTP test mode the header `Mimi-Ds-Provider: <domain>` stands in, and a header that is missing or not a ServiceProviderId (errata/service-provider-id) is answered `unauthorized_provider`. Success is 200 (201 for welcome and notify); an empty body where the draft defines no response. Errors are `struct { uint16 code; opaque message<V>; } DsError;` (message UTF-8) with codes malformed(1), unknown_group(2), branch_terminated(3), ratchet_tree_required(4), policy_rejected(5), invalid_bearer_token(6), unknown_user(7), key_package_exhausted(8), unsupported_parameters(9), welcome_refused(10), unauthorized_provider(11), unknown_partition(12), under status 400 (1, 9), 403 (5, 6, 10, 11), 404 (2, 7, 12) or 409 (3, 4, 8). A 5xx answer, a 2xx where a refusal is due, or an error without a decodable DsError body fails. KeyPackage requests go as binary HTTP inside OHTTP to the RSP's gateway (`/mimi-ds/v1/ohttp`, key configuration per RFC 9540).",
        reason: "It follows draft-ietf-mimi-protocol (HTTPS, mutual TLS between providers, TLS-presentation bodies, versioned POST endpoints, `/notify`) so one provider stack serves both. A new media type rather than `message/mls`, because RFC 9420's type promises a single MLSMessage and these bodies are DS structures that merely contain them; one type suffices as the path names the structure. The error code in the body is authoritative; the status class lets generic HTTP tooling see failures.",
        alternative: Some("A target that answers the right DsError code under another 4xx status, or answers anything with another media type (e.g. `application/octet-stream`); acceptable and graded informational, since the draft fixes neither."),
        requirements: [req::ENDPOINTS_FOR_THIRD_PARTIES, req::SEND_RATCHET_TREE_REQUIRED, req::SEND_UNKNOWN_GROUP_REJECTED, req::KEY_PACKAGES_OVER_OHTTP],
    }

    TLS_CALLER = "errata/tls-caller" {
        question: "Providers authenticate by mutual TLS (errata/transport): which provider is calling when a certificate names several, or when a request also carries the test mode's `Mimi-Ds-Provider` header?",
        decision: "The caller's provider names are the DNS names of its client certificate, which must chain to a trusted CA, other than `localhost`, that are ServiceProviderIds. Without the header, a certificate with exactly one such name identifies the caller. With the header, the caller is the header's provider only if the certificate names it. Anything else is unidentified and answered `unauthorized_provider`: no certificate, a certificate of another CA, one with no provider name, several names and no header, or a header naming a provider the certificate does not, which is refused rather than ignored.",
        reason: "The certificate is the proof; the header may only choose among the names it proves, so one deployment serving several domains under one certificate still works, and a request whose two identities disagree is a confused or forging caller that must not be served as either.",
        alternative: None,
        requirements: [req::ENDPOINTS_FOR_THIRD_PARTIES],
    }

    RATCHET_TREE_INFERENCE = "errata/ratchet-tree-inference" {
        question: "\"the hub is unable to infer a ratchet tree that matches `GroupInfo.group_context.tree_hash`\" — which trees can a hub infer?",
        decision: "The model's hub infers exactly the trees whose tree_hash it was given before together with an explicit ratchet tree. A GroupInfo without the extension whose tree_hash is unknown is refused with `ratchet_tree_required`; for a known tree_hash the canonical answer accepts and `ratchet_tree_required` is also acceptable.",
        reason: "A tree seen explicitly is the one inference every hub can make; refusing where it could infer is allowed by the draft's wording (\"unable to infer\") and only costs the sender a retry.",
        alternative: Some("A hub that rebuilds trees from PublicMessage commits can infer more and would accept a GroupInfo the model refuses; the vectors only omit the tree for tree hashes no earlier message revealed."),
        requirements: [req::SEND_RATCHET_TREE_REQUIRED, req::EXTERNAL_JOIN_INFERRED_TREE],
    }

    GROUP_INFO_GROUP_MISMATCH = "errata/group-info-group-mismatch" {
        question: "May `CommitData.group_info` be the GroupInfo of another group than the commit's?",
        decision: "No: the hub refuses such a request as `malformed` and sequences nothing.",
        reason: "The group_id of both is readable without keys, so the mismatch is unambiguously known; relaying it would hand joiners a GroupInfo of the wrong group.",
        alternative: None,
        requirements: [req::SEND_COMMIT_DATA, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    TERMINATE_BRANCH_SCOPE = "errata/terminate-branch-scope" {
        question: "\"it MAY decide to terminate one of the branches\" — which partitions count as branches?",
        decision: "Termination is the hub's discretion in both directions. Asked (by test control) to terminate a partition it holds, a hub may terminate it, whichever partition it is, or refuse with any DsError and change nothing; both answers are accepted. A key the hub does not hold can only be refused. After an accepted termination, sends to that partition are refused with `branch_terminated` (errata/branch-terminated-sends).",
        reason: "\"When or if to terminate a branch, is left to the discretion of the hub\": the suite cannot tell a hub which partitions it must be willing to terminate, nor forbid it one. The control action only triggers a decision the hub takes itself; termination is still not a rule about acceptable keys (errata/no-hard-rules-vs-termination), since it targets one partition the hub chose.",
        alternative: None,
        requirements: [req::FORK_TERMINATION_MAY, req::FORK_TERMINATION_DISCRETION, req::PARTITION_KEYS_NO_HARD_RULES],
    }

    BAN_LIST_EXTENSION = "errata/ban-list-extension" {
        question: "\"a proposal was sent that updated the group metadata to ban a specific user\" — how does a DS read a ban?",
        decision: "An optional convention. A DS that enforces bans reads them from a private-use GroupContext extension, type 0xff00, whose data is `BannedIdentity bans<V>` with `opaque identity<V>` each (basic-credential identities). A GroupContextExtensions proposal by value in a PublicMessage commit replaces the whole list (no extension: nobody banned; unreadable: nobody banned). Proposals by reference and encrypted commits change nothing the DS can see. A target that enforces the convention says so with `\"conventions\": [\"ban-extension\"]` in its test-control capabilities; vectors resting on it are skipped for targets that do not.",
        reason: "The draft names no metadata format; a private-use extension (RFC 9420 §17.3) is the least a test needs, and reading only what is in the clear keeps the DS from rejecting on criteria not unambiguously known. The draft gives bans only as an example of negative policy (\"Examples of such rules might include\"), so a DS that enforces no ban is conforming and must not fail for it.",
        alternative: None,
        requirements: [req::POLICY_EXAMPLES, req::POLICY_BAN_PER_FORK, req::POLICY_ONLY_UNAMBIGUOUS],
    }

    MUTE_AND_RATE_LIMIT = "errata/mute-and-rate-limit" {
        question: "What do \"muted\" and a per-user rate limit mean for a DS?",
        decision: "Both apply only to the provider's own users, through its local send path. A mute refuses their application messages (not proposals or commits) with `policy_rejected`; a rate limit is a count of messages still allowed, refused with `policy_rejected` once spent (time is not modelled).",
        reason: "Only a local relationship lets the DS authenticate the sender (\"the DS can authenticate the user and unambiguously rate-limit just them\"); a count keeps the model free of clocks while exercising the same refusal.",
        alternative: None,
        requirements: [req::POLICY_EXAMPLES, req::POLICY_LOCAL_RATE_LIMIT, req::POLICY_NO_REMOTE_RATE_LIMIT],
    }

    WELCOME_INIT_ANSWER = "errata/welcome-init-answer" {
        question: "When does a follower answer a WelcomeInitRequest affirmatively, and which Welcome pushes does it take?",
        decision: "It answers yes exactly when the list is non-empty and every KeyPackageRef is one of its local users' uploads. It takes a Welcome push naming at least one ref it said yes to; a byte-identical repeat is answered 201 and not delivered twice. At the hub, answers are matched to waiting Welcomes first in, first out per provider.",
        reason: "Saying yes only for its own users' refs is the consent the two-step exchange exists for; idempotent repeats follow errata/push-and-pull.",
        alternative: None,
        requirements: [req::WELCOME_INIT_REQUEST, req::WELCOME_PUSH_IF_ACCEPTED],
    }

    PUSH_ACCEPTANCE = "errata/push-acceptance" {
        question: "Which pushed ReceiveResponses does a follower take?",
        decision: "Only from the hub of a group it follows and has not left. A push names no group, so the follower reads the group_id in the clear header of every MLSMessage it carries (the `epoch` messages, then each HintedEpoch's, in order): a message of a group it follows at another hub → `unauthorized_provider`; of a group it does not follow, or left → `unknown_group`; otherwise, and for a push carrying no message, 201. Masked keys are not used for this. Duplicates are recognised by SHA-256 of the encoded ReceiveResponse. A non-empty `epoch` is taken when it is the end of some partition's log (errata/pushed-response-epoch's alternative).",
        reason: "The hub is the only provider that sequences the group; anything else pushing its messages is not authorised to.",
        alternative: None,
        requirements: [req::RECEIVE_PUSH, req::FLOW_SELF_REMOVE_STOP_PUSHES],
    }

    PUSH_SNAPSHOT = "errata/push-snapshot" {
        question: "\"The hub has complete discretion in which epochs it provides in `hints`, and when it pushes\" — a push answers no request, so against which state of the hub is it judged, when it may be made before the hub answers the request that caused it, after, or later still?",
        decision: "A push is a snapshot: every partition it carries (errata/pushed-response-epoch) equals that partition's whole log as it stood at some moment the hub passed through before the push arrived — any prefix the log has had, since logs only grow — never holding a message the partition did not hold, never out of order. The runner judges a push against the hub's state after the last input it had sent when the push arrived, so a push made synchronously before answering and one made after answering, or late, both pass. A non-empty `epoch` (the alternative reading) must likewise be a run of consecutive messages of one partition.",
        reason: "Logs are append-only, so every prefix of a partition is a state the hub was in; nothing observable tells which input a push was made for, and the draft makes its timing discretionary. Judging against the state before the causing input, as this suite once did, failed every hub that pushes what it has just sequenced.",
        alternative: None,
        requirements: [req::RECEIVE_PUSH, req::RECEIVE_HUB_DISCRETION, req::RECEIVE_HINTS_COMPLETE, req::RECEIVE_SEQUENCING_ORDER],
    }

    PUSH_RECIPIENTS = "errata/push-recipients" {
        question: "\"The hub MAY proactively push `ReceiveResponse` structures to a following Service Provider\" — to which providers may a group's messages be pushed?",
        decision: "Only to a provider with a reason to hold a member of the group: one that sent a request the hub accepted naming the group (a send or external join sequenced there), read one of the group's partitions by its key, or was named in the WelcomeData of a commit the hub sequenced. A push of a group's partitions to any other provider fails `partition-keys/access-control`.",
        reason: "Messages of a partition are \"only provided to users who request to receive messages with the same partition key\"; a provider that never showed it holds a key or a member has no claim on them, and pushing them there leaks the group's traffic.",
        alternative: None,
        requirements: [req::RECEIVE_PUSH, req::PARTITION_ACCESS_CONTROL],
    }

    NO_KEY_PACKAGES_UPLOADED = "errata/no-key-packages-uploaded" {
        question: "What answers a KeyPackage request for a known user who never uploaded any?",
        decision: "A user is known to the RSP once KeyPackages were uploaded for it (test control `upload_key_packages`, even with an empty list); any other user_id gets `unknown_user`. A known user with nothing uploaded gets `key_package_exhausted`, as when all were used; `unsupported_parameters` is kept for a user whose KeyPackages exist but none of the requested version and suite.",
        reason: "From outside, \"none uploaded\" and \"all used\" are the same state; telling them apart would leak activity.",
        alternative: None,
        requirements: [req::KEY_PACKAGES_RESPONSE_MATCHES],
    }

    CANONICAL_HINTS = "errata/canonical-hints" {
        question: "The hub \"has complete discretion in which epochs it provides in `hints`\": which does the reference DS choose?",
        decision: "The partitions announced by the commits of the returned epoch, once each, when they hold messages. The checker accepts every other choice the hints relation allows (errata/hint-selection).",
        reason: "These are the epochs a reader of the returned commits will ask for next, so hinting them saves a round trip; any fixed choice would do for the reference.",
        alternative: None,
        requirements: [req::RECEIVE_HUB_DISCRETION, req::RECEIVE_HINTS_OTHER_EPOCHS],
    }

    CREATE_GROUP_DUPLICATE = "errata/create-group-duplicate" {
        question: "What if a local group creation names a group id or a partition key already in use?",
        decision: "The control action is refused as `malformed` and nothing changes.",
        reason: "One group id names one group and one partition key one partition (errata/receive-by-partition-key-alone); reusing either would merge two groups' logs.",
        alternative: None,
        requirements: [req::FLOW_CREATE_WITH_LSP],
    }
}

/// Reading an id back resolves it in the record: an unknown erratum is an error.
impl<'de> serde::Deserialize<'de> for ErratumId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        find(&text)
            .map(|e| e.id)
            .ok_or_else(|| serde::de::Error::custom(format!("no erratum {text:?} in the record")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_distinct_and_prefixed() {
        let mut seen = HashSet::new();
        for erratum in ERRATA {
            let id = erratum.id.0;
            assert!(seen.insert(id), "duplicate id {id}");
            let name = id
                .strip_prefix("errata/")
                .unwrap_or_else(|| panic!("{id}: missing errata/ prefix"));
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id}: not lowercase kebab"
            );
        }
    }

    #[test]
    fn at_least_twenty_decisions() {
        assert!(ERRATA.len() >= 20, "only {} errata", ERRATA.len());
    }

    #[test]
    fn every_cited_requirement_exists() {
        for erratum in ERRATA {
            assert!(
                !erratum.requirements.is_empty(),
                "{}: touches no requirement",
                erratum.id
            );
            for requirement in erratum.requirements {
                assert!(
                    req::find(requirement.0).is_some(),
                    "{}: unknown requirement {requirement}",
                    erratum.id
                );
            }
        }
    }

    #[test]
    fn every_text_is_filled_in() {
        for erratum in ERRATA {
            for (field, text) in [
                ("question", erratum.question),
                ("decision", erratum.decision),
                ("reason", erratum.reason),
            ] {
                assert!(!text.trim().is_empty(), "{}: empty {field}", erratum.id);
            }
            if let Some(alternative) = erratum.alternative {
                assert!(
                    !alternative.trim().is_empty(),
                    "{}: empty alternative",
                    erratum.id
                );
            }
        }
    }

    #[test]
    fn find_returns_the_entry() {
        assert_eq!(
            find(SELECT_COMMIT_ONLY.0).map(|found| found.id),
            Some(SELECT_COMMIT_ONLY)
        );
        assert!(find("errata/no-such-decision").is_none());
    }

    #[test]
    fn serializes_with_the_documented_keys() {
        let json = serde_json::to_value(ERRATA).expect("errata serialize");
        for entry in json.as_array().expect("an array") {
            for key in [
                "id",
                "question",
                "decision",
                "reason",
                "alternative",
                "requirements",
            ] {
                assert!(entry.get(key).is_some(), "missing {key} in {entry}");
            }
            assert!(entry["requirements"]
                .as_array()
                .is_some_and(|ids| ids.iter().all(|id| id.is_string())));
        }
    }
}
