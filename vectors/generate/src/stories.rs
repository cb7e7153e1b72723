//! The MLS histories the vectors replay, each played once by real clients and then sliced by
//! the scenario tables: a linear group history across three providers, the same with
//! encrypted handshakes, a fork of two commits in one epoch (one of them a ban), and the
//! KeyPackages of the RSP's users.
//!
//! This module owns who does what in MLS and in which order; `scenarios` owns which slices
//! become vectors and what the target is asked.

use crate::mls::{Client, Committed, Handshakes, Member};
use mimi_ds_model::codec::{
    Bytes, CommitData, ContentType, MlsMessage, PartitionKey, SendRequest, ServiceProviderId,
    WelcomeData,
};
use mimi_ds_model::ds::Input;
use mimi_ds_model::vectors::cast::{provider, FOLLOWER_B, FOLLOWER_C, HUB, OUTSIDER};
use openmls::prelude::KeyPackage;

pub const GROUP: &[u8] = b"mimi-group-1";
/// A group no hub in the vectors hosts.
pub const STRAY_GROUP: &[u8] = b"mimi-group-unknown";

/// One message a user hands to its provider for the group.
#[derive(Clone)]
pub struct Event {
    pub provider: ServiceProviderId,
    pub user: Bytes,
    pub request: SendRequest,
    /// A short name for comments: `bob's application message`, `carol's commit`.
    pub what: String,
}

impl Event {
    fn new(
        member: &Member,
        message: MlsMessage,
        partition_key: PartitionKey,
        commit_data: Option<CommitData>,
        what: &str,
    ) -> Self {
        Event {
            provider: member.provider().clone(),
            user: Bytes(member.client.identity.clone()),
            request: SendRequest {
                message,
                partition_key,
                commit_data,
            },
            what: format!(
                "{}'s {what}",
                String::from_utf8_lossy(&member.client.identity)
            ),
        }
    }

    fn commit(
        member: &Member,
        partition_key: PartitionKey,
        committed: &Committed,
        group_info: Option<MlsMessage>,
        what: &str,
    ) -> Self {
        let data = CommitData {
            next_partition_key: committed.next_partition_key,
            group_info,
            welcome_data: None,
        };
        Event::new(
            member,
            committed.commit.clone(),
            partition_key,
            Some(data),
            what,
        )
    }

    /// What the hub sees: its own user's message is local, a follower's arrives by Send.
    pub fn hub_input(&self) -> Input {
        if self.provider.as_str() == HUB {
            Input::LocalSend {
                user: self.user.clone(),
                request: self.request.clone(),
            }
        } else {
            Input::Send {
                from: self.provider.clone(),
                request: self.request.clone(),
            }
        }
    }

    pub fn is_commit(&self) -> bool {
        self.request.message.view.content_type == Some(ContentType::Commit)
    }
}

/// A group history: creation, the Welcome of the first commit, then messages and commits.
pub struct History {
    pub creation: PartitionKey,
    /// Every event, in the order the hub sequences them.
    pub events: Vec<Event>,
    /// The epoch keys in order: creation first, then each commit's next key; then the keys
    /// of rival branches.
    pub keys: Vec<PartitionKey>,
    /// The members at the end, for later joins and commits.
    pub members: Vec<Member>,
    /// A GroupInfo of the first epoch after creation, with its ratchet tree (stale by the end).
    pub stale_group_info: MlsMessage,
}

/// The first commit of a group: alice (on the hub) adds bob and carol with one Welcome.
pub struct Founding {
    pub alice: Member,
    pub committed: Committed,
    pub creation: PartitionKey,
    /// The joiners' KeyPackages as uploaded to their providers, in `secrets` order.
    pub key_packages: Vec<MlsMessage>,
    pub joiners: Vec<Client>,
}

/// The usual founding: bob on `b.example`, carol on `c.example`.
pub fn found(handshakes: Handshakes) -> Founding {
    found_with(JOINERS, handshakes)
}

/// Whom alice adds in the usual founding.
const JOINERS: &[(&str, &str)] = &[("bob", FOLLOWER_B), ("carol", FOLLOWER_C)];

pub fn found_with(joiners: &[(&str, &str)], handshakes: Handshakes) -> Founding {
    found_in(GROUP, joiners, handshakes)
}

/// A founding of the group `group_id`: workloads that host several real groups at one hub
/// need each its own id.
pub fn found_in(group_id: &[u8], joiners: &[(&str, &str)], handshakes: Handshakes) -> Founding {
    let joiners: Vec<Client> = joiners
        .iter()
        .map(|(name, domain)| Client::new(name, domain))
        .collect();
    let (packages, key_packages): (Vec<KeyPackage>, Vec<MlsMessage>) =
        joiners.iter().map(|c| c.key_package(false)).unzip();
    let mut alice = Client::new("alice", HUB).create_group(group_id, handshakes);
    let creation = alice.partition_key();
    let committed = alice.add(&packages);
    Founding {
        alice,
        committed,
        creation,
        key_packages,
        joiners,
    }
}

impl Founding {
    /// The founding commit's data: next key, GroupInfo, and the Welcome for `providers`.
    pub fn commit_data(&self, with_ratchet_tree: bool, providers: &[&str]) -> CommitData {
        CommitData {
            next_partition_key: self.committed.next_partition_key,
            group_info: Some(self.alice.group_info(with_ratchet_tree)),
            welcome_data: Some(WelcomeData {
                welcome: self
                    .committed
                    .welcome
                    .clone()
                    .expect("adds bring a Welcome"),
                service_providers: providers.iter().map(|p| provider(p)).collect(),
            }),
        }
    }

    pub fn event(&self, data: CommitData) -> Event {
        Event::new(
            &self.alice,
            self.committed.commit.clone(),
            self.creation,
            Some(data),
            "founding commit",
        )
    }
}

/// Alice founds the group; bob and carol join and chat; bob, then carol commit; each epoch
/// after the first holds application messages from both followers.
pub fn linear(handshakes: Handshakes) -> History {
    let epoch = |chat, committer| EpochShape {
        chat,
        committer,
        removes: false,
        rival: None,
    };
    shaped(
        handshakes,
        &[epoch(4, Some(1)), epoch(2, Some(2)), epoch(1, None)],
    )
}

/// One epoch of a history's shape, after the founding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochShape {
    /// Application messages, from the followers still in the main branch in turn.
    pub chat: usize,
    /// Who commits at the end of the epoch, if anyone: an index (modulo their number) into
    /// the members still in the main branch, alice first.
    pub committer: Option<usize>,
    /// Whether the commit removes a member (the first other than the committer) instead of
    /// updating; the removed member takes no further part.
    pub removes: bool,
    /// Another of those members who commits in the same epoch too, forking it (an index
    /// into the others left, modulo their number). It sends one message in its own branch
    /// and takes no further part.
    pub rival: Option<usize>,
}

/// A history of any shape: after the founding, per epoch, application messages, then a
/// commit (an update or a removal), and maybe a rival commit forking the epoch (see
/// [`EpochShape`]). Events are in
/// the order the hub sequences them: a rival's commit right after the one it competes with.
pub fn shaped(handshakes: Handshakes, epochs: &[EpochShape]) -> History {
    let founding = found(handshakes);
    let welcome = founding.committed.welcome.clone().expect("Welcome");
    let first = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let stale_group_info = founding.alice.group_info(true);
    let Founding {
        alice,
        committed,
        creation,
        joiners,
        ..
    } = founding;
    let mut members: Vec<Member> = vec![alice];
    members.extend(joiners.into_iter().map(|c| c.join(&welcome, handshakes)));
    let mut keys = vec![creation, committed.next_partition_key];
    let mut branches = Vec::new();
    let mut events = vec![first];
    for (epoch, shape) in epochs.iter().enumerate() {
        let key = *keys.last().expect("a current key");
        // The followers chat; alice only once no follower is left in the main branch.
        let followers: Vec<usize> = (0..members.len())
            .filter(|&i| members[i].provider().as_str() != HUB)
            .collect();
        let chatters = match followers.is_empty() {
            true => (0..members.len()).collect(),
            false => followers,
        };
        for n in 0..shape.chat {
            let sender = chatters[n % chatters.len()];
            let message = members[sender].application(&format!("epoch {} message {n}", epoch + 1));
            events.push(Event::new(
                &members[sender],
                message,
                key,
                None,
                "application message",
            ));
        }
        let Some(committer) = shape.committer.map(|c| c % members.len()) else {
            continue;
        };
        let mut others: Vec<usize> = (0..members.len()).filter(|&i| i != committer).collect();
        let removed = (shape.removes && !others.is_empty()).then(|| others.remove(0));
        let rival = shape
            .rival
            .filter(|_| !others.is_empty())
            .map(|r| others[r % others.len()]);
        let committed = match removed {
            Some(removed) => {
                let leaf = members[removed].leaf_index();
                members[committer].remove(leaf)
            }
            None => members[committer].update(),
        };
        let info = members[committer].group_info(true);
        events.push(Event::commit(
            &members[committer],
            key,
            &committed,
            Some(info),
            match removed {
                Some(_) => "removal commit",
                None => "update commit",
            },
        ));
        if let Some(rival) = rival {
            let rival = &mut members[rival];
            let rivalled = rival.update();
            let info = rival.group_info(true);
            events.push(Event::commit(
                rival,
                key,
                &rivalled,
                Some(info),
                "rival update commit",
            ));
            let message = rival.application(&format!("epoch {} in a rival branch", epoch + 1));
            events.push(Event::new(
                rival,
                message,
                rivalled.next_partition_key,
                None,
                "application message in its branch",
            ));
            branches.push(rivalled.next_partition_key);
        }
        let gone = |i: usize| Some(i) == rival || Some(i) == removed;
        for (i, other) in members.iter_mut().enumerate() {
            if i != committer && !gone(i) {
                other.process_commit(&committed.commit);
            }
        }
        // The rival and the removed member leave the main branch, the higher index first.
        let mut leaving: Vec<usize> = rival.into_iter().chain(removed).collect();
        leaving.sort_unstable_by(|a, b| b.cmp(a));
        for i in leaving {
            members.remove(i);
        }
        keys.push(committed.next_partition_key);
    }
    keys.extend(branches);
    History {
        creation,
        events,
        keys,
        members,
        stale_group_info,
    }
}

/// Two commits in one epoch: bob commits a ban of `mallory` (or a plain update), carol an
/// update; neither processes the other's, so each is in its own branch.
pub struct Fork {
    pub founding_event: Event,
    pub creation: PartitionKey,
    /// The epoch both commit in.
    pub base: PartitionKey,
    pub bob_commit: Event,
    pub carol_commit: Event,
    pub bob: Member,
    pub carol: Member,
}

pub fn fork(handshakes: Handshakes, bob_bans: Option<&[u8]>) -> Fork {
    fork_in(GROUP, handshakes, bob_bans)
}

/// The fork of [`fork`] in the group `group_id`.
pub fn fork_in(group_id: &[u8], handshakes: Handshakes, bob_bans: Option<&[u8]>) -> Fork {
    let founding = found_in(group_id, JOINERS, handshakes);
    let welcome = founding.committed.welcome.clone().expect("Welcome");
    let founding_event = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let base = founding.committed.next_partition_key;
    let creation = founding.creation;
    let mut joined = founding
        .joiners
        .into_iter()
        .map(|c| c.join(&welcome, handshakes));
    let (mut bob, mut carol) = (joined.next().expect("bob"), joined.next().expect("carol"));
    let bob_committed = match bob_bans {
        Some(identity) => bob.ban(&[identity]),
        None => bob.update(),
    };
    let bob_commit = Event::commit(
        &bob,
        base,
        &bob_committed,
        Some(bob.group_info(true)),
        if bob_bans.is_some() {
            "ban commit"
        } else {
            "update commit"
        },
    );
    let carol_committed = carol.update();
    let carol_commit = Event::commit(
        &carol,
        base,
        &carol_committed,
        Some(carol.group_info(true)),
        "update commit",
    );
    Fork {
        founding_event,
        creation,
        base,
        bob_commit,
        carol_commit,
        bob,
        carol,
    }
}

impl Fork {
    /// A commit by `member` in its branch adding a fresh user `identity`.
    pub fn add_in_branch(member: &mut Member, identity: &str) -> Event {
        let newcomer = Client::new(identity, FOLLOWER_C);
        let key = member.partition_key();
        let committed = member.add(&[newcomer.key_package(false).0]);
        let data = CommitData {
            next_partition_key: committed.next_partition_key,
            group_info: Some(member.group_info(true)),
            welcome_data: None,
        };
        Event::new(
            member,
            committed.commit.clone(),
            key,
            Some(data),
            &format!("commit adding {identity}"),
        )
    }

    /// An application message of `member` in its branch.
    pub fn chat_in_branch(member: &mut Member, text: &str) -> Event {
        let key = member.partition_key();
        let message = member.application(text);
        Event::new(member, message, key, None, "application message")
    }
}

/// An outsider's external join from `group_info`: the request and the joiner's next key.
pub fn external_join(
    group_info: &MlsMessage,
    identity: &str,
    handshakes: Handshakes,
) -> (Member, CommitData, MlsMessage) {
    let (joiner, commit) = Client::new(identity, OUTSIDER).join_externally(group_info, handshakes);
    let data = CommitData {
        next_partition_key: joiner.partition_key(),
        group_info: Some(joiner.group_info(true)),
        welcome_data: None,
    };
    (joiner, data, commit)
}

/// A member of a group no hub hosts, and one message of each content type from it.
pub fn stray_messages() -> Vec<(MlsMessage, Option<CommitData>, &'static str)> {
    let (application, commit, data, _) = stray_history();
    vec![
        (application, None, "an application message"),
        (commit, Some(data), "a commit"),
    ]
}

/// The commit of [`stray_messages`] with a GroupInfo that lacks the ratchet tree: a hub that
/// never saw the tree cannot infer it.
pub fn stray_commit_without_tree() -> (MlsMessage, CommitData) {
    let (_, commit, data, without_tree) = stray_history();
    let data = CommitData {
        group_info: Some(without_tree),
        ..data
    };
    (commit, data)
}

/// The stray group's application message, its commit with CommitData, and the GroupInfo
/// after the commit without the ratchet tree.
fn stray_history() -> (MlsMessage, MlsMessage, CommitData, MlsMessage) {
    let mut stray = Client::new("stray", FOLLOWER_B).create_group(STRAY_GROUP, Handshakes::Clear);
    let application = stray.application("to nowhere");
    let committed = stray.update();
    let data = CommitData {
        next_partition_key: committed.next_partition_key,
        group_info: Some(stray.group_info(true)),
        welcome_data: None,
    };
    let without_tree = stray.group_info(false);
    (application, committed.commit, data, without_tree)
}

/// A GroupInfo (with its ratchet tree) of a group no hub hosts.
pub fn stray_group_info() -> MlsMessage {
    Client::new("stray", FOLLOWER_B)
        .create_group(STRAY_GROUP, Handshakes::Clear)
        .group_info(true)
}

/// The users the RSP (`b.example`) serves and their uploads: one-time KeyPackages and a
/// last resort (if asked) of the default suite.
pub struct Uploads {
    pub users: Vec<(Bytes, Vec<MlsMessage>)>,
}

pub fn uploads(one_time: usize, last_resort: bool) -> Uploads {
    let users = ["bob", "beth"]
        .iter()
        .map(|name| {
            let client = Client::new(name, FOLLOWER_B);
            let mut packages: Vec<MlsMessage> =
                (0..one_time).map(|_| client.key_package(false).1).collect();
            if last_resort {
                packages.push(client.key_package(true).1);
            }
            (Bytes(name.as_bytes().to_vec()), packages)
        })
        .collect();
    Uploads { users }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimi_ds_model::ds::{apply, Response, State};

    /// A removal (bob removes alice) and a rival commit (carol's) in one epoch: both commits
    /// in that epoch's partition,
    /// the rival's message in its own branch, later epochs without the two who left, and a
    /// hub that takes every event in order.
    #[test]
    fn a_shape_with_a_removal_and_a_rival_forks_and_goes_on_without_them() {
        let shape = [
            EpochShape {
                chat: 2,
                committer: Some(1),
                removes: true,
                rival: Some(0),
            },
            EpochShape {
                chat: 2,
                committer: Some(0),
                removes: false,
                rival: None,
            },
        ];
        let history = shaped(Handshakes::Clear, &shape);
        let whats: Vec<&str> = history.events.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "alice's founding commit",
                "bob's application message",
                "carol's application message",
                "bob's removal commit",
                "carol's rival update commit",
                "carol's application message in its branch",
                "bob's application message",
                "bob's application message",
                "bob's update commit",
            ]
        );
        let epoch_1 = history.keys[1];
        assert_eq!(history.events[3].request.partition_key, epoch_1);
        assert_eq!(history.events[4].request.partition_key, epoch_1);
        // creation, epoch 1, bob's two commits' epochs, then the rival's branch.
        assert_eq!(history.keys.len(), 5);
        assert_eq!(
            history.events[5].request.partition_key,
            *history.keys.last().unwrap()
        );
        assert_eq!(history.events[6].request.partition_key, history.keys[2]);
        assert_eq!(history.members.len(), 1, "only bob is left");
        let mut hub = State::new(provider(HUB));
        let create = Input::CreateGroup {
            group_id: GROUP.into(),
            partition_key: history.creation,
        };
        for input in std::iter::once(create).chain(history.events.iter().map(Event::hub_input)) {
            let outcome = apply(&mut hub, &input);
            assert_eq!(outcome.expect.canonical, Response::Accepted, "{input:?}");
        }
    }
}
