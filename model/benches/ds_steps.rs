//! Model steps per second over a deterministic pseudo-random 10 000-step trace of a hub:
//! sends to the current partition, commits to fresh keys (with the odd fork), external
//! joins, and reads at the counters a follower would hold. Run with
//! `cargo bench -p mimi-ds-model --bench ds_steps`; prints the median of several runs for
//! `apply` in place (what the reference DS does with the state it owns), for `check` in place
//! (the checker judging a target's answers: the reference's `apply` plus the judgement) and
//! for `step` (apply on a copy, as the explorers do).

use mimi_ds_model::codec::{ExternalJoinRequest, ReceiveRequest};
use mimi_ds_model::ds::scenario::{
    self, commit_data, follower_id, hosting_hub, key, Chain, Xorshift,
};
use mimi_ds_model::ds::{apply, check, step, Input, Model, Reference, State};
use std::hint::black_box;
use std::time::Instant;

const STEPS: usize = 10_000;
const RUNS: usize = 7;

/// The trace, built by running the model once so reads use counters near each log's end.
fn trace() -> Vec<Input> {
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut state = hosting_hub();
    let mut chain = Chain::new(key(0));
    let mut inputs = Vec::with_capacity(STEPS);
    for n in 0..STEPS as u32 {
        let input = match rng.below(100) {
            0..=59 => Input::Send {
                from: follower_id((n % 2) as u8),
                request: scenario::send_request(scenario::application(n), chain.current, None),
            },
            60..=69 => {
                let (at, next) = chain.commit(&mut rng, n);
                Input::Send {
                    from: follower_id(0),
                    request: scenario::send_request(
                        scenario::commit(n, vec![]),
                        at,
                        Some(commit_data(next)),
                    ),
                }
            }
            70..=74 => Input::ExternalJoin {
                from: follower_id(1),
                request: ExternalJoinRequest {
                    message: scenario::external_commit(n),
                    commit_data: commit_data(chain.advance(n)),
                },
            },
            _ => {
                let len = state
                    .partitions
                    .partition(&chain.current)
                    .map_or(0, |p| p.log.len() as u64);
                let counter = len.saturating_sub(rng.below(4)) as u32;
                Input::Receive {
                    from: follower_id(1),
                    request: ReceiveRequest {
                        partition_key: chain.current,
                        counter,
                    },
                }
            }
        };
        apply(&mut state, &input);
        inputs.push(input);
    }
    inputs
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(|a, b| a.total_cmp(b));
    rates[rates.len() / 2]
}

fn measure(trace: &[Input], run: impl Fn(&[Input])) -> f64 {
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                run(trace);
                trace.len() as f64 / start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    let trace = trace();
    let in_place = measure(&trace, |trace| {
        let mut state = hosting_hub();
        for input in trace {
            black_box(apply(&mut state, input));
        }
    });
    let checking = measure(&trace, |trace| {
        let (mut target, mut model) = (hosting_hub(), hosting_hub());
        for input in trace {
            let observed = Reference.apply(&mut target, input);
            black_box(check(&mut model, input, &observed)).expect("the reference passes");
        }
    });
    let copying = measure(&trace, |trace| {
        let mut state: State = hosting_hub();
        for input in trace {
            state = black_box(step(&state, input)).next;
        }
    });
    println!("ds_steps: {STEPS} steps, median of {RUNS} runs");
    println!("  apply (in place): {:.0} steps/s", in_place);
    println!(
        "  check (in place, with the target's apply): {:.0} steps/s",
        checking
    );
    println!("  step (copies the state): {:.0} steps/s", copying);
}
