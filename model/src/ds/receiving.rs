//! Draft §"Endpoints / Receiving Messages": the epoch after `counter`, and hints as a
//! relation.
//!
//! The requested epoch is fixed: the partition's log from `counter` on, in sequencing order
//! (errata `errata/counter-skips-all-sequenced`). The hints are the hub's discretion, so
//! they are judged by a relation rather than compared (errata `errata/hint-selection`,
//! `errata/hints-within-group`): every hinted epoch is another partition of the same group,
//! named by SHA-256 of its key, complete and in order, and no partition appears twice. The
//! canonical choice, which the reference DS makes, hints the partitions that the commits of
//! the returned epoch announce, when they hold messages.

use super::partitions::{starts_with, to_vec, Group, Log, Partitions};
use super::{short, Expectation, Outcome, Rule, State, Violation};
use crate::codec::{
    Epoch, ErrorCode, HintedEpoch, Message, PartitionKey, ReceiveRequest, ReceiveResponse,
    ServiceProviderId,
};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, ReqId};

const EPOCH_REQUIREMENTS: &[ReqId] = &[
    req::RECEIVE_SKIP_COUNTER,
    req::RECEIVE_COUNTER,
    req::RECEIVE_SEQUENCING_ORDER,
];
const HINT_ERRATA: &[ErratumId] = &[errata::HINT_SELECTION, errata::HINTS_WITHIN_GROUP];

/// A ReceiveRequest from a follower: reading a partition by its key shows the provider
/// holds a member, so the group's pushes may go to it (errata `errata/push-recipients`).
pub(crate) fn receive(
    state: &mut State,
    from: &ServiceProviderId,
    request: &ReceiveRequest,
    answer: Answer,
) -> Outcome {
    let outcome = Outcome::answer(expectation(&state.partitions, request, answer));
    state
        .partitions
        .add_participant(&request.partition_key, from);
    outcome
}

/// Whether a read's expectation carries its canonical ReceiveResponse or only the rule: the
/// checker judges an observed ReceiveResponse against the logs in place
/// ([`check_response`]), so building the canonical one (a copy of every message it holds)
/// would be spent for nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Canonical,
    /// The canonical member of a read of a known partition is left empty.
    RuleOnly,
}

/// The acceptable answers to a ReceiveRequest; reading changes nothing.
pub fn respond(partitions: &Partitions, request: &ReceiveRequest) -> Expectation {
    expectation(partitions, request, Answer::Canonical)
}

fn expectation(partitions: &Partitions, request: &ReceiveRequest, answer: Answer) -> Expectation {
    let ReceiveRequest {
        partition_key,
        counter,
    } = *request;
    let Some((_, group, partition)) = partitions.find(&partition_key) else {
        let expect = Expectation::exact(
            super::Response::Receive(ReceiveResponse::default()),
            &[
                req::PARTITION_ACCESS_CONTROL,
                req::PARTITION_KEY_EPOCH_ACCESS,
                req::RECEIVE_RESPONDS,
            ],
            &[
                errata::UNKNOWN_AND_TERMINATED_PARTITION_READS,
                errata::HINTS_WITHIN_GROUP,
            ],
        )
        .or_error(
            ErrorCode::UnknownPartition,
            errata::UNKNOWN_AND_TERMINATED_PARTITION_READS,
        );
        return expect;
    };
    let canonical = match answer {
        Answer::Canonical => {
            let epoch = partition.suffix(counter);
            ReceiveResponse {
                hints: canonical_hints(group, &partition_key, &epoch),
                epoch: Epoch {
                    messages: to_vec(&epoch),
                },
            }
        }
        Answer::RuleOnly => ReceiveResponse::default(),
    };
    let mut requirements = EPOCH_REQUIREMENTS.to_vec();
    requirements.extend([
        req::RECEIVE_MASKED_KEY,
        req::RECEIVE_HINTS_OTHER_EPOCHS,
        req::RECEIVE_HINTS_COMPLETE,
        req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH,
    ]);
    let mut expect = Expectation {
        canonical: super::Response::Receive(canonical),
        rule: Rule::Hints {
            partition_key,
            counter,
        },
        also: Vec::new(),
        requirements,
        errata: vec![
            errata::COUNTER_SKIPS_ALL_SEQUENCED,
            errata::RECEIVE_BY_PARTITION_KEY_ALONE,
            errata::HINT_SELECTION,
            errata::CANONICAL_HINTS,
        ],
    };
    if partition.terminated {
        // Termination blocks sends only: the branch reads as before.
        expect.requirements.push(req::RECEIVE_RESPONDS);
        expect
            .errata
            .push(errata::UNKNOWN_AND_TERMINATED_PARTITION_READS);
    }
    if counter as usize > partition.log.len() {
        expect = expect.or_error(ErrorCode::Malformed, errata::COUNTER_SKIPS_ALL_SEQUENCED);
    }
    expect
}

/// The partitions the returned commits announce, once each, when they hold messages.
fn canonical_hints(group: &Group, requested: &PartitionKey, epoch: &Log) -> Vec<HintedEpoch> {
    let mut hints: Vec<HintedEpoch> = Vec::new();
    for commit in epoch.iter().filter_map(|m| m.commit.as_ref()) {
        let masked = &commit.next_partition_key;
        let already = hints.iter().any(|h| &h.masked_partition_key == masked);
        let child = group.by_mask(masked).filter(|(k, _)| *k != requested);
        if let (false, Some((_, child))) = (already, child) {
            if !child.log.is_empty() {
                hints.push(HintedEpoch {
                    masked_partition_key: masked.clone(),
                    epoch: Epoch {
                        messages: to_vec(&child.log),
                    },
                });
            }
        }
    }
    hints
}

/// Judges a ReceiveResponse to (`key`, `counter`): the epoch exactly, the hints by relation.
pub fn check_response(
    partitions: &Partitions,
    key: &PartitionKey,
    counter: u32,
    observed: &ReceiveResponse,
) -> Result<(), Violation> {
    let Some((_, group, partition)) = partitions.find(key) else {
        if observed.epoch.messages.is_empty() && observed.hints.is_empty() {
            return Ok(());
        }
        return Err(violation(
            &[req::PARTITION_ACCESS_CONTROL],
            &[errata::UNKNOWN_AND_TERMINATED_PARTITION_READS, errata::HINTS_WITHIN_GROUP],
            "an empty ReceiveResponse".into(),
            observed,
            vec![format!("partition {}… was never used, so no message was sent to it and no group's epochs may be hinted", short(key))],
        ));
    };
    let expected = partition.suffix(counter);
    if !observed
        .epoch
        .messages
        .iter()
        .eq(expected.iter().map(|m| &**m))
    {
        let mut because = vec![format!(
            "partition {}… holds {} message(s); counter {counter} → the epoch must hold {}",
            short(key),
            partition.log.len(),
            span(counter as usize, partition.log.len())
        )];
        let mut requirements = EPOCH_REQUIREMENTS.to_vec();
        explain_difference(
            partitions,
            key,
            counter,
            &to_vec(&expected),
            &observed.epoch.messages,
            &mut because,
            &mut requirements,
        );
        return Err(violation(
            &requirements,
            &[
                errata::COUNTER_SKIPS_ALL_SEQUENCED,
                errata::RECEIVE_BY_PARTITION_KEY_ALONE,
            ],
            format!(
                "an epoch of {}",
                span(counter as usize, partition.log.len())
            ),
            observed,
            because,
        ));
    }
    check_hints(group, Some(key), Completeness::Now, observed)
}

/// How a hinted epoch must relate to its partition's log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Completeness {
    /// An answer to a request: the whole log as it is now.
    Now,
    /// A push: the whole log as it stood at some moment, i.e. any prefix of it
    /// (errata `errata/push-snapshot`).
    Snapshot,
}

/// The hint relation, within `group`; `requested` is never hinted.
fn check_hints(
    group: &Group,
    requested: Option<&PartitionKey>,
    completeness: Completeness,
    observed: &ReceiveResponse,
) -> Result<(), Violation> {
    let hints = &observed.hints;
    let mut errata = HINT_ERRATA.to_vec();
    if completeness == Completeness::Snapshot {
        errata.push(errata::PUSH_SNAPSHOT);
    }
    let fail = |requirements: &[ReqId], because: Vec<String>| {
        Err(violation(
            requirements,
            &errata,
            "hints each naming another partition of the group once, complete".into(),
            observed,
            because,
        ))
    };
    for (i, hint) in hints.iter().enumerate() {
        let n = i + 1;
        let Some((key, partition)) = group.by_mask(&hint.masked_partition_key) else {
            return fail(
                &[
                    req::RECEIVE_MASKED_KEY,
                    req::PARTITION_ACCESS_CONTROL,
                    req::RECEIVE_HINTS_OTHER_EPOCHS,
                ],
                vec![format!(
                    "hint {n} names {:?}, which is SHA-256 of no partition key of this group",
                    hint.masked_partition_key
                )],
            );
        };
        if Some(key) == requested {
            return fail(
                &[
                    req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH,
                    req::RECEIVE_HINTS_OTHER_EPOCHS,
                ],
                vec![format!(
                    "hint {n} repeats the requested partition {}…",
                    short(key)
                )],
            );
        }
        if hints[..i]
            .iter()
            .any(|h| h.masked_partition_key == hint.masked_partition_key)
        {
            return fail(
                &[req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH],
                vec![format!(
                    "hint {n} names partition {}… a second time",
                    short(key)
                )],
            );
        }
        let complete = match completeness {
            Completeness::Now => hint
                .epoch
                .messages
                .iter()
                .eq(partition.log.iter().map(|m| &**m)),
            Completeness::Snapshot => starts_with(&partition.log, hint.epoch.messages.iter()),
        };
        if !complete {
            let mut because = vec![match completeness {
                Completeness::Now => format!(
                    "hint {n} is partition {}…, which holds {} message(s); a hint skips none, so it must hold all of them in order",
                    short(key),
                    partition.log.len()
                ),
                Completeness::Snapshot => format!(
                    "hint {n} of the push is partition {}…, which holds {} message(s); a pushed partition must be the whole log as it stood at some moment, i.e. its first messages in order",
                    short(key),
                    partition.log.len()
                ),
            }];
            because.push(first_difference(
                &to_vec(&partition.log),
                &hint.epoch.messages,
            ));
            let mut broken = vec![req::RECEIVE_HINTS_COMPLETE, req::RECEIVE_SEQUENCING_ORDER];
            if completeness == Completeness::Snapshot {
                broken.push(req::RECEIVE_PUSH);
            }
            return fail(&broken, because);
        }
    }
    Ok(())
}

/// A ReceiveResponse pushed to `to`, judged against the hub's state when it arrived
/// (errata `errata/push-snapshot`): every epoch travels as a hint of one group, each the
/// whole log of its partition at some moment (errata `errata/pushed-response-epoch`); a
/// non-empty `epoch` is the acceptable other reading when it is a run of consecutive
/// messages of one partition of that group. Only providers with a reason to hold a member
/// of the group may receive it (errata `errata/push-recipients`).
pub fn check_push(
    partitions: &Partitions,
    to: &ServiceProviderId,
    pushed: &ReceiveResponse,
) -> Result<(), Violation> {
    let group = pushed
        .hints
        .first()
        .map(|h| &h.masked_partition_key)
        .and_then(|mask| {
            partitions
                .groups
                .values()
                .find(|g| g.by_mask(mask).is_some())
        })
        .or_else(|| {
            let first = pushed.epoch.messages.first()?;
            partitions
                .groups
                .values()
                .find(|g| !g.places_of(&first.message).is_empty())
        });
    let Some(group) = group else {
        if pushed.epoch.messages.is_empty() && pushed.hints.is_empty() {
            return Ok(());
        }
        return Err(violation(
            &[req::RECEIVE_PUSH, req::PARTITION_ACCESS_CONTROL],
            &[errata::PUSHED_RESPONSE_EPOCH, errata::PUSH_SNAPSHOT],
            "a push of epochs this hub sequenced".into(),
            pushed,
            vec!["the pushed epochs belong to no partition this hub holds".into()],
        ));
    };
    if !group.participants.contains(to) {
        return Err(violation(
            &[req::PARTITION_ACCESS_CONTROL],
            &[errata::PUSH_RECIPIENTS],
            "pushes only to providers with a reason to hold a member".into(),
            pushed,
            vec![format!(
                "{to} never sent, joined or read in this group and was named in none of its Welcomes, so it may not be given the group's messages"
            )],
        ));
    }
    let run = &pushed.epoch.messages;
    let consecutive = run.first().is_none_or(|first| {
        group
            .places_of(&first.message)
            .iter()
            .any(|(key, at)| starts_with(&group.partitions[key].suffix(*at), run.iter()))
    });
    if !consecutive {
        return Err(violation(
            &[req::RECEIVE_PUSH, req::RECEIVE_SEQUENCING_ORDER],
            &[errata::PUSHED_RESPONSE_EPOCH, errata::PUSH_SNAPSHOT],
            "an empty epoch, or consecutive messages of one partition".into(),
            pushed,
            vec!["the pushed epoch is not a run of consecutive messages of any partition".into()],
        ));
    }
    check_hints(group, None, Completeness::Snapshot, pushed)
}

/// Says where the first differing message of an epoch really is.
fn explain_difference(
    partitions: &Partitions,
    key: &PartitionKey,
    counter: u32,
    expected: &[Message],
    observed: &[Message],
    because: &mut Vec<String>,
    requirements: &mut Vec<ReqId>,
) {
    let Some(i) =
        (0..observed.len().max(expected.len())).find(|&i| observed.get(i) != expected.get(i))
    else {
        return;
    };
    because.push(format!("observed {} message(s)", observed.len()));
    let here = partitions.partition(key).expect("checked partition");
    let position = counter as usize + i;
    if expected.get(i).is_some() && here.external.contains(&(position as u32)) {
        // The message the target lacks here is an external commit: it went elsewhere.
        because.push(format!(
            "message {} of this partition is an external commit, which belongs in the partition that was most recent when it arrived",
            position + 1
        ));
        requirements.push(req::EXTERNAL_JOIN_MOST_RECENT_PARTITION);
    }
    let Some(message) = observed.get(i) else {
        because.push(format!(
            "message {} of the partition is missing: accepted, it must have been sequenced there",
            position + 1
        ));
        requirements.push(req::SEND_SEQUENCED_TO_PARTITION);
        return;
    };
    let same_bytes = |m: &Message| m.message == message.message;
    if let Some(wanted) = expected.get(i).filter(|m| same_bytes(m)) {
        if wanted.commit.as_ref().map(|c| &c.next_partition_key)
            != message.commit.as_ref().map(|c| &c.next_partition_key)
        {
            because.push(format!("observed message {} has the right MLS bytes but its next_partition_key is not SHA-256 of the key its commit announced", i + 1));
            requirements.push(req::RECEIVE_MASKED_KEY);
        } else {
            because.push(format!(
                "observed message {} carries another group_info than the one sent",
                i + 1
            ));
            requirements.push(req::SEND_COMMIT_DATA);
        }
        return;
    }
    if let Some(j) = here.log.iter().position(|m| same_bytes(m)) {
        let note = if j < counter as usize {
            " (already received)"
        } else {
            " (out of sequencing order)"
        };
        because.push(format!(
            "observed message {} is message {} of this partition{note}",
            i + 1,
            j + 1
        ));
        return;
    }
    let elsewhere = partitions
        .groups
        .values()
        .flat_map(|g| g.partitions.iter())
        .find_map(|(k, p)| p.log.iter().position(|m| same_bytes(m)).map(|j| (k, p, j)));
    match elsewhere {
        Some((other, p, j)) => {
            because.push(format!(
                "observed message {} was sequenced as message {} of partition {}…, not this one",
                i + 1,
                j + 1,
                short(other)
            ));
            requirements.push(req::PARTITION_ACCESS_CONTROL);
            let later_epoch = partitions
                .find(other)
                .is_some_and(|(_, g, _)| g.ancestors(other).contains(key));
            if later_epoch {
                because.push(format!(
                    "partition {}… is a later epoch of this one: a member removed there holds only this key and must not read it",
                    short(other)
                ));
                requirements.push(req::PARTITION_KEY_EPOCH_ACCESS);
            }
            if p.external.contains(&(j as u32)) {
                because.push(format!(
                    "it is an external commit, which belongs in the most recent partition {}…",
                    short(other)
                ));
                requirements.push(req::EXTERNAL_JOIN_MOST_RECENT_PARTITION);
            }
        }
        None => because.push(format!(
            "observed message {} was never sequenced by this hub",
            i + 1
        )),
    }
}

fn first_difference(expected: &[Message], observed: &[Message]) -> String {
    let at = (0..expected.len().max(observed.len()))
        .find(|&i| expected.get(i) != observed.get(i))
        .unwrap_or(0);
    match (expected.get(at), observed.get(at)) {
        (Some(_), None) => format!(
            "observed {} message(s): message {} onwards is missing",
            observed.len(),
            at + 1
        ),
        (None, Some(_)) => format!(
            "observed {} message(s): message {} was never sequenced there",
            observed.len(),
            at + 1
        ),
        _ => format!("message {} differs from the one sequenced there", at + 1),
    }
}

/// "messages 2..3", "no message", "message 1".
fn span(from: usize, len: usize) -> String {
    match len.saturating_sub(from) {
        0 => "no message".into(),
        1 => format!("message {}", from + 1),
        _ => format!("messages {}..{}", from + 1, len),
    }
}

fn violation(
    requirements: &[ReqId],
    errata: &[ErratumId],
    expected: String,
    observed: &ReceiveResponse,
    because: Vec<String>,
) -> Violation {
    let mut errata = errata.to_vec();
    // The decisions that say what a mask is and where an external commit belongs.
    for (requirement, decision) in [
        (req::RECEIVE_MASKED_KEY, errata::MASKED_PARTITION_KEY_HASH),
        (
            req::EXTERNAL_JOIN_MOST_RECENT_PARTITION,
            errata::EXTERNAL_JOIN_MOST_RECENT_PARTITION,
        ),
    ] {
        if requirements.contains(&requirement) && !errata.contains(&decision) {
            errata.push(decision);
        }
    }
    Violation {
        requirements: requirements.to_vec(),
        errata,
        expected,
        observed: super::Response::Receive(observed.clone()).summary(),
        because,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Bytes;
    use crate::ds::scenario::*;
    use crate::ds::{step, Input, Observed, Response};

    /// key0: app1, commit→key1, app2; key1: app3.
    fn state() -> State {
        let ops = [
            Op::App {
                from: 0,
                key: 0,
                tag: 1,
            },
            Op::Commit {
                from: 0,
                key: 0,
                next: 1,
                ban: false,
                add: false,
                welcome: None,
                tag: 2,
            },
            Op::App {
                from: 1,
                key: 0,
                tag: 3,
            },
            Op::App {
                from: 1,
                key: 1,
                tag: 4,
            },
        ];
        ops.iter()
            .fold(hosting_hub(), |s, op| step(&s, &op.input()).next)
    }

    fn receive(counter: u32) -> Input {
        Input::Receive {
            from: follower_id(0),
            request: ReceiveRequest {
                partition_key: key(0),
                counter,
            },
        }
    }

    fn canonical(state: &State, input: &Input) -> ReceiveResponse {
        match step(state, input).expect.canonical {
            Response::Receive(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn observe(response: ReceiveResponse) -> Observed {
        Observed {
            response: Response::Receive(response),
            outbound: vec![],
        }
    }

    #[test]
    fn the_epoch_skips_exactly_counter_messages_and_hints_the_next_partition() {
        let s = state();
        let r = canonical(&s, &receive(1));
        assert_eq!(r.epoch.messages.len(), 2);
        assert_eq!(r.epoch.messages[0].message, commit(2, vec![]));
        assert_eq!(r.hints.len(), 1);
        assert_eq!(r.hints[0].masked_partition_key, key(1).masked());
        assert!(checked(&s, &receive(1), &observe(r)).is_ok());
        assert!(canonical(&s, &receive(3)).epoch.messages.is_empty());
    }

    #[test]
    fn a_counter_one_too_low_is_explained() {
        let s = state();
        let mut wrong = canonical(&s, &receive(2));
        wrong.epoch = canonical(&s, &receive(1)).epoch;
        let v = checked(&s, &receive(2), &observe(wrong)).unwrap_err();
        assert!(v.requirements.contains(&req::RECEIVE_SKIP_COUNTER));
        assert!(
            v.because[0].contains("holds 3 message(s); counter 2 → the epoch must hold message 3"),
            "{v}"
        );
        assert!(
            v.because
                .iter()
                .any(|b| b.contains("is message 2 of this partition (already received)")),
            "{v}"
        );
    }

    #[test]
    fn hints_may_be_left_out_reordered_or_added_but_not_cut_or_repeated() {
        let s = state();
        let mut none = canonical(&s, &receive(0));
        none.hints.clear();
        assert!(checked(&s, &receive(0), &observe(none)).is_ok());

        let mut cut = canonical(&s, &receive(0));
        cut.hints[0].epoch.messages.clear();
        let v = checked(&s, &receive(0), &observe(cut)).unwrap_err();
        assert!(v.requirements.contains(&req::RECEIVE_HINTS_COMPLETE));

        let mut twice = canonical(&s, &receive(0));
        twice.hints.push(twice.hints[0].clone());
        let v = checked(&s, &receive(0), &observe(twice)).unwrap_err();
        assert_eq!(v.requirements, vec![req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH]);

        let mut itself = canonical(&s, &receive(1));
        itself.hints = vec![HintedEpoch {
            masked_partition_key: key(0).masked(),
            epoch: Epoch {
                messages: to_vec(&s.partitions.partition(&key(0)).unwrap().log),
            },
        }];
        let v = checked(&s, &receive(1), &observe(itself)).unwrap_err();
        assert!(v
            .requirements
            .contains(&req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH));

        let mut unmasked = canonical(&s, &receive(0));
        unmasked.hints[0].masked_partition_key = Bytes(key(1).0.to_vec());
        let v = checked(&s, &receive(0), &observe(unmasked)).unwrap_err();
        assert!(v.requirements.contains(&req::RECEIVE_MASKED_KEY));
    }

    #[test]
    fn an_unknown_key_reads_empty_or_unknown_partition_and_leaks_nothing() {
        let s = state();
        let input = Input::Receive {
            from: follower_id(0),
            request: ReceiveRequest {
                partition_key: key(9),
                counter: 0,
            },
        };
        assert!(checked(&s, &input, &observe(ReceiveResponse::default())).is_ok());
        let error = Observed {
            response: Response::Error(ErrorCode::UnknownPartition),
            outbound: vec![],
        };
        assert_eq!(checked(&s, &input, &error), Ok(s.clone()));
        let leak = canonical(&s, &receive(0));
        assert!(checked(&s, &input, &observe(leak))
            .unwrap_err()
            .requirements
            .contains(&req::PARTITION_ACCESS_CONTROL));
    }

    #[test]
    fn a_wrong_mask_on_a_relayed_commit_is_named() {
        let s = state();
        let mut wrong = canonical(&s, &receive(1));
        wrong.epoch.messages[0]
            .commit
            .as_mut()
            .unwrap()
            .next_partition_key = Bytes(key(1).0.to_vec());
        let v = checked(&s, &receive(1), &observe(wrong)).unwrap_err();
        assert!(v.requirements.contains(&req::RECEIVE_MASKED_KEY), "{v}");
    }

    #[test]
    fn pushes_carry_complete_hints() {
        let s = state();
        let good = ReceiveResponse {
            epoch: Epoch::default(),
            hints: canonical(&s, &receive(0)).hints,
        };
        let member = follower_id(0);
        assert!(check_push(&s.partitions, &member, &good).is_ok());
        let mut earlier = good.clone();
        earlier.hints[0].epoch.messages.clear();
        assert!(
            check_push(&s.partitions, &member, &earlier).is_ok(),
            "the log as it stood before its first message"
        );
        let mut gap = canonical(&s, &receive(0));
        gap.hints[0]
            .epoch
            .messages
            .insert(0, gap.epoch.messages[0].clone());
        gap.epoch = Epoch::default();
        let v = check_push(&s.partitions, &member, &gap).unwrap_err();
        assert!(v.requirements.contains(&req::RECEIVE_HINTS_COMPLETE), "{v}");
        let stranger = ServiceProviderId::new("stranger.example").unwrap();
        let v = check_push(&s.partitions, &stranger, &good).unwrap_err();
        assert_eq!(v.requirements, vec![req::PARTITION_ACCESS_CONTROL]);
        assert_eq!(v.errata, vec![errata::PUSH_RECIPIENTS]);
    }

    #[test]
    fn calls_after_the_last_input_may_only_be_pushes_to_members() {
        use crate::ds::{check_unprompted, Outbound};
        let s = state();
        let push = |to: ServiceProviderId| Outbound::Push {
            to,
            response: ReceiveResponse {
                epoch: Epoch::default(),
                hints: canonical(&s, &receive(0)).hints,
            },
        };
        assert!(check_unprompted(&s, &[push(follower_id(1))]).is_ok());
        let stranger = ServiceProviderId::new("stranger.example").unwrap();
        assert!(check_unprompted(&s, &[push(stranger)]).is_err());
        let read = Outbound::Receive {
            to: follower_id(1),
            request: ReceiveRequest {
                partition_key: key(0),
                counter: 0,
            },
        };
        let v = check_unprompted(&s, &[read]).unwrap_err();
        assert!(v.because[0].starts_with("not called for here"), "{v}");
    }
}
