//! End-to-end cost of one long trace vector against the in-process reference DS, as
//! `mimi-ds-check run --vectors DIR` spends it: the vector file is written, loaded, and every
//! step sent over HTTP and judged with the model, so a cost per step that grows with the
//! trace shows here as superlinear wall time.
//!
//! `cargo bench -p mimi-ds-check --features reference --bench long_trace [-- STEPS…]`
//! (default 10000 and 100000). The trace: a group created at the hub, then sends from a
//! follower to the current partition, commits to fresh keys (one in ten into the previous
//! partition: a fork) and reads at counters near each log's end. Messages are PrivateMessages
//! with distinct ciphertexts: the hub reads only their headers. Each vector is left in the
//! temporary directory the output names, to replay with the CLI.

use mimi_ds_check::cases;
use mimi_ds_check::runner::Grade;
use mimi_ds_check::suite::{self, Options};
use mimi_ds_model::ds::workloads;
use mimi_ds_model::vectors::trace;
use std::time::Instant;

fn main() {
    let lengths: Vec<u32> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("a number of steps"))
        .collect();
    let lengths = if lengths.is_empty() {
        vec![10_000, 100_000]
    } else {
        lengths
    };
    for steps in lengths {
        let test =
            trace::build(&workloads::long_hub_case(steps)).expect("the model builds the vector");
        let dir = std::env::temp_dir().join(format!("mimi-ds-long-trace-{steps}"));
        mimi_ds_vectors::write_trace_file(&dir, &trace::file("bench", vec![test]))
            .expect("the vector is written");
        let start = Instant::now();
        let cases = cases::load(&dir).expect("the vector loads");
        let loaded = start.elapsed();
        let summary = suite::run(&cases, &Options::default(), &|_, _| {}).expect("the run starts");
        let wall = start.elapsed();
        let result = &summary.results[0];
        assert_eq!(
            result.grade,
            Grade::Pass,
            "the reference fails its own trace: {:?}",
            result.because
        );
        println!(
            "long_trace: {steps} steps in {:.2} s, {:.2} s of it loading ({:.0} steps/s, {} exchanges); replay: mimi-ds-check run --vectors {}",
            wall.as_secs_f64(),
            loaded.as_secs_f64(),
            f64::from(steps) / wall.as_secs_f64(),
            summary.exchanges,
            dir.display()
        );
    }
}
