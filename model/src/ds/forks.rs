//! Draft §"Fork Termination": a fork is a partition holding two or more commits (errata
//! `errata/fork-detection`); each announced key starts its own branch; the hub may
//! terminate a partition at its discretion (`errata/terminate-branch-scope`), which blocks
//! sends to it but not reads (errata `errata/branch-terminated-sends`,
//! `errata/unknown-and-terminated-partition-reads`).
//!
//! This module owns termination and the "most recent partition" an external join goes to
//! (errata `errata/external-join-most-recent-partition`).

use super::partitions::Group;
use super::{Expectation, Outcome, Response, State};
use crate::codec::{ErrorCode, PartitionKey};
use crate::errata;
use crate::requirements as req;

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

/// Local control: terminate partition `key`. Whether and which partitions to terminate is
/// the hub's discretion (errata `errata/terminate-branch-scope`): the canonical answer
/// terminates any partition the hub holds, and declining with any error is accepted too.
pub(crate) fn terminate(state: &mut State, key: PartitionKey) -> Outcome {
    let requirements = [req::FORK_TERMINATION_MAY, req::FORK_TERMINATION_DISCRETION];
    let why = [
        errata::NO_HARD_RULES_VS_TERMINATION,
        errata::TERMINATE_BRANCH_SCOPE,
    ];
    let declined = |expect: Expectation| {
        let canonical = expect.canonical.clone();
        ErrorCode::ALL
            .into_iter()
            .filter(|code| Response::Error(*code) != canonical)
            .fold(expect, |e, code| {
                e.or_error(code, errata::TERMINATE_BRANCH_SCOPE)
            })
    };
    let Some(group_id) = state.partitions.index.get(&key).cloned() else {
        return Outcome::answer(declined(Expectation::error(
            ErrorCode::UnknownPartition,
            &requirements,
            &why,
        )));
    };
    let group = state
        .partitions
        .groups
        .get_mut(&group_id)
        .expect("indexed group");
    group.had_termination = true;
    group
        .partitions
        .get_mut(&key)
        .expect("indexed partition")
        .terminated = true;
    Outcome::answer(declined(Expectation::accepted(&requirements, &why)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::*;
    use crate::ds::{step, Input, Observed, Response};

    #[test]
    fn any_partition_may_be_terminated_or_the_termination_declined() {
        let state = hosting_hub();
        let terminate = |k| Input::TerminateBranch {
            partition_key: key(k),
        };
        let creation = step(&state, &terminate(0));
        assert_eq!(creation.expect.canonical, Response::Accepted);
        assert!(
            creation
                .next
                .partitions
                .partition(&key(0))
                .unwrap()
                .terminated
        );
        let declined = Observed {
            response: Response::Error(ErrorCode::PolicyRejected),
            outbound: vec![],
        };
        assert_eq!(checked(&state, &terminate(0), &declined), Ok(state.clone()));
        let unknown = step(&forked_hub(), &terminate(9));
        assert_eq!(
            unknown.expect.canonical,
            Response::Error(ErrorCode::UnknownPartition)
        );
        let accepted = Observed {
            response: Response::Accepted,
            outbound: vec![],
        };
        assert!(
            checked(&state, &terminate(9), &accepted).is_err(),
            "a key the hub never held cannot be terminated"
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
