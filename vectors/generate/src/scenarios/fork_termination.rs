//! Forks and their termination (draft §"Fork Termination").

use super::*;

pub(super) fn fork_termination() -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::FORKS_TOLERATED,
        req::FORK_TERMINATION_MAY,
        req::FORK_TERMINATION_BLOCKS_SENDS,
        req::PARTITION_KEYS_NO_HARD_RULES,
    ];
    for (handshakes, label) in [
        (Handshakes::Clear, "clear"),
        (Handshakes::Encrypted, "encrypted"),
    ] {
        // (whose branch is terminated, what happens next)
        for terminated_bob in [true, false] {
            let mut fork = stories::fork(handshakes, None);
            let bob_chat = Fork::chat_in_branch(&mut fork.bob, "bob in his branch");
            let carol_chat = Fork::chat_in_branch(&mut fork.carol, "carol in her branch");
            let (dead, alive) = if terminated_bob {
                (&bob_chat, &carol_chat)
            } else {
                (&carol_chat, &bob_chat)
            };
            let dead_key = dead.request.partition_key;
            let alive_info = if terminated_bob {
                fork.carol_commit.clone()
            } else {
                fork.bob_commit.clone()
            };
            let (_, join_data, join_commit) = stories::external_join(
                alive_info
                    .request
                    .commit_data
                    .as_ref()
                    .and_then(|d| d.group_info.as_ref())
                    .expect("GroupInfo"),
                "dave",
                handshakes,
            );
            let who = if terminated_bob { "bob" } else { "carol" };
            let then: Vec<(&str, Vec<Input>)> = vec![
                ("send-to-terminated", vec![dead.hub_input()]),
                ("send-to-other-branch", vec![alive.hub_input()]),
                ("read-terminated", vec![read(FOLLOWER_B, dead_key, 0)]),
                (
                    "external-join",
                    vec![
                        Input::ExternalJoin {
                            from: provider(OUTSIDER),
                            request: ExternalJoinRequest {
                                message: join_commit,
                                commit_data: join_data,
                            },
                        },
                        read(FOLLOWER_B, alive.request.partition_key, 0),
                    ],
                ),
            ];
            for (what, after) in then {
                let mut inputs = fork_setup(&fork);
                inputs.push(dead.hub_input());
                inputs.push(Input::TerminateBranch {
                    partition_key: dead_key,
                });
                inputs.extend(after);
                out.push(hub_case(
                    format!("fork-termination/{label}/terminate-{who}s-branch/{what}"),
                    format!("bob and carol commit in the same epoch ({label} handshakes): a fork; after one message in {who}'s branch the hub terminates it; then {}", what.replace('-', " ")),
                    &reqs,
                    steps(inputs),
                ));
            }
        }
    }
    // Termination covers the one partition: a later epoch of the branch stays open.
    let mut fork = stories::fork(Handshakes::Clear, None);
    let bob_next = Fork::add_in_branch(&mut fork.bob, "dave");
    let bob_later_chat = Fork::chat_in_branch(&mut fork.bob, "bob, one epoch later");
    let mut inputs = fork_setup(&fork);
    inputs.extend([
        bob_next.hub_input(),
        Input::TerminateBranch {
            partition_key: bob_next.request.partition_key,
        },
        bob_later_chat.hub_input(),
    ]);
    out.push(hub_case(
        "fork-termination/clear/terminate-bobs-branch/send-to-later-epoch".into(),
        "bob and carol commit in the same epoch: a fork; bob commits again in his branch, then the hub terminates bob's branch; a message to the epoch bob's second commit announced is still sequenced".into(),
        &[req::FORK_TERMINATION_BLOCKS_SENDS, req::FORKS_TOLERATED],
        steps(inputs),
    ));
    // Both branches live: forks are tolerated.
    let mut fork = stories::fork(Handshakes::Clear, None);
    let bob_chat = Fork::chat_in_branch(&mut fork.bob, "bob");
    let carol_chat = Fork::chat_in_branch(&mut fork.carol, "carol");
    let mut inputs = fork_setup(&fork);
    inputs.extend([
        bob_chat.hub_input(),
        carol_chat.hub_input(),
        read(FOLLOWER_B, fork.base, 0),
        read(FOLLOWER_C, bob_chat.request.partition_key, 0),
        read(FOLLOWER_B, carol_chat.request.partition_key, 0),
    ]);
    out.push(hub_case(
        "fork-termination/tolerated/both-branches-live".into(),
        "two commits in one epoch; both branches receive messages and each reads back alone".into(),
        &[req::FORKS_TOLERATED, req::PARTITION_ACCESS_CONTROL],
        steps(inputs),
    ));
    // Which partitions to terminate is the hub's discretion (errata/terminate-branch-scope):
    // the reference terminates what it is asked to, and declining is accepted too.
    let discretion: [(&str, &str, Vec<Input>); 3] = [
        (
            "no-fork-yet",
            "terminating the only successor of an epoch that has one commit (no fork): terminated, or declined",
            [
                vec![create(fork.creation)],
                answered(&fork.founding_event),
                vec![
                    fork.bob_commit.hub_input(),
                    Input::TerminateBranch {
                        partition_key: fork
                            .bob_commit
                            .request
                            .commit_data
                            .as_ref()
                            .expect("commit")
                            .next_partition_key,
                    },
                ],
            ]
            .concat(),
        ),
        (
            "unknown-partition",
            "terminating a key the hub never saw: unknown_partition, or declined otherwise; never accepted",
            vec![
                create(fork.creation),
                Input::TerminateBranch {
                    partition_key: PartitionKey([3; 16]),
                },
            ],
        ),
        (
            "base-partition",
            "terminating the epoch the fork starts from, which is no branch of it: terminated, or declined",
            {
                let mut i = fork_setup(&fork);
                i.push(Input::TerminateBranch {
                    partition_key: fork.base,
                });
                i
            },
        ),
    ];
    for (what, comment, inputs) in discretion {
        out.push(hub_case(
            format!("fork-termination/discretion/{what}"),
            comment.into(),
            &[req::FORK_TERMINATION_MAY, req::FORK_TERMINATION_DISCRETION],
            steps(inputs),
        ));
    }
    out
}
