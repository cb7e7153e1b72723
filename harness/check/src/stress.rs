//! Stress: many clients of several providers at once against one hub, every operation
//! recorded with its invocation and completion times on the harness's monotonic clock. After
//! the run — so checking never slows the clients — the history is checked for
//! linearizability against the model (`linearizability`), one group at a time: a group's
//! partitions are not independent (a read's hints are other partitions' whole logs, an
//! external join goes to the partition the group's commits make most recent), so each group's
//! history is checked whole, the model being the sequential specification. A violation is
//! shrunk to a small history that still has no linearization. This module owns the workload
//! (groups set up through test control, each with a real MLS fork — rival commits in one
//! epoch, each branch's chat and commit, external joins from every commit's GroupInfo — and
//! distinct application messages and proposals), the clients, the figures of a run and the
//! shrinking.

use crate::explore;
use crate::linearizability::{self, Event, Specification, Verdict};
use crate::runner::{CaseResult, Grade, Role, Target, Trouble};
use crate::suite::{self, Options, Summary};
use crate::{Error, Result};
use mimi_ds_binding::{self as binding, control, control::Reset};
use mimi_ds_model::codec::{
    Bytes, ContentType, ExternalJoinRequest, GroupInfoRequest, HintedEpoch, Message, MlsMessage,
    PartitionKey, ReceiveRequest, SendRequest, ServiceProviderId,
};
use mimi_ds_model::ds::forks::most_recent_partition;
use mimi_ds_model::ds::{apply, check, Group, Input, Observed, Response, State};
use mimi_ds_model::requirements::{self as req, ReqId};
use mimi_ds_model::vectors::cast;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The groups the clients share; the history splits in as many independent parts.
pub const GROUPS: usize = 4;

/// The providers the clients act for: client `i` for the `i % 3`th.
const PROVIDERS: [&str; 3] = [cast::FOLLOWER_B, cast::FOLLOWER_C, cast::OUTSIDER];

/// Steps the search may take per part, and per candidate history while shrinking.
const BUDGET: u64 = 50_000_000;
const SHRINK_BUDGET: u64 = 100_000;

/// How long shrinking may take before it settles for the smallest history found so far.
const SHRINK_TIME: Duration = Duration::from_secs(3);

/// The rules a history without a linearization breaks: a send sequenced exactly once, reads
/// consistent with one total order per partition.
const BROKEN: &[ReqId] = &[
    req::SEND_SEQUENCED_TO_PARTITION,
    req::RECEIVE_SEQUENCING_ORDER,
];

/// How a stress run goes.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Clients at once, each one request at a time.
    pub clients: usize,
    pub stop: Stop,
    /// Decides every client's choices of operations, groups and counters.
    pub seed: u64,
}

/// When the clients stop.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many operations in all, shared evenly among the clients.
    Operations(u64),
    /// After this long.
    Seconds(Duration),
}

/// One request of a stress run.
#[derive(Clone, Debug)]
pub struct Operation {
    pub client: usize,
    pub group: usize,
    /// The client in the high 32 bits, the operation's number among its own in the low.
    pub id: u64,
    pub input: Input,
    /// For a send or an external join: the digest of the message as a read must return it.
    pub digest: u64,
    /// `None` when no answer came (or one the binding does not allow, or one beyond the
    /// memory budget): it may or may not have taken effect.
    pub answer: Option<Kept>,
}

/// What is kept of an answer: a read's messages as digests (8 bytes each, whatever the
/// target sent), anything else whole. Memory is bounded by the number of operations and
/// [`BUDGET_BYTES`], never by what the target chooses to send.
#[derive(Clone, Debug)]
pub enum Kept {
    Read { epoch: Vec<u64>, hints: Vec<Hint> },
    Other(Response),
}

/// A hint of a kept read: its masked key and its messages' digests.
pub type Hint = (Bytes, Vec<u64>);

/// Answer data kept in all, beyond which answers are recorded as never come (and counted).
const BUDGET_BYTES: usize = 256 << 20;

/// How answers are kept: the digest's key and what is left of the budget.
struct Keeping {
    hasher: std::collections::hash_map::RandomState,
    left: AtomicUsize,
    /// Answers not kept for the budget.
    dropped: AtomicUsize,
}

impl Keeping {
    fn new() -> Keeping {
        Keeping {
            hasher: Default::default(),
            left: AtomicUsize::new(BUDGET_BYTES),
            dropped: AtomicUsize::new(0),
        }
    }

    /// The digest of a message as a ReceiveResponse carries it: its bytes and its commit
    /// data, which is all the model compares.
    fn digest(&self, message: &Message) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = self.hasher.build_hasher();
        message.message.bytes.hash(&mut h);
        if let Some(commit) = &message.commit {
            commit.next_partition_key.hash(&mut h);
            commit.group_info.as_ref().map(|g| &g.bytes).hash(&mut h);
        }
        h.finish()
    }

    /// What is kept of `response`, if the budget allows.
    fn keep(&self, response: Response) -> Option<Kept> {
        let (kept, weight) = match response {
            Response::Receive(r) => {
                let digests = |e: &mimi_ds_model::codec::Epoch| -> Vec<u64> {
                    e.messages.iter().map(|m| self.digest(m)).collect()
                };
                let hints: Vec<Hint> = r
                    .hints
                    .iter()
                    .map(|h| (h.masked_partition_key.clone(), digests(&h.epoch)))
                    .collect();
                let weight = 8 * r.epoch.messages.len()
                    + hints
                        .iter()
                        .map(|(m, d)| 48 + m.0.len() + 8 * d.len())
                        .sum::<usize>();
                let epoch = digests(&r.epoch);
                (Kept::Read { epoch, hints }, weight)
            }
            Response::GroupInfo(g) => {
                let weight = g.group_info.bytes.0.len()
                    + g.ratchet_tree.as_ref().map_or(0, |t| t.hex.0.len());
                (Kept::Other(Response::GroupInfo(g)), weight)
            }
            other => (Kept::Other(other), 0),
        };
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(weight)
            });
        match taken {
            Ok(_) => Some(kept),
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// A send's message as the hub sequences it: with its commit's masked next key and GroupInfo.
fn sequenced(message: &MlsMessage, commit: Option<&mimi_ds_model::codec::CommitData>) -> Message {
    Message {
        message: message.clone(),
        commit: commit.map(|d| mimi_ds_model::codec::MessageCommitData {
            next_partition_key: d.next_partition_key.masked(),
            group_info: d.group_info.clone(),
        }),
    }
}

impl Operation {
    /// Client `client`'s operation `id` on group `group`, with its message's digest.
    fn new(
        keeping: &Keeping,
        (client, group, id): (usize, usize, u64),
        input: Input,
        answer: Option<Kept>,
    ) -> Operation {
        let mut op = Operation {
            client,
            group,
            id,
            input,
            digest: 0,
            answer,
        };
        if let Some(message) = op.sequenced() {
            op.digest = keeping.digest(&message);
        }
        op
    }

    fn is_send(&self) -> bool {
        matches!(self.input, Input::Send { .. } | Input::ExternalJoin { .. })
    }

    fn refused(&self) -> bool {
        matches!(&self.answer, Some(Kept::Other(Response::Error(_))))
    }

    fn accepted(&self) -> bool {
        matches!(&self.answer, Some(Kept::Other(Response::Accepted)))
    }

    /// An answered read: what it asked, and the digests of its epoch and of its hints.
    fn read(&self) -> Option<(&ReceiveRequest, &[u64], &[Hint])> {
        match (&self.input, &self.answer) {
            (Input::Receive { request, .. }, Some(Kept::Read { epoch, hints })) => {
                Some((request, epoch, hints))
            }
            _ => None,
        }
    }

    /// The message a send or an external join hands the hub, as sequenced.
    fn sequenced(&self) -> Option<Message> {
        match &self.input {
            Input::Send { request, .. } => {
                Some(sequenced(&request.message, request.commit_data.as_ref()))
            }
            Input::ExternalJoin { request, .. } => {
                Some(sequenced(&request.message, Some(&request.commit_data)))
            }
            _ => None,
        }
    }

    /// The message a send or an external join hands the hub.
    fn sent(&self) -> Option<&MlsMessage> {
        match &self.input {
            Input::Send { request, .. } => Some(&request.message),
            Input::ExternalJoin { request, .. } => Some(&request.message),
            _ => None,
        }
    }

    /// Whether this is a send of a message that is no commit (an application message or a
    /// proposal): one that shapes no partition but its own.
    fn is_chat(&self) -> bool {
        matches!(&self.input, Input::Send { request, .. } if request.commit_data.is_none())
    }
}

/// Every message (by digest) an answered read returned, with the partition (by masked key)
/// and position the answer puts it at: the epoch from the counter on, each hint from its
/// start.
fn placed<'a>(
    request: &ReceiveRequest,
    epoch: &'a [u64],
    hints: &'a [Hint],
) -> impl Iterator<Item = (Bytes, u32, u64)> + 'a {
    let epoch = (request.partition_key.masked(), request.counter, epoch);
    let hints = hints
        .iter()
        .map(|(mask, h)| (mask.clone(), 0, h.as_slice()));
    std::iter::once(epoch)
        .chain(hints)
        .flat_map(|(mask, from, messages)| {
            messages
                .iter()
                .enumerate()
                .map(move |(i, m)| (mask.clone(), from + i as u32, *m))
        })
}

/// What a stress run found, with its figures.
pub struct Stress {
    /// One result per group, and one for answers the binding does not allow, if any: what
    /// the reports show.
    pub summary: Summary,
    pub clients: usize,
    pub operations: usize,
    pub sends: usize,
    /// Of the sends, the commits and external joins, and how many of those were accepted.
    pub commits: usize,
    pub commits_accepted: usize,
    /// Operations that got no answer (a timeout or a transport error).
    pub unanswered: usize,
    /// Answers not kept, for the memory budget: judged as if they never came.
    pub unkept: usize,
    /// Median and 99th percentile of the answered operations' latencies.
    pub p50: Duration,
    pub p99: Duration,
    /// The run's wall time, from the first request to the last answer.
    pub wall: Duration,
    /// The linearizability check's wall time, shrinking included.
    pub checking: Duration,
    /// The shrunk history of the first group without a linearization.
    pub counterexample: Option<Counterexample>,
}

impl Stress {
    /// Throughput and latency in one line.
    pub fn figures_line(&self) -> String {
        let wall = self.wall.as_secs_f64().max(1e-9);
        format!(
            "{} operations ({} sends, of which {} commits and external joins, {} accepted) by {} clients in {:.2} s: {:.0} operations/s, {:.0} sends/s; latency p50 {:.2} ms, p99 {:.2} ms; {} unanswered, {} beyond the memory budget; checked in {:.2} s",
            self.operations,
            self.sends,
            self.commits,
            self.commits_accepted,
            self.clients,
            wall,
            self.operations as f64 / wall,
            self.sends as f64 / wall,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.unanswered,
            self.unkept,
            self.checking.as_secs_f64()
        )
    }
}

/// A shrunk history without a linearization, as a file documents it (README, `stress`).
#[derive(Serialize)]
pub struct Counterexample {
    pub group_id: Bytes,
    /// The group's partition keys: the one it was created with first, then those its
    /// commits and external joins announce (`k0`, `k1`, … in the interleaving).
    pub partition_keys: Vec<PartitionKey>,
    /// Operations of the group in the whole run.
    pub of: usize,
    /// In order of invocation; times in nanoseconds since the run began.
    pub operations: Vec<Recorded>,
}

/// One operation of a counterexample.
#[derive(Serialize)]
pub struct Recorded {
    pub client: usize,
    pub call_ns: u64,
    /// `null`: no answer came.
    pub return_ns: Option<u64>,
    pub input: Input,
    pub answer: Option<Response>,
    /// The answer named a message never sent, so it is not shown (`answer` is `null`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unsent: bool,
}

fn group_id(group: usize) -> Bytes {
    Bytes(format!("stress-group-{group}").into_bytes())
}

/// What clients send of a group besides their own application messages and proposals.
enum Scripted {
    Send(SendRequest),
    Join(ExternalJoinRequest),
}

/// One group's real MLS material and how far the clients got through it.
struct Material {
    /// The partition keys: the one the group is created with (the epoch in which bob and
    /// carol commit), then those the script announces, in its order.
    keys: Vec<PartitionKey>,
    /// Claimed one at a time by whichever client draws a scripted step: bob's ban commit and
    /// carol's rival commit in the first epoch, each branch's application message and
    /// commit, then an external join by dave from each commit's GroupInfo followed by his
    /// first message in the epoch it opens.
    script: Vec<(Scripted, String)>,
    next: AtomicUsize,
    /// Per key: whether clients know it (the first from the start, each other once the
    /// commit or join announcing it was accepted); they send and read only there.
    open: Vec<AtomicBool>,
}

impl Material {
    /// Group `group`'s material, its MLS keys and secrets seeded by `seed`.
    fn new(group: usize, seed: u64) -> Material {
        let scope = format!("stress/group-{group}/seed-{seed}");
        let (_, events, _) = explore::forked(&group_id(group).0, &scope);
        // The founding commit's Welcome would make the hub call peers this run does not play.
        let events = &events[1..];
        let joins = mimi_ds_generate::mls::seeded_as(&scope, || explore::joins(events));
        let mut script: Vec<(Scripted, String)> = events
            .iter()
            .map(|e| (Scripted::Send(e.request.clone()), e.what.clone()))
            .collect();
        for join in joins {
            script.push((Scripted::Join(join.request), "dave's external join".into()));
            script.push((
                Scripted::Send(join.chat),
                "dave's application message".into(),
            ));
        }
        let mut keys = vec![events[0].request.partition_key];
        for (scripted, _) in &script {
            let announced = match scripted {
                Scripted::Send(r) => r.commit_data.as_ref(),
                Scripted::Join(r) => Some(&r.commit_data),
            };
            if let Some(data) = announced {
                if !keys.contains(&data.next_partition_key) {
                    keys.push(data.next_partition_key);
                }
            }
        }
        let open = (0..keys.len()).map(|k| AtomicBool::new(k == 0)).collect();
        Material {
            keys,
            script,
            next: AtomicUsize::new(0),
            open,
        }
    }

    /// The keys clients know now, by index.
    fn open(&self) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|&k| self.open[k].load(Ordering::Relaxed))
            .collect()
    }

    /// Once `input` was accepted, the key it announced is known to every client.
    fn accepted(&self, input: &Input) {
        let announced = match input {
            Input::Send { request, .. } => request.commit_data.as_ref(),
            Input::ExternalJoin { request, .. } => Some(&request.commit_data),
            _ => None,
        };
        if let Some(at) =
            announced.and_then(|d| self.keys.iter().position(|k| *k == d.next_partition_key))
        {
            self.open[at].store(true, Ordering::Relaxed);
        }
    }

    /// The short names of the script's messages, by their bytes.
    fn names(&self) -> HashMap<Bytes, String> {
        self.script
            .iter()
            .map(|(scripted, what)| {
                let message = match scripted {
                    Scripted::Send(r) => &r.message,
                    Scripted::Join(r) => &r.message,
                };
                (message.bytes.clone(), what.clone())
            })
            .collect()
    }
}

/// The target's setup: the groups, each with its first partition.
fn setup(materials: &[Material]) -> Vec<Input> {
    materials
        .iter()
        .enumerate()
        .map(|(g, material)| Input::CreateGroup {
            group_id: group_id(g),
            partition_key: material.keys[0],
        })
        .collect()
}

/// Runs `settings` against the target of `options`, then checks what it recorded;
/// `progress` is called after each operation.
pub fn run(
    options: &Options,
    settings: Settings,
    progress: Arc<dyn Fn() + Send + Sync>,
) -> Result<Stress> {
    let materials: Arc<Vec<Material>> = Arc::new(
        (0..GROUPS)
            .map(|g| Material::new(g, settings.seed))
            .collect(),
    );
    let keeping = Arc::new(Keeping::new());
    let runtime = suite::concurrent_runtime()?;
    let driven = drive(
        options,
        settings,
        materials.clone(),
        keeping.clone(),
        progress,
    );
    let driven = runtime.block_on(driven)?;
    drop(runtime);
    Ok(judge(settings, &materials, &keeping, driven))
}

type Driven = (String, State, Vec<Event<Operation>>, Vec<String>, Duration);

/// Sets the target up, runs the clients at once and, once they are done, reads every
/// partition whole.
async fn drive(
    options: &Options,
    settings: Settings,
    materials: Arc<Vec<Material>>,
    keeping: Arc<Keeping>,
    progress: Arc<dyn Fn() + Send + Sync>,
) -> Result<Driven> {
    let running = Arc::new(suite::start(options, Vec::new()).await?);
    let target = &running.rig.target;
    let offers = &target.capabilities;
    if !offers.roles.iter().any(|r| r == "hub")
        || !offers.actions.iter().any(|a| a == "create_group")
    {
        return Err(Error::StressSetup(
            "the target must offer the hub role and the create_group action".into(),
        ));
    }
    let me = ServiceProviderId::new(cast::HUB).expect("valid domain");
    let trouble = |t: Trouble| Error::StressSetup(why(&t));
    target
        .reset(&Reset {
            me: me.clone(),
            peers: Default::default(),
        })
        .await
        .map_err(trouble)?;
    let mut initial = State::new(me);
    initial.ban_extension = offers.has_convention(control::BAN_EXTENSION);
    for input in setup(&materials) {
        let response = target.control(&input).await.map_err(trouble)?;
        if response != Response::Accepted {
            return Err(Error::StressSetup(format!(
                "{input:?} was answered {}",
                response.summary()
            )));
        }
        apply(&mut initial, &input);
    }
    running.rig.log.pause(true);
    let clock = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for index in 0..settings.clients {
        let (running, progress) = (running.clone(), progress.clone());
        let (materials, keeping) = (materials.clone(), keeping.clone());
        clients.spawn(async move {
            let target = &running.rig.target;
            client(
                target, &keeping, &materials, index, settings, clock, &*progress,
            )
            .await
        });
    }
    let mut history = Vec::new();
    let mut troubles = Vec::new();
    while let Some(done) = clients.join_next().await {
        let (events, found) = done.map_err(|e| Error::StressSetup(e.to_string()))?;
        history.extend(events);
        troubles.extend(found);
    }
    let wall = clock.elapsed();
    // A read of each whole partition after everyone: a send acknowledged but lost shows here.
    let mut number = 0;
    for (group, material) in materials.iter().enumerate() {
        for key in &material.keys {
            let input = Input::Receive {
                from: ServiceProviderId::new(PROVIDERS[0]).expect("valid domain"),
                request: ReceiveRequest {
                    partition_key: *key,
                    counter: 0,
                },
            };
            let id = (settings.clients as u64) << 32 | number;
            number += 1;
            let (event, trouble) =
                perform(target, &keeping, settings.clients, group, id, input, clock).await;
            history.push(event);
            troubles.extend(trouble);
        }
    }
    running.rig.log.pause(false);
    Ok((running.name.clone(), initial, history, troubles, wall))
}

fn why(trouble: &Trouble) -> String {
    match trouble {
        Trouble::Transport(why) => why.clone(),
        Trouble::Binding(e) => e.why.clone(),
    }
}

/// One client: its share of the operations (or until time is up), one request at a time,
/// sending and reading in the partitions it knows, reading where it last saw each end. Returns
/// what it recorded and the answers the binding does not allow.
async fn client(
    target: &Target,
    keeping: &Keeping,
    materials: &[Material],
    index: usize,
    settings: Settings,
    clock: Instant,
    progress: &(dyn Fn() + Send + Sync),
) -> (Vec<Event<Operation>>, Vec<String>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        settings.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    let mut below = |n: usize| (rng.next_u64() % n as u64) as usize;
    let from = ServiceProviderId::new(PROVIDERS[index % PROVIDERS.len()]).expect("valid domain");
    let clients = settings.clients as u64;
    let (quota, deadline) = match settings.stop {
        Stop::Operations(n) => (n / clients + u64::from((index as u64) < n % clients), None),
        Stop::Seconds(d) => (u64::MAX, Some(clock + d)),
    };
    let mut seen: Vec<Vec<u32>> = materials.iter().map(|m| vec![0; m.keys.len()]).collect();
    let mut history = Vec::new();
    let mut troubles = Vec::new();
    for number in 0..quota {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let group = below(GROUPS);
        let material = &materials[group];
        let open = material.open();
        let key = open[below(open.len())];
        let id = (index as u64) << 32 | number;
        let roll = below(100);
        let scripted = (roll < 2)
            .then(|| {
                material
                    .script
                    .get(material.next.fetch_add(1, Ordering::Relaxed))
            })
            .flatten();
        let input = match (scripted, roll) {
            (Some((Scripted::Send(request), _)), _) => Input::Send {
                from: from.clone(),
                request: request.clone(),
            },
            (Some((Scripted::Join(request), _)), _) => Input::ExternalJoin {
                from: from.clone(),
                request: request.clone(),
            },
            (None, 0..70) => {
                let tag = [&id.to_be_bytes()[..], &[0xc5; 24]].concat();
                // One in ten a proposal: sequenced as an application message is.
                let content = match below(10) {
                    0 => ContentType::Proposal,
                    _ => ContentType::Application,
                };
                Input::Send {
                    from: from.clone(),
                    request: SendRequest {
                        message: MlsMessage::private_message(&group_id(group).0, 0, content, &tag),
                        partition_key: material.keys[key],
                        commit_data: None,
                    },
                }
            }
            (None, 70..95) => Input::Receive {
                from: from.clone(),
                request: ReceiveRequest {
                    partition_key: material.keys[key],
                    counter: seen[group][key].saturating_sub(below(3) as u32),
                },
            },
            (None, _) => Input::GroupInfo {
                from: from.clone(),
                request: GroupInfoRequest {
                    group_id: group_id(group),
                },
            },
        };
        let (event, trouble) = perform(target, keeping, index, group, id, input, clock).await;
        if let Some((request, epoch, _)) = event.op.read() {
            seen[group][key] = request.counter + epoch.len() as u32;
        }
        if event.op.is_send() && event.op.accepted() {
            material.accepted(&event.op.input);
        }
        history.push(event);
        troubles.extend(trouble);
        progress();
    }
    (history, troubles)
}

/// Sends one operation and records it; an answer the binding does not allow is returned
/// beside it (the operation then counts as unanswered).
async fn perform(
    target: &Target,
    keeping: &Keeping,
    client: usize,
    group: usize,
    id: u64,
    input: Input,
    clock: Instant,
) -> (Event<Operation>, Option<String>) {
    let (endpoint, from, body) = binding::request_of(&input).expect("federation requests");
    let from = from.map(|f| f.as_str().to_owned());
    let call = clock.elapsed().as_nanos() as u64;
    let answered = target
        .federation(endpoint, from.as_deref(), None, body)
        .await;
    let ret = clock.elapsed().as_nanos() as u64;
    let (answer, trouble) = match answered {
        Ok(answer) => (keeping.keep(answer.response), None),
        Err(Trouble::Transport(_)) => (None, None),
        Err(Trouble::Binding(e)) => (None, Some(e.why)),
    };
    let op = Operation::new(keeping, (client, group, id), input, answer);
    let event = Event {
        ret: op.answer.as_ref().map(|_| ret),
        op,
        call,
    };
    (event, trouble)
}

/// The model as the sequential specification, with a fingerprint of what it sequenced where:
/// all that a later operation can tell apart.
#[derive(Clone)]
struct Sequenced {
    state: State,
    /// The XOR of one key per message sequenced, drawn from the operation, the partition and
    /// the position (Zobrist hashing): two orders that put every message at the same place
    /// agree on it, however they interleaved the partitions.
    places: u64,
    /// A chain over the operations that shape the group: commits, external joins, and sends
    /// that open a partition. Their order decides which partition is most recent, which
    /// commit adopts a key and which bans a branch inherits.
    shape: u64,
}

/// The model, and the places the history's reads fixed: the model's partition logs only
/// grow, so a read that returned message `m` at position `p` of a partition (in its epoch,
/// or in a hint, which is a partition's whole log) fixes `m` there in every order, and no
/// other message can be there. The search tries a send only where the reads let it be (an
/// order that puts it elsewhere fails one of them anyway): without this, it would try the
/// orders of up to as many concurrent sends as there are clients, one by one.
struct Model {
    group_id: Bytes,
    messages: Messages,
    /// (masked partition key, position) → the message there.
    at: HashMap<(Bytes, u32), u64>,
    position: HashMap<u64, (Bytes, u32)>,
}

impl Model {
    /// The places `history`'s answered reads fix; `None` when two of them disagree (one
    /// message at two places, or two at one): then no order fits them all.
    fn of(group_id: Bytes, history: &[Event<Operation>]) -> Option<Model> {
        let messages = Messages::of(history);
        let mut model = Model {
            group_id,
            messages,
            at: HashMap::new(),
            position: HashMap::new(),
        };
        for (request, epoch, hints) in history.iter().filter_map(|e| e.op.read()) {
            for (mask, at, digest) in placed(request, epoch, hints) {
                let place = (mask, at);
                let known = *model.at.entry(place.clone()).or_insert(digest);
                let placed = model.position.entry(digest).or_insert(place.clone());
                if known != digest || *placed != place {
                    return None;
                }
            }
        }
        Some(model)
    }

    /// Whether the message `digest` may be sequenced at `at` of the partition masked `mask`.
    fn fits(&self, digest: u64, mask: &Bytes, at: u32) -> bool {
        self.position
            .get(&digest)
            .is_none_or(|(m, p)| m == mask && *p == at)
            && self
                .at
                .get(&(mask.clone(), at))
                .is_none_or(|m| *m == digest)
    }
}

/// Every message a history sent, by digest, as the hub sequences it: what a read's digests
/// stand for.
struct Messages(HashMap<u64, Message>);

impl Messages {
    fn of(history: &[Event<Operation>]) -> Messages {
        let sent = history
            .iter()
            .filter_map(|e| Some((e.op.digest, e.op.sequenced()?)));
        Messages(sent.collect())
    }

    /// The answer `kept` stands for; `None` if it names a message never sent (no order
    /// explains it).
    fn answer(&self, kept: &Kept) -> Option<Response> {
        let epoch = |digests: &[u64]| -> Option<mimi_ds_model::codec::Epoch> {
            let messages = digests.iter().map(|d| self.0.get(d).cloned());
            Some(mimi_ds_model::codec::Epoch {
                messages: messages.collect::<Option<_>>()?,
            })
        };
        match kept {
            Kept::Read { epoch: e, hints } => {
                let hints = hints.iter().map(|(mask, h)| {
                    Some(HintedEpoch {
                        masked_partition_key: mask.clone(),
                        epoch: epoch(h)?,
                    })
                });
                Some(Response::Receive(mimi_ds_model::codec::ReceiveResponse {
                    epoch: epoch(e)?,
                    hints: hints.collect::<Option<_>>()?,
                }))
            }
            Kept::Other(response) => Some(response.clone()),
        }
    }
}

/// The length of partition `key` of `group` (none yet: 0).
fn length(group: &Group, key: &PartitionKey) -> u32 {
    group.partitions.get(key).map_or(0, |p| p.log.len() as u32)
}

/// A read's answer the model would refuse in `group` for its lengths alone: an epoch not as
/// long as the log's suffix, a hint not as long as its partition's log.
fn misfit_lengths(group: &Group, request: &ReceiveRequest, epoch: &[u64], hints: &[Hint]) -> bool {
    let suffix = length(group, &request.partition_key).saturating_sub(request.counter) as usize;
    suffix != epoch.len()
        || hints.iter().any(|(mask, h)| {
            group
                .by_mask(mask)
                .is_none_or(|(_, p)| p.log.len() != h.len())
        })
}

/// A well-mixed 64-bit key of `value` (splitmix64's finaliser).
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Specification for Model {
    type State = Sequenced;
    type Operation = Operation;

    fn step(&self, before: &Sequenced, op: &Operation) -> Option<Sequenced> {
        let group = before.state.partitions.groups.get(&self.group_id)?;
        // Where a send would land: the partition it names, or for an external join the one
        // the group's commits make most recent; at the end of its log.
        let target = match &op.input {
            Input::Send { request, .. } => Some(request.partition_key),
            Input::ExternalJoin { .. } => Some(most_recent_partition(group)),
            _ => None,
        }
        .map(|key| (key, length(group, &key)));
        // Cheap refusals first, of what the model would refuse too: a send where the reads
        // put another message, a read whose answer is not as long as the logs.
        let unfit = match (target, op.read()) {
            (Some((key, at)), _) if !op.refused() => {
                let mask = group
                    .partitions
                    .get(&key)
                    .map_or_else(|| key.masked(), |p| p.masked.clone());
                !self.fits(op.digest, &mask, at)
            }
            (_, Some((request, epoch, hints))) => misfit_lengths(group, request, epoch, hints),
            _ => false,
        };
        if unfit {
            return None;
        }
        let mut next = before.clone();
        match &op.answer {
            // The calls the target made are not observed here: only its answer is judged.
            Some(kept) => {
                let observed = Observed {
                    response: self.messages.answer(kept)?,
                    outbound: Vec::new(),
                };
                check(&mut next.state, &op.input, &observed).ok()?
            }
            // Whatever it did, it did as the model does (linearized last: not at all).
            None => {
                apply(&mut next.state, &op.input);
            }
        }
        if let Some((key, at)) = target {
            let group = &next.state.partitions.groups[&self.group_id];
            if length(group, &key) > at {
                let key_bits = u64::from_le_bytes(key.0[..8].try_into().expect("8 bytes"));
                next.places ^= mix(op.id ^ mix(key_bits ^ mix(u64::from(at))));
                if !op.is_chat() || at == 0 {
                    next.shape =
                        (next.shape.rotate_left(5) ^ op.id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                }
            }
        }
        Some(next)
    }

    fn fingerprint(&self, state: &Sequenced) -> u64 {
        state.places ^ mix(state.shape)
    }
}

/// Whether one group's history has a linearization, within `budget` steps.
fn verdict(
    group: usize,
    initial: &Sequenced,
    history: &[Event<Operation>],
    budget: u64,
) -> Verdict {
    match Model::of(group_id(group), history) {
        Some(model) => linearizability::check(&model, initial, history, budget),
        None => Verdict::Violation,
    }
}

/// Checks every group's history (two at a time), shrinks the first violation, and sums up.
fn judge(settings: Settings, materials: &[Material], keeping: &Keeping, driven: Driven) -> Stress {
    let (name, initial, mut history, troubles, wall) = driven;
    let started = Instant::now();
    history.sort_by_key(|e| e.call);
    let operations = history.len();
    let sends = history.iter().filter(|e| e.op.is_send()).count();
    let commits: Vec<&Event<Operation>> = history
        .iter()
        .filter(|e| e.op.is_send() && !e.op.is_chat())
        .collect();
    let commits_accepted = commits.iter().filter(|e| e.op.accepted()).count();
    let commits = commits.len();
    let mut latencies: Vec<u64> = history
        .iter()
        .filter_map(|e| e.ret.map(|ret| ret - e.call))
        .collect();
    latencies.sort_unstable();
    let quantile = |q: f64| {
        let at = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        Duration::from_nanos(latencies.get(at).copied().unwrap_or(0))
    };
    let (p50, p99) = (quantile(0.5), quantile(0.99));
    let unanswered = history.iter().filter(|e| e.ret.is_none()).count();
    let initial = Sequenced {
        state: initial,
        places: 0,
        shape: 0,
    };
    let parts: Vec<(usize, Vec<Event<Operation>>)> =
        linearizability::partition(history, |op| op.group)
            .into_iter()
            .collect();
    let verdicts: Vec<(Verdict, Duration)> = std::thread::scope(|scope| {
        let checks: Vec<_> = parts
            .chunks(parts.len().div_ceil(2).max(1))
            .map(|chunk| {
                let initial = &initial;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(group, events)| {
                            let started = Instant::now();
                            let verdict = verdict(*group, initial, events, BUDGET);
                            (verdict, started.elapsed())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        checks
            .into_iter()
            .flat_map(|c| c.join().expect("a check does not panic"))
            .collect()
    });
    let mut results = Vec::new();
    let mut counterexample = None;
    for ((group, events), (verdict, took)) in parts.into_iter().zip(verdicts) {
        let keys = &materials[group].keys;
        let mut result = part_result(group, keys.len(), events.len(), verdict, took);
        if verdict == Verdict::Violation && counterexample.is_some() {
            result.because = vec![format!(
                "no order of its {} operations fits every answer (the report shrinks the first such group only)",
                events.len()
            )];
        }
        if verdict == Verdict::Violation && counterexample.is_none() {
            let labels = labels(&events, &materials[group].names());
            let messages = Messages::of(&events);
            let of = events.len();
            let shrunk = shrink(group, &initial, events);
            result.observed = Some(format!(
                "no such order exists for these {} of the group's {of} operations",
                shrunk.len()
            ));
            result.because = interleaving(&shrunk, &labels, keys);
            counterexample = Some(Counterexample {
                group_id: group_id(group),
                partition_keys: keys.clone(),
                of,
                operations: shrunk.into_iter().map(|e| recorded(e, &messages)).collect(),
            });
        }
        results.push(result);
    }
    if !troubles.is_empty() {
        results.push(binding_result(&troubles));
    }
    if unanswered == operations {
        let mut result = stress_result("stress/answers", Grade::Indeterminate);
        result.because = vec!["no operation got an answer: nothing can be concluded".into()];
        results.push(result);
    }
    Stress {
        summary: Summary {
            target: name,
            results,
            wall,
            exchanges: operations,
            floor: Duration::ZERO,
        },
        clients: settings.clients,
        operations,
        sends,
        commits,
        commits_accepted,
        unanswered,
        unkept: keeping.dropped.load(Ordering::Relaxed),
        p50,
        p99,
        wall,
        checking: started.elapsed(),
        counterexample,
    }
}

fn stress_result(id: &str, grade: Grade) -> CaseResult {
    CaseResult {
        section: "stress".into(),
        requirements: BROKEN.to_vec(),
        ..CaseResult::empty(id.into(), Role::Hub, grade)
    }
}

/// The result of one group's history.
fn part_result(
    group: usize,
    partitions: usize,
    operations: usize,
    verdict: Verdict,
    took: Duration,
) -> CaseResult {
    let grade = match verdict {
        Verdict::Linearizable => Grade::Pass,
        Verdict::Violation => Grade::Fail,
        Verdict::Inconclusive => Grade::Indeterminate,
    };
    let mut result = stress_result(&format!("stress/linearizability/group-{group}"), grade);
    result.comment = format!(
        "{operations} concurrent operations on the {partitions} partitions of group {}",
        String::from_utf8_lossy(&group_id(group).0)
    );
    result.expected = Some(
        "one order of the group's operations, respecting real time, in which the model gives every answer observed".into(),
    );
    result.millis = took.as_secs_f64() * 1000.0;
    match verdict {
        Verdict::Linearizable => {}
        Verdict::Violation => result.violated = BROKEN.to_vec(),
        Verdict::Inconclusive => {
            result.because = vec![format!(
            "the search gave up after {BUDGET} steps: neither an order nor its absence was found"
        )]
        }
    }
    result
}

/// Answers the binding does not allow (a 5xx, an error without a DsError, …).
fn binding_result(troubles: &[String]) -> CaseResult {
    let mut result = stress_result("stress/binding", Grade::Fail);
    result.requirements = Vec::new();
    result.violated_errata = vec![mimi_ds_model::errata::TRANSPORT];
    result.expected = Some("an answer the binding allows (BINDING.md §2)".into());
    result.observed = Some(format!("{} answers it does not allow", troubles.len()));
    result.because = troubles.iter().take(5).cloned().collect();
    result
}

/// Short names of the messages a history sent: `m<client>.<number>`, with what a scripted
/// one is (`names`).
fn labels(history: &[Event<Operation>], names: &HashMap<Bytes, String>) -> HashMap<u64, String> {
    history
        .iter()
        .filter_map(|e| {
            let message = e.op.sent()?;
            let mut label = format!("m{}.{}", e.op.id >> 32, e.op.id & 0xffff_ffff);
            if let Some(what) = names.get(&message.bytes) {
                label = format!("{label} ({what})");
            }
            Some((e.op.digest, label))
        })
        .collect()
}

/// The interleaving of a history, one operation a line, in order of invocation; partitions
/// named `k<i>` by their index in `keys`.
fn interleaving(
    history: &[Event<Operation>],
    labels: &HashMap<u64, String>,
    keys: &[PartitionKey],
) -> Vec<String> {
    let name = |digest: &u64| {
        labels
            .get(digest)
            .cloned()
            .unwrap_or_else(|| "a message never sent".into())
    };
    let key_name = |key: &PartitionKey| match keys.iter().position(|k| k == key) {
        Some(i) => format!("k{i}"),
        None => format!("{}…", hex::encode(&key.0[..4])),
    };
    let mask_name = |mask: &Bytes| match keys.iter().position(|k| k.masked() == *mask) {
        Some(i) => format!("k{i}"),
        None => "an unknown partition".into(),
    };
    let names = |digests: &[u64]| {
        let names: Vec<String> = digests.iter().map(name).collect();
        format!("[{}]", names.join(", "))
    };
    let ms = |ns: u64| ns as f64 / 1e6;
    let mut lines = vec![format!(
        "no order of these {} operations fits every answer (times in ms since the run began):",
        history.len()
    )];
    for e in history {
        let until = e
            .ret
            .map_or("no answer".to_string(), |r| format!("{:.3}", ms(r)));
        let from = e.op.input.sender().map_or("", |f| f.as_str());
        let what = match &e.op.input {
            Input::Send { request, .. } => format!(
                "send {} to {}",
                name(&e.op.digest),
                key_name(&request.partition_key)
            ),
            Input::ExternalJoin { .. } => format!("external join {}", name(&e.op.digest)),
            Input::Receive { request, .. } => format!(
                "receive {} from {}",
                key_name(&request.partition_key),
                request.counter
            ),
            _ => "group-info".to_string(),
        };
        let answer = match &e.op.answer {
            Some(Kept::Read { epoch, hints }) => {
                let mut shown = names(epoch);
                for (mask, hinted) in hints {
                    shown = format!("{shown}, hint {} {}", mask_name(mask), names(hinted));
                }
                shown
            }
            Some(Kept::Other(response)) => response.summary(),
            None => "?".into(),
        };
        lines.push(format!(
            "client {} ({from}) {:.3} … {until}: {what} → {answer}",
            e.op.client,
            ms(e.call)
        ));
    }
    lines
}

fn recorded(e: Event<Operation>, messages: &Messages) -> Recorded {
    let answer = e.op.answer.as_ref().map(|kept| messages.answer(kept));
    Recorded {
        client: e.op.client,
        call_ns: e.call,
        return_ns: e.ret,
        input: e.op.input,
        unsent: answer.as_ref().is_some_and(Option::is_none),
        answer: answer.flatten(),
    }
}

/// Shrinks a history without a linearization to a small one still without, by steps that
/// keep every linearizable history linearizable, so what is left shows a real violation:
/// the history up to the earliest answer it cannot fit, then without the reads it does not
/// need, then without the sends it does not need (later reads' counters moved down).
fn shrink(
    group: usize,
    initial: &Sequenced,
    history: Vec<Event<Operation>>,
) -> Vec<Event<Operation>> {
    let deadline = Instant::now() + SHRINK_TIME;
    let fails = |h: &[Event<Operation>]| {
        Instant::now() < deadline && verdict(group, initial, h, SHRINK_BUDGET) == Verdict::Violation
    };
    let mut ends: Vec<u64> = history.iter().filter_map(|e| e.ret).collect();
    ends.sort_unstable();
    // The earliest end the history up to which has no linearization (monotone in the end).
    let (mut low, mut high) = (0, ends.len());
    while low < high {
        let mid = (low + high) / 2;
        if fails(&up_to(&history, ends[mid])) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let mut history = match ends.get(low) {
        Some(&end) => up_to(&history, end),
        None => history,
    };
    let reads = |h: &[Event<Operation>]| -> Vec<u64> {
        h.iter()
            .filter(|e| !e.op.is_send())
            .map(|e| e.op.id)
            .collect()
    };
    history = drop_chunks(history, reads, without_reads, &fails);
    history = drop_chunks(history, droppable_sends, without_sends, &fails);
    history
}

/// The history as it stood at `end`: the operations begun by then, those still waiting
/// for their answer then as never answered. (A linearization of the whole history, cut at
/// `end`, is one of this.)
fn up_to(history: &[Event<Operation>], end: u64) -> Vec<Event<Operation>> {
    history
        .iter()
        .filter(|e| e.call <= end)
        .map(|e| match e.ret {
            Some(ret) if ret <= end => e.clone(),
            _ => Event {
                op: Operation {
                    answer: None,
                    ..e.op.clone()
                },
                call: e.call,
                ret: None,
            },
        })
        .collect()
}

/// Removes the chosen operations, then smaller and smaller chunks of the rest, as long as
/// what is left still has no linearization. `candidates` names what may go (by id), and
/// `without` removes a chunk, or refuses to.
fn drop_chunks(
    mut history: Vec<Event<Operation>>,
    candidates: impl Fn(&[Event<Operation>]) -> Vec<u64>,
    without: impl Fn(&[Event<Operation>], &BTreeSet<u64>) -> Option<Vec<Event<Operation>>>,
    fails: &impl Fn(&[Event<Operation>]) -> bool,
) -> Vec<Event<Operation>> {
    let mut size = candidates(&history).len().div_ceil(2);
    while size > 0 {
        let mut at = 0;
        loop {
            let ids = candidates(&history);
            if at >= ids.len() {
                break;
            }
            let chunk: BTreeSet<u64> = ids[at..(at + size).min(ids.len())]
                .iter()
                .copied()
                .collect();
            match without(&history, &chunk).filter(|h| fails(h)) {
                Some(smaller) => history = smaller,
                None => at += size,
            }
        }
        size /= 2;
    }
    history
}

/// Without the chosen reads and GroupInfo requests: changes no answer of the rest.
fn without_reads(
    history: &[Event<Operation>],
    ids: &BTreeSet<u64>,
) -> Option<Vec<Event<Operation>>> {
    Some(
        history
            .iter()
            .filter(|e| !ids.contains(&e.op.id))
            .cloned()
            .collect(),
    )
}

/// The sends a history can do without: application messages and proposals (commits and
/// joins shape the group) seen by no answered read, in its epoch or its hints, and for each
/// such read either over before it began or begun after it was over (or refused: nothing
/// to see).
fn droppable_sends(history: &[Event<Operation>]) -> Vec<u64> {
    let reads: Vec<&Event<Operation>> = history.iter().filter(|e| e.op.read().is_some()).collect();
    history
        .iter()
        .filter(|s| s.op.is_chat())
        .filter(|s| {
            s.op.refused()
                || reads.iter().all(|r| {
                    let (request, epoch, hints) = r.op.read().expect("a read");
                    !placed(request, epoch, hints).any(|(_, _, m)| m == s.op.digest)
                        && (r.precedes(s) || s.precedes(r))
                })
        })
        .map(|s| s.op.id)
        .collect()
}

/// Without the chosen sends (all droppable): each answered read of a partition begun after
/// one of them to it was over reads from one message earlier, as that message was before
/// its counter. A linearization of the history stays one of this, without them.
fn without_sends(
    history: &[Event<Operation>],
    ids: &BTreeSet<u64>,
) -> Option<Vec<Event<Operation>>> {
    let dropped: Vec<(&Event<Operation>, PartitionKey)> = history
        .iter()
        .filter(|e| ids.contains(&e.op.id) && !e.op.refused())
        .filter_map(|e| match &e.op.input {
            Input::Send { request, .. } => Some((e, request.partition_key)),
            _ => None,
        })
        .collect();
    let kept = history.iter().filter(|e| !ids.contains(&e.op.id)).map(|e| {
        let mut kept = e.clone();
        let answered = e.op.read().is_some();
        if let (Input::Receive { request, .. }, true) = (&mut kept.op.input, answered) {
            let earlier = dropped
                .iter()
                .filter(|(s, key)| *key == request.partition_key && s.precedes(e))
                .count() as u32;
            request.counter = request.counter.checked_sub(earlier)?;
        }
        Some(kept)
    });
    kept.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answered operation of client 0 from `call` to `ret`.
    fn at(
        keeping: &Keeping,
        id: u64,
        input: Input,
        response: Response,
        call: u64,
        ret: u64,
    ) -> Event<Operation> {
        let answer = keeping.keep(response);
        let op = Operation::new(keeping, (0, 0, id), input, answer);
        Event {
            op,
            call,
            ret: Some(ret),
        }
    }

    /// A hint is another partition's whole log at the read's moment: a read whose hint
    /// misses a message sent to that partition before the read began has no linearization,
    /// though its own partition's answer is right — only checking the group whole sees it.
    #[test]
    fn hints_are_judged_against_the_other_partitions_of_the_group() {
        let material = Material::new(0, 1);
        let keeping = Keeping::new();
        let mut initial = State::new(ServiceProviderId::new(cast::HUB).expect("valid domain"));
        for input in setup(std::slice::from_ref(&material)) {
            apply(&mut initial, &input);
        }
        let initial = Sequenced {
            state: initial,
            places: 0,
            shape: 0,
        };
        let from = ServiceProviderId::new(PROVIDERS[0]).expect("valid domain");
        let Scripted::Send(commit) = &material.script[0].0 else {
            panic!("the script begins with bob's commit")
        };
        let child = commit
            .commit_data
            .as_ref()
            .expect("commit data")
            .next_partition_key;
        let chat = SendRequest {
            message: MlsMessage::private_message(&group_id(0).0, 0, ContentType::Application, b"m"),
            partition_key: child,
            commit_data: None,
        };
        let sequenced = |request: &SendRequest| {
            super::sequenced(&request.message, request.commit_data.as_ref())
        };
        let read = |hinted: Vec<Message>| {
            let answer = mimi_ds_model::codec::ReceiveResponse {
                epoch: mimi_ds_model::codec::Epoch {
                    messages: vec![sequenced(commit)],
                },
                hints: vec![HintedEpoch {
                    masked_partition_key: child.masked(),
                    epoch: mimi_ds_model::codec::Epoch { messages: hinted },
                }],
            };
            let request = ReceiveRequest {
                partition_key: material.keys[0],
                counter: 0,
            };
            let input = Input::Receive {
                from: from.clone(),
                request,
            };
            at(&keeping, 3, input, Response::Receive(answer), 30, 40)
        };
        let send = |id, request: &SendRequest, call, ret| {
            let input = Input::Send {
                from: from.clone(),
                request: request.clone(),
            };
            at(&keeping, id, input, Response::Accepted, call, ret)
        };
        let history = |hinted| vec![send(1, commit, 0, 10), send(2, &chat, 11, 20), read(hinted)];
        let whole = history(vec![sequenced(&chat)]);
        assert_eq!(verdict(0, &initial, &whole, 1000), Verdict::Linearizable);
        let missing = history(Vec::new());
        assert_eq!(verdict(0, &initial, &missing, 1000), Verdict::Violation);
    }
}
