//! Deliberately broken variants of the reference DS. Each is one plausible implementation bug,
//! applied around the model (input rewritten, answer or state altered), so the suite can
//! prove it catches it: every mutant must fail a case that names the requirement it breaks.

use mimi_ds_model::codec::{ContentType, ErrorCode, HintedEpoch, ProposalView, WireFormat};
use mimi_ds_model::ds::{forks, Input, Outbound, Response, State};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::requirements::{self as req, ReqId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    CounterOffByOne,
    HintRepeatsRequestedEpoch,
    UnmaskedHintKey,
    AcceptUnknownGroup,
    WelcomeWithoutAffirmative,
    KeyPackageHandedOutTwice,
    AcceptRevokedToken,
    PolicyAcrossForks,
    IgnoreBranchTermination,
    ExternalJoinToCreationPartition,
    ReorderConcurrentSends,
    LoseSecondMessage,
    ServerErrorOnMalformed,
    AcceptTrailingBytes,
    RawNextPartitionKey,
    SkipRatchetTreeCheck,
    RejectUnseenPartitionKey,
}

pub struct MutantInfo {
    pub mutant: Mutant,
    pub name: &'static str,
    pub breaks: &'static str,
    /// The requirements a case catching it must name (any one of them)…
    pub requirements: &'static [ReqId],
    /// …or, for rules only our errata state (the transport), the erratum.
    pub errata: &'static [ErratumId],
}

pub const MUTANTS: &[MutantInfo] = &[
    MutantInfo {
        mutant: Mutant::CounterOffByOne,
        name: "counter-off-by-one",
        breaks: "skips counter + 1 messages of the requested partition",
        requirements: &[req::RECEIVE_SKIP_COUNTER, req::RECEIVE_COUNTER],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::HintRepeatsRequestedEpoch,
        name: "hint-repeats-requested-epoch",
        breaks: "also hints the requested epoch, so one epoch is referenced twice",
        requirements: &[
            req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH,
            req::RECEIVE_HINTS_OTHER_EPOCHS,
        ],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::UnmaskedHintKey,
        name: "unmasked-hint-key",
        breaks: "names hinted epochs by the raw partition key instead of its hash",
        requirements: &[req::RECEIVE_MASKED_KEY, req::RECEIVE_HINTS_OTHER_EPOCHS],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::AcceptUnknownGroup,
        name: "accept-unknown-group",
        breaks: "accepts a SendRequest for a group it does not host",
        requirements: &[req::SEND_UNKNOWN_GROUP_REJECTED],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::WelcomeWithoutAffirmative,
        name: "welcome-without-affirmative",
        breaks: "pushes the Welcome although the provider refused the WelcomeInit",
        requirements: &[req::WELCOME_PUSH_IF_ACCEPTED, req::WELCOME_INIT_BEFORE_PUSH],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::KeyPackageHandedOutTwice,
        name: "key-package-handed-out-twice",
        breaks: "never marks a KeyPackage as used",
        requirements: &[req::KEY_PACKAGES_RESPONSE_MATCHES],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::AcceptRevokedToken,
        name: "accept-revoked-token",
        breaks: "ignores bearer token revocation",
        requirements: &[
            req::KEY_PACKAGES_BEARER_TOKEN,
            req::KEY_PACKAGES_BEARER_INVALIDATION,
        ],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::PolicyAcrossForks,
        name: "policy-across-forks",
        breaks: "applies a ban from one fork to every fork of the group",
        requirements: &[req::POLICY_PER_FORK, req::POLICY_BAN_PER_FORK],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::IgnoreBranchTermination,
        name: "ignore-branch-termination",
        breaks: "accepts the termination but keeps sequencing sends to the branch",
        requirements: &[req::FORK_TERMINATION_BLOCKS_SENDS],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::ExternalJoinToCreationPartition,
        name: "external-join-to-creation-partition",
        breaks: "sequences external commits to the group's first partition, not the most recent",
        requirements: &[req::EXTERNAL_JOIN_MOST_RECENT_PARTITION],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::ReorderConcurrentSends,
        name: "reorder-concurrent-sends",
        breaks: "returns the last two messages of an epoch in swapped order",
        requirements: &[req::RECEIVE_SEQUENCING_ORDER],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::LoseSecondMessage,
        name: "lose-second-message",
        breaks: "answers the second send to a partition but never sequences it",
        requirements: &[req::SEND_SEQUENCED_TO_PARTITION, req::RECEIVE_SKIP_COUNTER],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::ServerErrorOnMalformed,
        name: "server-error-on-malformed",
        breaks: "answers an undecodable body with 500 and no DsError",
        requirements: &[],
        errata: &[errata::TRANSPORT],
    },
    MutantInfo {
        mutant: Mutant::AcceptTrailingBytes,
        name: "accept-trailing-bytes",
        breaks: "decodes a body's longest valid prefix and ignores what follows",
        requirements: &[],
        errata: &[errata::TRANSPORT],
    },
    MutantInfo {
        mutant: Mutant::RawNextPartitionKey,
        name: "raw-next-partition-key",
        breaks: "relays a commit's next partition key unmasked",
        requirements: &[req::RECEIVE_MASKED_KEY],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::SkipRatchetTreeCheck,
        name: "skip-ratchet-tree-check",
        breaks: "accepts a commit whose GroupInfo has no ratchet tree it can infer",
        requirements: &[req::SEND_RATCHET_TREE_REQUIRED],
        errata: &[],
    },
    MutantInfo {
        mutant: Mutant::RejectUnseenPartitionKey,
        name: "reject-unseen-partition-key",
        breaks: "refuses sends to partition keys it has not seen announced (a hard-and-fast rule)",
        requirements: &[req::PARTITION_KEYS_NO_HARD_RULES],
        errata: &[],
    },
];

pub fn find(name: &str) -> Option<&'static MutantInfo> {
    MUTANTS.iter().find(|m| m.name == name)
}

pub fn info(mutant: Mutant) -> &'static MutantInfo {
    MUTANTS
        .iter()
        .find(|m| m.mutant == mutant)
        .expect("every mutant is listed")
}

/// What the mutant does with an input before the model sees it.
pub enum Before {
    Apply(Input),
    /// Answer without touching the state.
    Answer(Response),
}

impl Mutant {
    pub fn before(self, state: &State, input: Input) -> Before {
        match (self, input) {
            (Mutant::CounterOffByOne, Input::Receive { from, mut request }) => {
                request.counter = request.counter.saturating_add(1);
                Before::Apply(Input::Receive { from, request })
            }
            (Mutant::WelcomeWithoutAffirmative, Input::WelcomeInitAnswered { provider, .. }) => {
                Before::Apply(Input::WelcomeInitAnswered {
                    provider,
                    accepted: true,
                })
            }
            (Mutant::AcceptRevokedToken, Input::RevokeToken { .. }) => {
                Before::Answer(Response::Accepted)
            }
            (Mutant::IgnoreBranchTermination, Input::TerminateBranch { .. }) => {
                Before::Answer(Response::Accepted)
            }
            (Mutant::PolicyAcrossForks, Input::Send { from, request })
                if adds_identity_banned_anywhere(state, &request) =>
            {
                let _ = from;
                Before::Answer(Response::Error(ErrorCode::PolicyRejected))
            }
            (Mutant::RejectUnseenPartitionKey, input @ Input::Send { .. }) => {
                let Input::Send { request, .. } = &input else {
                    unreachable!()
                };
                let hosted = request
                    .message
                    .view
                    .group_id
                    .as_ref()
                    .is_some_and(|g| state.partitions.groups.contains_key(g));
                if hosted && !state.partitions.index.contains_key(&request.partition_key) {
                    Before::Answer(Response::Error(ErrorCode::UnknownPartition))
                } else {
                    Before::Apply(input)
                }
            }
            (_, input) => Before::Apply(input),
        }
    }

    /// What the mutant does after the model answered: may alter the answer, the calls and
    /// the state it keeps.
    pub fn after(
        self,
        before: &State,
        state: &mut State,
        input: &Input,
        response: &mut Response,
        outbound: &mut Vec<Outbound>,
    ) {
        let _ = outbound;
        match (self, input, &mut *response) {
            (
                Mutant::HintRepeatsRequestedEpoch,
                Input::Receive { request, .. },
                Response::Receive(r),
            ) => {
                if let Some(p) = state.partitions.partition(&request.partition_key) {
                    r.hints.push(HintedEpoch {
                        masked_partition_key: p.masked.clone(),
                        epoch: mimi_ds_model::codec::Epoch {
                            messages: p.log.clone(),
                        },
                    });
                }
            }
            (Mutant::UnmaskedHintKey, Input::Receive { .. }, Response::Receive(r)) => {
                for hint in &mut r.hints {
                    let raw = state
                        .partitions
                        .groups
                        .values()
                        .flat_map(|g| g.partitions.iter())
                        .find(|(_, p)| p.masked == hint.masked_partition_key);
                    if let Some((key, _)) = raw {
                        hint.masked_partition_key = key.0.to_vec().into();
                    }
                }
            }
            (Mutant::RawNextPartitionKey, Input::Receive { .. }, Response::Receive(r)) => {
                let all = state
                    .partitions
                    .groups
                    .values()
                    .flat_map(|g| g.partitions.iter());
                let keys: Vec<_> = all.map(|(k, p)| (*k, p.masked.clone())).collect();
                let epochs =
                    std::iter::once(&mut r.epoch).chain(r.hints.iter_mut().map(|h| &mut h.epoch));
                for message in epochs.flat_map(|e| e.messages.iter_mut()) {
                    if let Some(commit) = &mut message.commit {
                        if let Some((key, _)) =
                            keys.iter().find(|(_, m)| *m == commit.next_partition_key)
                        {
                            commit.next_partition_key = key.0.to_vec().into();
                        }
                    }
                }
            }
            (Mutant::ReorderConcurrentSends, Input::Receive { .. }, Response::Receive(r)) => {
                let n = r.epoch.messages.len();
                if n >= 2 {
                    r.epoch.messages.swap(n - 2, n - 1);
                }
            }
            (
                Mutant::AcceptUnknownGroup,
                Input::Send { .. },
                Response::Error(ErrorCode::UnknownGroup),
            ) => {
                *response = Response::Accepted;
            }
            (
                Mutant::SkipRatchetTreeCheck,
                Input::Send { .. } | Input::LocalSend { .. } | Input::ExternalJoin { .. },
                Response::Error(ErrorCode::RatchetTreeRequired),
            ) => {
                *response = Response::Accepted;
            }
            (
                Mutant::KeyPackageHandedOutTwice,
                Input::KeyPackage { .. } | Input::KeyPackageBundle { .. },
                _,
            ) => {
                state.key_packages = before.key_packages.clone();
            }
            (Mutant::LoseSecondMessage, Input::Send { request, .. }, Response::Accepted) => {
                let was = before
                    .partitions
                    .partition(&request.partition_key)
                    .map_or(0, |p| p.log.len());
                if was == 1 {
                    *state = before.clone();
                }
            }
            (
                Mutant::ExternalJoinToCreationPartition,
                Input::ExternalJoin { request, .. },
                Response::Accepted,
            ) => {
                move_external_commit_to_creation(
                    before,
                    state,
                    request.message.view.group_id.as_ref(),
                );
            }
            _ => {}
        }
    }
}

fn adds_identity_banned_anywhere(
    state: &State,
    request: &mimi_ds_model::codec::SendRequest,
) -> bool {
    let view = &request.message.view;
    if view.wire_format != WireFormat::PublicMessage
        || view.content_type != Some(ContentType::Commit)
    {
        return false;
    }
    let Some(group) = view
        .group_id
        .as_ref()
        .and_then(|g| state.partitions.groups.get(g))
    else {
        return false;
    };
    view.proposals.iter().any(|p| match p {
        ProposalView::Add { identity, .. } => group
            .partitions
            .values()
            .any(|part| part.bans.contains(identity)),
        _ => false,
    })
}

fn move_external_commit_to_creation(
    before: &State,
    state: &mut State,
    group_id: Option<&mimi_ds_model::codec::Bytes>,
) {
    let Some(group_id) = group_id else { return };
    let Some(old) = before.partitions.groups.get(group_id) else {
        return;
    };
    let target = forks::most_recent_partition(old);
    let Some(group) = state.partitions.groups.get_mut(group_id) else {
        return;
    };
    let creation = group.creation;
    if target == creation {
        return;
    }
    let moved = group.partitions.get_mut(&target).and_then(|p| p.log.pop());
    if let (Some(message), Some(first)) = (moved, group.partitions.get_mut(&creation)) {
        first.log.push(message);
    }
}
