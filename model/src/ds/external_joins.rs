//! Draft §"Endpoints / External Joins": an external commit is validated on what the DS view
//! shows (errata `errata/external-join-validation`) and sequenced to the group's most recent
//! partition (`forks::most_recent_partition`); a GroupInfoRequest is answered with the
//! GroupInfo of the commit that created that partition (errata `errata/group-info-source`).

use super::{forks, sending, Expectation, Outcome, Response, Rule, State};
use crate::codec::{
    ContentType, ErrorCode, ExternalJoinRequest, GroupInfoRequest, GroupInfoResponse, SenderType,
    ServiceProviderId, WireFormat,
};
use crate::errata;
use crate::requirements as req;

/// An ExternalJoinRequest from provider `from`, which takes part in the group once its
/// commit is sequenced (errata `errata/push-recipients`).
pub(crate) fn external_join(
    state: &mut State,
    from: &ServiceProviderId,
    request: &ExternalJoinRequest,
) -> Outcome {
    let view = &request.message.view;
    let external_commit = view.wire_format == WireFormat::PublicMessage
        && view.content_type == Some(ContentType::Commit)
        && view.sender_type == Some(SenderType::NewMemberCommit);
    if !external_commit {
        return Outcome::error(
            ErrorCode::Malformed,
            &[req::EXTERNAL_JOIN_VALIDATED],
            &[errata::EXTERNAL_JOIN_VALIDATION],
        );
    }
    let Some(group_id) = sending::hosted_group(state, &request.message) else {
        return Outcome::error(
            ErrorCode::UnknownGroup,
            &[req::EXTERNAL_JOIN_VALIDATED],
            &[errata::EXTERNAL_JOIN_VALIDATION],
        );
    };
    let target = forks::most_recent_partition(&state.partitions.groups[group_id]);
    let mut outcome = sending::accept(
        state,
        Some(from),
        group_id,
        target,
        &request.message,
        Some(&request.commit_data),
        true,
    );
    outcome
        .expect
        .errata
        .push(errata::EXTERNAL_JOIN_MOST_RECENT_PARTITION);
    outcome
}

pub(crate) fn group_info(state: &mut State, request: &GroupInfoRequest) -> Outcome {
    let requirements = [
        req::EXTERNAL_JOIN_GROUP_INFO_REQUEST,
        req::FLOW_EXTERNAL_JOIN_STEPS,
        req::EXTERNAL_JOIN_INFERRED_TREE,
    ];
    let why = [errata::GROUP_INFO_SOURCE];
    let Some(group) = state.partitions.groups.get(&request.group_id) else {
        return Outcome::error(ErrorCode::UnknownGroup, &requirements, &why);
    };
    let recent = forks::most_recent_partition(group);
    let published = group
        .commits
        .iter()
        .rev()
        .find(|c| c.next == recent)
        .and_then(|c| c.group_info.clone());
    let expect = match published {
        // The view keeps no tree bytes, so the reference never offers an inferred tree; a
        // target may (`Rule::InferredTreeAllowed`).
        Some(group_info) => {
            let inferable = group_info.view.has_ratchet_tree != Some(true);
            let mut expect = Expectation::exact(
                Response::GroupInfo(GroupInfoResponse {
                    group_info,
                    ratchet_tree: None,
                }),
                &requirements,
                &why,
            );
            if inferable {
                expect.rule = Rule::InferredTreeAllowed;
            }
            expect
        }
        None => Expectation::error(ErrorCode::UnknownPartition, &requirements, &why)
            .or_error(ErrorCode::UnknownGroup, errata::GROUP_INFO_SOURCE),
    };
    Outcome::answer(expect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::*;
    use crate::ds::step;

    #[test]
    fn an_external_commit_goes_to_the_most_recent_partition_and_moves_it() {
        let state = forked_hub();
        let joined = step(
            &state,
            &Op::ExternalJoin {
                from: 1,
                next: 3,
                tag: 9,
            }
            .input(),
        );
        assert_eq!(joined.expect.canonical, Response::Accepted);
        let p2 = joined.next.partitions.partition(&key(2)).unwrap();
        assert_eq!(p2.log.len(), 1);
        assert!(p2.external.contains(&0));
        assert_eq!(
            forks::most_recent_partition(&joined.next.partitions.groups[&group_id()]),
            key(3)
        );
    }

    #[test]
    fn only_an_external_commit_is_accepted() {
        let request = ExternalJoinRequest {
            message: commit(1, vec![]),
            commit_data: commit_data(key(1)),
        };
        let s = step(
            &hosting_hub(),
            &crate::ds::Input::ExternalJoin {
                from: follower_id(0),
                request,
            },
        );
        assert_eq!(s.expect.canonical, Response::Error(ErrorCode::Malformed));
    }

    #[test]
    fn group_info_comes_from_the_commit_of_the_most_recent_partition() {
        let input = crate::ds::Input::GroupInfo {
            from: follower_id(0),
            request: GroupInfoRequest {
                group_id: GROUP.into(),
            },
        };
        let none = step(&hosting_hub(), &input);
        assert_eq!(
            none.expect.canonical,
            Response::Error(ErrorCode::UnknownPartition)
        );
        let mut data = commit_data(key(1));
        data.group_info = Some(group_info_message(4, true));
        let committed = step(
            &hosting_hub(),
            &crate::ds::Input::Send {
                from: follower_id(0),
                request: send_request(commit(1, vec![]), key(0), Some(data)),
            },
        );
        let answer = step(&committed.next, &input);
        assert!(
            matches!(answer.expect.canonical, Response::GroupInfo(ref g) if g.group_info == group_info_message(4, true))
        );
    }
}
