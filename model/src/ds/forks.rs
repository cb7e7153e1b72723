//! Draft §"Fork Termination": a fork is a partition holding two or more commits (errata
//! `errata/fork-detection`); each announced key starts its own branch; the hub may
//! terminate a branch, which blocks sends to that partition but not reads (errata
//! `errata/branch-terminated-sends`, `errata/unknown-and-terminated-partition-reads`).
//!
//! This module owns termination and the "most recent partition" an external join goes to
//! (errata `errata/external-join-most-recent-partition`).

use super::partitions::Group;
use super::{Expectation, Outcome, State};
use crate::codec::{ErrorCode, PartitionKey};
use crate::errata;
use crate::requirements as req;

/// Whether `key` is a branch of a detected fork: announced by a commit in a partition that
/// holds more than one commit.
pub fn is_fork_branch(group: &Group, key: &PartitionKey) -> bool {
    let parent = group.partitions.get(key).and_then(|p| p.parent);
    parent
        .and_then(|p| group.partitions.get(&p))
        .is_some_and(|p| p.commits > 1)
}

/// The next key of the most recently sequenced commit whose partition is not terminated;
/// the creation partition if there is none.
pub fn most_recent_partition(group: &Group) -> PartitionKey {
    group
        .commits
        .iter()
        .rev()
        .map(|c| c.next)
        .find(|next| !group.partitions.get(next).is_some_and(|p| p.terminated))
        .unwrap_or(group.creation)
}

/// Local control: terminate the branch `key` of a detected fork.
pub(crate) fn terminate(state: &mut State, key: PartitionKey) -> Outcome {
    let requirements = [req::FORK_TERMINATION_MAY, req::FORK_TERMINATION_DISCRETION];
    let why = [
        errata::FORK_DETECTION,
        errata::NO_HARD_RULES_VS_TERMINATION,
        errata::TERMINATE_BRANCH_SCOPE,
    ];
    let Some(group_id) = state.partitions.index.get(&key).cloned() else {
        return Outcome::error(ErrorCode::UnknownPartition, &requirements, &why);
    };
    let group = state
        .partitions
        .groups
        .get_mut(&group_id)
        .expect("indexed group");
    if !is_fork_branch(group, &key) {
        return Outcome::error(ErrorCode::Malformed, &requirements, &why);
    }
    group
        .partitions
        .get_mut(&key)
        .expect("indexed partition")
        .terminated = true;
    Outcome::answer(Expectation::accepted(&requirements, &why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::*;
    use crate::ds::{step, Input, Response};

    #[test]
    fn only_a_branch_of_a_fork_can_be_terminated() {
        let mut state = hosting_hub();
        state = step(
            &state,
            &Op::Commit {
                from: 0,
                key: 0,
                next: 1,
                ban: false,
                add: false,
                welcome: None,
                tag: 1,
            }
            .input(),
        )
        .next;
        let early = step(
            &state,
            &Input::TerminateBranch {
                partition_key: key(1),
            },
        );
        assert_eq!(
            early.expect.canonical,
            Response::Error(ErrorCode::Malformed),
            "no fork yet"
        );
        let s = step(
            &forked_hub(),
            &Input::TerminateBranch {
                partition_key: key(1),
            },
        );
        assert_eq!(s.expect.canonical, Response::Accepted);
        let unknown = step(
            &forked_hub(),
            &Input::TerminateBranch {
                partition_key: key(9),
            },
        );
        assert_eq!(
            unknown.expect.canonical,
            Response::Error(ErrorCode::UnknownPartition)
        );
    }

    #[test]
    fn a_terminated_branch_refuses_sends_but_still_reads() {
        let mut state = step(
            &forked_hub(),
            &Op::App {
                from: 0,
                key: 1,
                tag: 7,
            }
            .input(),
        )
        .next;
        state = step(
            &state,
            &Input::TerminateBranch {
                partition_key: key(1),
            },
        )
        .next;
        let refused = step(
            &state,
            &Op::App {
                from: 0,
                key: 1,
                tag: 8,
            }
            .input(),
        );
        assert_eq!(
            refused.expect.canonical,
            Response::Error(ErrorCode::BranchTerminated)
        );
        let read = step(
            &state,
            &Op::Receive {
                from: 0,
                key: 1,
                counter: 0,
            }
            .input(),
        );
        assert!(
            matches!(read.expect.canonical, Response::Receive(ref r) if r.epoch.messages.len() == 1)
        );
    }

    #[test]
    fn the_most_recent_partition_skips_terminated_branches() {
        let mut state = forked_hub();
        let group = &state.partitions.groups[&group_id()];
        assert_eq!(most_recent_partition(group), key(2));
        state = step(
            &state,
            &Input::TerminateBranch {
                partition_key: key(2),
            },
        )
        .next;
        assert_eq!(
            most_recent_partition(&state.partitions.groups[&group_id()]),
            key(1)
        );
        assert_eq!(
            most_recent_partition(&hosting_hub().partitions.groups[&group_id()]),
            key(0)
        );
    }
}
