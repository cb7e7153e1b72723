//! External joins (draft §"Endpoints / External Joins").

use super::*;

pub(super) fn external_join(history: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::EXTERNAL_JOIN_TO_HUB,
        req::EXTERNAL_JOIN_VALIDATED,
        req::EXTERNAL_JOIN_MOST_RECENT_PARTITION,
    ];
    let commits = commit_positions(&history.events);
    let latest_info = |events: &[Event]| {
        events
            .iter()
            .rev()
            .find_map(|e| {
                e.request
                    .commit_data
                    .as_ref()
                    .and_then(|d| d.group_info.clone())
            })
            .expect("a GroupInfo")
    };
    // GroupInfo requests at every point of the history.
    for upto in 0..=history.events.len() {
        let mut inputs = replay(history.creation, &history.events[..upto]);
        inputs.push(group_info_request(OUTSIDER, GROUP));
        out.push(hub_case(
            format!("external-join/group-info/after-{upto}-events"),
            format!("d.example asks for the GroupInfo after {upto} event(s): the one of the commit that created the most recent partition{}", if upto == 0 { "; there is none yet" } else { "" }),
            &[req::EXTERNAL_JOIN_GROUP_INFO_REQUEST, req::EXTERNAL_JOIN_INFERRED_TREE],
            steps(inputs),
        ));
    }
    let mut unknown = replay(history.creation, &history.events);
    unknown.push(group_info_request(OUTSIDER, STRAY_GROUP));
    out.push(hub_case(
        "external-join/group-info/unknown-group".into(),
        "a GroupInfo request for a group the hub does not host".into(),
        &[req::EXTERNAL_JOIN_GROUP_INFO_REQUEST],
        steps(unknown),
    ));
    // The GroupInfo published without a tree (accepted by inference): a tree may be added.
    let founding = stories::found(Handshakes::Clear);
    let mut inferred = vec![create(founding.creation)];
    inferred.extend(answered(
        &founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C])),
    ));
    inferred.extend(answered(
        &founding.event(founding.commit_data(false, &[FOLLOWER_B, FOLLOWER_C])),
    ));
    inferred.push(group_info_request(OUTSIDER, GROUP));
    out.push(hub_case(
        "external-join/group-info/without-ratchet-tree".into(),
        "the most recent commit came with a GroupInfo without a ratchet tree (the hub inferred it): the GroupInfo is returned, with or without an inferred tree".into(),
        &[req::EXTERNAL_JOIN_INFERRED_TREE, req::EXTERNAL_JOIN_GROUP_INFO_REQUEST],
        steps(inferred),
    ));
    // External commits after each commit, from the fresh GroupInfo or a stale one.
    for (c, &at) in commits.iter().enumerate() {
        let events = &history.events[..=at];
        for (label, info) in [
            ("fresh", latest_info(events)),
            ("stale", history.stale_group_info.clone()),
        ] {
            let (_, data, commit) = stories::external_join(&info, "dave", Handshakes::Clear);
            let recent = events[at]
                .request
                .commit_data
                .as_ref()
                .expect("commit")
                .next_partition_key;
            let mut inputs = replay(history.creation, events);
            inputs.push(Input::ExternalJoin {
                from: provider(OUTSIDER),
                request: ExternalJoinRequest {
                    message: commit,
                    commit_data: data,
                },
            });
            inputs.push(read(FOLLOWER_B, recent, 0));
            out.push(hub_case(
                format!("external-join/sequenced/after-commit-{c}/{label}-group-info"),
                format!("dave's external commit from the {label} GroupInfo after commit {c} is sequenced to the most recent partition{}", if label == "stale" && c > 0 { ", although it was built for an older epoch: a fork the draft names" } else { "" }),
                &reqs,
                steps(inputs),
            ));
        }
    }
    // Not an external commit, or not a hosted group.
    let member_commit = history.events[commits[1]].request.clone();
    let (_, stray_data, stray_commit) = {
        let mut stray = crate::mls::Client::new("stray", FOLLOWER_B)
            .create_group(STRAY_GROUP, Handshakes::Clear);
        let info = stray.group_info(true);
        let _ = stray.application("keep the group alive");
        stories::external_join(&info, "dave", Handshakes::Clear)
    };
    let refused: [(&str, &str, ExternalJoinRequest); 2] = [
        (
            "member-commit",
            "a member's ordinary commit sent as an external join",
            ExternalJoinRequest {
                message: member_commit.message,
                commit_data: member_commit.commit_data.expect("commit"),
            },
        ),
        (
            "unknown-group",
            "an external commit to a group the hub does not host",
            ExternalJoinRequest {
                message: stray_commit,
                commit_data: stray_data,
            },
        ),
    ];
    for (what, comment, request) in refused {
        let mut inputs = replay(history.creation, &history.events);
        inputs.push(Input::ExternalJoin {
            from: provider(OUTSIDER),
            request,
        });
        out.push(hub_case(
            format!("external-join/refused/{what}"),
            format!("{comment}: refused, nothing sequenced"),
            &reqs,
            steps(inputs),
        ));
    }
    let info = latest_info(&history.events);
    let (_, data, commit) = stories::external_join(&info, "erin", Handshakes::Clear);
    let body = ExternalJoinRequest {
        message: commit,
        commit_data: data,
    }
    .to_bytes();
    out.extend(malformed_family(
        "external-join",
        Role::Hub,
        HUB,
        Endpoint::ExternalJoin,
        &body,
        vec![create(history.creation)],
    ));
    let info_body = GroupInfoRequest {
        group_id: GROUP.into(),
    }
    .to_bytes();
    out.extend(malformed_family(
        "external-join/group-info",
        Role::Hub,
        HUB,
        Endpoint::GroupInfo,
        &info_body,
        vec![create(history.creation)],
    ));
    out
}
