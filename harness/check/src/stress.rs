//! Stress: many clients of several providers at once against one hub, every operation
//! recorded with its invocation and completion times on the harness's monotonic clock. After
//! the run — so checking never slows the clients — the history is checked for
//! linearizability against the model (`linearizability`), one group at a time: each group
//! has one partition, which orders its own messages only. A violation is shrunk to a small
//! history that still has no linearization. This module owns the workload (groups set up
//! through test control, distinct application messages), the clients, the figures of a run
//! and the shrinking.

use crate::linearizability::{self, Event, Specification, Verdict};
use crate::runner::{CaseResult, Grade, Role, Target, Trouble};
use crate::suite::{self, Options, Summary};
use crate::{Error, Result};
use mimi_ds_binding::{self as binding, control, control::Reset};
use mimi_ds_model::codec::{
    Bytes, ContentType, GroupInfoRequest, MlsMessage, PartitionKey, ReceiveRequest, SendRequest,
    ServiceProviderId,
};
use mimi_ds_model::ds::{apply, check, Input, Observed, Response, State};
use mimi_ds_model::requirements::{self as req, ReqId};
use mimi_ds_model::vectors::cast;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The groups the clients share; each has one partition, so the history splits in as many
/// independent parts.
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
    /// `None` when no answer came (or one the binding does not allow): it may or may not
    /// have taken effect.
    pub answer: Option<Observed>,
}

impl Operation {
    fn is_send(&self) -> bool {
        matches!(self.input, Input::Send { .. })
    }

    fn refused(&self) -> bool {
        matches!(
            &self.answer,
            Some(Observed {
                response: Response::Error(_),
                ..
            })
        )
    }

    /// The messages an answered read returned.
    fn read(&self) -> Option<(u32, &[mimi_ds_model::codec::Message])> {
        match (&self.input, &self.answer) {
            (
                Input::Receive { request, .. },
                Some(Observed {
                    response: Response::Receive(r),
                    ..
                }),
            ) => Some((request.counter, &r.epoch.messages)),
            _ => None,
        }
    }

    fn sent(&self) -> Option<&MlsMessage> {
        match &self.input {
            Input::Send { request, .. } => Some(&request.message),
            _ => None,
        }
    }
}

/// What a stress run found, with its figures.
pub struct Stress {
    /// One result per group, and one for answers the binding does not allow, if any: what
    /// the reports show.
    pub summary: Summary,
    pub clients: usize,
    pub operations: usize,
    pub sends: usize,
    /// Operations that got no answer (a timeout or a transport error).
    pub unanswered: usize,
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
            "{} operations ({} sends) by {} clients in {:.2} s: {:.0} operations/s, {:.0} sends/s; latency p50 {:.2} ms, p99 {:.2} ms; {} unanswered; checked in {:.2} s",
            self.operations,
            self.sends,
            self.clients,
            wall,
            self.operations as f64 / wall,
            self.sends as f64 / wall,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.unanswered,
            self.checking.as_secs_f64()
        )
    }
}

/// A shrunk history without a linearization, as a file documents it (README, `stress`).
#[derive(Serialize)]
pub struct Counterexample {
    pub group_id: Bytes,
    pub partition_key: PartitionKey,
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
}

fn group_id(group: usize) -> Bytes {
    Bytes(format!("stress-group-{group}").into_bytes())
}

fn partition_key(group: usize) -> PartitionKey {
    let mut key = [0x57; 16];
    key[0] = group as u8;
    PartitionKey(key)
}

/// The target's setup: the groups, each with its creation partition.
fn setup() -> Vec<Input> {
    (0..GROUPS)
        .map(|g| Input::CreateGroup {
            group_id: group_id(g),
            partition_key: partition_key(g),
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
    let runtime = suite::runtime()?;
    let (name, initial, history, troubles, wall) =
        runtime.block_on(drive(options, settings, progress))?;
    drop(runtime);
    Ok(judge(name, settings, initial, history, troubles, wall))
}

type Driven = (String, State, Vec<Event<Operation>>, Vec<String>, Duration);

/// Sets the target up, runs the clients at once and, once they are done, reads every
/// partition whole.
async fn drive(
    options: &Options,
    settings: Settings,
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
    for input in setup() {
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
        clients.spawn(async move {
            client(&running.rig.target, index, settings, clock, &*progress).await
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
    for group in 0..GROUPS {
        let input = Input::Receive {
            from: ServiceProviderId::new(PROVIDERS[0]).expect("valid domain"),
            request: ReceiveRequest {
                partition_key: partition_key(group),
                counter: 0,
            },
        };
        let id = (settings.clients as u64) << 32 | group as u64;
        let (event, trouble) = perform(target, settings.clients, group, id, input, clock).await;
        history.push(event);
        troubles.extend(trouble);
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
/// reading where it last saw each partition end. Returns what it recorded and the answers
/// the binding does not allow.
async fn client(
    target: &Target,
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
    let mut seen = [0u32; GROUPS];
    let mut history = Vec::new();
    let mut troubles = Vec::new();
    for number in 0..quota {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let group = below(GROUPS);
        let id = (index as u64) << 32 | number;
        let input = match below(100) {
            0..70 => {
                let tag = [&id.to_be_bytes()[..], &[0xc5; 24]].concat();
                Input::Send {
                    from: from.clone(),
                    request: SendRequest {
                        message: MlsMessage::private_message(
                            &group_id(group).0,
                            0,
                            ContentType::Application,
                            &tag,
                        ),
                        partition_key: partition_key(group),
                        commit_data: None,
                    },
                }
            }
            70..95 => Input::Receive {
                from: from.clone(),
                request: ReceiveRequest {
                    partition_key: partition_key(group),
                    counter: seen[group].saturating_sub(below(3) as u32),
                },
            },
            _ => Input::GroupInfo {
                from: from.clone(),
                request: GroupInfoRequest {
                    group_id: group_id(group),
                },
            },
        };
        let (event, trouble) = perform(target, index, group, id, input, clock).await;
        if let Some((counter, messages)) = event.op.read() {
            seen[group] = counter + messages.len() as u32;
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
        Ok(answer) => (
            Some(Observed {
                response: answer.response,
                outbound: Vec::new(),
            }),
            None,
        ),
        Err(Trouble::Transport(_)) => (None, None),
        Err(Trouble::Binding(e)) => (None, Some(e.why)),
    };
    let event = Event {
        ret: answer.as_ref().map(|_| ret),
        op: Operation {
            client,
            group,
            id,
            input,
            answer,
        },
        call,
    };
    (event, trouble)
}

/// The model as the sequential specification, with a fingerprint of the order of the sends
/// it sequenced: all that a later read can tell apart.
#[derive(Clone)]
struct Sequenced {
    state: State,
    order: u64,
}

/// The model, and the positions the history's reads fixed: the model's partition log only
/// grows, so a read at counter `c` that returned message `m` `i`th fixes `m` at `c + i` in
/// every order, and no other message can be there. The search tries a send only where the
/// reads let it be (an order that puts it elsewhere fails one of them anyway): without this,
/// it would try the orders of up to as many concurrent sends as there are clients, one by one.
struct Model {
    at: HashMap<u32, Bytes>,
    position: HashMap<Bytes, u32>,
}

impl Model {
    /// The positions `history`'s answered reads fix; `None` when two of them disagree (one
    /// message at two positions, or two at one): then no order fits them all.
    fn of(history: &[Event<Operation>]) -> Option<Model> {
        let mut model = Model {
            at: HashMap::new(),
            position: HashMap::new(),
        };
        for (counter, messages) in history.iter().filter_map(|e| e.op.read()) {
            for (i, m) in messages.iter().enumerate() {
                let at = counter + i as u32;
                let bytes = &m.message.bytes;
                let known = model.at.entry(at).or_insert_with(|| bytes.clone());
                let placed = *model.position.entry(bytes.clone()).or_insert(at);
                if known != bytes || placed != at {
                    return None;
                }
            }
        }
        Some(model)
    }

    /// Whether `message` may be sequenced at `at`.
    fn fits(&self, message: &Bytes, at: u32) -> bool {
        self.position.get(message).is_none_or(|p| *p == at)
            && self.at.get(&at).is_none_or(|m| m == message)
    }
}

impl Specification for Model {
    type State = Sequenced;
    type Operation = Operation;

    fn step(&self, before: &Sequenced, op: &Operation) -> Option<Sequenced> {
        let length = |key| {
            let partition = before.state.partitions.partition(key);
            partition.map_or(0, |p| p.log.len() as u32)
        };
        // Cheap refusals first, of what the model would refuse too: a send where the reads
        // put another message, a read whose answer is not as long as the log's suffix.
        let unfit = match (&op.input, op.read()) {
            (Input::Send { request, .. }, _) => {
                !op.refused() && !self.fits(&request.message.bytes, length(&request.partition_key))
            }
            (Input::Receive { request, .. }, Some((counter, messages))) => {
                length(&request.partition_key).saturating_sub(counter) as usize != messages.len()
            }
            _ => false,
        };
        if unfit {
            return None;
        }
        let mut next = before.clone();
        match &op.answer {
            // The calls the target made are not observed here: only its answer is judged.
            Some(observed) => check(&mut next.state, &op.input, observed).ok()?,
            // Whatever it did, it did as the model does (linearized last: not at all).
            None => {
                apply(&mut next.state, &op.input);
            }
        }
        if op.is_send() && !op.refused() {
            next.order = (next.order.rotate_left(5) ^ op.id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        Some(next)
    }

    fn fingerprint(&self, state: &Sequenced) -> u64 {
        state.order
    }
}

/// Whether one group's history has a linearization, within `budget` steps.
fn verdict(initial: &Sequenced, history: &[Event<Operation>], budget: u64) -> Verdict {
    match Model::of(history) {
        Some(model) => linearizability::check(&model, initial, history, budget),
        None => Verdict::Violation,
    }
}

/// Checks every group's history (two at a time), shrinks the first violation, and sums up.
fn judge(
    name: String,
    settings: Settings,
    initial: State,
    history: Vec<Event<Operation>>,
    troubles: Vec<String>,
    wall: Duration,
) -> Stress {
    let started = Instant::now();
    let mut history = history;
    history.sort_by_key(|e| e.call);
    let operations = history.len();
    let sends = history.iter().filter(|e| e.op.is_send()).count();
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
        order: 0,
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
                        .map(|(_, events)| {
                            let started = Instant::now();
                            let verdict = verdict(initial, events, BUDGET);
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
        let mut result = part_result(group, events.len(), verdict, took);
        if verdict == Verdict::Violation && counterexample.is_some() {
            result.because = vec![format!(
                "no order of its {} operations fits every answer (the report shrinks the first such group only)",
                events.len()
            )];
        }
        if verdict == Verdict::Violation && counterexample.is_none() {
            let labels = labels(&events);
            let of = events.len();
            let shrunk = shrink(&initial, events);
            result.observed = Some(format!(
                "no such order exists for these {} of the group's {of} operations",
                shrunk.len()
            ));
            result.because = interleaving(&shrunk, &labels);
            counterexample = Some(Counterexample {
                group_id: group_id(group),
                partition_key: partition_key(group),
                of,
                operations: shrunk.into_iter().map(recorded).collect(),
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
        unanswered,
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
fn part_result(group: usize, operations: usize, verdict: Verdict, took: Duration) -> CaseResult {
    let grade = match verdict {
        Verdict::Linearizable => Grade::Pass,
        Verdict::Violation => Grade::Fail,
        Verdict::Inconclusive => Grade::Indeterminate,
    };
    let mut result = stress_result(&format!("stress/linearizability/group-{group}"), grade);
    result.comment = format!(
        "{operations} concurrent operations on partition {} of group {}",
        hex::encode(partition_key(group).0),
        String::from_utf8_lossy(&group_id(group).0)
    );
    result.expected = Some(
        "one order of the partition's operations, respecting real time, in which the model gives every answer observed".into(),
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

/// Short names of the messages a history sent: `m<client>.<number>`.
fn labels(history: &[Event<Operation>]) -> HashMap<Bytes, String> {
    history
        .iter()
        .filter_map(|e| {
            let label = format!("m{}.{}", e.op.id >> 32, e.op.id & 0xffff_ffff);
            e.op.sent().map(|m| (m.bytes.clone(), label))
        })
        .collect()
}

/// The interleaving of a history, one operation a line, in order of invocation.
fn interleaving(history: &[Event<Operation>], labels: &HashMap<Bytes, String>) -> Vec<String> {
    let name = |m: &MlsMessage| {
        labels
            .get(&m.bytes)
            .cloned()
            .unwrap_or_else(|| format!("a message never sent ({} bytes)", m.bytes.0.len()))
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
            Input::Send { request, .. } => format!("send {}", name(&request.message)),
            Input::Receive { request, .. } => format!("receive from {}", request.counter),
            _ => "group-info".to_string(),
        };
        let answer = match (&e.op.answer, e.op.read()) {
            (_, Some((_, messages))) => {
                let names: Vec<String> = messages.iter().map(|m| name(&m.message)).collect();
                format!("[{}]", names.join(", "))
            }
            (Some(observed), None) => observed.response.summary(),
            (None, None) => "?".into(),
        };
        lines.push(format!(
            "client {} ({from}) {:.3} … {until}: {what} → {answer}",
            e.op.client,
            ms(e.call)
        ));
    }
    lines
}

fn recorded(e: Event<Operation>) -> Recorded {
    Recorded {
        client: e.op.client,
        call_ns: e.call,
        return_ns: e.ret,
        input: e.op.input,
        answer: e.op.answer.map(|o| o.response),
    }
}

/// Shrinks a history without a linearization to a small one still without, by steps that
/// keep every linearizable history linearizable, so what is left shows a real violation:
/// the history up to the earliest answer it cannot fit, then without the reads it does not
/// need, then without the sends it does not need (later reads' counters moved down).
fn shrink(initial: &Sequenced, history: Vec<Event<Operation>>) -> Vec<Event<Operation>> {
    let deadline = Instant::now() + SHRINK_TIME;
    let fails = |h: &[Event<Operation>]| {
        Instant::now() < deadline && verdict(initial, h, SHRINK_BUDGET) == Verdict::Violation
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

/// The sends a history can do without: seen by no answered read, and for each such read
/// either over before it began or begun after it was over (or refused: nothing to see).
fn droppable_sends(history: &[Event<Operation>]) -> Vec<u64> {
    let reads: Vec<&Event<Operation>> = history.iter().filter(|e| e.op.read().is_some()).collect();
    history
        .iter()
        .filter(|s| s.op.is_send())
        .filter(|s| {
            let message = s.op.sent().expect("a send");
            s.op.refused()
                || reads.iter().all(|r| {
                    let (_, seen) = r.op.read().expect("a read");
                    !seen.iter().any(|m| &m.message == message) && (r.precedes(s) || s.precedes(r))
                })
        })
        .map(|s| s.op.id)
        .collect()
}

/// Without the chosen sends (all droppable): each answered read begun after one of them
/// was over reads from one message earlier, as that message was before its counter. A
/// linearization of the history stays one of this, without them.
fn without_sends(
    history: &[Event<Operation>],
    ids: &BTreeSet<u64>,
) -> Option<Vec<Event<Operation>>> {
    let dropped: Vec<&Event<Operation>> = history
        .iter()
        .filter(|e| ids.contains(&e.op.id) && !e.op.refused())
        .collect();
    let kept = history.iter().filter(|e| !ids.contains(&e.op.id)).map(|e| {
        let mut e = e.clone();
        let earlier = dropped.iter().filter(|s| s.precedes(&e)).count() as u32;
        let answered = e.op.read().is_some();
        if let (Input::Receive { request, .. }, true) = (&mut e.op.input, answered) {
            request.counter = request.counter.checked_sub(earlier)?;
        }
        Some(e)
    });
    kept.collect()
}
