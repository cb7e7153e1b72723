//! Random traces against a target, with shrinking: proptest draws sequences of operations over
//! a real MLS group history (sends of its messages in any subset and order, reads of any
//! partition at any counter, GroupInfo requests, branch terminations), the model judges each
//! as the runner replays it, and a failing trace is shrunk — steps deleted, counters
//! simplified — by replaying candidates against the target until the smallest failing one is
//! left. That one is returned as a trace vector, replayable with `run --vectors`.

use crate::generate::mls::Handshakes;
use crate::generate::stories::{self, Event, Fork, FOLLOWER_B, FOLLOWER_C, OUTSIDER};
use crate::runner::{run_case, CaseResult, Rig, Verdict};
use crate::{cases, CliError, CliResult};
use mimi_ds_model::codec::{GroupInfoRequest, PartitionKey, ReceiveRequest};
use mimi_ds_model::ds::Input;
use mimi_ds_model::vectors::trace::{self, Role, TraceCase, TraceTest};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;

/// The section name of explored traces (and of the file a counterexample is written to).
pub const SECTION: &str = "explore";

/// The providers a random trace names besides the hub: the runner plays them.
pub fn peers() -> Vec<mimi_ds_model::codec::ServiceProviderId> {
    [FOLLOWER_B, FOLLOWER_C, OUTSIDER]
        .into_iter()
        .map(stories::provider)
        .collect()
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
                    if provider.as_str() != stories::HUB && !answered.contains(&provider) {
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
                    from: stories::provider([FOLLOWER_B, FOLLOWER_C][follower]),
                    request: ReceiveRequest {
                        partition_key: history.keys[key],
                        counter,
                    },
                }
                .into(),
            ),
            Op::GroupInfo => steps.push(
                Input::GroupInfo {
                    from: stories::provider(OUTSIDER),
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
            provider: stories::HUB.into(),
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
}

/// Runs `traces` random traces of up to `max_ops` operations, from `seed`: half over a
/// linear history, half over a forked one.
pub fn explore(
    runtime: &tokio::runtime::Runtime,
    rig: &Rig,
    traces: u32,
    max_ops: usize,
    seed: u64,
) -> CliResult<Exploration> {
    let mut runs = 0;
    for (material, share) in [
        (Material::linear(), traces.div_ceil(2)),
        (Material::forked(), traces / 2),
    ] {
        if share == 0 {
            continue;
        }
        let found = explore_one(runtime, rig, &material, share, max_ops, seed)?;
        runs += found.runs;
        if found.counterexample.is_some() {
            return Ok(Exploration {
                runs,
                counterexample: found.counterexample,
            });
        }
    }
    Ok(Exploration {
        runs,
        counterexample: None,
    })
}

fn explore_one(
    runtime: &tokio::runtime::Runtime,
    rig: &Rig,
    material: &Material,
    traces: u32,
    max_ops: usize,
    seed: u64,
) -> CliResult<Exploration> {
    let strategy =
        prop::collection::vec(op(material.events.len(), material.keys.len()), 1..=max_ops);
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
    let id = |what: String| format!("{SECTION}/{}/seed-{seed}/{what}", material.name);
    let outcome = runner.run(&strategy, |ops| {
        let n = {
            let mut r = runs.borrow_mut();
            *r += 1;
            *r
        };
        let test = trace::build(&trace_case(material, &ops, id(format!("trace-{n}"))))
            .map_err(TestCaseError::fail)?;
        let case = cases::case_of(&test).map_err(TestCaseError::fail)?;
        let result = runtime.block_on(run_case(&case, rig));
        match result.verdict {
            Verdict::Fail | Verdict::NonStrict => Err(TestCaseError::fail(
                result.because.first().cloned().unwrap_or_default(),
            )),
            _ => Ok(()),
        }
    });
    let counterexample = match outcome {
        Ok(()) => None,
        Err(TestError::Fail(_, minimal)) => {
            // proptest ends on the minimal input; run it once more so the result is its own.
            let test = trace::build(&trace_case(material, &minimal, id("minimal".into())))
                .map_err(CliError)?;
            let case = cases::case_of(&test).map_err(CliError)?;
            let result = runtime.block_on(run_case(&case, rig));
            Some((test, result))
        }
        Err(TestError::Abort(why)) => return Err(CliError(format!("exploring aborted: {why}"))),
    };
    Ok(Exploration {
        runs: runs.into_inner(),
        counterexample,
    })
}
