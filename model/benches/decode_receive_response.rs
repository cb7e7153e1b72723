//! Decode throughput of a ReceiveResponse holding 1 000 PrivateMessages of 1 KiB each — the
//! follower's hot path. Goal: at least 1 GiB/s in release builds.
//!
//! `cargo bench -p mimi-ds-model --bench decode_receive_response` prints the median over
//! `RUNS` decodes. A measurement, not a test: it never fails on a slow machine.

use mimi_ds_model::codec::{ReceiveResponse, Wire};
use mimi_ds_model::ds::workloads;
use std::hint::black_box;
use std::time::{Duration, Instant};

const MESSAGES: usize = 1_000;
const MESSAGE_LEN: usize = 1_024;
const RUNS: usize = 50;

fn main() {
    let input = workloads::receive_response_bytes(MESSAGES, MESSAGE_LEN);
    let decoded = ReceiveResponse::from_bytes(&input).expect("the benchmark input decodes");
    assert_eq!(decoded.epoch.messages.len(), MESSAGES);
    assert_eq!(
        decoded.to_bytes(),
        input,
        "the benchmark input is canonical"
    );

    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(ReceiveResponse::from_bytes(black_box(&input)).expect("decodes"));
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    let gib_per_s = input.len() as f64 / median.as_secs_f64() / f64::from(1u32 << 30);
    println!(
        "decode ReceiveResponse ({MESSAGES} PrivateMessages × {MESSAGE_LEN} B, {} bytes): \
         median {median:?} over {RUNS} runs (min {:?}, max {:?}) = {gib_per_s:.2} GiB/s (goal ≥ 1 GiB/s)",
        input.len(),
        times[0],
        times[RUNS - 1],
    );
}
