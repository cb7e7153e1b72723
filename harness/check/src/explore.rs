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
use mimi_ds_model::codec::{
    Bytes, Epoch, GroupInfoRequest, HintedEpoch, KeyPackageBundleRequest, KeyPackageRequest,
    Message, MessageCommitData, PartitionKey, ReceiveRequest, ReceiveResponse, SendRequest,
};
use mimi_ds_model::ds::{Input, Token, TokenScope};
use mimi_ds_model::vectors::cast::{self, provider, FOLLOWER_B, FOLLOWER_C, HUB, OUTSIDER};
use mimi_ds_model::vectors::trace::{self, Role, TraceCase, TraceTest};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;

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
    keys: Vec<PartitionKey>,
}

impl Material {
    /// A linear history: founding, chat and commits from both followers over four epochs.
    fn linear() -> Material {
        let history = stories::linear(Handshakes::Clear);
        Material {
            name: "linear",
            creation: history.creation,
            events: history.events,
            keys: history.keys,
        }
    }

    /// A forked history: bob bans mallory while carol commits in the same epoch; then each
    /// branch chats and adds mallory (refused only in bob's branch).
    fn forked() -> Material {
        let mut fork = stories::fork(Handshakes::Clear, Some(b"mallory"));
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
        Material {
            name: "forked",
            creation: fork.creation,
            events,
            keys,
        }
    }
}

/// One step of a random trace, by index into the history.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Send the history's event `event` (as its provider would; the hub's own user locally).
    Send { event: usize },
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

fn op(events: usize, keys: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..events).prop_map(|event| Op::Send { event }),
        4 => (0..2usize, 0..keys, 0..12u32).prop_map(|(follower, key, counter)| Op::Receive { follower, key, counter }),
        1 => Just(Op::GroupInfo),
        1 => (0..keys).prop_map(|key| Op::Terminate { key }),
    ]
}

/// The trace a sequence of operations makes: create the group, then each operation, with
/// affirmative WelcomeInit answers after a send that carries a Welcome.
fn trace_case(history: &Material, ops: &[Op], id: String) -> TraceCase {
    let id = format!("{SECTION}/{}/{id}", history.name);
    let mut steps = vec![Input::CreateGroup {
        group_id: stories::GROUP.into(),
        partition_key: history.creation,
    }
    .into()];
    for op in ops {
        match *op {
            Op::Send { event } => {
                let event = &history.events[event];
                steps.push(event.hub_input().into());
                let welcomed = event
                    .request
                    .commit_data
                    .as_ref()
                    .and_then(|c| c.welcome_data.as_ref());
                let mut answered = Vec::new();
                for provider in welcomed
                    .map(|w| w.service_providers.clone())
                    .unwrap_or_default()
                {
                    if provider.as_str() != HUB && !answered.contains(&provider) {
                        answered.push(provider.clone());
                        steps.push(
                            Input::WelcomeInitAnswered {
                                provider,
                                accepted: true,
                            }
                            .into(),
                        );
                    }
                }
            }
            Op::Receive {
                follower,
                key,
                counter,
            } => steps.push(
                Input::Receive {
                    from: provider([FOLLOWER_B, FOLLOWER_C][follower]),
                    request: ReceiveRequest {
                        partition_key: history.keys[key],
                        counter,
                    },
                }
                .into(),
            ),
            Op::GroupInfo => steps.push(
                Input::GroupInfo {
                    from: provider(OUTSIDER),
                    request: GroupInfoRequest {
                        group_id: stories::GROUP.into(),
                    },
                }
                .into(),
            ),
            Op::Terminate { key } => steps.push(
                Input::TerminateBranch {
                    partition_key: history.keys[key],
                }
                .into(),
            ),
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
        steps,
    }
}

/// What exploring found.
pub struct Exploration {
    /// Every trace run, shrinking candidates included.
    pub runs: usize,
    /// The smallest failing trace and its result, if one failed.
    pub counterexample: Option<(TraceTest, CaseResult)>,
    /// How long the runs took, histories made on the way included.
    pub wall: std::time::Duration,
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
    // Counts the runs of one exploration; its counterexample, if any, ends the whole search.
    let mut ends = |(ran, counterexample): Found| {
        runs += ran;
        counterexample.map(|c| Exploration {
            runs,
            counterexample: Some(c),
            wall: started.elapsed(),
        })
    };
    for role in roles {
        match role {
            Role::Hub => {
                for (material, share) in [
                    (Material::linear(), traces.div_ceil(2)),
                    (Material::forked(), traces / 2),
                ] {
                    if share == 0 {
                        continue;
                    }
                    let ops = prop::collection::vec(
                        op(material.events.len(), material.keys.len()),
                        1..=max_ops,
                    );
                    let found = explore_one(runtime, rig, ops, share, seed, |o, id| {
                        trace_case(&material, o, id)
                    })?;
                    if let Some(failed) = ends(found) {
                        return Ok(failed);
                    }
                }
            }
            Role::Follower => {
                let material = Material::linear();
                let stray = stray_send(&material);
                let ops = prop::collection::vec(
                    follower_op(material.events.len(), material.keys.len()),
                    1..=max_ops,
                );
                let found = explore_one(runtime, rig, ops, traces, seed, |o, id| {
                    follower_trace(&material, &stray, o, id)
                })?;
                if let Some(failed) = ends(found) {
                    return Ok(failed);
                }
            }
            Role::Rsp => {
                let uploads = stories::uploads(2, true);
                let ops = prop::collection::vec(rsp_op(), 1..=max_ops);
                let found = explore_one(runtime, rig, ops, traces, seed, |o, id| {
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
    })
}

/// The runs of one exploration, and its counterexample if one failed.
type Found = (usize, Option<(TraceTest, CaseResult)>);

/// `traces` random traces of `ops`, each made a case by `build` (from the ops and an id).
fn explore_one<O: std::fmt::Debug + Clone>(
    runtime: &tokio::runtime::Runtime,
    rig: &Rig,
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
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
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
            let test = trace::build(&build(&minimal, format!("seed-{seed}/minimal")))
                .map_err(Error::RandomTrace)?;
            let case = cases::case_of(&test).map_err(Error::RandomCase)?;
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
}

fn follower_op(events: usize, keys: usize) -> impl Strategy<Value = FollowerOp> {
    prop_oneof![
        3 => (0..events).prop_map(|event| FollowerOp::Send { event }),
        3 => (0..keys, 0..12u32).prop_map(|(key, counter)| FollowerOp::Receive { key, counter }),
        3 => (0..keys, 0..events, 0..4usize, prop::bool::weighted(0.8)).prop_map(|(key, first, len, from_hub)| FollowerOp::Push { key, first, len, from_hub }),
        1 => Just(FollowerOp::SendElsewhere),
        1 => Just(FollowerOp::SelfRemove),
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
/// two one-time KeyPackages and a last resort).
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
    /// A request for `user` (2: one the RSP does not serve) with `token` (2: never issued)
    /// and cipher suite `suite`.
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
        2 => (0..2usize).prop_map(|user| RspOp::Upload { user }),
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
            RspOp::Upload { user } => {
                let (user, packages) = &uploads.users[*user];
                Input::UploadKeyPackages {
                    user: user.clone(),
                    key_packages: packages.clone(),
                }
            }
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
