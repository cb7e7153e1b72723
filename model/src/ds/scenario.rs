//! A small fixed configuration (one hub, two followers, a handful of partition keys) and
//! synthetic MLS messages for it, so properties, the exhaustive exploration, the benchmark
//! and unit tests drive the model with the same operations.
//!
//! The model reads only an MLSMessage's DS view, so these messages carry a view and opaque
//! bytes that tell them apart; they are not valid MLS.

use super::{Input, State};
use crate::codec::{
    Bytes, CommitData, ContentType, ExternalJoinRequest, MlsMessage, MlsView, PartitionKey,
    ProposalView, ReceiveRequest, SendRequest, SenderType, ServiceProviderId, WelcomeData,
    WireFormat,
};
use serde::{Deserialize, Serialize};

pub const GROUP: &[u8] = b"group-1";
/// The identity the scenario bans and adds.
pub const MALLORY: &[u8] = b"mallory";
pub const SUITE: u16 = 1;

pub fn group_id() -> Bytes {
    GROUP.into()
}

pub fn hub_id() -> ServiceProviderId {
    ServiceProviderId::new("hub.example").expect("valid domain")
}

/// Follower 0 or 1.
pub fn follower_id(index: u8) -> ServiceProviderId {
    ServiceProviderId::new(if index == 0 { "a.example" } else { "b.example" })
        .expect("valid domain")
}

pub fn key(index: u8) -> PartitionKey {
    PartitionKey([index.wrapping_add(0x10); 16])
}

/// [`check`](super::check) on a copy of `state`: the state after an acceptable answer, for
/// tests that keep the state before it.
pub fn checked(
    state: &State,
    input: &Input,
    observed: &super::Observed,
) -> Result<State, super::Violation> {
    let mut next = state.clone();
    super::check(&mut next, input, observed).map(|()| next)
}

pub fn hub_state() -> State {
    State::new(hub_id())
}

/// A hub hosting `GROUP` whose creation partition `key(0)` forked: two commits in it
/// announce `key(1)` and `key(2)`.
pub fn forked_hub() -> State {
    let mut state = hosting_hub();
    for (next, tag) in [(1, 1), (2, 2)] {
        let commit = Op::Commit {
            from: 0,
            key: 0,
            next,
            ban: false,
            add: false,
            welcome: None,
            tag,
        };
        state = super::step(&state, &commit.input()).next;
    }
    state
}

/// A hub hosting `GROUP` with creation partition `key(0)`.
pub fn hosting_hub() -> State {
    let mut state = hub_state();
    let created = super::step(
        &state,
        &Input::CreateGroup {
            group_id: GROUP.into(),
            partition_key: key(0),
        },
    );
    state = created.next;
    state
}

fn message(wire_format: WireFormat, tag: &[u8]) -> MlsMessage {
    MlsMessage {
        bytes: Bytes(tag.to_vec()),
        view: MlsView::empty(1, wire_format),
    }
}

fn tagged(kind: &str, tag: u32) -> Vec<u8> {
    let mut bytes = kind.as_bytes().to_vec();
    bytes.extend_from_slice(&tag.to_be_bytes());
    bytes
}

/// An application message (PrivateMessage) of `GROUP`.
pub fn application(tag: u32) -> MlsMessage {
    let mut m = message(WireFormat::PrivateMessage, &tagged("app", tag));
    m.view.group_id = Some(GROUP.into());
    m.view.content_type = Some(ContentType::Application);
    m
}

/// A member's commit in the clear (PublicMessage) carrying `proposals` by value.
pub fn commit(tag: u32, proposals: Vec<ProposalView>) -> MlsMessage {
    let mut m = message(WireFormat::PublicMessage, &tagged("commit", tag));
    m.view.group_id = Some(GROUP.into());
    m.view.content_type = Some(ContentType::Commit);
    m.view.sender_type = Some(SenderType::Member);
    m.view.proposals = proposals;
    m
}

pub fn external_commit(tag: u32) -> MlsMessage {
    let mut m = commit(tag, vec![ProposalView::ExternalInit]);
    m.bytes = Bytes(tagged("external", tag));
    m.view.sender_type = Some(SenderType::NewMemberCommit);
    m
}

pub fn group_info_message(tree_hash: u8, with_tree: bool) -> MlsMessage {
    let mut m = message(
        WireFormat::GroupInfo,
        &[b'g', tree_hash, u8::from(with_tree)],
    );
    m.view.group_id = Some(GROUP.into());
    m.view.tree_hash = Some(Bytes(vec![tree_hash]));
    m.view.has_ratchet_tree = Some(with_tree);
    m
}

pub fn welcome(refs: Vec<Bytes>) -> MlsMessage {
    let mut bytes = b"welcome".to_vec();
    refs.iter()
        .for_each(|r| bytes.extend_from_slice(r.as_slice()));
    let mut m = message(WireFormat::Welcome, &bytes);
    m.view.cipher_suite = Some(SUITE);
    m.view.new_members = Some(refs);
    m
}

pub fn key_package(suite: u16, tag: u32, last_resort: bool) -> MlsMessage {
    let mut m = message(WireFormat::KeyPackage, &tagged("kp", tag));
    m.view.cipher_suite = Some(suite);
    m.view.key_package_ref = Some(Bytes(tagged("ref", tag)));
    m.view.last_resort = last_resort;
    m
}

/// A GroupContextExtensions proposal whose ban extension lists `identities`.
pub fn ban(identities: &[&[u8]]) -> ProposalView {
    let mut w = crate::codec::Writer::default();
    w.vector(|w| identities.iter().for_each(|i| w.opaque(i)));
    ProposalView::GroupContextExtensions {
        extensions: vec![(super::BAN_EXTENSION_TYPE, Bytes(w.out))],
    }
}

pub fn add(identity: &[u8]) -> ProposalView {
    ProposalView::Add {
        key_package_ref: Bytes(identity.to_vec()),
        identity: identity.into(),
    }
}

pub fn send_request(
    message: MlsMessage,
    partition_key: PartitionKey,
    commit_data: Option<CommitData>,
) -> SendRequest {
    SendRequest {
        message,
        partition_key,
        commit_data,
    }
}

pub fn commit_data(next: PartitionKey) -> CommitData {
    CommitData {
        next_partition_key: next,
        group_info: None,
        welcome_data: None,
    }
}

/// One operation of the small configuration; indexes pick keys and followers, `tag` makes
/// messages distinct (the exhaustive exploration keeps it 0 to merge equal states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    App {
        from: u8,
        key: u8,
        tag: u32,
    },
    /// A commit in `key` announcing `next`; `ban` makes it ban MALLORY, `add` adds MALLORY,
    /// `welcome` sends a Welcome to that follower.
    Commit {
        from: u8,
        key: u8,
        next: u8,
        ban: bool,
        add: bool,
        welcome: Option<u8>,
        tag: u32,
    },
    ExternalJoin {
        from: u8,
        next: u8,
        tag: u32,
    },
    Receive {
        from: u8,
        key: u8,
        counter: u8,
    },
    Terminate {
        key: u8,
    },
    AnswerWelcome {
        follower: u8,
        accepted: bool,
    },
}

impl Op {
    /// The input the hub sees for this operation.
    pub fn input(&self) -> Input {
        match *self {
            Op::App { from, key: k, tag } => Input::Send {
                from: follower_id(from),
                request: send_request(application(tag), key(k), None),
            },
            Op::Commit {
                from,
                key: k,
                next,
                ban: with_ban,
                add: with_add,
                welcome: to,
                tag,
            } => {
                let mut proposals = Vec::new();
                if with_ban {
                    proposals.push(ban(&[MALLORY]));
                }
                if with_add {
                    proposals.push(add(MALLORY));
                }
                let mut data = commit_data(key(next));
                data.welcome_data = to.map(|f| WelcomeData {
                    welcome: welcome(vec![Bytes(tagged("ref", tag * 2 + u32::from(f)))]),
                    service_providers: vec![follower_id(f)],
                });
                Input::Send {
                    from: follower_id(from),
                    request: send_request(commit(tag, proposals), key(k), Some(data)),
                }
            }
            Op::ExternalJoin { from, next, tag } => Input::ExternalJoin {
                from: follower_id(from),
                request: ExternalJoinRequest {
                    message: external_commit(tag),
                    commit_data: commit_data(key(next)),
                },
            },
            Op::Receive {
                from,
                key: k,
                counter,
            } => Input::Receive {
                from: follower_id(from),
                request: ReceiveRequest {
                    partition_key: key(k),
                    counter: counter.into(),
                },
            },
            Op::Terminate { key: k } => Input::TerminateBranch {
                partition_key: key(k),
            },
            Op::AnswerWelcome { follower, accepted } => Input::WelcomeInitAnswered {
                provider: follower_id(follower),
                accepted,
                no_answer: None,
            },
        }
    }
}
