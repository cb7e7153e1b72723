//! Random traces against a target, in every role it offers, with shrinking. proptest draws
//! sequences of operations: against a hub, over real MLS group histories of seeded shapes
//! (forked at any epoch or not) and a forked one with a ban (sends of their messages in any
//! subset and order, WelcomeInits answered yes, no or not at all, reads of any partition at
//! any counter, GroupInfo requests, external joins, terminations, policy, a second group,
//! spoiled bodies); against a follower of two groups, its users' sends and reads
//! (forwarded), pushes from either hub or a stranger, the last user leaving, Welcomes;
//! against an RSP, KeyPackage uploads, tokens issued and revoked, and single and bundled
//! requests. The model judges each as the runner replays it, and a failing trace is shrunk
//! — steps deleted, values simplified — by replaying candidates against the target until the
//! smallest failing one is left. That one is returned as a trace vector, replayable with
//! `run --vectors`.

use crate::peers::WelcomeAnswer;
use crate::runner::{run_case, Case, CaseResult, Grade, Rig};
use crate::{cases, Error, Result};
use mimi_ds_generate::mls::Handshakes;
use mimi_ds_generate::stories::{self, EpochShape, Event, Fork};
use mimi_ds_model::codec::reader::{Fault, Writer};
use mimi_ds_model::codec::{
    Bytes, Epoch, ExternalJoinRequest, GroupInfoRequest, HintedEpoch, KeyPackageBundleRequest,
    KeyPackageRequest, Message, MessageCommitData, MlsMessage, PartitionKey, ReceiveRequest,
    ReceiveResponse, SendRequest, WelcomeInitRequest,
};
use mimi_ds_model::codec::{ServiceProviderId, Wire};
use mimi_ds_model::ds::{apply, Endpoint, Input, NoAnswer, Outbound, State, Token, TokenScope};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::requirements::{self as req, ReqId};
use mimi_ds_model::vectors::cast::{self, provider, FOLLOWER_B, FOLLOWER_C, HUB, OUTSIDER};
use mimi_ds_model::vectors::trace::CaseStep;
use mimi_ds_model::vectors::trace::{self, Role, TraceCase, TraceTest};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// The section name of explored traces (and of the file a counterexample is written to).
pub const SECTION: &str = "explore";

/// The providers random traces name: the runner plays each that is not the target.
pub fn peers() -> Vec<mimi_ds_model::codec::ServiceProviderId> {
    cast::ALL.into_iter().map(provider).collect()
}

/// The real MLS messages random traces are drawn from: one group's events and the partition
/// keys they use and announce.
struct Material {
    name: &'static str,
    creation: PartitionKey,
    events: Vec<Event>,
    /// Every partition key the events use and announce (the first `own_keys`), then the
    /// other group's (the next `other_keys`) and the external joiners'.
    keys: Vec<PartitionKey>,
    own_keys: usize,
    other_keys: usize,
    /// The hub's own user, whom the operator may mute or rate-limit.
    local_user: Bytes,
    other: OtherGroup,
    /// An outsider's external join from each commit's GroupInfo.
    joins: Vec<Join>,
}

/// An external join, the joiner's GroupInfo without the ratchet tree, and its first message
/// in the partition it announces.
pub(crate) struct Join {
    pub(crate) request: ExternalJoinRequest,
    group_info_without_tree: MlsMessage,
    pub(crate) chat: SendRequest,
}

/// An external join by d.example's dave from the GroupInfo of each commit of `events`: stale
/// once a later commit is sent, fresh before.
pub(crate) fn joins(events: &[Event]) -> Vec<Join> {
    events
        .iter()
        .filter_map(|e| e.request.commit_data.as_ref()?.group_info.clone())
        .map(|info| {
            let (mut joiner, commit_data, message) =
                stories::external_join(&info, "dave", Handshakes::Clear);
            let chat = SendRequest {
                message: joiner.application("hello from dave"),
                partition_key: commit_data.next_partition_key,
                commit_data: None,
            };
            Join {
                request: ExternalJoinRequest {
                    message,
                    commit_data,
                },
                group_info_without_tree: joiner.group_info(false),
                chat,
            }
        })
        .collect()
}

/// A second group, which the hub hosts only once told to: its messages are of an unknown
/// group until then, and its partitions must never mix with the history's.
struct OtherGroup {
    creation: PartitionKey,
    /// An application message, a commit, and the same commit with a GroupInfo lacking the
    /// ratchet tree, from b.example, in its creation partition.
    sends: Vec<SendRequest>,
}

impl OtherGroup {
    fn new() -> OtherGroup {
        let creation = PartitionKey([0x5a; 16]);
        let (commit, without_tree) = stories::stray_commit_without_tree();
        let sends = stories::stray_messages()
            .into_iter()
            .map(|(message, commit_data, _)| (message, commit_data))
            .chain([(commit, Some(without_tree))])
            .map(|(message, commit_data)| SendRequest {
                message,
                partition_key: creation,
                commit_data,
            })
            .collect();
        OtherGroup { creation, sends }
    }

    /// Its partition keys: the creation one and the one its commit announces.
    fn keys(&self) -> impl Iterator<Item = PartitionKey> + '_ {
        let announced = self
            .sends
            .iter()
            .filter_map(|s| s.commit_data.as_ref().map(|c| c.next_partition_key));
        std::iter::once(self.creation).chain(announced)
    }
}

impl Material {
    fn of(
        name: &'static str,
        creation: PartitionKey,
        events: Vec<Event>,
        mut keys: Vec<PartitionKey>,
    ) -> Material {
        let own_keys = keys.len();
        let other = OtherGroup::new();
        keys.extend(other.keys());
        let other_keys = keys.len() - own_keys;
        let joins = joins(&events);
        keys.extend(joins.iter().map(|j| j.chat.partition_key));
        let local_user = events
            .iter()
            .find(|e| e.provider.as_str() == HUB)
            .map(|e| e.user.clone())
            .unwrap_or_else(|| b"alice".as_slice().into());
        Material {
            name,
            creation,
            events,
            keys,
            own_keys,
            other_keys,
            local_user,
            other,
            joins,
        }
    }
}

impl Material {
    /// A history of the shape `seed` draws ([`shape`]), forked at any epoch or not, its keys
    /// and secrets seeded by `seed` too: another seed, other MLS bytes and other epochs.
    fn shaped(seed: u64) -> Material {
        let history = mimi_ds_generate::mls::seeded_as(&format!("{SECTION}/seed-{seed}"), || {
            stories::shaped(Handshakes::Clear, &shape(seed))
        });
        Material::of("shaped", history.creation, history.events, history.keys)
    }

    /// The sizes operations on this history are drawn within.
    fn sizes(&self) -> Sizes {
        Sizes {
            events: self.events.len(),
            keys: self.keys.len(),
            own_keys: self.own_keys,
            other_keys: self.other_keys,
        }
    }

    /// A forked history ([`forked`]), seeded by `seed`.
    fn forked(seed: u64) -> Material {
        let (creation, events, keys) = forked(stories::GROUP, &format!("{SECTION}/seed-{seed}"));
        Material::of("forked", creation, events, keys)
    }
}

/// A forked history of `group_id`, its keys and secrets seeded under `scope`: alice founds
/// the group, then bob bans mallory while carol commits in the same epoch; then each branch
/// chats and adds mallory (refused only in bob's branch). Its creation key, its events in
/// that order and every key they use or announce, creation first.
pub(crate) fn forked(
    group_id: &[u8],
    scope: &str,
) -> (PartitionKey, Vec<Event>, Vec<PartitionKey>) {
    let mut fork = mimi_ds_generate::mls::seeded_as(scope, || {
        stories::fork_in(group_id, Handshakes::Clear, Some(b"mallory"))
    });
    let chat_bob = Fork::chat_in_branch(&mut fork.bob, "in bob's branch");
    let chat_carol = Fork::chat_in_branch(&mut fork.carol, "in carol's branch");
    let add_bob = Fork::add_in_branch(&mut fork.bob, "mallory");
    let add_carol = Fork::add_in_branch(&mut fork.carol, "mallory");
    let events = vec![
        fork.founding_event,
        fork.bob_commit,
        fork.carol_commit,
        chat_bob,
        chat_carol,
        add_bob,
        add_carol,
    ];
    let mut keys = vec![fork.creation];
    for event in &events {
        let announced = event
            .request
            .commit_data
            .as_ref()
            .map(|c| c.next_partition_key);
        for key in std::iter::once(event.request.partition_key).chain(announced) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    (fork.creation, events, keys)
}

/// The epochs of seed `seed`'s history after the founding: two to four, each with up to four
/// application messages and then a commit by any member (a quarter of them removing
/// another), or none in the last; in half the histories one commit has a rival, forking its
/// epoch.
fn shape(seed: u64) -> Vec<EpochShape> {
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed ^ 0x5eed));
    let mut draw = |n: u32| (rng.next_u32() % n) as usize;
    let epochs = 2 + draw(3);
    let fork_at = (draw(2) == 0).then(|| draw(epochs as u32));
    (0..epochs)
        .map(|epoch| {
            let chat = draw(5);
            let committer = match (epoch + 1 == epochs, draw(4)) {
                (true, 0) | (true, 1) => None,
                (_, who) => Some(who % 3),
            };
            let removes = draw(4) == 0;
            let rival = (fork_at == Some(epoch)).then(|| draw(2));
            EpochShape {
                chat,
                committer,
                removes,
                rival,
            }
        })
        .collect()
}

/// The histories of their own shape hub traces of `seed` are drawn over.
fn shaped(seed: u64) -> Vec<Material> {
    (0..SHAPES)
        .map(|i| Material::shaped(seed.wrapping_mul(SHAPES).wrapping_add(i)))
        .collect()
}

/// How many histories of their own shape an exploration's hub traces are drawn over, each
/// trace over one: made once per exploration seed, as making one costs about as much as
/// running a few traces.
const SHAPES: u64 = 16;

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes
}

/// One step of a random trace, by index into the history.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Send the history's event `event` (as its provider would; the hub's own user locally);
    /// the providers its Welcome names answer the WelcomeInits as `answers` says, in the
    /// order they are asked (yes past its end).
    Send {
        event: usize,
        answers: [WelcomeAnswer; 2],
    },
    /// Event `event` sent by b.example with its body spoiled: what the codec makes of the
    /// bytes is the input, most often a malformed one.
    Spoiled { event: usize, spoil: Spoil },
    /// Event `event`'s body from a caller without a valid identity: [`CLAIMS`]`[claim]`.
    Unidentified { event: usize, claim: usize },
    /// b.example sends the other group's message `send` (see [`OtherGroup::sends`]), of a
    /// group the hub does not host until [`Op::HostOther`].
    SendOther { send: usize },
    /// The hub's operator creates the other group.
    HostOther,
    /// d.example joins from the GroupInfo of the history's commit `join` (modulo their
    /// number) — or sends the joiner's first message after such a join ([`Joining::Chat`]),
    /// or offers as external commit a member's message ([`Joining::NotExternal`]).
    ExternalJoin { join: usize, what: Joining },
    /// The hub's own user sends the history's application message `n` (modulo their
    /// number; whoever wrote it: the hub takes its local user's word).
    LocalChat { n: usize },
    /// The hub's operator mutes its own user.
    Mute,
    /// The hub's operator lets its own user send `budget` more messages.
    RateLimit { budget: u32 },
    /// A follower reads partition `key` from `counter`.
    Receive {
        follower: usize,
        key: usize,
        counter: u32,
    },
    /// An outsider asks for the GroupInfo.
    GroupInfo,
    /// The hub's operator terminates partition `key` (refused unless it is a fork's branch).
    Terminate { key: usize },
}

#[derive(Clone, Copy, Debug)]
enum Joining {
    Join,
    /// The join with the joiner's GroupInfo lacking the ratchet tree: taken only where the
    /// hub can infer the tree.
    JoinWithoutTree,
    Chat,
    /// The join's CommitData with event `join`'s message, which is no external commit.
    NotExternal,
}

/// How a body is spoiled: cut, lengthened, or with one defect planted by the codec's
/// writer or by the value it encodes.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    TruncatedToHalf,
    LastByteMissing,
    TrailingByte,
    Fault(Fault),
    /// A commit's GroupInfo replaced by the other group's.
    ForeignGroupInfo,
    /// A message that is no commit followed by the other group's CommitData.
    CommitDataAfterNonCommit,
    /// A Welcome's provider list one longer than its secrets.
    ExtraWelcomeProvider,
    /// The message replaced by a GroupInfo, which no SendRequest may carry.
    GroupInfoAsMessage,
    /// A Welcome's first provider written with a capital letter, which no
    /// ServiceProviderId has.
    CapitalisedProvider,
}

impl Spoil {
    /// The rules a lenient decoder of the spoiled bytes would break, as the vectors of the
    /// same defects name them.
    fn breaks(self) -> (Vec<ReqId>, Vec<ErratumId>) {
        match self {
            Spoil::Fault(Fault::PartitionKeyLength { .. }) => (
                vec![req::SEND_PARTITION_KEY_LENGTH],
                vec![errata::PARTITION_KEY_ENCODING],
            ),
            Spoil::GroupInfoAsMessage => (Vec::new(), vec![errata::MLS_MESSAGE_PARSING]),
            Spoil::CapitalisedProvider => (Vec::new(), vec![errata::SERVICE_PROVIDER_ID]),
            _ => (Vec::new(), Vec::new()),
        }
    }
}

fn spoil() -> impl Strategy<Value = Spoil> {
    let site = 0..4usize;
    prop_oneof![
        Just(Spoil::TruncatedToHalf),
        Just(Spoil::LastByteMissing),
        Just(Spoil::TrailingByte),
        site.clone()
            .prop_map(|site| Spoil::Fault(Fault::NonMinimalVarint { site })),
        site.clone()
            .prop_map(|site| Spoil::Fault(Fault::HugeLength { site })),
        site.prop_map(|site| Spoil::Fault(Fault::BadOptionalTag { site })),
        prop::sample::select(vec![15usize, 17])
            .prop_map(|length| Spoil::Fault(Fault::PartitionKeyLength { site: 0, length })),
        Just(Spoil::ForeignGroupInfo),
        Just(Spoil::CommitDataAfterNonCommit),
        Just(Spoil::ExtraWelcomeProvider),
        Just(Spoil::GroupInfoAsMessage),
        Just(Spoil::CapitalisedProvider),
    ]
}

/// The identities an unidentified caller claims: none, and names that are no
/// ServiceProviderId (BINDING.md §3).
const CLAIMS: [Option<&str>; 4] = [
    None,
    Some("B.example"),
    Some("b.example:8443"),
    Some("1.2.3.4"),
];

/// The sizes of a history that operations index into.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    events: usize,
    keys: usize,
    own_keys: usize,
    other_keys: usize,
}

/// Operations on a history of `sizes`. Reads mostly name the history's own partitions, or
/// the other group's, at low counters, where their messages are.
fn op(
    Sizes {
        events,
        keys,
        own_keys,
        other_keys,
    }: Sizes,
) -> impl Strategy<Value = Op> {
    let answer = prop_oneof![
        6 => Just(Ok(true)),
        2 => Just(Ok(false)),
        1 => prop::sample::select(vec![NoAnswer::Closed, NoAnswer::ServerError, NoAnswer::Undecodable]).prop_map(Err),
    ];
    let answers = [answer.clone(), answer];
    let read_key = prop_oneof![
        6 => 0..own_keys,
        2 => own_keys..own_keys + other_keys,
        1 => 0..keys,
    ];
    let counter = prop_oneof![3 => 0..4u32, 1 => 0..12u32];
    prop_oneof![
        8 => (0..events, answers).prop_map(|(event, answers)| Op::Send { event, answers }),
        8 => (0..2usize, read_key, counter).prop_map(|(follower, key, counter)| Op::Receive { follower, key, counter }),
        2 => Just(Op::GroupInfo),
        2 => (0..keys).prop_map(|key| Op::Terminate { key }),
        2 => (0..events, spoil()).prop_map(|(event, spoil)| Op::Spoiled { event, spoil }),
        1 => (0..events, 0..CLAIMS.len()).prop_map(|(event, claim)| Op::Unidentified { event, claim }),
        2 => (0..3usize).prop_map(|send| Op::SendOther { send }),
        2 => Just(Op::HostOther),
        1 => (0..events).prop_map(|n| Op::LocalChat { n }),
        2 => (0..events, prop::sample::select(vec![Joining::Join, Joining::JoinWithoutTree, Joining::Chat, Joining::NotExternal])).prop_map(|(join, what)| Op::ExternalJoin { join, what }),
        1 => Just(Op::Mute),
        1 => (0..3u32).prop_map(|budget| Op::RateLimit { budget }),
    ]
}

/// Event `event`'s request with `spoil` applied, as bytes.
fn spoiled_body(history: &Material, event: usize, spoil: Spoil) -> Vec<u8> {
    let mut request = history.events[event].request.clone();
    let other_commit = history
        .other
        .sends
        .iter()
        .find_map(|s| s.commit_data.clone());
    let mut bytes = match spoil {
        Spoil::Fault(fault) => {
            let mut w = Writer::with_fault(fault);
            request.write(&mut w);
            return w.out;
        }
        Spoil::ForeignGroupInfo => {
            if let Some(data) = &mut request.commit_data {
                data.group_info = other_commit.as_ref().and_then(|c| c.group_info.clone());
            }
            request.to_bytes()
        }
        Spoil::ExtraWelcomeProvider => {
            if let Some(welcome) = request
                .commit_data
                .as_mut()
                .and_then(|c| c.welcome_data.as_mut())
            {
                welcome.service_providers.push(provider(OUTSIDER));
            }
            request.to_bytes()
        }
        Spoil::GroupInfoAsMessage => {
            if let Some(group_info) = other_commit.as_ref().and_then(|c| c.group_info.clone()) {
                request.message = group_info;
            }
            request.to_bytes()
        }
        _ => request.to_bytes(),
    };
    match spoil {
        Spoil::TruncatedToHalf => bytes.truncate(bytes.len() / 2),
        Spoil::LastByteMissing => {
            bytes.pop();
        }
        Spoil::TrailingByte => bytes.push(0),
        Spoil::CommitDataAfterNonCommit if request.commit_data.is_none() => {
            if let Some(data) = other_commit {
                bytes.extend(data.to_bytes());
            }
        }
        Spoil::CapitalisedProvider => {
            let welcomed = request
                .commit_data
                .as_ref()
                .and_then(|c| c.welcome_data.as_ref())
                .and_then(|w| w.service_providers.first());
            if let Some(name) = welcomed.map(|p| p.as_str().as_bytes()) {
                let at = bytes.windows(name.len()).rposition(|w| w == name);
                if let Some(at) = at {
                    bytes[at].make_ascii_uppercase();
                }
            }
        }
        _ => {}
    }
    bytes
}

/// What a body sent to `endpoint` by `from` is as an input: whatever the strict decoder
/// makes of it; when it does not decode, the bytes kept and the rules `breaks` names.
fn decoded_step(
    endpoint: Endpoint,
    from: &ServiceProviderId,
    body: Vec<u8>,
    (requirements, decisions): (Vec<ReqId>, Vec<ErratumId>),
) -> CaseStep {
    match mimi_ds_binding::input_of(endpoint, from, &body) {
        Input::Malformed { endpoint, .. } => CaseStep {
            input: Input::Malformed {
                endpoint,
                breaks: requirements,
                breaks_errata: decisions,
            },
            malformed_body: Some(body.into()),
        },
        input => input.into(),
    }
}

/// The trace a sequence of operations makes: create the group, then each operation; every
/// WelcomeInit a send causes (as the model says) answered as the operation says: yes, no
/// or not at all.
fn trace_case(history: &Material, ops: &[Op], id: String) -> TraceCase {
    let id = format!("{SECTION}/{}/{id}", history.name);
    let mut steps = Answering::new(provider(HUB));
    steps.push(
        Input::CreateGroup {
            group_id: stories::GROUP.into(),
            partition_key: history.creation,
        }
        .into(),
        &[],
    );
    for op in ops {
        let answers: &[WelcomeAnswer] = match op {
            Op::Send { answers, .. } => answers,
            _ => &[],
        };
        if let Some(step) = hub_step(history, op) {
            steps.push(step, answers);
        }
    }
    TraceCase {
        id,
        comment: format!(
            "a random trace of {} operations over a real MLS group ({} history)",
            ops.len(),
            history.name
        ),
        target: trace::Target {
            role: Role::Hub,
            provider: HUB.into(),
        },
        exercises: Vec::new(),
        steps: steps.steps,
    }
}

/// A trace's steps, and the model's state after them: what tells which WelcomeInits a step
/// causes, so the trace answers exactly those (an answer to no call would be given to the
/// next one instead).
struct Answering {
    state: State,
    steps: Vec<CaseStep>,
}

impl Answering {
    fn new(me: ServiceProviderId) -> Answering {
        Answering {
            state: State::new(me),
            steps: Vec::new(),
        }
    }

    /// Adds `step` and an answer to each WelcomeInit it causes, in the order they are made:
    /// the `i`-th as `answers[i]` says, yes past its end.
    fn push(&mut self, step: CaseStep, answers: &[WelcomeAnswer]) {
        let mut calls: std::collections::VecDeque<Outbound> =
            apply(&mut self.state, &step.input).outbound.into();
        self.steps.push(step);
        let mut answers = answers.iter();
        while let Some(call) = calls.pop_front() {
            if let Outbound::WelcomeInit { to, .. } = call {
                let given = answers.next().copied().unwrap_or(Ok(true));
                let answer = Input::WelcomeInitAnswered {
                    provider: to,
                    accepted: given == Ok(true),
                    no_answer: given.err(),
                };
                calls.extend(apply(&mut self.state, &answer).outbound);
                self.steps.push(answer.into());
            }
        }
    }
}

/// The step operation `op` makes, if any.
fn hub_step(history: &Material, op: &Op) -> Option<CaseStep> {
    Some(match *op {
        Op::Send { event, .. } => history.events[event].hub_input().into(),
        Op::Receive {
            follower,
            key,
            counter,
        } => Input::Receive {
            from: provider([FOLLOWER_B, FOLLOWER_C][follower]),
            request: ReceiveRequest {
                partition_key: history.keys[key],
                counter,
            },
        }
        .into(),
        Op::GroupInfo => Input::GroupInfo {
            from: provider(OUTSIDER),
            request: GroupInfoRequest {
                group_id: stories::GROUP.into(),
            },
        }
        .into(),
        Op::Terminate { key } => Input::TerminateBranch {
            partition_key: history.keys[key],
        }
        .into(),
        Op::Spoiled { event, spoil } => {
            let body = spoiled_body(history, event, spoil);
            decoded_step(Endpoint::Send, &provider(FOLLOWER_B), body, spoil.breaks())
        }
        Op::Unidentified { event, claim } => CaseStep {
            input: Input::Unidentified {
                endpoint: Endpoint::Send,
                claimed: CLAIMS[claim].map(String::from),
            },
            malformed_body: Some(history.events[event].request.to_bytes().into()),
        },
        Op::SendOther { send } => Input::Send {
            from: provider(FOLLOWER_B),
            request: history.other.sends[send % history.other.sends.len()].clone(),
        }
        .into(),
        Op::HostOther => Input::CreateGroup {
            group_id: stories::STRAY_GROUP.into(),
            partition_key: history.other.creation,
        }
        .into(),
        Op::LocalChat { n } => {
            let chat: Vec<&Event> = history.events.iter().filter(|e| !e.is_commit()).collect();
            Input::LocalSend {
                user: history.local_user.clone(),
                request: chat.get(n % chat.len().max(1))?.request.clone(),
            }
            .into()
        }
        Op::ExternalJoin { join: n, what } => {
            let join = history.joins.get(n % history.joins.len().max(1))?;
            let from = provider(OUTSIDER);
            match what {
                Joining::Join => Input::ExternalJoin {
                    from,
                    request: join.request.clone(),
                },
                Joining::JoinWithoutTree => {
                    let mut request = join.request.clone();
                    request.commit_data.group_info = Some(join.group_info_without_tree.clone());
                    Input::ExternalJoin { from, request }
                }
                Joining::Chat => Input::Send {
                    from,
                    request: join.chat.clone(),
                },
                Joining::NotExternal => Input::ExternalJoin {
                    from,
                    request: ExternalJoinRequest {
                        message: history.events[n].request.message.clone(),
                        commit_data: join.request.commit_data.clone(),
                    },
                },
            }
            .into()
        }
        Op::Mute => Input::Mute {
            user: history.local_user.clone(),
        }
        .into(),
        Op::RateLimit { budget } => Input::RateLimit {
            user: history.local_user.clone(),
            budget,
        }
        .into(),
    })
}

/// What exploring found.
pub struct Exploration {
    /// Every trace run, shrinking candidates included.
    pub runs: usize,
    /// The smallest failing trace and its result, if one failed.
    pub counterexample: Option<(TraceTest, CaseResult)>,
    /// How long the runs took, histories made on the way included.
    pub wall: std::time::Duration,
    /// What the runs exercised.
    pub coverage: Coverage,
}

/// What the traces of an exploration exercised: the inputs they drew (by the name a trace
/// vector gives them) and every requirement an expectation of theirs cites.
#[derive(Default)]
pub struct Coverage {
    /// One input of each kind drawn, named only when the coverage is shown.
    kinds: HashMap<std::mem::Discriminant<Input>, Input>,
    pub requirements: BTreeSet<ReqId>,
}

impl Coverage {
    fn add(&mut self, case: &Case) {
        for step in &case.steps {
            self.kinds
                .entry(std::mem::discriminant(&step.input))
                .or_insert_with(|| step.input.clone());
        }
        self.requirements.extend(&case.requirements);
    }

    /// The kinds of input drawn, by the names a vector's steps give them.
    pub fn inputs(&self) -> BTreeSet<String> {
        self.kinds
            .values()
            .filter_map(|input| {
                let json = serde_json::to_value(input).ok()?;
                Some(json.get("input")?.as_str()?.to_owned())
            })
            .collect()
    }
}

impl Exploration {
    /// The throughput line every exploration ends with.
    pub fn rate_line(&self) -> String {
        let seconds = self.wall.as_secs_f64();
        format!(
            "{} runs in {seconds:.2} s: {:.0} traces/s",
            self.runs,
            self.runs as f64 / seconds.max(1e-9)
        )
    }
}

/// Runs `traces` random traces of up to `max_ops` operations in each of `roles`, from
/// `seed`: against a hub half over a linear history, half over a forked one.
pub fn explore(
    runtime: &tokio::runtime::Runtime,
    rig: &Rig,
    roles: &[Role],
    traces: u32,
    max_ops: usize,
    seed: u64,
) -> Result<Exploration> {
    let started = std::time::Instant::now();
    let mut runs = 0;
    let coverage = RefCell::new(Coverage::default());
    // Counts the runs of one exploration; its counterexample, if any, ends the whole search.
    let mut ends = |(ran, counterexample): Found| {
        runs += ran;
        counterexample.map(|c| Exploration {
            runs,
            counterexample: Some(c),
            wall: started.elapsed(),
            coverage: coverage.take(),
        })
    };
    for role in roles {
        match role {
            Role::Hub => {
                let shaped = shaped(seed);
                for (histories, share) in [
                    (&shaped[..], traces.div_ceil(2)),
                    (&[Material::forked(seed)][..], traces / 2),
                ] {
                    if share == 0 {
                        continue;
                    }
                    let sizes: Vec<Sizes> = histories.iter().map(Material::sizes).collect();
                    let drawn = (0..histories.len()).prop_flat_map(move |h| {
                        (Just(h), prop::collection::vec(op(sizes[h]), 1..=max_ops))
                    });
                    let found =
                        explore_one(runtime, rig, &coverage, drawn, share, seed, |(h, o), id| {
                            trace_case(&histories[*h], o, id)
                        })?;
                    if let Some(failed) = ends(found) {
                        return Ok(failed);
                    }
                }
            }
            Role::Follower => {
                let material = Material::shaped(seed.wrapping_mul(SHAPES));
                let welcoming = Welcoming::new();
                let ops = prop::collection::vec(follower_op(material.sizes()), 1..=max_ops);
                let found = explore_one(runtime, rig, &coverage, ops, traces, seed, |o, id| {
                    follower_trace(&material, &welcoming, o, id)
                })?;
                if let Some(failed) = ends(found) {
                    return Ok(failed);
                }
            }
            Role::Rsp => {
                let uploads = stories::uploads(2, true);
                let ops = prop::collection::vec(rsp_op(), 1..=max_ops);
                let found = explore_one(runtime, rig, &coverage, ops, traces, seed, |o, id| {
                    rsp_trace(&uploads, o, id)
                })?;
                if let Some(failed) = ends(found) {
                    return Ok(failed);
                }
            }
        }
    }
    Ok(Exploration {
        runs,
        counterexample: None,
        wall: started.elapsed(),
        coverage: coverage.take(),
    })
}

/// The runs of one exploration, and its counterexample if one failed.
type Found = (usize, Option<(TraceTest, CaseResult)>);

/// `traces` random traces drawn by `drawn`, each made a case by `build` (from what was drawn
/// and an id).
fn explore_one<T: std::fmt::Debug + Clone>(
    runtime: &tokio::runtime::Runtime,
    rig: &Rig,
    coverage: &RefCell<Coverage>,
    drawn: impl Strategy<Value = T>,
    traces: u32,
    seed: u64,
    build: impl Fn(&T, String) -> TraceCase,
) -> Result<Found> {
    let config = Config {
        cases: traces,
        failure_persistence: None,
        max_shrink_iters: 1024,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed)),
    );
    let runs = RefCell::new(0usize);
    let outcome = runner.run(&drawn, |ops| {
        let n = {
            let mut r = runs.borrow_mut();
            *r += 1;
            *r
        };
        let case = cases::case_of_trace(&build(&ops, format!("seed-{seed}/trace-{n}")))
            .map_err(TestCaseError::fail)?;
        coverage.borrow_mut().add(&case);
        let result = runtime.block_on(run_case(&case, rig));
        match result.grade {
            Grade::Fail | Grade::NonStrict => Err(TestCaseError::fail(
                result.because.first().cloned().unwrap_or_default(),
            )),
            _ => Ok(()),
        }
    });
    let counterexample = match outcome {
        Ok(()) => None,
        Err(TestError::Fail(_, minimal)) => {
            // proptest ends on the minimal input; run it once more so the result is its own.
            let mut test = trace::build(&build(&minimal, format!("seed-{seed}/minimal")))
                .map_err(Error::RandomTrace)?;
            let case = cases::case_of(&test).map_err(Error::RandomCase)?;
            let story = crate::story::tell(case.steps.iter().map(|s| &s.input));
            test.comment = format!("A random trace, shrunk: {}", story.join(" "));
            let result = runtime.block_on(run_case(&case, rig));
            Some((test, result))
        }
        Err(TestError::Abort(why)) => return Err(Error::ExploreAborted(why.to_string())),
    };
    Ok((runs.into_inner(), counterexample))
}

/// One step of a random trace against a follower (`b.example`, following the shaped
/// history's group hosted at `a.example`, and later maybe the other group, hosted at
/// `d.example`). `group` 0 is the history's, 1 the other.
#[derive(Clone, Copy, Debug)]
enum FollowerOp {
    /// Its user sends message `event` (modulo their number) of group `group`: forwarded to
    /// the group's hub, or refused while the follower does not follow it.
    Send { group: usize, event: usize },
    /// Its user reads group `group`'s partition `key` from `counter`: forwarded to the
    /// group's hub.
    Receive {
        group: usize,
        key: usize,
        counter: u32,
    },
    /// A push of group `group`'s messages `first..first + len` as one hinted partition
    /// `key`, from [`Pusher`] `pusher`.
    Push {
        group: usize,
        pusher: Pusher,
        key: usize,
        first: usize,
        len: usize,
    },
    /// Its users join the other group: the follower now follows it too.
    FollowOther,
    /// The last local user leaves group `group`.
    SelfRemove { group: usize },
    /// bob uploads his KeyPackage, the one the founding's Welcome is for.
    UploadBob,
    /// The hub asks whether b.example takes a Welcome for [`Welcoming::refs`]`[refs]`.
    WelcomeInit { refs: usize },
    /// The hub pushes the founding's Welcome, or (`welcome` false) its commit instead.
    WelcomePush { welcome: bool },
}

/// Who pushes a group's messages to a follower.
#[derive(Clone, Copy, Debug)]
enum Pusher {
    /// The group's hub.
    Hub,
    /// The other group's hub: a hub, but not this group's.
    OtherHub,
    /// c.example, a member's provider and no hub.
    Member,
}

/// The groups a follower trace names: id and hub.
const FOLLOWED: [(&[u8], &str); 2] = [(stories::GROUP, HUB), (stories::STRAY_GROUP, OUTSIDER)];

/// The founding of a group whose Welcome names bob's KeyPackage, for a follower to be asked
/// about and pushed.
struct Welcoming {
    upload: Input,
    /// KeyPackageRef lists a WelcomeInit may carry: bob's, an unknown one, both, none.
    refs: Vec<Vec<Bytes>>,
    welcome: MlsMessage,
    commit: MlsMessage,
}

impl Welcoming {
    fn new() -> Welcoming {
        let founding = stories::found(Handshakes::Clear);
        let package = founding.key_packages[0].clone();
        let bob = package
            .view
            .key_package_ref
            .clone()
            .expect("KeyPackages have a ref");
        let unknown = Bytes(vec![0xee; 32]);
        Welcoming {
            upload: Input::UploadKeyPackages {
                user: b"bob".as_slice().into(),
                key_packages: vec![package],
            },
            refs: vec![
                vec![bob.clone()],
                vec![unknown.clone()],
                vec![bob, unknown],
                vec![],
            ],
            welcome: founding.committed.welcome.clone().expect("a Welcome"),
            commit: founding.committed.commit,
        }
    }
}

fn follower_op(Sizes { events, keys, .. }: Sizes) -> impl Strategy<Value = FollowerOp> {
    let group = prop_oneof![3 => Just(0usize), 1 => Just(1usize)];
    let pusher = prop_oneof![
        4 => Just(Pusher::Hub),
        1 => Just(Pusher::OtherHub),
        1 => Just(Pusher::Member),
    ];
    prop_oneof![
        3 => (group.clone(), 0..events).prop_map(|(group, event)| FollowerOp::Send { group, event }),
        3 => (group.clone(), 0..keys, 0..12u32).prop_map(|(group, key, counter)| FollowerOp::Receive { group, key, counter }),
        3 => (group.clone(), pusher, 0..keys, 0..events, 0..4usize).prop_map(|(group, pusher, key, first, len)| FollowerOp::Push { group, pusher, key, first, len }),
        1 => Just(FollowerOp::FollowOther),
        1 => group.prop_map(|group| FollowerOp::SelfRemove { group }),
        1 => Just(FollowerOp::UploadBob),
        2 => (0..4usize).prop_map(|refs| FollowerOp::WelcomeInit { refs }),
        2 => prop::bool::weighted(0.7).prop_map(|welcome| FollowerOp::WelcomePush { welcome }),
    ]
}

fn follower_trace(
    history: &Material,
    welcoming: &Welcoming,
    ops: &[FollowerOp],
    id: String,
) -> TraceCase {
    let sends: [Vec<&SendRequest>; 2] = [
        history.events.iter().map(|e| &e.request).collect(),
        history.other.sends.iter().collect(),
    ];
    let follow = |group: usize| Input::FollowGroup {
        group_id: FOLLOWED[group].0.into(),
        hub: provider(FOLLOWED[group].1),
    };
    let mut steps = vec![follow(0).into()];
    for op in ops {
        steps.push(
            match *op {
                FollowerOp::Send { group, event } => Input::LocalSend {
                    user: b"bob".as_slice().into(),
                    request: sends[group][event % sends[group].len()].clone(),
                },
                FollowerOp::Receive {
                    group,
                    key,
                    counter,
                } => Input::LocalReceive {
                    group_id: FOLLOWED[group].0.into(),
                    request: ReceiveRequest {
                        partition_key: history.keys[key],
                        counter,
                    },
                },
                FollowerOp::Push {
                    group,
                    pusher,
                    key,
                    first,
                    len,
                } => Input::Push {
                    from: provider(match pusher {
                        Pusher::Hub => FOLLOWED[group].1,
                        Pusher::OtherHub => FOLLOWED[1 - group].1,
                        Pusher::Member => FOLLOWER_C,
                    }),
                    response: ReceiveResponse {
                        epoch: Epoch::default(),
                        hints: vec![HintedEpoch {
                            masked_partition_key: history.keys[key].masked(),
                            epoch: Epoch {
                                messages: sends[group]
                                    .iter()
                                    .skip(first)
                                    .take(len)
                                    .map(|s| message_of(s))
                                    .collect(),
                            },
                        }],
                    },
                },
                FollowerOp::FollowOther => follow(1),
                FollowerOp::SelfRemove { group } => Input::SelfRemove {
                    group_id: FOLLOWED[group].0.into(),
                },
                FollowerOp::UploadBob => welcoming.upload.clone(),
                FollowerOp::WelcomeInit { refs } => Input::WelcomeInit {
                    from: provider(HUB),
                    request: WelcomeInitRequest {
                        key_package_refs: welcoming.refs[refs].clone(),
                    },
                },
                FollowerOp::WelcomePush { welcome } => Input::WelcomePush {
                    from: provider(HUB),
                    welcome: match welcome {
                        true => welcoming.welcome.clone(),
                        false => welcoming.commit.clone(),
                    },
                },
            }
            .into(),
        );
    }
    TraceCase {
        id: format!("{SECTION}/follower/{id}"),
        comment: format!(
            "a random trace of {} operations against a follower of real MLS groups",
            ops.len()
        ),
        target: trace::Target {
            role: Role::Follower,
            provider: FOLLOWER_B.into(),
        },
        exercises: Vec::new(),
        steps,
    }
}

/// A message as a hub relays it.
fn message_of(request: &SendRequest) -> Message {
    Message {
        message: request.message.clone(),
        commit: request.commit_data.as_ref().map(|d| MessageCommitData {
            next_partition_key: d.next_partition_key.masked(),
            group_info: d.group_info.clone(),
        }),
    }
}

/// One step of a random trace against an RSP (`b.example`, serving bob and beth, each with
/// two one-time KeyPackages and a last resort, and nobody, who uploads none).
#[derive(Clone, Debug)]
enum RspOp {
    Upload {
        user: usize,
    },
    Issue {
        token: usize,
    },
    Revoke {
        token: usize,
    },
    /// A request for `user` (2: nobody, served only once it uploaded its empty list) with
    /// `token` (2: never issued) and cipher suite `suite`.
    Request {
        user: usize,
        token: usize,
        suite: u16,
    },
    Bundle {
        requests: Vec<(usize, usize, u16)>,
    },
}

const RSP_USERS: [&[u8]; 3] = [b"bob", b"beth", b"nobody"];
/// bob's own token, a shared one, one never issued.
const RSP_TOKENS: [&[u8]; 3] = [b"token-bob", b"token-shared", b"token-unknown"];

fn rsp_op() -> impl Strategy<Value = RspOp> {
    let request = (0..3usize, 0..3usize, prop::sample::select(vec![1u16, 2]));
    prop_oneof![
        2 => (0..3usize).prop_map(|user| RspOp::Upload { user }),
        2 => (0..2usize).prop_map(|token| RspOp::Issue { token }),
        1 => (0..2usize).prop_map(|token| RspOp::Revoke { token }),
        4 => request.clone().prop_map(|(user, token, suite)| RspOp::Request { user, token, suite }),
        2 => prop::collection::vec(request, 1..4).prop_map(|requests| RspOp::Bundle { requests }),
    ]
}

fn rsp_trace(uploads: &stories::Uploads, ops: &[RspOp], id: String) -> TraceCase {
    let request = |(user, token, suite): (usize, usize, u16)| KeyPackageRequest {
        user_id: RSP_USERS[user].into(),
        bearer_token: RSP_TOKENS[token].into(),
        version: 1,
        cipher_suite: suite,
    };
    let steps = ops
        .iter()
        .map(|op| match op {
            // The third user uploads none: one the RSP serves, with nothing to hand out.
            RspOp::Upload { user } => match uploads.users.get(*user) {
                Some((user, packages)) => Input::UploadKeyPackages {
                    user: user.clone(),
                    key_packages: packages.clone(),
                },
                None => Input::UploadKeyPackages {
                    user: RSP_USERS[*user].into(),
                    key_packages: Vec::new(),
                },
            },
            RspOp::Issue { token } => Input::IssueToken(Token {
                scope: match token {
                    0 => TokenScope::User(RSP_USERS[0].into()),
                    _ => TokenScope::Shared,
                },
                token: RSP_TOKENS[*token].into(),
            }),
            RspOp::Revoke { token } => Input::RevokeToken {
                token: RSP_TOKENS[*token].into(),
            },
            RspOp::Request { user, token, suite } => Input::KeyPackage {
                request: request((*user, *token, *suite)),
            },
            RspOp::Bundle { requests } => Input::KeyPackageBundle {
                request: KeyPackageBundleRequest {
                    requests: requests.iter().copied().map(request).collect(),
                },
            },
        })
        .map(Into::into)
        .collect();
    TraceCase {
        id: format!("{SECTION}/rsp/{id}"),
        comment: format!(
            "a random trace of {} operations against an RSP with real KeyPackages",
            ops.len()
        ),
        target: trace::Target {
            role: Role::Rsp,
            provider: FOLLOWER_B.into(),
        },
        exercises: Vec::new(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    /// `case_of_trace` is what `case_of` makes of the vector `trace::build` writes, for
    /// random traces of every role: explore runs the one, a counterexample is the other.
    #[test]
    fn a_trace_makes_the_case_its_vector_makes() {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(3)),
        );
        let mut draw = |strategy: &dyn Fn(&mut TestRunner) -> TraceCase| {
            for _ in 0..40 {
                let traced = strategy(&mut runner);
                let direct = cases::case_of_trace(&traced).expect("a case");
                let vector = trace::build(&traced).expect("a vector");
                let via_json = cases::case_of(&vector).expect("a case of the vector");
                assert_eq!(format!("{direct:?}"), format!("{via_json:?}"));
            }
        };
        let histories = shaped(3);
        draw(&|runner| {
            let h = runner.rng().random_range(0..histories.len());
            let ops = prop::collection::vec(op(histories[h].sizes()), 1..=24);
            let ops = ops.new_tree(runner).expect("ops").current();
            trace_case(&histories[h], &ops, "hub".into())
        });
        let welcoming = Welcoming::new();
        draw(&|runner| {
            let ops = prop::collection::vec(follower_op(histories[0].sizes()), 1..=24);
            let ops = ops.new_tree(runner).expect("ops").current();
            follower_trace(&histories[0], &welcoming, &ops, "follower".into())
        });
        let uploads = stories::uploads(2, true);
        draw(&|runner| {
            let ops = prop::collection::vec(rsp_op(), 1..=24);
            let ops = ops.new_tree(runner).expect("ops").current();
            rsp_trace(&uploads, &ops, "rsp".into())
        });
    }
}
