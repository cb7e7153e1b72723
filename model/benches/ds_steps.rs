//! Model steps per second over a deterministic pseudo-random 10 000-step trace of a hub:
//! sends to the current partition, commits to fresh keys (with the odd fork), external
//! joins, and reads at the counters a follower would hold. Run with
//! `cargo bench -p mimi-ds-model --bench ds_steps`; prints the median of several runs for
//! `apply` in place (what the reference DS does with the state it owns), for `check` in place
//! (the checker judging a target's answers, recorded beforehand from the reference), for both
//! in one loop (the reference answering each step as the checker judges it, as in process)
//! and for `step` (apply on a copy, as the explorers do).

use mimi_ds_model::ds::scenario::hosting_hub;
use mimi_ds_model::ds::workloads;
use mimi_ds_model::ds::{apply, check, step, Input, Model, Reference, State};
use std::hint::black_box;
use std::time::Instant;

const STEPS: usize = 10_000;
const RUNS: usize = 7;

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
    let trace = workloads::hub_trace(STEPS);
    let in_place = measure(&trace, |trace| {
        let mut state = hosting_hub();
        for input in trace {
            black_box(apply(&mut state, input));
        }
    });
    let mut target = hosting_hub();
    let answers: Vec<_> = trace
        .iter()
        .map(|input| Reference.apply(&mut target, input))
        .collect();
    let checking = measure(&trace, |trace| {
        let mut model = hosting_hub();
        for (input, observed) in trace.iter().zip(&answers) {
            black_box(check(&mut model, input, observed)).expect("the reference passes");
        }
    });
    let answering_and_checking = measure(&trace, |trace| {
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
    println!("  check (in place, recorded answers): {checking:.0} steps/s");
    println!(
        "  the reference's apply + check (in place): {:.0} steps/s",
        answering_and_checking
    );
    println!("  step (copies the state): {:.0} steps/s", copying);
}
