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
use mimi_ds_model::codec::{
    Bytes, CommitData, MlsMessage, PartitionKey, ReceiveRequest, SendRequest, ServiceProviderId,
};
use mimi_ds_model::ds::scenario::{numbered_key, Chain, Xorshift};
use mimi_ds_model::ds::Input;
use mimi_ds_model::vectors::trace::{self, CaseStep, Role, Target, TraceCase};
use std::time::Instant;

const GROUP: &[u8] = b"long-trace-group";

/// A QUIC variable-length integer, as MLS prefixes opaque vectors.
fn varint(n: usize, out: &mut Vec<u8>) {
    match n {
        0..=63 => out.push(n as u8),
        64..=16383 => out.extend_from_slice(&(0x4000 | n as u16).to_be_bytes()),
        _ => out.extend_from_slice(&(0x8000_0000 | n as u32).to_be_bytes()),
    }
}

/// A PrivateMessage of `content_type` (1 application, 3 commit) whose ciphertext is `n`.
fn private_message(epoch: u64, content_type: u8, n: u32) -> MlsMessage {
    let mut b = vec![0, 1, 0, 2];
    varint(GROUP.len(), &mut b);
    b.extend_from_slice(GROUP);
    b.extend_from_slice(&epoch.to_be_bytes());
    b.push(content_type);
    varint(0, &mut b);
    varint(4, &mut b);
    b.extend_from_slice(&[0x5e; 4]);
    let ciphertext = [&n.to_be_bytes()[..], &[0xc1; 60]].concat();
    varint(ciphertext.len(), &mut b);
    b.extend_from_slice(&ciphertext);
    MlsMessage::from_bytes(&b).expect("a well-formed PrivateMessage")
}

fn trace(steps: u32) -> TraceCase {
    let follower = ServiceProviderId::new("b.example").expect("valid domain");
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut chain = Chain::new(numbered_key(u32::MAX));
    let mut epoch = 0;
    let mut lengths = std::collections::BTreeMap::<PartitionKey, u32>::new();
    let mut inputs = vec![Input::CreateGroup {
        group_id: Bytes(GROUP.to_vec()),
        partition_key: chain.current,
    }];
    for n in 0..steps {
        let send = |message, partition_key, commit_data| Input::Send {
            from: follower.clone(),
            request: SendRequest {
                message,
                partition_key,
                commit_data,
            },
        };
        let input = match rng.below(100) {
            0..=69 => send(private_message(epoch, 1, n), chain.current, None),
            70..=79 => {
                let (at, next) = chain.commit(&mut rng, n);
                epoch += 1;
                let data = CommitData {
                    next_partition_key: next,
                    group_info: None,
                    welcome_data: None,
                };
                send(private_message(epoch - 1, 3, n), at, Some(data))
            }
            _ => {
                let len = lengths.get(&chain.current).copied().unwrap_or(0);
                Input::Receive {
                    from: follower.clone(),
                    request: ReceiveRequest {
                        partition_key: chain.current,
                        counter: len.saturating_sub(rng.below(4) as u32),
                    },
                }
            }
        };
        if let Input::Send { request, .. } = &input {
            *lengths.entry(request.partition_key).or_default() += 1;
        }
        inputs.push(input);
    }
    TraceCase {
        id: format!("bench/long-trace/{steps}"),
        comment: format!("{steps} sends, commits and reads against one hub"),
        target: Target {
            role: Role::Hub,
            provider: "hub.example".into(),
        },
        exercises: Vec::new(),
        steps: inputs.into_iter().map(CaseStep::from).collect(),
    }
}

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
        let test = trace::build(&trace(steps)).expect("the model builds the vector");
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
