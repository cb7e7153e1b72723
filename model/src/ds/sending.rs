//! Draft §"Endpoints / Sending Messages": the hub validates what the bytes show (errata
//! `errata/send-validation`), sequences the message to the partition it names, chains a
//! commit to its next partition with its GroupInfo, and starts the Welcome fan-out.
//!
//! This module owns the acceptance of one message into a partition; `external_joins`
//! reuses it with the partition the hub picks instead of the one the sender names.

use super::partitions::{Arrival, Group, Partition};
use super::{digest, policy, welcome, Expectation, Outcome, Response, Rule, State};
use crate::codec::{
    Bytes, CommitData, ContentType, ErrorCode, MlsMessage, PartitionKey, SendRequest,
    ServiceProviderId,
};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, ReqId};

const SEND_ERRATA: &[ErratumId] = &[errata::SEND_VALIDATION];

/// A SendRequest from any provider (errata `errata/provider-authorization`), or from a local
/// user when `from` is `None`; once its message is sequenced, the provider takes part in the
/// group (errata `errata/push-recipients`).
pub(crate) fn send(
    state: &mut State,
    from: Option<&ServiceProviderId>,
    request: &SendRequest,
) -> Outcome {
    let Some(group_id) = hosted_group(state, &request.message) else {
        return Outcome::error(
            ErrorCode::UnknownGroup,
            &[req::SEND_UNKNOWN_GROUP_REJECTED],
            SEND_ERRATA,
        );
    };
    let is_commit = request.message.view.content_type == Some(ContentType::Commit);
    if is_commit != request.commit_data.is_some() {
        return Outcome::error(
            ErrorCode::Malformed,
            &[req::SEND_COMMIT_DATA],
            &[errata::SELECT_COMMIT_ONLY],
        );
    }
    let other_owner = state
        .partitions
        .other_owner(group_id, &request.partition_key);
    accept(
        state,
        from,
        other_owner.as_ref().unwrap_or(group_id),
        request.partition_key,
        &request.message,
        request.commit_data.as_ref(),
        false,
    )
}

/// The hosted group a message names, if any.
pub(crate) fn hosted_group<'a>(state: &State, message: &'a MlsMessage) -> Option<&'a Bytes> {
    message
        .view
        .group_id
        .as_ref()
        .filter(|g| state.partitions.groups.contains_key(*g))
}

/// Validates and sequences one message from provider `from` (`None`: a local user) into
/// partition `key` of `group_id`. When several refusals apply, the first is canonical and
/// each other is accepted too (errata `errata/refusal-order`).
pub(crate) fn accept(
    state: &mut State,
    from: Option<&ServiceProviderId>,
    group_id: &Bytes,
    key: PartitionKey,
    message: &MlsMessage,
    commit: Option<&CommitData>,
    external: bool,
) -> Outcome {
    let group = &state.partitions.groups[group_id];
    let partition = group.partitions.get(&key);
    let fork_bans = partition.map(|p| p.bans.clone()).unwrap_or_default();
    let mut refusals: Vec<Outcome> = Vec::new();
    if partition.is_some_and(|p| p.terminated) {
        refusals.push(Outcome::error(
            ErrorCode::BranchTerminated,
            &[req::FORK_TERMINATION_BLOCKS_SENDS],
            &[errata::BRANCH_TERMINATED_SENDS],
        ));
    }
    let mut ratchet_tree_inferred = false;
    if let Some(data) = commit {
        if let Some(info) = &data.group_info {
            if info.view.group_id.as_ref() != Some(group_id) {
                refusals.push(Outcome::error(
                    ErrorCode::Malformed,
                    &[req::SEND_COMMIT_DATA],
                    &[errata::SEND_VALIDATION, errata::GROUP_INFO_GROUP_MISMATCH],
                ));
            } else if info.view.has_ratchet_tree != Some(true) {
                let known = info
                    .view
                    .tree_hash
                    .as_ref()
                    .is_some_and(|h| group.known_trees.contains(h));
                if known {
                    ratchet_tree_inferred = true;
                } else {
                    refusals.push(Outcome::error(
                        ErrorCode::RatchetTreeRequired,
                        &[req::SEND_RATCHET_TREE_REQUIRED],
                        &[
                            errata::RATCHET_TREE_REQUIRED_SIGNAL,
                            errata::RATCHET_TREE_INFERENCE,
                        ],
                    ));
                }
            }
        }
        if let Some(welcome) = &data.welcome_data {
            let secrets = welcome
                .welcome
                .view
                .new_members
                .as_ref()
                .map_or(0, Vec::len);
            if secrets != welcome.service_providers.len() {
                refusals.push(Outcome::error(
                    ErrorCode::Malformed,
                    &[req::SEND_WELCOME_PROVIDERS_LENGTH],
                    &[errata::WELCOME_PROVIDERS_LENGTH_MISMATCH],
                ));
            }
        }
        if state.ban_extension {
            refusals.extend(policy::refuse_banned(&fork_bans, message));
        }
    }
    if !refusals.is_empty() {
        let mut refusals = refusals.into_iter();
        let mut first = refusals.next().expect("one refusal at least");
        for other in refusals {
            if let Response::Error(code) = other.expect.canonical {
                if Response::Error(code) != first.expect.canonical {
                    first.expect = first.expect.or_error(code, errata::REFUSAL_ORDER);
                }
            }
        }
        return first;
    }
    // The expectation first, while the state is as the message found it.
    let mut requirements: Vec<ReqId> = Vec::with_capacity(16);
    if external {
        requirements.extend([
            req::EXTERNAL_JOIN_MOST_RECENT_PARTITION,
            req::EXTERNAL_JOIN_VALIDATED,
        ]);
    } else {
        requirements.extend([
            req::SEND_SEQUENCED_TO_PARTITION,
            req::PARTITION_KEYS_NO_HARD_RULES,
            req::POLICY_ONLY_UNAMBIGUOUS,
        ]);
    }
    if let Some(data) = commit {
        requirements.push(req::SEND_COMMIT_DATA);
        if data.welcome_data.is_some() {
            requirements.extend([
                req::SEND_WELCOME_DATA,
                req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE,
            ]);
        }
    }
    let mut errata: Vec<ErratumId> = Vec::with_capacity(16);
    errata.extend([
        errata::SEND_VALIDATION,
        errata::NO_HARD_RULES_VS_TERMINATION,
    ]);
    let mut expect = Expectation {
        canonical: Response::Accepted,
        rule: Rule::Exact,
        also: Vec::new(),
        requirements,
        errata,
    };
    let found = Found::of(group, key, partition);
    let arrival = Arrival {
        sender: from,
        message,
        digest: digest(&message.bytes.0),
        commit: commit.map(|d| {
            (
                d.next_partition_key,
                d.group_info.as_ref(),
                policy::bans_after(&fork_bans, message),
            )
        }),
        external,
    };
    let retry = state.partitions.sequence(group_id, key, arrival);
    found.name(&mut expect, retry, commit.is_some(), external);
    if ratchet_tree_inferred {
        // A hub that keeps no trees cannot infer one: refusing is the other reading.
        expect = expect.or_error(
            ErrorCode::RatchetTreeRequired,
            errata::RATCHET_TREE_REQUIRED_SIGNAL,
        );
    }
    let welcome_data = commit.and_then(|d| d.welcome_data.as_ref());
    for provider in welcome_data.iter().flat_map(|w| &w.service_providers) {
        if *provider != state.me {
            state.partitions.add_group_participant(group_id, provider);
        }
    }
    let outbound = welcome_data
        .map(|w| welcome::fan_out(state, w))
        .unwrap_or_default();
    Outcome { expect, outbound }
}

/// What about the partition, as a message finds it, makes accepting the message a rule of its
/// own, so that a refusal names it: taken before the message is sequenced, named after.
struct Found {
    /// The epoch already has a commit: a second one is a fork (tolerated), and refusing any
    /// message after a commit would be positive policy.
    committed: bool,
    /// No commit placed this key yet and it is not the creation partition.
    unannounced: bool,
    /// An external commit created the partition: usable at once.
    created_externally: bool,
    /// A branch below a terminated one: termination covers one partition only.
    below_terminated: bool,
}

impl Found {
    /// The facts of partition `key` of `group`; `partition` is its partition, if it has one yet.
    fn of(group: &Group, key: PartitionKey, partition: Option<&Partition>) -> Self {
        Found {
            committed: partition.is_some_and(|p| p.commits > 0),
            unannounced: partition.is_none_or(|p| p.parent.is_none()) && key != group.creation,
            created_externally: partition.is_some_and(|p| group.announced_externally(p)),
            below_terminated: group.descends_from_terminated(&key),
        }
    }

    /// Names in `expect` what makes accepting this message a rule of its own: the facts of
    /// the partition, an external commit (the exception to knowing the key), and a
    /// byte-identical `retry` (sequenced again).
    fn name(&self, expect: &mut Expectation, retry: bool, is_commit: bool, external: bool) {
        let mut add = |requirement: ReqId, erratum: Option<ErratumId>| {
            if !expect.requirements.contains(&requirement) {
                expect.requirements.push(requirement);
            }
            if let Some(id) = erratum.filter(|id| !expect.errata.contains(id)) {
                expect.errata.push(id);
            }
        };
        if self.committed {
            add(
                req::POLICY_NO_POSITIVE,
                Some(errata::POSITIVE_POLICY_MEANING),
            );
            if is_commit {
                add(req::FORKS_TOLERATED, Some(errata::FORK_DETECTION));
            }
        }
        if external {
            add(
                req::PARTITION_EXTERNAL_EXCEPTION,
                Some(errata::EXTERNAL_EXCEPTION_SCOPE),
            );
            add(req::EXTERNAL_JOIN_TO_HUB, None);
            add(req::FLOW_EXTERNAL_JOIN_STEPS, None);
        }
        if is_commit && self.unannounced {
            // No commit placed this key yet: no fork's bans reach it.
            add(
                req::POLICY_PER_FORK,
                Some(errata::POLICY_BEFORE_ANNOUNCEMENT),
            );
        }
        if self.created_externally {
            add(
                req::FLOW_EXTERNAL_JOIN_NEW_PARTITION,
                Some(errata::NO_HARD_RULES_VS_TERMINATION),
            );
        }
        if retry {
            add(
                req::SEND_SEQUENCED_TO_PARTITION,
                Some(errata::DUPLICATE_SEND),
            );
        }
        if self.below_terminated {
            add(
                req::FORK_TERMINATION_BLOCKS_SENDS,
                Some(errata::BRANCH_TERMINATED_SENDS),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::WelcomeData;
    use crate::ds::scenario::*;
    use crate::ds::{step, Input, Observed, Outbound, Response};

    fn send_input(request: SendRequest) -> Input {
        Input::Send {
            from: follower_id(0),
            request,
        }
    }

    #[test]
    fn an_unknown_group_is_rejected_and_nothing_is_sequenced() {
        let state = hub_state();
        let s = step(
            &state,
            &send_input(send_request(application(1), key(0), None)),
        );
        assert_eq!(s.expect.canonical, Response::Error(ErrorCode::UnknownGroup));
        assert_eq!(s.next, state);
    }

    #[test]
    fn a_send_to_a_new_key_is_sequenced_there() {
        let s = step(
            &hosting_hub(),
            &send_input(send_request(application(1), key(7), None)),
        );
        assert_eq!(s.expect.canonical, Response::Accepted);
        assert_eq!(s.next.partitions.partition(&key(7)).unwrap().log.len(), 1);
    }

    #[test]
    fn commit_data_must_match_the_content_type() {
        let s = step(
            &hosting_hub(),
            &send_input(send_request(
                application(1),
                key(0),
                Some(commit_data(key(1))),
            )),
        );
        assert_eq!(s.expect.canonical, Response::Error(ErrorCode::Malformed));
        assert!(s.expect.errata.contains(&errata::SELECT_COMMIT_ONLY));
    }

    #[test]
    fn a_group_info_without_a_tree_needs_one_the_hub_knows() {
        let mut data = commit_data(key(1));
        data.group_info = Some(group_info_message(9, false));
        let s = step(
            &hosting_hub(),
            &send_input(send_request(commit(1, vec![]), key(0), Some(data.clone()))),
        );
        assert_eq!(
            s.expect.canonical,
            Response::Error(ErrorCode::RatchetTreeRequired)
        );
        let mut with_tree = commit_data(key(1));
        with_tree.group_info = Some(group_info_message(9, true));
        let first = step(
            &hosting_hub(),
            &send_input(send_request(commit(1, vec![]), key(0), Some(with_tree))),
        );
        data.next_partition_key = key(2);
        let again = step(
            &first.next,
            &send_input(send_request(commit(2, vec![]), key(1), Some(data))),
        );
        assert_eq!(
            again.expect.canonical,
            Response::Accepted,
            "the tree was given before: inferred"
        );
        assert_eq!(
            again.expect.also,
            vec![(
                ErrorCode::RatchetTreeRequired,
                errata::RATCHET_TREE_REQUIRED_SIGNAL
            )]
        );
    }

    #[test]
    fn every_refusal_that_applies_is_accepted_and_none_sequences() {
        let mut data = commit_data(key(1));
        data.group_info = Some(group_info_message(9, false));
        data.welcome_data = Some(WelcomeData {
            welcome: welcome(vec![b"r1".as_slice().into()]),
            service_providers: vec![],
        });
        let state = step(
            &hosting_hub(),
            &Input::TerminateBranch {
                partition_key: key(0),
            },
        )
        .next;
        let input = send_input(send_request(commit(1, vec![]), key(0), Some(data)));
        let s = step(&state, &input);
        assert_eq!(
            s.expect.canonical,
            Response::Error(ErrorCode::BranchTerminated)
        );
        let others: Vec<ErrorCode> = s.expect.also.iter().map(|(code, _)| *code).collect();
        assert_eq!(
            others,
            vec![ErrorCode::RatchetTreeRequired, ErrorCode::Malformed]
        );
        for code in others {
            let observed = Observed {
                response: Response::Error(code),
                outbound: vec![],
            };
            assert_eq!(checked(&state, &input, &observed), Ok(state.clone()));
        }
        let unrelated = Observed {
            response: Response::Error(ErrorCode::UnknownGroup),
            outbound: vec![],
        };
        assert!(checked(&state, &input, &unrelated).is_err());
    }

    #[test]
    fn a_policy_refusal_of_a_remote_users_message_names_the_rate_limit_rule() {
        let input = send_input(send_request(application(1), key(0), None));
        let refused = Observed {
            response: Response::Error(ErrorCode::PolicyRejected),
            outbound: vec![],
        };
        let v = checked(&hosting_hub(), &input, &refused).unwrap_err();
        assert!(
            v.requirements.contains(&req::POLICY_NO_REMOTE_RATE_LIMIT),
            "{v}"
        );
        assert!(!v.requirements.contains(&req::POLICY_PER_FORK), "{v}");
    }

    #[test]
    fn welcome_providers_must_match_the_secrets() {
        let mut data = commit_data(key(1));
        data.welcome_data = Some(WelcomeData {
            welcome: welcome(vec![b"r1".as_slice().into(), b"r2".as_slice().into()]),
            service_providers: vec![follower_id(1)],
        });
        let s = step(
            &hosting_hub(),
            &send_input(send_request(commit(1, vec![]), key(0), Some(data))),
        );
        assert_eq!(s.expect.canonical, Response::Error(ErrorCode::Malformed));
        assert!(s.outbound.is_empty());
    }

    #[test]
    fn a_commit_with_a_welcome_asks_before_it_pushes() {
        let s = step(
            &hosting_hub(),
            &Op::Commit {
                from: 0,
                key: 0,
                next: 1,
                ban: false,
                add: false,
                welcome: Some(1),
                tag: 3,
            }
            .input(),
        );
        assert_eq!(s.expect.canonical, Response::Accepted);
        assert!(
            matches!(&s.outbound[..], [Outbound::WelcomeInit { to, .. }] if *to == follower_id(1))
        );
    }
}
