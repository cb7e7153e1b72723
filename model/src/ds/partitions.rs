//! Draft §"Partition Keys" and the hub's sequencing: per group, one ordered log per
//! partition key, the chain of partitions that commits announce, and the global index from
//! partition key to group (a ReceiveRequest names no group: errata
//! `errata/receive-by-partition-key-alone`).
//!
//! This module owns the logs and nothing else decides where a message lands: `sending` and
//! `external_joins` choose the partition, `sequence` appends.

use super::{digest, Digest, Expectation, Outcome, State};
use crate::codec::{
    Bytes, ErrorCode, Message, MessageCommitData, MlsMessage, PartitionKey, ServiceProviderId,
};
use crate::errata;
use crate::requirements as req;
use imbl::shared_ptr::DefaultSharedPtr;
use imbl::{GenericHashMap, OrdMap, OrdSet, Vector};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// The groups a hub hosts. Everything that grows with the trace is a persistent structure,
/// so a copy of the state (to judge an answer against the state before it) costs O(1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Partitions {
    pub groups: OrdMap<Bytes, Group>,
    /// Partition key → the group whose partition it is (the first group that used it).
    pub index: OrdMap<PartitionKey, Bytes>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Group {
    /// The partition of epoch 0, given at creation (errata `errata/group-creation-local`).
    pub creation: PartitionKey,
    pub partitions: OrdMap<PartitionKey, Partition>,
    /// Every commit of the group in sequencing order.
    pub commits: Vector<CommitRecord>,
    /// Tree hashes of GroupInfos that came with a ratchet tree: the trees this hub can infer.
    pub known_trees: OrdSet<Bytes>,
    /// SHA-256 of each sequenced message → the partition and position of each time it was
    /// sequenced (a repeated send is sequenced again), so a message is found without a scan.
    pub sequenced: Sequenced,
    /// SHA-256 of each partition key → the key: commits and hints name partitions by it.
    /// Kept as fixed-size digests, not byte strings: comparing them reads no other memory.
    pub masked_keys: OrdMap<Digest, PartitionKey>,
    /// Whether a partition of the group was ever terminated: only then can a send's chain
    /// of ancestors pass through a terminated branch, so only then is it walked.
    pub had_termination: bool,
    /// Providers with a reason to hold a member, the only ones a push of the group's
    /// messages may go to (errata `errata/push-recipients`).
    pub participants: BTreeSet<ServiceProviderId>,
}

impl Group {
    /// The partition of this group whose masked key is `mask`.
    pub fn by_mask(&self, mask: &Bytes) -> Option<(&PartitionKey, &Partition)> {
        let key = self.masked_keys.get(&Digest::of_slice(mask.as_slice())?)?;
        Some((key, &self.partitions[key]))
    }

    /// Where `message` was sequenced: each partition and position, in sequencing order.
    pub fn places_of(&self, message: &MlsMessage) -> &[(PartitionKey, u32)] {
        self.places(&digest(&message.bytes.0))
    }

    /// Where the message with SHA-256 `digest` was sequenced.
    pub fn places(&self, digest: &Digest) -> &[(PartitionKey, u32)] {
        self.sequenced.0.get(digest).map_or(&[], Places::as_slice)
    }

    /// Whether a partition whose commits led to `key` is terminated.
    pub fn descends_from_terminated(&self, key: &PartitionKey) -> bool {
        self.had_termination
            && self
                .ancestors(key)
                .iter()
                .any(|k| self.partitions.get(k).is_some_and(|p| p.terminated))
    }

    /// The partitions whose commits led to `key`, nearest first (parent, grandparent…).
    pub fn ancestors(&self, key: &PartitionKey) -> Vec<PartitionKey> {
        let mut chain: Vec<PartitionKey> = Vec::new();
        let mut current = self.partitions.get(key).and_then(|p| p.parent);
        while let Some(k) = current.filter(|k| k != key && !chain.contains(k)) {
            chain.push(k);
            current = self.partitions.get(&k).and_then(|p| p.parent);
        }
        chain
    }

    /// Whether `key` was announced by an external commit sequenced in its parent partition.
    pub fn created_by_external_commit(&self, key: &PartitionKey) -> bool {
        self.partitions
            .get(key)
            .is_some_and(|p| self.announced_externally(p))
    }

    /// Whether `partition` of this group was announced by an external commit sequenced in its
    /// parent partition.
    pub(crate) fn announced_externally(&self, partition: &Partition) -> bool {
        let Some(parent) = partition.parent.and_then(|k| self.partitions.get(&k)) else {
            return false;
        };
        parent.external.iter().any(|&i| {
            parent
                .log
                .get(i as usize)
                .and_then(|m| m.commit.as_ref())
                .is_some_and(|c| c.next_partition_key == partition.masked)
        })
    }
}

/// Where each message was sequenced, by SHA-256 of its bytes. A hash map rather than a B-tree:
/// every send inserts a digest that falls anywhere, which in a B-tree of 16-entry nodes walks
/// four levels comparing 32-byte keys and shifts half a leaf, and was the largest single cost
/// of checking a long trace; here the digest's own bits pick the way down. Its order is
/// nobody's concern: it hashes and serializes as the digests sort.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequenced(
    pub GenericHashMap<Digest, Places, BuildHasherDefault<DigestHasher>, DefaultSharedPtr>,
);

/// The places of one message, in sequencing order. Nearly every message is sequenced once:
/// that place is kept inline, so a send allocates nothing for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Places {
    One([(PartitionKey, u32); 1]),
    Many(Vec<(PartitionKey, u32)>),
}

impl Places {
    pub fn as_slice(&self) -> &[(PartitionKey, u32)] {
        match self {
            Places::One(place) => place,
            Places::Many(places) => places,
        }
    }
}

impl Sequenced {
    /// Records that the message with SHA-256 `digest` was sequenced at `place`; whether it had
    /// been sequenced to the same partition before (a byte-identical retry). Nearly every
    /// message is new: it is inserted at once, and only a repeat puts back the places it had,
    /// this one after them.
    fn record(&mut self, digest: Digest, place: (PartitionKey, u32)) -> bool {
        let Some(earlier) = self.0.insert(digest, Places::One([place])) else {
            return false;
        };
        let mut places = earlier.as_slice().to_vec();
        let retry = places.iter().any(|(k, _)| *k == place.0);
        places.push(place);
        self.0.insert(digest, Places::Many(places));
        retry
    }

    /// The entries in the digests' order.
    fn sorted(&self) -> Vec<(&Digest, &[(PartitionKey, u32)])> {
        let mut entries: Vec<_> = self.0.iter().map(|(d, p)| (d, p.as_slice())).collect();
        entries.sort_unstable_by_key(|(d, _)| *d);
        entries
    }
}

impl Hash for Sequenced {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.sorted().hash(state);
    }
}

impl Serialize for Sequenced {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.sorted())
    }
}

impl<'de> Deserialize<'de> for Sequenced {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<Digest, Vec<(PartitionKey, u32)>>::deserialize(d)?;
        Ok(Sequenced(
            entries
                .into_iter()
                .map(|(d, places)| match <[_; 1]>::try_from(places) {
                    Ok(one) => (d, Places::One(one)),
                    Err(many) => (d, Places::Many(many)),
                })
                .collect(),
        ))
    }
}

/// Hashes what it is given by folding eight bytes at a time, FxHash's way: for a SHA-256
/// digest, whose bytes are already uniform, that is all a hash map needs.
#[derive(Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

/// Whether `log` begins with the messages of `prefix`, in order.
pub fn starts_with<'a>(log: &Log, prefix: impl ExactSizeIterator<Item = &'a Message>) -> bool {
    prefix.len() <= log.len() && log.iter().zip(prefix).all(|(a, b)| **a == *b)
}

/// A partition's messages in sequencing order. Each is shared, not stored inline: the
/// vector's chunks stay small (64 pointers) for the many short partitions of a long trace,
/// and copying a chunk under a snapshot copies pointers, not messages.
pub type Log = Vector<Arc<Message>>;

/// The messages of `log` as a ReceiveResponse carries them.
pub fn to_vec(log: &Log) -> Vec<Message> {
    log.iter().map(|m| Message::clone(m)).collect()
}

/// One sequenced commit: where it went and what it announced.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitRecord {
    pub partition: PartitionKey,
    pub next: PartitionKey,
    pub group_info: Option<MlsMessage>,
}

/// One partition: the messages sent to one key, and where the key came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Partition {
    /// SHA-256 of the key (errata `errata/masked-partition-key-hash`), kept for hints.
    pub masked: Bytes,
    /// In sequencing order, exactly as a ReceiveResponse relays them.
    pub log: Log,
    /// Which entries of `log` arrived as ExternalJoinRequests.
    pub external: BTreeSet<u32>,
    /// The partition whose commit announced this key; `None` for the creation partition and
    /// for keys first seen in a send.
    pub parent: Option<PartitionKey>,
    /// Identities banned in this fork (`policy`), inherited along the chain.
    pub bans: BTreeSet<Bytes>,
    pub terminated: bool,
    /// Commits sequenced here: two or more make a fork (errata `errata/fork-detection`).
    pub commits: u32,
}

impl Partition {
    /// `masked` as the digest it is.
    fn mask(&self) -> Digest {
        Digest::of_slice(self.masked.as_slice()).expect("a mask is SHA-256")
    }

    /// The messages from `counter` on; none past the end.
    pub fn suffix(&self, counter: u32) -> Log {
        self.log.skip((counter as usize).min(self.log.len()))
    }

    fn new(key: &PartitionKey, parent: Option<PartitionKey>, bans: BTreeSet<Bytes>) -> Self {
        Self::with_mask(key.masked(), parent, bans)
    }

    /// A new partition whose key's mask is `masked`.
    fn with_mask(masked: Bytes, parent: Option<PartitionKey>, bans: BTreeSet<Bytes>) -> Self {
        Partition {
            masked,
            log: Vector::new(),
            external: BTreeSet::new(),
            parent,
            bans,
            terminated: false,
            commits: 0,
        }
    }
}

/// A message on its way into a log.
pub(crate) struct Arrival<'a> {
    /// The provider that sent it, which takes part in the group from now on; `None` for a
    /// local user's message.
    pub sender: Option<&'a ServiceProviderId>,
    pub message: &'a MlsMessage,
    /// SHA-256 of the message's bytes, computed once per send.
    pub digest: Digest,
    /// For a commit: its next key, GroupInfo and the bans its fork has after it.
    pub commit: Option<(PartitionKey, Option<&'a MlsMessage>, BTreeSet<Bytes>)>,
    pub external: bool,
}

impl Partitions {
    /// The group and partition a key names, if the hub has seen the key.
    pub fn find(&self, key: &PartitionKey) -> Option<(&Bytes, &Group, &Partition)> {
        let group_id = self.index.get(key)?;
        let group = &self.groups[group_id];
        Some((group_id, group, &group.partitions[key]))
    }

    pub fn partition(&self, key: &PartitionKey) -> Option<&Partition> {
        self.find(key).map(|(_, _, p)| p)
    }

    /// Records that `provider` has a reason to hold a member of the group owning `key`.
    pub(crate) fn add_participant(&mut self, key: &PartitionKey, provider: &ServiceProviderId) {
        if let Some(group_id) = self.index.get(key) {
            Self::participate(&mut self.groups, group_id, provider);
        }
    }

    /// Records that `provider` has a reason to hold a member of `group_id`.
    pub(crate) fn add_group_participant(&mut self, group_id: &Bytes, provider: &ServiceProviderId) {
        Self::participate(&mut self.groups, group_id, provider);
    }

    /// Adds `provider` to the participants of `group_id` unless it is one already: nearly
    /// every request comes from one, and neither the id nor the group is copied for it.
    fn participate(
        groups: &mut OrdMap<Bytes, Group>,
        group_id: &Bytes,
        provider: &ServiceProviderId,
    ) {
        let known = groups
            .get(group_id)
            .is_none_or(|g| g.participants.contains(provider));
        if let (false, Some(group)) = (known, groups.get_mut(group_id)) {
            group.participants.insert(provider.clone());
        }
    }

    /// The group a message to `key` of `group_id` lands in when it is another: the key's
    /// owner if the key is known (one key, one partition); `None` when it is the named group.
    pub(crate) fn other_owner(&self, group_id: &Bytes, key: &PartitionKey) -> Option<Bytes> {
        self.index
            .get(key)
            .filter(|owner| *owner != group_id)
            .cloned()
    }

    /// Appends to the partition `key` of `group_id`, creating it if the key is new (a send to
    /// a key never seen is sequenced: errata `errata/no-hard-rules-vs-termination`). Returns
    /// whether the same message had been sequenced to `key` before (a byte-identical retry),
    /// known from the one traversal of `sequenced` that records where it went.
    pub(crate) fn sequence(
        &mut self,
        group_id: &Bytes,
        key: PartitionKey,
        arrival: Arrival<'_>,
    ) -> bool {
        let group = self
            .groups
            .get_mut(group_id)
            .expect("sequencing into a hosted group");
        if let Some(sender) = arrival.sender.filter(|p| !group.participants.contains(*p)) {
            group.participants.insert(sender.clone());
        }
        // (imbl's `entry` looks the key up twice, and twice more to insert.)
        let partition = match group.partitions.get_mut(&key) {
            // A partition the group had is in the index already: whatever made it put it there.
            Some(partition) => partition,
            None => {
                let partition = Partition::new(&key, None, BTreeSet::new());
                group.masked_keys.insert(partition.mask(), key);
                group.partitions.insert(key, partition);
                if !self.index.contains_key(&key) {
                    self.index.insert(key, group_id.clone());
                }
                group.partitions.get_mut(&key).expect("inserted above")
            }
        };
        if arrival.external {
            partition.external.insert(partition.log.len() as u32);
        }
        let next_masked = arrival.commit.as_ref().map(|(next, _, _)| next.masked());
        let commit =
            arrival
                .commit
                .as_ref()
                .zip(next_masked.clone())
                .map(|((_, group_info, _), masked)| MessageCommitData {
                    next_partition_key: masked,
                    group_info: group_info.cloned(),
                });
        let place = (key, partition.log.len() as u32);
        let retry = group.sequenced.record(arrival.digest, place);
        partition.log.push_back(Arc::new(Message {
            message: arrival.message.clone(),
            commit,
        }));
        let Some((next, group_info, bans)) = arrival.commit else {
            return retry;
        };
        partition.commits += 1;
        group.commits.push_back(CommitRecord {
            partition: key,
            next,
            group_info: group_info.cloned(),
        });
        if let Some(info) = group_info.filter(|g| g.view.has_ratchet_tree == Some(true)) {
            if let Some(hash) = &info.view.tree_hash {
                group.known_trees.insert(hash.clone());
            }
        }
        // The first commit to announce a key places it in the chain; a key first seen in a
        // send has no parent yet and is adopted.
        match group.partitions.get_mut(&next) {
            Some(existing) if existing.parent.is_none() && next != group.creation => {
                existing.parent = Some(key);
                existing.bans = bans;
            }
            Some(_) => {}
            None => {
                if !self.index.contains_key(&next) {
                    self.index.insert(next, group_id.clone());
                    let masked = next_masked.expect("a commit's mask");
                    group
                        .masked_keys
                        .insert(Digest::of_slice(masked.as_slice()).expect("SHA-256"), next);
                    group
                        .partitions
                        .insert(next, Partition::with_mask(masked, Some(key), bans));
                }
            }
        }
        retry
    }
}

/// Local control: the hub creates a group with its epoch-0 partition.
pub(crate) fn create_group(state: &mut State, group_id: &Bytes, key: PartitionKey) -> Outcome {
    const WHY: &[errata::ErratumId] =
        &[errata::GROUP_CREATION_LOCAL, errata::CREATE_GROUP_DUPLICATE];
    let partitions = &mut state.partitions;
    if partitions.groups.contains_key(group_id) || partitions.index.contains_key(&key) {
        return Outcome::error(ErrorCode::Malformed, &[req::FLOW_CREATE_WITH_LSP], WHY);
    }
    let mut group = Group {
        creation: key,
        partitions: OrdMap::new(),
        commits: Vector::new(),
        known_trees: OrdSet::new(),
        sequenced: Sequenced::default(),
        masked_keys: OrdMap::new(),
        had_termination: false,
        participants: BTreeSet::new(),
    };
    let creation = Partition::new(&key, None, BTreeSet::new());
    group.masked_keys.insert(creation.mask(), key);
    group.partitions.insert(key, creation);
    partitions.groups.insert(group_id.clone(), group);
    partitions.index.insert(key, group_id.clone());
    Outcome::answer(Expectation::accepted(&[req::FLOW_CREATE_WITH_LSP], WHY))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::{application, commit, key, GROUP};

    fn hub() -> Partitions {
        let mut state = crate::ds::scenario::hub_state();
        create_group(&mut state, &GROUP.into(), key(0));
        state.partitions
    }

    #[test]
    fn commits_chain_partitions_and_keep_order() {
        let mut p = hub();
        let group: Bytes = GROUP.into();
        let first = application(1);
        p.sequence(
            &group,
            key(0),
            Arrival {
                sender: None,
                message: &first,
                digest: digest(&first.bytes.0),
                commit: None,
                external: false,
            },
        );
        let c = commit(2, vec![]);
        p.sequence(
            &group,
            key(0),
            Arrival {
                sender: None,
                message: &c,
                digest: digest(&c.bytes.0),
                commit: Some((key(1), None, BTreeSet::new())),
                external: false,
            },
        );
        let log = &p.partition(&key(0)).unwrap().log;
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].message, first);
        assert_eq!(
            log[1].commit.as_ref().unwrap().next_partition_key,
            key(1).masked()
        );
        assert_eq!(p.partition(&key(1)).unwrap().parent, Some(key(0)));
        assert_eq!(p.index[&key(1)], group);
    }

    #[test]
    fn a_key_seen_first_in_a_send_is_adopted_by_the_commit_announcing_it() {
        let mut p = hub();
        let group: Bytes = GROUP.into();
        let early = application(1);
        p.sequence(
            &group,
            key(2),
            Arrival {
                sender: None,
                message: &early,
                digest: digest(&early.bytes.0),
                commit: None,
                external: false,
            },
        );
        assert_eq!(p.partition(&key(2)).unwrap().parent, None);
        let c = commit(2, vec![]);
        let bans: BTreeSet<Bytes> = [Bytes::from(&b"mallory"[..])].into();
        p.sequence(
            &group,
            key(0),
            Arrival {
                sender: None,
                message: &c,
                digest: digest(&c.bytes.0),
                commit: Some((key(2), None, bans.clone())),
                external: false,
            },
        );
        let adopted = p.partition(&key(2)).unwrap();
        assert_eq!(adopted.parent, Some(key(0)));
        assert_eq!(adopted.bans, bans);
        assert_eq!(adopted.log.len(), 1, "adoption keeps what was sequenced");
    }

    proptest::proptest! {
        /// Comparing digests as numbers orders them as their bytes, as `masked_keys` lists them.
        #[test]
        fn digests_order_as_their_bytes(
            a in proptest::prelude::any::<[u8; 32]>(),
            b in proptest::prelude::any::<[u8; 32]>(),
            at in 0..32usize,
        ) {
            proptest::prop_assert_eq!(Digest(a).cmp(&Digest(b)), a.cmp(&b));
            // Digests equal up to one byte, where random ones rarely are.
            let mut near = a;
            near[at] = b[at];
            proptest::prop_assert_eq!(Digest(a).cmp(&Digest(near)), a.cmp(&near));
        }
    }

    #[test]
    fn creating_a_group_twice_is_refused() {
        let mut state = crate::ds::scenario::hub_state();
        assert!(!create_group(&mut state, &GROUP.into(), key(0))
            .expect
            .is_error());
        assert!(create_group(&mut state, &GROUP.into(), key(5))
            .expect
            .is_error());
        assert!(create_group(&mut state, &b"other"[..].into(), key(0))
            .expect
            .is_error());
    }
}
