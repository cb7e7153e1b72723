//! Bounded exhaustive exploration: every sequence of operations of a small configuration
//! (one group, two followers, three partition keys), breadth first, so the first
//! counterexample found is a shortest one.
//!
//! Each transition of the explored model is judged twice: by [`check`] (is what the model
//! answered and called acceptable to the reference?) and by invariants over the next state
//! (order kept, counters skip exactly, canonical hints pass the relation, masks right,
//! terminated partitions never grow, nothing sequenced is lost, no banned Add in its fork).
//! The explored DS is anything implementing [`Model`]: the [`Reference`](super::Reference), or one of the
//! reference DS's mutants (the same planted bugs its `--mutant` option serves), which their
//! tests explore to show each is found with a shortest counterexample.

use super::partitions::starts_with;
use super::scenario::{hosting_hub, Op};
use super::{check, Input, Model, Observed, Outbound, Response, State, Violation};
use crate::codec::{ProposalView, ReceiveRequest};
use crate::requirements::{self as req, ReqId};
use serde::Serialize;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// The operations explored: sends to each key, commits forking key 0, a ban in one fork
/// and an Add of the banned identity in another, a Welcome, an external join, reads,
/// termination and WelcomeInit answers. Tags are 0 so equal histories merge.
pub fn alphabet() -> Vec<Op> {
    let commit = |key, next, ban, add, welcome| Op::Commit {
        from: 0,
        key,
        next,
        ban,
        add,
        welcome,
        tag: 0,
    };
    let mut ops: Vec<Op> = (0..3)
        .map(|k| Op::App {
            from: 0,
            key: k,
            tag: 0,
        })
        .collect();
    ops.extend([
        commit(0, 1, false, false, None),
        commit(0, 2, false, false, None),
        commit(0, 1, true, false, None),
        commit(1, 2, false, true, None),
        commit(2, 1, false, true, None),
        commit(0, 1, false, false, Some(1)),
        Op::ExternalJoin {
            from: 1,
            next: 2,
            tag: 0,
        },
        Op::Terminate { key: 1 },
        Op::AnswerWelcome {
            follower: 1,
            accepted: true,
        },
    ]);
    for k in 0..3 {
        for counter in 0..2 {
            ops.push(Op::Receive {
                from: 1,
                key: k,
                counter,
            });
        }
    }
    ops
}

/// A failing operation sequence and what it broke.
#[derive(Debug, Serialize)]
pub struct Counterexample {
    pub ops: Vec<Op>,
    pub violation: Violation,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// Distinct states reached, the initial one included.
    pub states: usize,
    pub transitions: usize,
    pub depth: usize,
    pub counterexample: Option<Counterexample>,
}

/// Explores every sequence of `alphabet()` up to `depth` operations from a hub hosting the
/// group; stops at the first (hence shortest) counterexample.
pub fn explore(model: &dyn Model, depth: usize) -> Report {
    let ops = alphabet();
    let start = hosting_hub();
    let mut seen: HashSet<u64> = HashSet::from([fingerprint(&start)]);
    let mut frontier: Vec<(State, Vec<Op>)> = vec![(start, Vec::new())];
    let mut transitions = 0;
    for level in 0..depth {
        let mut next_frontier = Vec::new();
        for (state, path) in &frontier {
            for op in &ops {
                transitions += 1;
                let input = op.input();
                let mut next = state.clone();
                let observed = model.apply(&mut next, &input);
                let judged = check(&mut state.clone(), &input, &observed)
                    .and_then(|_| invariants(state, &input, &next, &observed));
                if let Err(violation) = judged {
                    let mut ops = path.clone();
                    ops.push(*op);
                    return Report {
                        states: seen.len(),
                        transitions,
                        depth: level + 1,
                        counterexample: Some(Counterexample { ops, violation }),
                    };
                }
                if seen.insert(fingerprint(&next)) && level + 1 < depth {
                    let mut longer = path.clone();
                    longer.push(*op);
                    next_frontier.push((next, longer));
                }
            }
        }
        frontier = next_frontier;
    }
    Report {
        states: seen.len(),
        transitions,
        depth,
        counterexample: None,
    }
}

fn fingerprint(state: &State) -> u64 {
    let mut h = DefaultHasher::new();
    state.hash(&mut h);
    h.finish()
}

fn broken(requirements: &[ReqId], expected: &str, observed: String, because: String) -> Violation {
    Violation {
        requirements: requirements.to_vec(),
        errata: vec![],
        expected: expected.into(),
        observed,
        because: vec![because],
    }
}

/// What must hold of every transition, whatever the model answered.
pub fn invariants(
    before: &State,
    input: &Input,
    after: &State,
    observed: &Observed,
) -> Result<(), Violation> {
    let count = |st: &State| -> usize {
        st.partitions
            .groups
            .values()
            .flat_map(|g| g.partitions.values())
            .map(|p| p.log.len())
            .sum()
    };
    let sequenced = matches!(
        input,
        Input::Send { .. } | Input::ExternalJoin { .. } | Input::LocalSend { .. }
    ) && observed.response == Response::Accepted
        && observed
            .outbound
            .iter()
            .all(|c| !matches!(c, Outbound::Send { .. }));
    let expected_count = count(before) + usize::from(sequenced);
    if count(after) != expected_count {
        return Err(broken(
            &[
                req::SEND_SEQUENCED_TO_PARTITION,
                req::HUB_SEQUENCES_AND_FANS_OUT,
            ],
            "every accepted message sequenced once, nothing else lost or added",
            format!("{} message(s) held", count(after)),
            format!(
                "{} were held before and the input sequences {}",
                count(before),
                usize::from(sequenced)
            ),
        ));
    }
    for (group_before, group_after) in before
        .partitions
        .groups
        .values()
        .zip(after.partitions.groups.values())
    {
        for (k, p) in &group_before.partitions {
            let now = &group_after.partitions[k];
            if !starts_with(&now.log, p.log.iter().map(|m| &**m)) {
                return Err(broken(
                    &[req::RECEIVE_SEQUENCING_ORDER],
                    "logs only grow at the end",
                    "a log changed".into(),
                    format!("partition {}… was rewritten", super::short(k)),
                ));
            }
            if p.terminated && now.log.len() != p.log.len() {
                return Err(broken(
                    &[req::FORK_TERMINATION_BLOCKS_SENDS],
                    "a terminated partition never grows",
                    format!("{} message(s)", now.log.len()),
                    format!(
                        "partition {}… was terminated with {} message(s)",
                        super::short(k),
                        p.log.len()
                    ),
                ));
            }
        }
    }
    for (group_id, group) in &after.partitions.groups {
        let old = before.partitions.groups.get(group_id);
        let unchanged = |k: &crate::codec::PartitionKey, p: &super::Partition| {
            old.and_then(|g| g.partitions.get(k)) == Some(p)
        };
        // Only partitions that changed, and the parents that hint them, can read differently.
        let touched: Vec<_> = group
            .partitions
            .iter()
            .filter(|(k, p)| !unchanged(k, p))
            .flat_map(|(k, p)| [Some(*k), p.parent])
            .flatten()
            .collect();
        for k in &touched {
            let p = &group.partitions[k];
            for m in p.log.iter().filter_map(|m| m.commit.as_ref()) {
                if !group
                    .partitions
                    .values()
                    .any(|q| q.masked == m.next_partition_key)
                {
                    return Err(broken(
                        &[req::RECEIVE_MASKED_KEY],
                        "a relayed next key is SHA-256 of a partition key",
                        format!("{:?}", m.next_partition_key),
                        format!(
                            "a commit in {}… announces a key no partition has",
                            super::short(k)
                        ),
                    ));
                }
            }
            for counter in 0..=p.log.len() as u32 + 1 {
                let read = ReceiveRequest {
                    partition_key: *k,
                    counter,
                };
                if let Response::Receive(r) =
                    &super::receiving::respond(&after.partitions, &read).canonical
                {
                    if r.epoch.messages.len() != p.log.len().saturating_sub(counter as usize) {
                        return Err(broken(
                            &[req::RECEIVE_SKIP_COUNTER],
                            "the epoch skips exactly counter messages",
                            format!("{} message(s)", r.epoch.messages.len()),
                            format!("counter {counter} of {}", p.log.len()),
                        ));
                    }
                    super::receiving::check_response(&after.partitions, k, counter, r)?;
                }
            }
        }
    }
    if let Input::Send { request, .. } = input {
        if observed.response == Response::Accepted {
            let banned = before
                .partitions
                .partition(&request.partition_key)
                .map(|p| p.bans.clone())
                .unwrap_or_default();
            let adds_banned = request.message.view.proposals.iter().any(
                |p| matches!(p, ProposalView::Add { identity, .. } if banned.contains(identity)),
            );
            if adds_banned {
                return Err(broken(
                    &[req::POLICY_PER_FORK],
                    "an Add of an identity banned in its fork is refused",
                    "accepted".into(),
                    format!(
                        "partition {}… bans the added identity",
                        super::short(&request.partition_key)
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::Reference;

    #[test]
    fn the_reference_survives_exhaustive_exploration_to_depth_6() {
        let report = explore(&Reference, 6);
        println!(
            "explored {} states, {} transitions, depth {}",
            report.states, report.transitions, report.depth
        );
        if let Some(c) = &report.counterexample {
            panic!("{:?}\n{}", c.ops, c.violation);
        }
        assert!(
            report.states > 1000,
            "the configuration is not trivial: {}",
            report.states
        );
    }
}
