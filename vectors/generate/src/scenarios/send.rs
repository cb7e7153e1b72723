//! Sending (draft §"Endpoints / Sending Messages").

use super::*;

pub(super) fn send(clear: &History, encrypted: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    for (history, label) in [(clear, "clear"), (encrypted, "encrypted")] {
        let places = positions(&history.events);
        for (i, event) in history.events.iter().enumerate() {
            let (_, at) = places[i];
            out.push(hub_case(
                format!("send/sequenced/{label}/event-{i}"),
                format!("{} ({} handshakes) sequenced as message {at} of its partition after {i} earlier event(s)", event.what, label),
                &[req::SEND_SEQUENCED_TO_PARTITION, req::HUB_SEQUENCES_AND_FANS_OUT, req::SEND_COMMIT_DATA],
                steps(replay(history.creation, &history.events[..=i])),
            ));
        }
    }
    // Unknown groups.
    for (message, data, what) in stories::stray_messages() {
        let key = PartitionKey([7; 16]);
        for (hosting, setup) in [
            ("no-group-hosted", vec![]),
            ("other-group-hosted", vec![create(clear.creation)]),
        ] {
            let mut inputs = setup;
            inputs.push(Input::Send {
                from: provider(FOLLOWER_B),
                request: SendRequest {
                    message: message.clone(),
                    partition_key: key,
                    commit_data: data.clone(),
                },
            });
            out.push(hub_case(
                format!(
                    "send/unknown-group/{}/{hosting}",
                    what.trim_start_matches("an ")
                        .trim_start_matches("a ")
                        .replace(' ', "-")
                ),
                format!(
                    "{what} of a group the hub does not host ({}) is rejected",
                    hosting.replace('-', " ")
                ),
                &[req::SEND_UNKNOWN_GROUP_REJECTED],
                steps(inputs),
            ));
        }
    }
    // Keys the hub never announced, or announced long ago: no hard rules.
    let last = *clear.keys.last().expect("a key");
    let chat = clear
        .events
        .iter()
        .find(|e| !e.is_commit() && e.provider.as_str() == FOLLOWER_B)
        .expect("bob chats")
        .clone();
    for (what, key) in [
        ("never-seen-key", PartitionKey([0x5a; 16])),
        ("creation-key", clear.creation),
        ("stale-epoch-key", clear.keys[1]),
        ("current-key", last),
    ] {
        let mut inputs = replay(clear.creation, &clear.events);
        let mut request = chat.request.clone();
        request.partition_key = key;
        inputs.push(Input::Send {
            from: chat.provider.clone(),
            request,
        });
        inputs.push(read(FOLLOWER_C, key, messages_in(&clear.events, key)));
        out.push(hub_case(
            format!("send/any-partition-key/{what}"),
            format!("bob's application message sent to the {} is sequenced there: the hub has no hard rules about partition keys; a reader of that key gets it", what.replace('-', " ")),
            &[req::PARTITION_KEYS_NO_HARD_RULES, req::PARTITION_KEYS_ABUSE_SIGNAL, req::PARTITION_ACCESS_CONTROL],
            steps(inputs),
        ));
    }
    // Duplicates are sequenced again (errata/duplicate-send).
    for copies in [2u32, 3] {
        let mut inputs = replay(clear.creation, &clear.events[..2]);
        inputs.extend((1..copies).map(|_| clear.events[1].hub_input()));
        inputs.push(read(FOLLOWER_B, clear.keys[1], 0));
        out.push(hub_case(
            format!("send/duplicate/{copies}-copies"),
            format!("the same application message sent {copies} times (a retry after a timeout) is sequenced {copies} times"),
            &[req::SEND_SEQUENCED_TO_PARTITION, req::RECEIVE_SEQUENCING_ORDER],
            steps(inputs),
        ));
    }
    out.extend(ratchet_tree_cases());
    out.push(foreign_group_info_case());
    out.push(capitalised_provider_case());
    out.push(group_info_as_message_case());
    out.extend(welcome_data_cases());
    let founding = clear.events[0].request.to_bytes();
    out.extend(malformed_family(
        "send",
        Role::Hub,
        HUB,
        Endpoint::Send,
        &founding,
        vec![create(clear.creation)],
    ));
    // A partition key one byte short or long (errata/partition-key-encoding).
    for length in [15, 17] {
        let mut w = Writer::with_fault(Fault::PartitionKeyLength { site: 0, length });
        clear.events[0].request.write(&mut w);
        out.push(hub_case(
            format!("send/partition-key-length/{length}"),
            format!("the founding commit sent with a {length}-byte partition key: refused as malformed, nothing sequenced"),
            &[],
            vec![
                create(clear.creation).into(),
                malformed_breaking(
                    Endpoint::Send,
                    w.out,
                    &[req::SEND_PARTITION_KEY_LENGTH],
                    &[errata::PARTITION_KEY_ENCODING],
                ),
            ],
        ));
    }
    out.extend(select_cases(clear));
    // Follower side: a local user's message goes to the hub.
    let bob_events: Vec<&Event> = clear
        .events
        .iter()
        .filter(|e| e.provider.as_str() == FOLLOWER_B)
        .collect();
    for (n, event) in bob_events.iter().enumerate() {
        out.push(case(
            format!("send/follower/forward-{n}"),
            format!(
                "{} handed to b.example is forwarded to the hub unchanged",
                event.what
            ),
            Role::Follower,
            FOLLOWER_B,
            &[req::SEND_FOLLOWER_TO_HUB],
            steps([
                follow(),
                Input::LocalSend {
                    user: event.user.clone(),
                    request: event.request.clone(),
                },
            ]),
        ));
    }
    out.push(case(
        "send/follower/unknown-group".into(),
        "bob's message for a group b.example does not follow is refused, nothing forwarded".into(),
        Role::Follower,
        FOLLOWER_B,
        &[req::SEND_FOLLOWER_TO_HUB],
        steps([Input::LocalSend {
            user: bob_events[0].user.clone(),
            request: bob_events[0].request.clone(),
        }]),
    ));
    out
}

/// GroupInfo without a ratchet tree: refused unless the hub knows the tree.
fn ratchet_tree_cases() -> Vec<TraceCase> {
    let founding = stories::found(Handshakes::Clear);
    let with_tree = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let without_tree = founding.event(founding.commit_data(false, &[FOLLOWER_B, FOLLOWER_C]));
    let terminate_creation = Input::TerminateBranch {
        partition_key: founding.creation,
    };
    let table: [(&str, &str, Vec<Input>); 4] = [
        ("required", "a commit whose GroupInfo has no ratchet_tree extension, and no tree the hub could infer: rejected so it can be retried with one", vec![without_tree.hub_input()]),
        ("and-branch-terminated", "the same commit sent to a partition the hub terminated: two refusals apply, branch_terminated and ratchet_tree_required, and either may be answered (errata/refusal-order); nothing sequenced", vec![terminate_creation, without_tree.hub_input()]),
        ("retried-with-tree", "the same commit refused without a tree, then retried with the tree: sequenced", [vec![without_tree.hub_input()], answered(&with_tree)].concat()),
        ("inferred-from-earlier", "the commit with its tree, then a retry of it without the tree: the hub knows a tree with that tree_hash, so it may infer it (or still refuse)", [answered(&with_tree), answered(&without_tree)].concat()),
    ];
    table
        .into_iter()
        .map(|(what, comment, inputs)| {
            let mut all = vec![create(founding.creation)];
            all.extend(inputs);
            hub_case(
                format!("send/ratchet-tree/{what}"),
                comment.into(),
                &[req::SEND_RATCHET_TREE_REQUIRED, req::SEND_COMMIT_DATA],
                steps(all),
            )
        })
        .collect()
}

/// A SendRequest whose message is the group's own GroupInfo, where only a PublicMessage or
/// a PrivateMessage may stand (errata/mls-message-parsing): the body does not decode.
fn group_info_as_message_case() -> TraceCase {
    let founding = stories::found(Handshakes::Clear);
    let group_info = founding
        .commit_data(true, &[FOLLOWER_B, FOLLOWER_C])
        .group_info
        .expect("the founding commit carries its GroupInfo");
    let mut w = Writer::default();
    group_info.write(&mut w);
    w.partition_key(&founding.creation.0);
    hub_case(
        "send/malformed/group-info-as-message".into(),
        "the group's GroupInfo sent as a SendRequest's message, which must be a PublicMessage or a PrivateMessage: refused as malformed, nothing sequenced".into(),
        &[],
        vec![
            CaseStep::from(create(founding.creation)),
            malformed_breaking(Endpoint::Send, w.out, &[], &[errata::MLS_MESSAGE_PARSING]),
        ],
    )
}

/// A commit whose CommitData carries the GroupInfo of another group
/// (errata/group-info-group-mismatch).
fn foreign_group_info_case() -> TraceCase {
    let founding = stories::found(Handshakes::Clear);
    let mut data = founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]);
    data.group_info = Some(stories::stray_group_info());
    hub_case(
        "send/group-info/of-another-group".into(),
        "alice's first commit carrying the GroupInfo of a group the hub does not host: refused as malformed, nothing sequenced, no WelcomeInit".into(),
        &[req::SEND_COMMIT_DATA],
        steps([create(founding.creation), founding.event(data).hub_input()]),
    )
}

/// WelcomeData naming a provider in capitals: not the canonical spelling
/// (errata/service-provider-id), so the body does not decode.
fn capitalised_provider_case() -> TraceCase {
    let founding = stories::found(Handshakes::Clear);
    let event = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let lower = FOLLOWER_B.as_bytes();
    let mut body = event.request.to_bytes();
    let at = body
        .windows(lower.len())
        .position(|w| w == lower)
        .expect("the body names b.example");
    body[at..at + lower.len()].make_ascii_uppercase();
    hub_case(
        "send/malformed/provider-id-in-capitals".into(),
        "alice's first commit forwarded with its WelcomeData naming B.EXAMPLE: a ServiceProviderId is the lowercase domain, so the body is malformed".into(),
        &[req::SEND_WELCOME_DATA, req::ENDPOINTS_FOR_THIRD_PARTIES],
        vec![
            CaseStep::from(create(founding.creation)),
            malformed_breaking(Endpoint::Send, body, &[], &[errata::SERVICE_PROVIDER_ID]),
        ],
    )
}

/// WelcomeData whose providers do not match the Welcome's secrets.
fn welcome_data_cases() -> Vec<TraceCase> {
    let founding = stories::found(Handshakes::Clear);
    let table: [(&str, &[&str]); 3] = [
        ("fewer-providers", &[FOLLOWER_B]),
        ("more-providers", &[FOLLOWER_B, FOLLOWER_C, FOLLOWER_C]),
        ("no-providers", &[]),
    ];
    table
        .into_iter()
        .map(|(what, providers)| {
            let event = founding.event(founding.commit_data(true, providers));
            hub_case(
                format!("send/welcome-providers-length/{what}"),
                format!("a Welcome for two new members with {} service provider(s): the lengths differ, so the request is malformed and no WelcomeInit is sent", providers.len()),
                &[req::SEND_WELCOME_PROVIDERS_LENGTH, req::SEND_WELCOME_DATA],
                steps([create(founding.creation), event.hub_input()]),
            )
        })
        .collect()
}

/// The content-type select: commit data iff commit (errata/select-commit-only).
fn select_cases(history: &History) -> Vec<TraceCase> {
    let commit = &history.events[0].request;
    let application = &history.events[1].request;
    let mut without = commit.message.to_bytes();
    without.extend(
        commit
            .partition_key
            .0
            .len()
            .to_be_bytes()
            .iter()
            .rev()
            .take(1),
    );
    without.extend(commit.partition_key.0);
    let mut with = application.to_bytes();
    with.extend(
        CommitData {
            next_partition_key: PartitionKey([1; 16]),
            group_info: None,
            welcome_data: None,
        }
        .to_bytes(),
    );
    let mut short_key = application.message.to_bytes();
    short_key.push(15);
    short_key.extend(&application.partition_key.0[..15]);
    [
        (
            "commit-without-commit-data",
            "a commit followed by its partition key and nothing else",
            without,
            req::SEND_COMMIT_DATA,
            errata::SELECT_COMMIT_ONLY,
        ),
        (
            "application-with-commit-data",
            "an application message followed by commit data",
            with,
            req::SEND_COMMIT_DATA,
            errata::SELECT_COMMIT_ONLY,
        ),
        (
            "partition-key-15-bytes",
            "an application message with a 15-byte partition key",
            short_key,
            req::SEND_PARTITION_KEY_LENGTH,
            errata::PARTITION_KEY_ENCODING,
        ),
    ]
    .into_iter()
    .map(|(what, comment, body, requirement, erratum)| {
        hub_case(
            format!("send/malformed/{what}"),
            format!("SendRequest: {comment}; refused as malformed"),
            &[requirement, req::ENDPOINTS_FOR_THIRD_PARTIES],
            vec![
                CaseStep::from(create(history.creation)),
                malformed_breaking(Endpoint::Send, body, &[requirement], &[erratum]),
            ],
        )
    })
    .collect()
}
