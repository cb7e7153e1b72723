//! Generated workloads for the benchmarks, as long as asked: a hub's trace for the model
//! alone, the same kind of trace as a replayable vector with decodable messages, and a large
//! ReceiveResponse for the decoder. Deterministic: the same size gives the same workload.

use super::scenario::{self, commit_data, external_commit, follower_id, hosting_hub, key};
use super::Input;
use crate::codec::{
    Bytes, CommitData, ContentType, ExternalJoinRequest, MlsMessage, PartitionKey, ReceiveRequest,
    SendRequest, ServiceProviderId, Writer,
};
use crate::vectors::trace::{CaseStep, Role, Target, TraceCase};

/// xorshift64: deterministic pseudo-random numbers for generated traces, with no dependency.
pub struct Xorshift(pub u64);

impl Xorshift {
    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The `n`th of as many distinct partition keys as a long generated trace needs.
pub fn numbered_key(n: u32) -> PartitionKey {
    let mut k = [0xa5; 16];
    k[..4].copy_from_slice(&n.to_be_bytes());
    PartitionKey(k)
}

/// The partition chain of a long generated trace: where sends go, and where commits land.
pub struct Chain {
    pub current: PartitionKey,
    previous: PartitionKey,
}

impl Chain {
    pub fn new(start: PartitionKey) -> Self {
        Chain {
            current: start,
            previous: start,
        }
    }

    /// Commit number `n`: the partition it lands in (one in ten the previous one, a fork)
    /// and the fresh key it announces, which becomes current.
    pub fn commit(&mut self, rng: &mut Xorshift, n: u32) -> (PartitionKey, PartitionKey) {
        let at = if rng.below(10) == 0 {
            self.previous
        } else {
            self.current
        };
        (at, self.advance(n))
    }

    /// Moves on to a fresh key, as an external commit does; returns it.
    pub fn advance(&mut self, n: u32) -> PartitionKey {
        self.previous = self.current;
        self.current = numbered_key(n);
        self.current
    }
}

/// A hub's workload of `steps` inputs, from [`hosting_hub`]: sends from both followers to the
/// current partition, commits to fresh keys (one in ten into the previous partition: a
/// fork), external joins, and reads at the counters a follower would hold (the model runs
/// once to know them). Synthetic messages: for the model alone, not for a DS over HTTP.
pub fn hub_trace(steps: usize) -> Vec<Input> {
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut state = hosting_hub();
    let mut chain = Chain::new(key(0));
    let mut inputs = Vec::with_capacity(steps);
    for n in 0..steps as u32 {
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
                    message: external_commit(n),
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
        super::apply(&mut state, &input);
        inputs.push(input);
    }
    inputs
}

/// The group of [`long_hub_case`].
const GROUP: &[u8] = b"long-trace-group";

/// A PrivateMessage of `content_type` in `epoch` whose ciphertext tells it apart as number `n`.
fn private_message(epoch: u64, content_type: ContentType, n: u32) -> MlsMessage {
    let ciphertext = [&n.to_be_bytes()[..], &[0xc1; 60]].concat();
    MlsMessage::private_message(GROUP, epoch, content_type, &ciphertext)
}

/// The same kind of workload as a replayable hub vector of `steps` steps after the group's
/// creation, for a DS over HTTP: sends from `b.example`, commits (forking one in ten) and
/// reads, with messages the codec decodes (PrivateMessages: the hub reads their headers only).
pub fn long_hub_case(steps: u32) -> TraceCase {
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
            0..=69 => send(
                private_message(epoch, ContentType::Application, n),
                chain.current,
                None,
            ),
            70..=79 => {
                let (at, next) = chain.commit(&mut rng, n);
                epoch += 1;
                let data = CommitData {
                    next_partition_key: next,
                    group_info: None,
                    welcome_data: None,
                };
                send(
                    private_message(epoch - 1, ContentType::Commit, n),
                    at,
                    Some(data),
                )
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

/// An MLSMessage holding a PrivateMessage (RFC 9420 §6.3) of exactly `len` bytes, its
/// ciphertext sized to fill what the header leaves.
fn private_message_of_len(index: usize, len: usize) -> Vec<u8> {
    /// Bytes a varint takes for `value` (RFC 9420 §2.1.2).
    fn varint_len(value: usize) -> usize {
        match value {
            0..=63 => 1,
            64..=16_383 => 2,
            _ => 4,
        }
    }
    let mut w = Writer::default();
    w.u16(1); // version mls10
    w.u16(2); // wire_format private_message
    w.opaque(b"benchmark-group-0001"); // group_id
    w.u64(7); // epoch
    w.u8(1); // content_type application
    w.opaque(b""); // authenticated_data
    w.opaque(&[0xa5; 32]); // encrypted_sender_data
    let left = len - w.out.len();
    let ciphertext_len = left - varint_len(left - varint_len(left));
    w.opaque(&vec![index as u8; ciphertext_len]);
    assert_eq!(
        w.out.len(),
        len,
        "the PrivateMessage layout must come to {len} bytes"
    );
    w.out
}

/// `ReceiveResponse { epoch: Epoch { messages }, hints: [] }` with `messages` PrivateMessages
/// of `len` bytes each, encoded: the follower's hot path for the decoder.
pub fn receive_response_bytes(messages: usize, len: usize) -> Vec<u8> {
    let mut w = Writer::default();
    w.vector(|w| (0..messages).for_each(|i| w.raw(&private_message_of_len(i, len))));
    w.vector(|_| {});
    w.out
}
