//! Legal variants of the reference DS, the dual of the mutants: each uses one discretion the
//! draft gives the hub (when and what to push, which hints, when to terminate, which policy
//! to enforce) or one alternative reading an erratum accepts. A correct suite passes every
//! one of them on every vector and random trace; a freedom that fails is a false verdict.

use crate::variants::{variants, Variant};
use mimi_ds_binding::control::{Capabilities, BAN_EXTENSION};
use mimi_ds_model::codec::{Epoch, ErrorCode, HintedEpoch, ReceiveResponse};
use mimi_ds_model::ds::partitions::to_vec;
use mimi_ds_model::ds::{
    apply, Expectation, Input, Model, Observed, Outbound, Outcome, Response, State,
};
use mimi_ds_model::errata;
use mimi_ds_model::requirements as req;

pub type FreedomInfo = Variant<Freedom>;

variants! {
    /// One legal variant of the reference DS.
    Freedom in FREEDOMS {
        PushBeforeAnswering "push-before-answering":
            "pushes every partition of the group to every provider taking part, after each accepted message and before answering",
            [RECEIVE_PUSH, RECEIVE_HUB_DISCRETION], [PUSH_SNAPSHOT, PUSH_RECIPIENTS];
        PushAfterAnswering "push-after-answering":
            "the same pushes, made after the answer has gone (idle waits for them)",
            [RECEIVE_PUSH, RECEIVE_HUB_DISCRETION], [PUSH_SNAPSHOT];
        PushTwice "push-twice":
            "sends every push twice, as a hub retrying a push whose answer it lost would",
            [RECEIVE_PUSH], [PUSH_AND_PULL];
        PushLagging "push-lagging":
            "pushes the group as it stood before the accepted message, a snapshot taken just before sequencing",
            [RECEIVE_HUB_DISCRETION], [PUSH_SNAPSHOT];
        NoHints "no-hints":
            "answers every ReceiveRequest without hints",
            [RECEIVE_HUB_DISCRETION], [HINT_SELECTION];
        EveryHint "every-hint":
            "hints every other partition of the group that holds messages",
            [RECEIVE_HUB_DISCRETION, RECEIVE_HINTS_OTHER_EPOCHS], [HINT_SELECTION, HINTS_WITHIN_GROUP];
        UnknownPartitionError "unknown-partition-error":
            "answers reads of partitions it does not hold with unknown_partition instead of an empty response",
            [], [UNKNOWN_AND_TERMINATED_PARTITION_READS];
        CounterPastEndMalformed "counter-past-end-malformed":
            "answers a counter past the end of the partition with malformed",
            [], [COUNTER_SKIPS_ALL_SEQUENCED];
        DeclineTerminations "decline-terminations":
            "never terminates a partition: declines every terminate_branch",
            [FORK_TERMINATION_DISCRETION], [TERMINATE_BRANCH_SCOPE];
        NoNegativePolicy "no-negative-policy":
            "enforces no policy at all: offers no mute or rate_limit action and no ban convention",
            [POLICY_EXAMPLES], [BAN_LIST_EXTENSION];
        LastApplicableRefusal "last-applicable-refusal":
            "when several refusals apply, answers the last one the model finds instead of the first",
            [], [REFUSAL_ORDER];
        NewestKeyPackageFirst "newest-key-package-first":
            "hands out a user's newest matching KeyPackage instead of the oldest",
            [KEY_PACKAGES_RESPONSE_MATCHES], [];
        NoTreeInference "no-tree-inference":
            "keeps no ratchet trees: asks for one whenever a GroupInfo comes without it",
            [SEND_RATCHET_TREE_REQUIRED], [RATCHET_TREE_REQUIRED_SIGNAL];
        NoIdle "no-idle":
            "offers no idle call, so the runner watches its peers for the calls it makes",
            [], [TRANSPORT];
        RefusalsUnder400 "refusals-under-400":
            "answers every refusal under status 400, the right DsError code in the body (graded informational)",
            [], [TRANSPORT];
        OctetStreamMediaType "octet-stream-media-type":
            "labels its answers application/octet-stream (graded informational)",
            [], [TRANSPORT];
        NoOhttp "no-ohttp":
            "has no OHTTP gateway: KeyPackage requests come directly, as in test mode",
            [KEY_PACKAGES_OVER_OHTTP], [TRANSPORT];
    }
}

/// A freedom is a DS behaviour: the model's transition, adjusted before and after.
impl Model for Freedom {
    fn apply(&self, state: &mut State, input: &Input) -> Observed {
        let before = state.clone();
        self.before(state, input);
        let Outcome {
            expect,
            mut outbound,
        } = apply(state, input);
        let mut response = expect.canonical.clone();
        self.after(&before, state, input, &expect, &mut response, &mut outbound);
        Observed { response, outbound }
    }
}

/// When the reference makes its pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushTiming {
    BeforeAnswering,
    AfterAnswering,
}

impl Freedom {
    /// What the target says of itself.
    pub fn capabilities(self, mut capabilities: Capabilities) -> Capabilities {
        match self {
            Freedom::NoNegativePolicy => {
                capabilities
                    .actions
                    .retain(|a| a != "mute" && a != "rate_limit");
                capabilities.conventions.retain(|c| c != BAN_EXTENSION);
            }
            Freedom::NoIdle => capabilities.idle = false,
            Freedom::NoOhttp => capabilities.ohttp = false,
            _ => {}
        }
        capabilities
    }

    /// The state the reference starts a case in.
    pub fn configure(self, state: &mut State) {
        if self == Freedom::NoNegativePolicy {
            state.ban_extension = false;
        }
    }

    /// The status and media type of a federation answer the binding gives as `status` and
    /// `media_type` (errata `errata/transport` accepts others, informationally).
    pub fn http_answer(self, status: u16, media_type: &'static str) -> (u16, &'static str) {
        match self {
            Freedom::RefusalsUnder400 if (400..500).contains(&status) => (400, media_type),
            Freedom::OctetStreamMediaType => (status, "application/octet-stream"),
            _ => (status, media_type),
        }
    }

    pub fn push_timing(self) -> Option<PushTiming> {
        match self {
            Freedom::PushBeforeAnswering | Freedom::PushTwice | Freedom::PushLagging => {
                Some(PushTiming::BeforeAnswering)
            }
            Freedom::PushAfterAnswering => Some(PushTiming::AfterAnswering),
            _ => None,
        }
    }

    /// Before the model applies `input`: the state it sees (a KeyPackage store read newest
    /// first). Undone by [`Freedom::after`].
    fn before(self, state: &mut State, input: &Input) {
        let key_package_request = matches!(
            input,
            Input::KeyPackage { .. } | Input::KeyPackageBundle { .. }
        );
        if self == Freedom::NewestKeyPackageFirst && key_package_request {
            let users = std::mem::take(&mut state.key_packages.users);
            state.key_packages.users = users
                .into_iter()
                .map(|(user, stored)| (user, stored.into_iter().rev().collect::<imbl::Vector<_>>()))
                .collect();
        }
    }

    /// After the model applied `input` to `state` (which was `before`): the answer and calls
    /// the variant gives instead, and the state it keeps.
    fn after(
        self,
        before: &State,
        state: &mut State,
        input: &Input,
        expect: &Expectation,
        response: &mut Response,
        outbound: &mut Vec<Outbound>,
    ) {
        self.before(state, input);
        let refuse = |state: &mut State, response: &mut Response, code: ErrorCode| {
            *state = before.clone();
            *response = Response::Error(code);
        };
        let alternative = |code: ErrorCode| expect.also.iter().any(|(c, _)| *c == code);
        match (self, input) {
            (Freedom::NoHints, Input::Receive { .. } | Input::LocalReceive { .. }) => {
                if let Response::Receive(r) = response {
                    r.hints.clear();
                }
            }
            (Freedom::EveryHint, Input::Receive { request, .. }) => {
                if let Response::Receive(r) = response {
                    r.hints = every_partition_but(state, &request.partition_key);
                }
            }
            (Freedom::UnknownPartitionError, Input::Receive { .. })
                if alternative(ErrorCode::UnknownPartition) =>
            {
                refuse(state, response, ErrorCode::UnknownPartition)
            }
            (Freedom::CounterPastEndMalformed, Input::Receive { .. })
                if alternative(ErrorCode::Malformed) =>
            {
                refuse(state, response, ErrorCode::Malformed)
            }
            (Freedom::DeclineTerminations, Input::TerminateBranch { .. }) => {
                refuse(state, response, ErrorCode::UnsupportedParameters)
            }
            (Freedom::LastApplicableRefusal, _) => {
                let last = expect
                    .also
                    .iter()
                    .rev()
                    .find(|(_, why)| *why == errata::REFUSAL_ORDER);
                if let Some((code, _)) = last {
                    refuse(state, response, *code);
                }
            }
            (Freedom::NoTreeInference, _)
                if *response == Response::Accepted
                    && alternative(ErrorCode::RatchetTreeRequired) =>
            {
                refuse(state, response, ErrorCode::RatchetTreeRequired);
                outbound.clear();
            }
            _ => {}
        }
        if self.push_timing().is_some() && *response == Response::Accepted {
            let snapshot: &State = if self == Freedom::PushLagging {
                before
            } else {
                state
            };
            let times = if self == Freedom::PushTwice { 2 } else { 1 };
            for push in pushes(state, snapshot, input) {
                for _ in 0..times {
                    outbound.push(push.clone());
                }
            }
        }
    }
}

/// Every partition of the group `key` belongs to that holds messages, but `key`.
fn every_partition_but(
    state: &State,
    key: &mimi_ds_model::codec::PartitionKey,
) -> Vec<HintedEpoch> {
    let Some((_, group, _)) = state.partitions.find(key) else {
        return Vec::new();
    };
    group
        .partitions
        .iter()
        .filter(|(k, p)| *k != key && !p.log.is_empty())
        .map(|(_, p)| HintedEpoch {
            masked_partition_key: p.masked.clone(),
            epoch: Epoch {
                messages: to_vec(&p.log),
            },
        })
        .collect()
}

/// After an accepted message to a hosted group: one push to every other provider taking
/// part, carrying every partition of the group as `snapshot` holds it.
fn pushes(state: &State, snapshot: &State, input: &Input) -> Vec<Outbound> {
    let message = match input {
        Input::Send { request, .. } | Input::LocalSend { request, .. } => &request.message,
        Input::ExternalJoin { request, .. } => &request.message,
        _ => return Vec::new(),
    };
    let Some(group_id) = &message.view.group_id else {
        return Vec::new();
    };
    let (Some(group), Some(then)) = (
        state.partitions.groups.get(group_id),
        snapshot.partitions.groups.get(group_id),
    ) else {
        return Vec::new();
    };
    let hints: Vec<HintedEpoch> = then
        .partitions
        .values()
        .filter(|p| !p.log.is_empty())
        .map(|p| HintedEpoch {
            masked_partition_key: p.masked.clone(),
            epoch: Epoch {
                messages: to_vec(&p.log),
            },
        })
        .collect();
    if hints.is_empty() {
        return Vec::new();
    }
    group
        .participants
        .iter()
        .filter(|p| **p != state.me)
        .map(|to| Outbound::Push {
            to: to.clone(),
            response: ReceiveResponse {
                epoch: Epoch::default(),
                hints: hints.clone(),
            },
        })
        .collect()
}
