//! Policy (draft §"Policy Enforcement").

use super::*;

pub(super) fn policy() -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::POLICY_PER_FORK,
        req::POLICY_BAN_PER_FORK,
        req::POLICY_NEGATIVE_ONLY,
        req::POLICY_ONLY_UNAMBIGUOUS,
        req::POLICY_NO_POSITIVE,
        req::POLICY_EXAMPLES,
    ];
    // (handshakes, branch adding, identity added)
    let table = [
        (Handshakes::Clear, true, "mallory"),
        (Handshakes::Clear, false, "mallory"),
        (Handshakes::Clear, true, "eve"),
        (Handshakes::Clear, false, "eve"),
        (Handshakes::Encrypted, true, "mallory"),
        (Handshakes::Encrypted, false, "mallory"),
    ];
    // Carol's branch adds mallory before the commit announcing that branch is sequenced:
    // the key is in no fork the hub knows, so bob's ban does not reach it
    // (errata/policy-before-announcement).
    let mut fork = stories::fork(Handshakes::Clear, Some(b"mallory"));
    let early = Fork::add_in_branch(&mut fork.carol, "mallory");
    out.push(hub_case(
        "policy/ban/clear/unannounced-branch/add-mallory".into(),
        "bob commits a ban of mallory; a commit adding mallory arrives on carol's key before carol's commit announcing that key: sequenced, no fork's ban reaches a key no commit placed yet; then carol's commit".into(),
        &reqs,
        steps(
            [
                vec![create(fork.creation)],
                answered(&fork.founding_event),
                vec![
                    fork.bob_commit.hub_input(),
                    early.hub_input(),
                    fork.carol_commit.hub_input(),
                ],
            ]
            .concat(),
        ),
    ));
    for (handshakes, in_ban_branch, identity) in table {
        let mut fork = stories::fork(handshakes, Some(b"mallory"));
        let adder = if in_ban_branch {
            &mut fork.bob
        } else {
            &mut fork.carol
        };
        let add = Fork::add_in_branch(adder, identity);
        let mut inputs = fork_setup(&fork);
        inputs.push(add.hub_input());
        let label = if handshakes == Handshakes::Clear {
            "clear"
        } else {
            "encrypted"
        };
        let branch = if in_ban_branch {
            "ban-branch"
        } else {
            "other-branch"
        };
        out.push(hub_case(
            format!("policy/ban/{label}/{branch}/add-{identity}"),
            format!("bob commits a ban of mallory (GroupContextExtensions by value, {label}) while carol commits an update in the same epoch; then a commit in the {} adds {identity}: {}", branch.replace('-', " "), match (label, in_ban_branch, identity) {
                ("clear", true, "mallory") => "rejected, the ban holds in that fork",
                ("encrypted", _, _) => "sequenced: the hub cannot see the ban or the Add",
                _ => "sequenced: the ban does not apply here",
            }),
            &reqs,
            steps(inputs),
        ));
    }
    // An encrypted message to the fork with the ban: nothing visible breaks the ban.
    let mut fork = stories::fork(Handshakes::Clear, Some(b"mallory"));
    let bob_chat = Fork::chat_in_branch(&mut fork.bob, "bob after banning mallory");
    let mut inputs = fork_setup(&fork);
    inputs.push(bob_chat.hub_input());
    out.push(hub_case(
        "policy/ban/clear/ban-branch/encrypted-chat".into(),
        "bob commits a ban of mallory in the clear; then his application message in that branch, a PrivateMessage the hub cannot read: sequenced, as nothing unambiguously breaks the ban".into(),
        &[req::POLICY_ONLY_UNAMBIGUOUS, req::POLICY_NEGATIVE_ONLY],
        steps(inputs),
    ));
    // Local users: mutes and rate limits apply to the provider's own users only.
    let mut history = stories::linear(Handshakes::Clear);
    let key = *history.keys.last().expect("a key");
    let alice = Bytes(b"alice".to_vec());
    let alice_chat: Vec<SendRequest> = (0..4)
        .map(|n| SendRequest {
            message: history.members[0].application(&format!("alice {n}")),
            partition_key: key,
            commit_data: None,
        })
        .collect();
    let local = |request: &SendRequest| Input::LocalSend {
        user: alice.clone(),
        request: request.clone(),
    };
    let mut muted = replay(history.creation, &history.events);
    muted.extend([
        Input::Mute {
            user: alice.clone(),
        },
        local(&alice_chat[0]),
    ]);
    out.push(hub_case(
        "policy/mute/local-user-chat".into(),
        "the hub mutes its own user alice: her application message is rejected".into(),
        &[req::POLICY_EXAMPLES],
        steps(muted),
    ));
    let mut muted_commit = vec![
        create(history.creation),
        Input::Mute {
            user: alice.clone(),
        },
    ];
    muted_commit.extend(answered(&history.events[0]));
    out.push(hub_case(
        "policy/mute/local-user-commit".into(),
        "a muted alice may still commit: a mute silences chat, not the group's evolution".into(),
        &[req::POLICY_EXAMPLES, req::POLICY_ONLY_UNAMBIGUOUS],
        steps(muted_commit),
    ));
    let bob_chat = history
        .events
        .iter()
        .find(|e| e.provider.as_str() == FOLLOWER_B && !e.is_commit())
        .expect("bob chats")
        .clone();
    let mut remote = replay(history.creation, &history.events);
    remote.extend([
        Input::Mute {
            user: bob_chat.user.clone(),
        },
        Input::RateLimit {
            user: bob_chat.user.clone(),
            budget: 0,
        },
        bob_chat.hub_input(),
    ]);
    out.push(hub_case("policy/mute/remote-user-not-enforced".into(), "the hub records a mute and a zero budget for bob, a user of b.example: it cannot authenticate him, so his message is still sequenced".into(), &[req::POLICY_NO_REMOTE_RATE_LIMIT, req::POLICY_ONLY_UNAMBIGUOUS], steps(remote)));
    for budget in 0..=3u32 {
        let mut inputs = replay(history.creation, &history.events);
        inputs.push(Input::RateLimit {
            user: alice.clone(),
            budget,
        });
        inputs.extend(alice_chat.iter().take(budget as usize + 1).map(local));
        out.push(hub_case(
            format!("policy/rate-limit/budget-{budget}"),
            format!(
                "alice, local to the hub, may send {budget} message(s); message {} is rejected",
                budget + 1
            ),
            &[req::POLICY_LOCAL_RATE_LIMIT, req::POLICY_EXAMPLES],
            steps(inputs),
        ));
    }
    let bob = Bytes(b"bob".to_vec());
    let mut follower_mute = vec![follow(), Input::Mute { user: bob.clone() }];
    follower_mute.push(Input::LocalSend {
        user: bob,
        request: bob_chat.request.clone(),
    });
    out.push(case(
        "policy/mute/follower-local-user".into(),
        "b.example mutes its own user bob: his message is refused and not forwarded".into(),
        Role::Follower,
        FOLLOWER_B,
        &[req::POLICY_EXAMPLES, req::POLICY_FOLLOWER_ENFORCES_HUB],
        steps(follower_mute),
    ));
    out
}
