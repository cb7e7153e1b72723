//! Receiving (draft §"Endpoints / Receiving Messages").

use super::*;

/// The counters worth asking for in a partition of `len` messages: first, second, middle,
/// last, end, past the end, and the largest counter.
fn counters(len: u32) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = vec![
        ("0".into(), 0),
        ("1".into(), 1),
        ("middle".into(), len / 2),
        ("last".into(), len.saturating_sub(1)),
        ("end".into(), len),
        ("past-end".into(), len + 1),
        ("max".into(), u32::MAX),
    ];
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|(_, c)| seen.insert(*c));
    out
}

pub(super) fn receive(clear: &History, encrypted: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::RECEIVE_RESPONDS,
        req::RECEIVE_MASKED_KEY,
        req::RECEIVE_FOLLOWER_REQUESTS,
    ];
    for (history, label) in [(clear, "clear"), (encrypted, "encrypted")] {
        for (epoch, key) in history.keys.iter().enumerate() {
            let len = messages_in(&history.events, *key);
            for (n, (name, counter)) in counters(len).into_iter().enumerate() {
                let reader = if n % 2 == 0 { FOLLOWER_B } else { FOLLOWER_C };
                let mut inputs = replay(history.creation, &history.events);
                inputs.push(read(reader, *key, counter));
                out.push(hub_case(
                    format!("receive/counter/{label}/epoch-{epoch}/{name}"),
                    format!("{reader} reads the partition of epoch {epoch} ({len} message(s), {label} handshakes) with counter {counter}: the epoch skips the first {counter}; hints are the hub's choice"),
                    &reqs,
                    steps(inputs),
                ));
            }
        }
    }
    // Polling as the history unfolds: each read continues where the last one stopped.
    let places = positions(&clear.events);
    for upto in 1..=clear.events.len() {
        let mut inputs = vec![create(clear.creation)];
        for (event, (key, at)) in clear.events[..upto].iter().zip(&places) {
            inputs.extend(answered(event));
            inputs.push(read(FOLLOWER_B, *key, *at));
        }
        out.push(hub_case(
            format!("receive/poll/after-{upto}-events"),
            format!("b.example polls after each of {upto} event(s), each time with the counter of what it already has; commits make it move to the next partition key"),
            &[req::RECEIVE_COUNTER, req::RECEIVE_SKIP_COUNTER, req::FLOW_CREATE_FOLLOWERS_READ],
            steps(inputs),
        ));
    }
    // Hints across epochs: read a parent partition from its commit while the child fills.
    let commits = commit_positions(&clear.events);
    for (c, &at) in commits.iter().enumerate() {
        let parent = clear.events[at].request.partition_key;
        let counter = places[at].1;
        let end = commits
            .get(c + 1)
            .map_or(clear.events.len(), |next| next + 1);
        for upto in (at + 1)..=end {
            let mut inputs = replay(clear.creation, &clear.events[..upto]);
            inputs.push(read(FOLLOWER_C, parent, counter));
            out.push(hub_case(
                format!("receive/hints/commit-{c}/after-{upto}-events"),
                format!("c.example reads from commit {c} on (counter {counter}) after {upto} event(s): the epoch ends with the commit and the partition it announces, with {} message(s) so far, may come as a hint", upto - at - 1),
                &[req::RECEIVE_HINTS_OTHER_EPOCHS, req::RECEIVE_HINTS_COMPLETE, req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH, req::RECEIVE_HINTS_UNORDERED, req::RECEIVE_HUB_DISCRETION],
                steps(inputs),
            ));
        }
    }
    // Unknown partitions.
    let unknown: [(&str, &str, Vec<Input>, PartitionKey); 3] = [
        (
            "no-group",
            "before any group exists",
            vec![],
            PartitionKey([9; 16]),
        ),
        (
            "guessed-key",
            "a key nobody announced, while the group is live",
            replay(clear.creation, &clear.events),
            PartitionKey([9; 16]),
        ),
        (
            "other-groups-key",
            "the key of a group another hub hosts (what a removed or foreign user may hold)",
            replay(clear.creation, &clear.events),
            encrypted.creation,
        ),
    ];
    for (what, comment, mut inputs, key) in unknown {
        inputs.push(read(FOLLOWER_B, key, 0));
        out.push(hub_case(
            format!("receive/unknown-partition/{what}"),
            format!("a read of an unknown partition key, {comment}: an empty response (or unknown_partition), and never another partition's messages"),
            &[req::PARTITION_ACCESS_CONTROL, req::PARTITION_KEY_EPOCH_ACCESS],
            steps(inputs),
        ));
    }
    // Two hosted groups: the key alone finds the partition, whichever group it is in.
    let mut two_groups = vec![Input::CreateGroup {
        group_id: b"mimi-group-0".as_slice().into(),
        partition_key: PartitionKey([0xee; 16]),
    }];
    two_groups.extend(replay(clear.creation, &clear.events));
    two_groups.push(read(FOLLOWER_B, clear.creation, 0));
    out.push(hub_case(
        "receive/two-groups/read-by-key-alone".into(),
        "the hub hosts another group (created first) besides the group read: a ReceiveRequest names no group, and the partition key alone finds the group's first epoch".into(),
        &[req::RECEIVE_COUNTER, req::PARTITION_ACCESS_CONTROL],
        steps(two_groups),
    ));
    let read_body = ReceiveRequest {
        partition_key: clear.creation,
        counter: 0,
    }
    .to_bytes();
    out.extend(malformed_family(
        "receive",
        Role::Hub,
        HUB,
        Endpoint::Receive,
        &read_body,
        vec![create(clear.creation)],
    ));
    out.extend(follower_reads(clear));
    out
}

/// The follower side of reading: forwarding reads, taking pushes.
fn follower_reads(history: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    for (epoch, key) in history.keys.iter().enumerate() {
        let counter = messages_in(&history.events, *key) / 2;
        out.push(case(
            format!("receive/follower/forward-read/epoch-{epoch}"),
            format!("a local user of b.example reads epoch {epoch} from counter {counter}: b.example asks the hub"),
            Role::Follower,
            FOLLOWER_B,
            &[req::RECEIVE_FOLLOWER_REQUESTS, req::FLOW_CREATE_FOLLOWERS_READ],
            steps([follow(), Input::LocalReceive { group_id: GROUP.into(), request: ReceiveRequest { partition_key: *key, counter } }]),
        ));
    }
    let hinted = |key: PartitionKey| HintedEpoch {
        masked_partition_key: key.masked(),
        epoch: Epoch {
            messages: history
                .events
                .iter()
                .filter(|e| e.request.partition_key == key)
                .map(message_of)
                .collect(),
        },
    };
    let push = |hints: Vec<HintedEpoch>| ReceiveResponse {
        epoch: Epoch::default(),
        hints,
    };
    let all = push(
        history
            .keys
            .iter()
            .map(|k| hinted(*k))
            .filter(|h| !h.epoch.messages.is_empty())
            .collect(),
    );
    let one = push(vec![hinted(history.keys[1])]);
    let table: Vec<(&str, &str, Vec<Input>)> = vec![
        (
            "one-epoch",
            "the hub pushes one complete epoch",
            vec![
                follow(),
                Input::Push {
                    from: provider(HUB),
                    response: one.clone(),
                },
            ],
        ),
        (
            "all-epochs",
            "the hub pushes every epoch as hints",
            vec![
                follow(),
                Input::Push {
                    from: provider(HUB),
                    response: all.clone(),
                },
            ],
        ),
        (
            "duplicate",
            "the same push twice (a retry): both acknowledged, delivered once",
            vec![
                follow(),
                Input::Push {
                    from: provider(HUB),
                    response: one.clone(),
                },
                Input::Push {
                    from: provider(HUB),
                    response: one.clone(),
                },
            ],
        ),
        (
            "from-another-provider",
            "c.example pushes for a group a.example hosts: refused",
            vec![
                follow(),
                Input::Push {
                    from: provider(FOLLOWER_C),
                    response: one.clone(),
                },
            ],
        ),
        (
            "from-the-other-groups-hub",
            "b.example follows a second group, hosted at d.example; d.example pushes messages of the group a.example hosts: refused, a push is taken only from the hub of the group it carries",
            vec![
                follow(),
                follow_other(),
                Input::Push {
                    from: provider(OUTSIDER),
                    response: one.clone(),
                },
            ],
        ),
        (
            "unfollowed-group",
            "a push for a group no local user follows: refused",
            vec![Input::Push {
                from: provider(HUB),
                response: one.clone(),
            }],
        ),
    ];
    for (what, comment, inputs) in table {
        out.push(case(
            format!("receive/follower/push/{what}"),
            format!("Push to b.example: {comment}"),
            Role::Follower,
            FOLLOWER_B,
            &[req::RECEIVE_PUSH],
            steps(inputs),
        ));
    }
    out.extend(malformed_family(
        "receive/follower/push",
        Role::Follower,
        FOLLOWER_B,
        Endpoint::Notify,
        &one.to_bytes(),
        vec![follow()],
    ));
    out
}

fn message_of(event: &Event) -> Message {
    Message {
        message: event.request.message.clone(),
        commit: event.request.commit_data.as_ref().map(|d| {
            mimi_ds_model::codec::MessageCommitData {
                next_partition_key: d.next_partition_key.masked(),
                group_info: d.group_info.clone(),
            }
        }),
    }
}
