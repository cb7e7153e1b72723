//! Example flows (draft §"Example Flows").

use super::*;

pub(super) fn flows(history: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    let founding = stories::found(Handshakes::Clear);
    let first = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let create_reqs = [
        req::FLOW_CREATE_FAN_OUT_WELCOME,
        req::FLOW_CREATE_FOLLOWERS_READ,
        req::FLOW_CREATE_WITH_LSP,
        req::HUB_SEQUENCES_AND_FANS_OUT,
        req::WELCOME_INIT_BEFORE_PUSH,
        req::WELCOME_AS_MLS_MESSAGE,
        req::SEND_WELCOME_DATA,
        req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE,
        req::ENDPOINTS_FOR_THIRD_PARTIES,
    ];
    let answer = |yes: bool| if yes { "accepts" } else { "refuses" };
    for (b_yes, c_yes) in [(true, true), (true, false), (false, true), (false, false)] {
        let mut inputs = vec![create(founding.creation), first.hub_input()];
        inputs.push(Input::WelcomeInitAnswered {
            provider: provider(FOLLOWER_B),
            accepted: b_yes,
            no_answer: None,
        });
        inputs.push(Input::WelcomeInitAnswered {
            provider: provider(FOLLOWER_C),
            accepted: c_yes,
            no_answer: None,
        });
        inputs.push(read(FOLLOWER_B, founding.creation, 0));
        out.push(hub_case(
            format!("flows/create-group/b-{}-c-{}", answer(b_yes), answer(c_yes)),
            format!(
                "Creating a group: alice (on the hub) commits adding bob and carol with one Welcome; the hub asks b.example and c.example with WelcomeInit; b.example {}, c.example {}; the Welcome is pushed only to a provider that accepted; b.example then reads the creation partition",
                answer(b_yes),
                answer(c_yes)
            ),
            &create_reqs,
            steps(inputs),
        ));
    }
    // b.example gives no answer at all; c.example accepts.
    for (how, what, no_answer) in [
        (
            "closes-connection",
            "it closes the connection",
            NoAnswer::Closed,
        ),
        ("server-error", "it answers 500", NoAnswer::ServerError),
        (
            "undecodable-answer",
            "it answers 200 with an empty body",
            NoAnswer::Undecodable,
        ),
    ] {
        let inputs = vec![
            create(founding.creation),
            first.hub_input(),
            Input::WelcomeInitAnswered {
                provider: provider(FOLLOWER_B),
                accepted: false,
                no_answer: Some(no_answer),
            },
            Input::WelcomeInitAnswered {
                provider: provider(FOLLOWER_C),
                accepted: true,
                no_answer: None,
            },
            read(FOLLOWER_B, founding.creation, 0),
        ];
        out.push(hub_case(
            format!("flows/create-group/b-{how}-c-accepts"),
            format!(
                "Creating a group: alice commits adding bob and carol with one Welcome; b.example gives no answer to its WelcomeInit ({what}), which counts as a refusal (errata/welcome-init-unanswered); c.example accepts; the Welcome is pushed to c.example only, and b.example's read shows the commit sequenced"
            ),
            &[
                req::WELCOME_PUSH_IF_ACCEPTED,
                req::WELCOME_INIT_BEFORE_PUSH,
                req::FLOW_CREATE_FAN_OUT_WELCOME,
            ],
            steps(inputs),
        ));
    }
    // A Welcome whose secrets name the hub itself for one joiner: no WelcomeInit to self.
    let local = stories::found_with(
        &[("bob", FOLLOWER_B), ("alan", HUB), ("carl", FOLLOWER_C)],
        Handshakes::Clear,
    );
    for (b_yes, c_yes) in [(true, true), (false, true), (true, false)] {
        let event = local.event(local.commit_data(true, &[FOLLOWER_B, HUB, FOLLOWER_C]));
        let inputs = vec![
            create(local.creation),
            event.hub_input(),
            Input::WelcomeInitAnswered {
                provider: provider(FOLLOWER_B),
                accepted: b_yes,
                no_answer: None,
            },
            Input::WelcomeInitAnswered {
                provider: provider(FOLLOWER_C),
                accepted: c_yes,
                no_answer: None,
            },
        ];
        out.push(hub_case(
            format!("flows/create-group/hub-local-joiner/b-{}-c-{}", answer(b_yes), answer(c_yes)),
            format!("Creating a group whose Welcome adds bob (b.example), alan (on the hub itself) and carl (c.example): WelcomeInit goes to b.example and c.example only; b.example {}, c.example {}", answer(b_yes), answer(c_yes)),
            &[req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE, req::WELCOME_INIT_BEFORE_PUSH, req::FLOW_CREATE_FAN_OUT_WELCOME],
            steps(inputs),
        ));
    }
    // Externally joining: GroupInfo, external commit, then the new partition is usable.
    for commits in 1..=3usize {
        let end = commit_positions(&history.events)[commits - 1] + 1;
        let events = &history.events[..end];
        let info = events[end - 1]
            .request
            .commit_data
            .as_ref()
            .and_then(|d| d.group_info.clone())
            .expect("commits carry a GroupInfo");
        let (mut dave, data, commit) = stories::external_join(&info, "dave", Handshakes::Clear);
        let recent = events[end - 1]
            .request
            .commit_data
            .as_ref()
            .expect("commit")
            .next_partition_key;
        let hello = dave.application("hello from dave");
        let mut inputs = replay(history.creation, events);
        inputs.push(group_info_request(OUTSIDER, GROUP));
        inputs.push(Input::ExternalJoin {
            from: provider(OUTSIDER),
            request: ExternalJoinRequest {
                message: commit,
                commit_data: data.clone(),
            },
        });
        inputs.push(Input::Send {
            from: provider(OUTSIDER),
            request: SendRequest {
                message: hello,
                partition_key: data.next_partition_key,
                commit_data: None,
            },
        });
        inputs.push(read(FOLLOWER_B, recent, messages_in(events, recent)));
        inputs.push(read(FOLLOWER_C, data.next_partition_key, 0));
        out.push(hub_case(
            format!("flows/external-join/after-{commits}-commits"),
            format!("Externally joining after {commits} commit(s): dave (d.example) requests the GroupInfo, sends an external commit (sequenced to the most recent partition), then sends to the partition his commit created; the followers read both"),
            &[req::FLOW_EXTERNAL_JOIN_STEPS, req::FLOW_EXTERNAL_JOIN_NEW_PARTITION, req::EXTERNAL_JOIN_TO_HUB, req::PARTITION_EXTERNAL_EXCEPTION],
            steps(inputs),
        ));
    }
    out.extend(self_remove_flows());
    out
}

/// Self-remove: carol proposes her own removal, keeps reading the epoch, then her provider
/// stops reading and refuses pushes.
fn self_remove_flows() -> Vec<TraceCase> {
    let mut history = stories::linear(Handshakes::Clear);
    let key = *history.keys.last().expect("a key");
    let proposal = history.members[2].self_remove();
    let before = messages_in(&history.events, key);
    let remove = SendRequest {
        message: proposal.clone(),
        partition_key: key,
        commit_data: None,
    };
    let mut out = Vec::new();
    let mut hub_inputs = replay(history.creation, &history.events);
    hub_inputs.push(Input::Send {
        from: provider(FOLLOWER_C),
        request: remove.clone(),
    });
    hub_inputs.push(read(FOLLOWER_C, key, before));
    out.push(hub_case(
        "flows/self-remove/hub-sequences-the-proposal".into(),
        "Self-remove at the hub: carol's Remove proposal for herself (a PublicMessage proposal) is sequenced like any message, and carol keeps reading the same epoch to see it sequenced".into(),
        &[req::FLOW_SELF_REMOVE_PROPOSAL, req::FLOW_SELF_REMOVE_KEEP_RECEIVING],
        steps(hub_inputs),
    ));
    let carol = Bytes(b"carol".to_vec());
    let pushed = ReceiveResponse {
        epoch: Epoch::default(),
        hints: vec![HintedEpoch {
            masked_partition_key: key.masked(),
            epoch: Epoch {
                messages: vec![Message {
                    message: proposal,
                    commit: None,
                }],
            },
        }],
    };
    // (how many reads before leaving, what is tried after leaving)
    let after_leaving: [(&str, Input); 2] = [
        (
            "read",
            Input::LocalReceive {
                group_id: GROUP.into(),
                request: ReceiveRequest {
                    partition_key: key,
                    counter: before + 1,
                },
            },
        ),
        (
            "push",
            Input::Push {
                from: provider(HUB),
                response: pushed,
            },
        ),
    ];
    // Leaving one group leaves the others alone: b.example follows two groups at two hubs.
    out.push(case(
        "flows/self-remove/other-group-still-read".into(),
        "Self-remove at b.example, which follows two groups at two hubs: after its last user of the other group leaves that one, a read of this group is still forwarded to its hub (the rule is per group: \"it stops requesting messages for the group\")".into(),
        Role::Follower,
        FOLLOWER_B,
        &[req::FLOW_SELF_REMOVE_STOP_PUSHES, req::RECEIVE_FOLLOWER_REQUESTS],
        steps(vec![
            follow(),
            follow_other(),
            Input::SelfRemove {
                group_id: STRAY_GROUP.into(),
            },
            Input::LocalReceive {
                group_id: GROUP.into(),
                request: ReceiveRequest {
                    partition_key: key,
                    counter: 0,
                },
            },
        ]),
    ));
    for reads in [1u32, 2] {
        for (what, attempt) in &after_leaving {
            let mut inputs = vec![
                follow(),
                Input::LocalSend {
                    user: carol.clone(),
                    request: remove.clone(),
                },
            ];
            inputs.extend((0..reads).map(|r| Input::LocalReceive {
                group_id: GROUP.into(),
                request: ReceiveRequest {
                    partition_key: key,
                    counter: before + r,
                },
            }));
            inputs.push(Input::SelfRemove {
                group_id: GROUP.into(),
            });
            inputs.push(attempt.clone());
            out.push(case(
                format!("flows/self-remove/follower-{reads}-reads-then-{what}"),
                format!("Self-remove at carol's provider: it forwards her Remove proposal to the hub, reads the epoch {reads} time(s) for her, is told she left (test control), then a {what} for the group must be refused with unknown_group"),
                Role::Follower,
                FOLLOWER_C,
                &[req::FLOW_SELF_REMOVE_INFORM_LSP, req::FLOW_SELF_REMOVE_STOP_PUSHES, req::FLOW_SELF_REMOVE_KEEP_RECEIVING, req::SEND_FOLLOWER_TO_HUB],
                steps(inputs),
            ));
        }
    }
    out
}
