//! Decode throughput of a ReceiveResponse holding 1 000 PrivateMessages of 1 KiB each — the
//! follower's hot path. Goal: at least 1 GiB/s in release builds.
//!
//! `cargo bench -p mimi-ds-model --bench decode_receive_response` prints the median over
//! `RUNS` decodes. A measurement, not a test: it never fails on a slow machine.

use mimi_ds_model::codec::{ReceiveResponse, Wire, Writer};
use std::hint::black_box;
use std::time::{Duration, Instant};

const MESSAGES: usize = 1_000;
const MESSAGE_LEN: usize = 1_024;
const RUNS: usize = 50;

/// Bytes a varint takes for `value` (RFC 9420 §2.1.2).
fn varint_len(value: usize) -> usize {
    match value {
        0..=63 => 1,
        64..=16_383 => 2,
        _ => 4,
    }
}

/// An MLSMessage holding a PrivateMessage (RFC 9420 §6.3) of exactly `MESSAGE_LEN` bytes, its
/// ciphertext sized to fill what the header leaves.
fn private_message(index: usize) -> Vec<u8> {
    let mut w = Writer::default();
    w.u16(1); // version mls10
    w.u16(2); // wire_format private_message
    w.opaque(b"benchmark-group-0001"); // group_id
    w.u64(7); // epoch
    w.u8(1); // content_type application
    w.opaque(b""); // authenticated_data
    w.opaque(&[0xa5; 32]); // encrypted_sender_data
    let left = MESSAGE_LEN - w.out.len();
    let ciphertext_len = left - varint_len(left - varint_len(left));
    w.opaque(&vec![index as u8; ciphertext_len]);
    assert_eq!(
        w.out.len(),
        MESSAGE_LEN,
        "the PrivateMessage layout must come to 1 KiB"
    );
    w.out
}

/// `ReceiveResponse { epoch: Epoch { messages }, hints: [] }` with `MESSAGES` messages.
fn receive_response() -> Vec<u8> {
    let mut w = Writer::default();
    w.vector(|w| (0..MESSAGES).for_each(|i| w.raw(&private_message(i))));
    w.vector(|_| {});
    w.out
}

fn main() {
    let input = receive_response();
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
