//! Random traces against a target, in every role it offers, with shrinking. proptest draws
//! sequences of operations: against a hub, over a real MLS group history (sends of its
//! messages in any subset and order, reads of any partition at any counter, GroupInfo
//! requests, terminations); against a follower, its users' sends and reads (forwarded),
//! pushes from the hub or from another provider, and the last user leaving; against an RSP,
//! KeyPackage uploads, tokens issued and revoked, and single and bundled requests. The model
//! judges each as the runner replays it, and a failing trace is shrunk — steps deleted,
//! values simplified — by replaying candidates against the target until the smallest failing
//! one is left. That one is returned as a trace vector, replayable with `run --vectors`.

use crate::runner::{run_case, CaseResult, Grade, Rig};
use crate::{cases, Error, Result};
use mimi_ds_generate::mls::Handshakes;
use mimi_ds_generate::stories::{self, Event, Fork};
use mimi_ds_model::codec::reader::{Fault, Writer};
use mimi_ds_model::codec::{
    Bytes, Epoch, ExternalJoinRequest, GroupInfoRequest, HintedEpoch, KeyPackageBundleRequest,
    KeyPackageRequest, Message, MessageCommitData, MlsMessage, PartitionKey, ReceiveRequest,
    ReceiveResponse, SendRequest, WelcomeInitRequest,
};
use mimi_ds_model::codec::{ServiceProviderId, Wire};
use mimi_ds_model::ds::{apply, Endpoint, Input, Outbound, State, Token, TokenScope};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::requirements::{self as req, ReqId};
use mimi_ds_model::vectors::cast::{self, provider, FOLLOWER_B, FOLLOWER_C, HUB, OUTSIDER};
use mimi_ds_model::vectors::trace::CaseStep;
use mimi_ds_model::vectors::trace::{self, Role, TraceCase, TraceTest};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeSet;

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
    /// other group's and the external joiners'.
    keys: Vec<PartitionKey>,
    own_keys: usize,
    /// The hub's own user, whom the operator may mute or rate-limit.
    local_user: Bytes,
    other: OtherGroup,
    /// An outsider's external join from each commit's GroupInfo.
    joins: Vec<Join>,
}

/// An external join, and the joiner's first message in the partition it announces.
pub(crate) struct Join {
    pub(crate) request: ExternalJoinRequest,
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
            local_user,
            other,
            joins,
        }
    }
}

impl Material {
    /// A linear history of the shape `seed` draws ([`shape`]), its keys and secrets seeded
    /// by `seed` too: another seed, other MLS bytes and other epochs.
    fn linear(seed: u64) -> Material {
        let history = mimi_ds_generate::mls::seeded_as(&format!("{SECTION}/seed-{seed}"), || {
            stories::linear_shaped(Handshakes::Clear, &shape(seed))
        });
        Material::of("linear", history.creation, history.events, history.keys)
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

/// The epochs of seed `seed`'s linear history after the founding: two to four, each with up
/// to four application messages and then a commit by alice, bob or carol, or none in the last.
fn shape(seed: u64) -> Vec<(usize, Option<usize>)> {
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed ^ 0x5eed));
    let mut draw = |n: u32| (rng.next_u32() % n) as usize;
    let epochs = 2 + draw(3);
    (0..epochs)
        .map(|epoch| {
            let chat = draw(5);
            let committer = match (epoch + 1 == epochs, draw(4)) {
                (true, 0) | (true, 1) => None,
                (_, who) => Some(who % 3),
            };
            (chat, committer)
        })
        .collect()
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes
}

/// One step of a random trace, by index into the history.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Send the history's event `event` (as its provider would; the hub's own user locally);
    /// the providers its Welcome names answer the WelcomeInit yes, but those whose bit is
    /// set in `refusals` (in the order the Welcome names them).
    Send { event: usize, refusals: u8 },
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

/// Operations on `history`. Reads mostly name the history's own partitions at low counters,
/// where its messages are.
fn op(history: &Material) -> impl Strategy<Value = Op> {
    let (events, keys) = (history.events.len(), history.keys.len());
    let refusals = prop_oneof![3 => Just(0u8), 1 => 0..4u8];
    let read_key = prop_oneof![3 => 0..history.own_keys, 1 => 0..keys];
    let counter = prop_oneof![3 => 0..4u32, 1 => 0..12u32];
    prop_oneof![
        8 => (0..events, refusals).prop_map(|(event, refusals)| Op::Send { event, refusals }),
        8 => (0..2usize, read_key, counter).prop_map(|(follower, key, counter)| Op::Receive { follower, key, counter }),
        2 => Just(Op::GroupInfo),
        2 => (0..keys).prop_map(|key| Op::Terminate { key }),
        2 => (0..events, spoil()).prop_map(|(event, spoil)| Op::Spoiled { event, spoil }),
        1 => (0..events, 0..CLAIMS.len()).prop_map(|(event, claim)| Op::Unidentified { event, claim }),
        2 => (0..3usize).prop_map(|send| Op::SendOther { send }),
        1 => Just(Op::HostOther),
        1 => (0..events).prop_map(|n| Op::LocalChat { n }),
        2 => (0..events, prop::sample::select(vec![Joining::Join, Joining::Chat, Joining::NotExternal])).prop_map(|(join, what)| Op::ExternalJoin { join, what }),
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
/// WelcomeInit a send causes (as the model says) answered yes, or no where the operation says.
fn trace_case(history: &Material, ops: &[Op], id: String) -> TraceCase {
    let id = format!("{SECTION}/{}/{id}", history.name);
    let mut steps = Answering::new(provider(HUB));
    steps.push(
        Input::CreateGroup {
            group_id: stories::GROUP.into(),
            partition_key: history.creation,
        }
        .into(),
        0,
    );
    for op in ops {
        let refusals = match *op {
            Op::Send { refusals, .. } => refusals,
            _ => 0,
        };
        if let Some(step) = hub_step(history, op) {
            steps.push(step, refusals);
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
    /// yes, but no for the `i`-th if bit `i` of `refusals` is set.
    fn push(&mut self, step: CaseStep, refusals: u8) {
        let mut calls: std::collections::VecDeque<Outbound> =
            apply(&mut self.state, &step.input).outbound.into();
        self.steps.push(step);
        let mut asked = 0;
        while let Some(call) = calls.pop_front() {
            if let Outbound::WelcomeInit { to, .. } = call {
                let accepted = refusals & (1 << asked.min(7)) == 0;
                asked += 1;
                let answer = Input::WelcomeInitAnswered {
                    provider: to,
                    accepted,
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
    pub inputs: BTreeSet<String>,
    pub requirements: BTreeSet<String>,
}

impl Coverage {
    fn add(&mut self, test: &TraceTest) {
        let inputs = test
            .steps
            .iter()
            .filter_map(|s| s.input.get("input")?.as_str());
        self.inputs.extend(inputs.map(String::from));
        self.requirements.extend(test.requirements.iter().cloned());
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
                for (material, share) in [
                    (Material::linear(seed), traces.div_ceil(2)),
                    (Material::forked(seed), traces / 2),
                ] {
                    if share == 0 {
                        continue;
                    }
                    let ops = prop::collection::vec(op(&material), 1..=max_ops);
                    let found = explore_one(runtime, rig, &coverage, ops, share, seed, |o, id| {
                        trace_case(&material, o, id)
                    })?;
                    if let Some(failed) = ends(found) {
                        return Ok(failed);
                    }
                }
            }
            Role::Follower => {
                let material = Material::linear(seed);
                let stray = stray_send(&material);
                let welcoming = Welcoming::new();
                let ops = prop::collection::vec(
                    follower_op(material.events.len(), material.keys.len()),
                    1..=max_ops,
                );
                let found = explore_one(runtime, rig, &coverage, ops, traces, seed, |o, id| {
                    follower_trace(&material, &stray, &welcoming, o, id)
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

/// `traces` random traces of `ops`, each made a case by `build` (from the ops and an id).
fn explore_one<O: std::fmt::Debug + Clone>(
    runtime: &tokio::runtime::Runtime,
    rig: &Rig,
    coverage: &RefCell<Coverage>,
    ops: impl Strategy<Value = Vec<O>>,
    traces: u32,
    seed: u64,
    build: impl Fn(&[O], String) -> TraceCase,
) -> Result<Found> {
    let config = Config {
        cases: traces,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed)),
    );
    let runs = RefCell::new(0usize);
    let outcome = runner.run(&ops, |ops| {
        let n = {
            let mut r = runs.borrow_mut();
            *r += 1;
            *r
        };
        let test = trace::build(&build(&ops, format!("seed-{seed}/trace-{n}")))
            .map_err(TestCaseError::fail)?;
        coverage.borrow_mut().add(&test);
        let case = cases::case_of(&test).map_err(|e| TestCaseError::fail(e.to_string()))?;
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

/// One step of a random trace against a follower (`b.example`, following the linear
/// history's group hosted at `hub.example`).
#[derive(Clone, Copy, Debug)]
enum FollowerOp {
    /// Its user sends the history's event `event`: forwarded to the hub.
    Send { event: usize },
    /// Its user reads partition `key` from `counter`: forwarded to the hub.
    Receive { key: usize, counter: u32 },
    /// A push of events `first..first + len` as one hinted partition `key`, from the hub or
    /// from another provider.
    Push {
        key: usize,
        first: usize,
        len: usize,
        from_hub: bool,
    },
    /// Its user sends a message of a group this follower does not follow.
    SendElsewhere,
    /// The last local user leaves the group.
    SelfRemove,
    /// bob uploads his KeyPackage, the one the founding's Welcome is for.
    UploadBob,
    /// The hub asks whether b.example takes a Welcome for [`Welcoming::refs`]`[refs]`.
    WelcomeInit { refs: usize },
    /// The hub pushes the founding's Welcome, or (`welcome` false) its commit instead.
    WelcomePush { welcome: bool },
}

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

fn follower_op(events: usize, keys: usize) -> impl Strategy<Value = FollowerOp> {
    prop_oneof![
        3 => (0..events).prop_map(|event| FollowerOp::Send { event }),
        3 => (0..keys, 0..12u32).prop_map(|(key, counter)| FollowerOp::Receive { key, counter }),
        3 => (0..keys, 0..events, 0..4usize, prop::bool::weighted(0.8)).prop_map(|(key, first, len, from_hub)| FollowerOp::Push { key, first, len, from_hub }),
        1 => Just(FollowerOp::SendElsewhere),
        1 => Just(FollowerOp::SelfRemove),
        1 => Just(FollowerOp::UploadBob),
        2 => (0..4usize).prop_map(|refs| FollowerOp::WelcomeInit { refs }),
        2 => prop::bool::weighted(0.7).prop_map(|welcome| FollowerOp::WelcomePush { welcome }),
    ]
}

/// A send of a group no one hosts, for a follower's user to try.
fn stray_send(history: &Material) -> SendRequest {
    let (message, commit_data, _) = stories::stray_messages().swap_remove(0);
    SendRequest {
        message,
        partition_key: history.creation,
        commit_data,
    }
}

fn follower_trace(
    history: &Material,
    stray: &SendRequest,
    welcoming: &Welcoming,
    ops: &[FollowerOp],
    id: String,
) -> TraceCase {
    let group_id: Bytes = stories::GROUP.into();
    let mut steps = vec![Input::FollowGroup {
        group_id: group_id.clone(),
        hub: provider(HUB),
    }
    .into()];
    for op in ops {
        steps.push(
            match *op {
                FollowerOp::Send { event } => Input::LocalSend {
                    user: b"bob".as_slice().into(),
                    request: history.events[event].request.clone(),
                },
                FollowerOp::Receive { key, counter } => Input::LocalReceive {
                    group_id: group_id.clone(),
                    request: ReceiveRequest {
                        partition_key: history.keys[key],
                        counter,
                    },
                },
                FollowerOp::Push {
                    key,
                    first,
                    len,
                    from_hub,
                } => Input::Push {
                    from: provider(if from_hub { HUB } else { FOLLOWER_C }),
                    response: ReceiveResponse {
                        epoch: Epoch::default(),
                        hints: vec![HintedEpoch {
                            masked_partition_key: history.keys[key].masked(),
                            epoch: Epoch {
                                messages: history
                                    .events
                                    .iter()
                                    .skip(first)
                                    .take(len)
                                    .map(message_of)
                                    .collect(),
                            },
                        }],
                    },
                },
                FollowerOp::SendElsewhere => Input::LocalSend {
                    user: b"bob".as_slice().into(),
                    request: stray.clone(),
                },
                FollowerOp::SelfRemove => Input::SelfRemove {
                    group_id: group_id.clone(),
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
            "a random trace of {} operations against a follower of a real MLS group",
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

/// A history event as a hub relays it.
fn message_of(event: &Event) -> Message {
    Message {
        message: event.request.message.clone(),
        commit: event
            .request
            .commit_data
            .as_ref()
            .map(|d| MessageCommitData {
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
