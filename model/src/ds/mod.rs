//! The pure reference model of the Delivery Service: one written-down, executable reading of
//! the draft that explains every verdict by requirement id.
//!
//! This module owns the model's vocabulary — [`State`], [`Input`], [`Response`],
//! [`Outbound`], [`Expectation`], [`Violation`] — and its two entry points:
//! [`step`] (what a DS in this state must do with this input: the next state, the set of
//! acceptable responses with one canonical member, and the calls it must make) and
//! [`check`] (is this observed behaviour acceptable here, and if not, why not).
//!
//! One model plays both roles of the draft: a hub sequencing the groups it hosts
//! (`partitions`, `sending`, `receiving`, `welcome`, `external_joins`, `forks`, `policy`)
//! and a follower serving its local users (`follower`, `key_packages`). Nothing here reads
//! a clock, draws randomness or does I/O: every discretion of the hub is either an explicit
//! input or a rule the checker accepts in all its allowed forms.

#[cfg(any(test, feature = "test-util"))]
pub mod explore;
pub mod external_joins;
pub mod follower;
pub mod forks;
pub mod key_packages;
pub mod partitions;
pub mod policy;
pub mod receiving;
#[cfg(any(test, feature = "test-util"))]
pub mod scenario;
pub mod sending;
pub mod welcome;
#[cfg(any(test, feature = "test-util"))]
pub mod workloads;

use crate::codec::{
    Bytes, ErrorCode, ExternalJoinRequest, GroupInfoRequest, GroupInfoResponse,
    KeyPackageBundleRequest, KeyPackageBundleResponse, KeyPackageRequest, KeyPackageResponse,
    MlsMessage, PartitionKey, ReceiveRequest, ReceiveResponse, SendRequest, ServiceProviderId,
    WelcomeInitRequest, WelcomeInitResponse,
};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, ReqId};
use serde::{Deserialize, Serialize};

pub use follower::Follower;
pub use key_packages::{KeyPackages, TokenScope};
pub use partitions::{Group, Partition, Partitions};
pub use policy::{LocalPolicy, BAN_EXTENSION_TYPE};
pub use welcome::PendingWelcomes;

/// Everything one provider's DS remembers, as a plain value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct State {
    /// Who this DS is: a group it hosts makes it the hub, a group it follows a follower.
    pub me: ServiceProviderId,
    /// Hub role: the groups hosted here and their partition logs.
    pub partitions: Partitions,
    /// Hub role: Welcomes waiting for a provider's WelcomeInit answer.
    pub welcomes: PendingWelcomes,
    /// RSP role: local users' KeyPackages and the bearer tokens protecting them.
    pub key_packages: KeyPackages,
    /// Mutes and rate limits of local users.
    pub policy: LocalPolicy,
    /// Follower role: groups hosted elsewhere that local users take part in.
    pub follower: Follower,
    /// Whether this DS enforces the optional ban convention (errata
    /// `errata/ban-list-extension`); a target that does not advertise it enforces no ban.
    pub ban_extension: bool,
}

impl State {
    pub fn new(me: ServiceProviderId) -> Self {
        State {
            me,
            partitions: Partitions::default(),
            welcomes: PendingWelcomes::default(),
            key_packages: KeyPackages::default(),
            policy: LocalPolicy::default(),
            follower: Follower::default(),
            ban_extension: true,
        }
    }
}

/// The federation endpoints of errata `errata/transport`, for bodies that do not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    KeyPackage,
    KeyPackageBundle,
    Send,
    Receive,
    ExternalJoin,
    GroupInfo,
    WelcomeInit,
    Welcome,
    Notify,
}

/// Whom a bearer token was issued to, and the token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Token {
    pub scope: TokenScope,
    pub token: Bytes,
}

/// One thing that happens to a DS: a federation request (with the calling provider), an
/// answer to one of its own outbound calls, or a local control action.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "input")]
pub enum Input {
    // Federation requests.
    Send {
        from: ServiceProviderId,
        request: SendRequest,
    },
    Receive {
        from: ServiceProviderId,
        request: ReceiveRequest,
    },
    ExternalJoin {
        from: ServiceProviderId,
        request: ExternalJoinRequest,
    },
    GroupInfo {
        from: ServiceProviderId,
        request: GroupInfoRequest,
    },
    /// Over OHTTP: the caller is unknown to the RSP.
    KeyPackage {
        request: KeyPackageRequest,
    },
    KeyPackageBundle {
        request: KeyPackageBundleRequest,
    },
    WelcomeInit {
        from: ServiceProviderId,
        request: WelcomeInitRequest,
    },
    WelcomePush {
        from: ServiceProviderId,
        welcome: MlsMessage,
    },
    Push {
        from: ServiceProviderId,
        response: ReceiveResponse,
    },
    /// A body that did not decode at `endpoint`. When whoever made the body knows which
    /// rules its bytes break beyond not decoding (errata/transport), `breaks` and
    /// `breaks_errata` name them, so a DS that takes the body is told what it got wrong.
    Malformed {
        endpoint: Endpoint,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(with = "Vec<String>")]
        breaks: Vec<ReqId>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(with = "Vec<String>")]
        breaks_errata: Vec<ErratumId>,
    },
    /// A federation request to `endpoint` that names no valid provider: no identity at all
    /// (`claimed` absent), or one that is no ServiceProviderId (errata
    /// `errata/service-provider-id`), such as a `Mimi-Ds-Provider` header of another form.
    Unidentified {
        endpoint: Endpoint,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claimed: Option<String>,
    },
    // Answers to this DS's outbound calls.
    /// The answer of `provider` to the oldest WelcomeInit still waiting for it; with
    /// `no_answer`, how it gave none (`accepted` is then false), which counts as a refusal
    /// (errata `errata/welcome-init-unanswered`).
    WelcomeInitAnswered {
        provider: ServiceProviderId,
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        no_answer: Option<NoAnswer>,
    },
    // Local control actions (the harness's test-control calls).
    CreateGroup {
        group_id: Bytes,
        partition_key: PartitionKey,
    },
    UploadKeyPackages {
        user: Bytes,
        key_packages: Vec<MlsMessage>,
    },
    IssueToken(Token),
    RevokeToken {
        token: Bytes,
    },
    Mute {
        user: Bytes,
    },
    /// `user` may send `budget` more messages; then sends are refused.
    RateLimit {
        user: Bytes,
        budget: u32,
    },
    TerminateBranch {
        partition_key: PartitionKey,
    },
    /// A local user takes part in `group_id`, hosted by `hub`.
    FollowGroup {
        group_id: Bytes,
        hub: ServiceProviderId,
    },
    /// The local users' last one left `group_id` (draft §"Self-Remove" step 2).
    SelfRemove {
        group_id: Bytes,
    },
    /// Local `user` sends: sequenced here if this DS hosts the group, else forwarded.
    LocalSend {
        user: Bytes,
        request: SendRequest,
    },
    /// A local user reads `group_id`: served here if hosted, else forwarded to its hub.
    LocalReceive {
        group_id: Bytes,
        request: ReceiveRequest,
    },
}

impl Input {
    /// An undecodable body at `endpoint`, for which nothing more is known.
    pub fn malformed(endpoint: Endpoint) -> Input {
        Input::Malformed {
            endpoint,
            breaks: Vec::new(),
            breaks_errata: Vec::new(),
        }
    }

    /// The provider that sends this input over the federation (or, for an answer to a
    /// WelcomeInit, gives it); `None` for control actions, KeyPackage requests (anonymous
    /// through OHTTP) and undecodable bodies.
    pub fn sender(&self) -> Option<&ServiceProviderId> {
        match self {
            Input::Send { from, .. }
            | Input::Receive { from, .. }
            | Input::ExternalJoin { from, .. }
            | Input::GroupInfo { from, .. }
            | Input::WelcomeInit { from, .. }
            | Input::WelcomePush { from, .. }
            | Input::Push { from, .. } => Some(from),
            Input::WelcomeInitAnswered { provider, .. } => Some(provider),
            _ => None,
        }
    }
}

/// How a provider gives no answer to a WelcomeInit (errata `errata/welcome-init-unanswered`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoAnswer {
    /// It reads the request and closes the connection (HTTP/2: resets the stream) without
    /// a response.
    Closed,
    /// It answers 500 with no body.
    ServerError,
    /// It answers 200 with an empty body, which is no WelcomeInitResponse.
    Undecodable,
}

/// What a DS answers to one input. Errors compare by code: the message is for people.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "response", content = "body")]
pub enum Response {
    /// Success with an empty body (send, external join, pushes, control actions).
    Accepted,
    Receive(ReceiveResponse),
    GroupInfo(GroupInfoResponse),
    KeyPackage(KeyPackageResponse),
    KeyPackageBundle(KeyPackageBundleResponse),
    WelcomeInit(WelcomeInitResponse),
    Error(ErrorCode),
}

/// A call this DS makes to another provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "call")]
pub enum Outbound {
    WelcomeInit {
        to: ServiceProviderId,
        request: WelcomeInitRequest,
    },
    WelcomePush {
        to: ServiceProviderId,
        welcome: MlsMessage,
    },
    /// A follower forwarding its user's message to the hub.
    Send {
        to: ServiceProviderId,
        request: SendRequest,
    },
    /// A follower reading for its user from the hub.
    Receive {
        to: ServiceProviderId,
        request: ReceiveRequest,
    },
    /// A hub's discretionary push; never canonical, judged by `receiving::check_push`.
    Push {
        to: ServiceProviderId,
        response: ReceiveResponse,
    },
}

impl Outbound {
    pub fn to(&self) -> &ServiceProviderId {
        match self {
            Outbound::WelcomeInit { to, .. }
            | Outbound::WelcomePush { to, .. }
            | Outbound::Send { to, .. }
            | Outbound::Receive { to, .. }
            | Outbound::Push { to, .. } => to,
        }
    }

    /// The requirements a missing or unexpected call of this kind breaks.
    fn requirements(&self) -> &'static [ReqId] {
        match self {
            Outbound::WelcomeInit { .. } => &[
                req::WELCOME_INIT_BEFORE_PUSH,
                req::WELCOME_INIT_REQUEST,
                req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE,
                req::SEND_WELCOME_DATA,
                req::FLOW_CREATE_FAN_OUT_WELCOME,
            ],
            Outbound::WelcomePush { .. } => &[
                req::WELCOME_PUSH_IF_ACCEPTED,
                req::WELCOME_INIT_BEFORE_PUSH,
                req::SEND_PUSHES_WELCOME,
                req::FLOW_CREATE_FAN_OUT_WELCOME,
            ],
            Outbound::Send { .. } => &[req::SEND_FOLLOWER_TO_HUB, req::HUB_SEQUENCES_AND_FANS_OUT],
            Outbound::Receive { .. } => &[
                req::RECEIVE_FOLLOWER_REQUESTS,
                req::FLOW_SELF_REMOVE_STOP_PUSHES,
            ],
            Outbound::Push { .. } => &[req::RECEIVE_PUSH],
        }
    }

    fn summary(&self) -> String {
        match self {
            Outbound::WelcomeInit { to, request } => {
                format!(
                    "WelcomeInit to {to} listing {} KeyPackageRef(s)",
                    request.key_package_refs.len()
                )
            }
            Outbound::WelcomePush { to, .. } => format!("Welcome push to {to}"),
            Outbound::Send { to, .. } => format!("SendRequest to {to}"),
            Outbound::Receive { to, request } => {
                format!(
                    "ReceiveRequest to {to} for {}… counter {}",
                    short(&request.partition_key),
                    request.counter
                )
            }
            Outbound::Push { to, .. } => format!("ReceiveResponse push to {to}"),
        }
    }
}

/// How far an observed response may differ from the canonical one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    /// Only the canonical response.
    Exact,
    /// A ReceiveResponse for `counter` on `partition_key`: the epoch is fixed, the hints are
    /// the hub's discretion within the relation of `receiving::check_response`.
    Hints {
        partition_key: PartitionKey,
        counter: u32,
    },
    /// KeyPackages: for each request any unused matching one (last resorts only when no
    /// other is left); the canonical member hands out the oldest upload.
    KeyPackageChoice,
    /// A GroupInfoResponse whose GroupInfo lacks a ratchet tree: the hub may add the tree
    /// it inferred (draft: "MAY provide an inferred ratchet tree").
    InferredTreeAllowed,
}

/// The acceptable responses to one input: a canonical member, a rule, and the other
/// readings our errata accept (each an error code leaving the state unchanged).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Expectation {
    /// What the reference DS answers.
    pub canonical: Response,
    pub rule: Rule,
    /// Other acceptable answers: error codes, each justified by an erratum, after which the
    /// DS must be as it was (nothing sequenced, nothing handed out).
    pub also: Vec<(ErrorCode, ErratumId)>,
    /// The requirements an unacceptable answer breaks.
    pub requirements: Vec<ReqId>,
    /// Our decisions the expectation rests on.
    pub errata: Vec<ErratumId>,
}

impl Expectation {
    pub fn exact(canonical: Response, requirements: &[ReqId], errata: &[ErratumId]) -> Self {
        Expectation {
            canonical,
            rule: Rule::Exact,
            also: Vec::new(),
            requirements: requirements.to_vec(),
            errata: errata.to_vec(),
        }
    }

    pub fn accepted(requirements: &[ReqId], errata: &[ErratumId]) -> Self {
        Self::exact(Response::Accepted, requirements, errata)
    }

    pub fn error(code: ErrorCode, requirements: &[ReqId], errata: &[ErratumId]) -> Self {
        Self::exact(Response::Error(code), requirements, errata)
    }

    /// Also accept `code` (state unchanged), as erratum `why` allows.
    pub fn or_error(mut self, code: ErrorCode, why: ErratumId) -> Self {
        self.also.push((code, why));
        self
    }

    pub fn is_error(&self) -> bool {
        matches!(self.canonical, Response::Error(_))
    }
}

/// The result of one model step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The state after the canonical response.
    pub next: State,
    pub expect: Expectation,
    /// The calls the DS must make, in order per destination.
    pub outbound: Vec<Outbound>,
}

/// What a target did with one input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub response: Response,
    pub outbound: Vec<Outbound>,
}

/// Why an observation is not acceptable, in terms a person can follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub requirements: Vec<ReqId>,
    pub errata: Vec<ErratumId>,
    pub expected: String,
    pub observed: String,
    pub because: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.requirements.iter().map(|r| r.0).collect();
        writeln!(f, "violates {}", ids.join(", "))?;
        writeln!(f, "  expected: {}", self.expected)?;
        writeln!(f, "  observed: {}", self.observed)?;
        for reason in &self.because {
            writeln!(f, "  because {reason}")?;
        }
        Ok(())
    }
}

/// What [`apply`] produces besides the mutated state: what the DS must answer and the calls
/// it must make, in order per destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub expect: Expectation,
    pub outbound: Vec<Outbound>,
}

impl Outcome {
    pub(crate) fn answer(expect: Expectation) -> Self {
        Outcome {
            expect,
            outbound: Vec::new(),
        }
    }

    pub(crate) fn error(code: ErrorCode, requirements: &[ReqId], errata: &[ErratumId]) -> Self {
        Self::answer(Expectation::error(code, requirements, errata))
    }

    pub(crate) fn accepted(requirements: &[ReqId], errata: &[ErratumId]) -> Self {
        Self::answer(Expectation::accepted(requirements, errata))
    }
}

/// A DS's behaviour — the one interface the checkers run: what it answers to `input` in
/// `state` and the calls it makes, leaving `state` as that DS is afterwards. [`Reference`] is
/// the model's canonical behaviour; the reference DS's mutants (planted bugs) and freedoms
/// (legal variants) are the others. Whatever a `Model` does is judged by [`check`].
pub trait Model {
    fn apply(&self, state: &mut State, input: &Input) -> Observed;
}

/// The canonical DS: [`apply`]'s answer and calls.
pub struct Reference;

impl Model for Reference {
    fn apply(&self, state: &mut State, input: &Input) -> Observed {
        let Outcome { expect, outbound } = apply(state, input);
        Observed {
            response: expect.canonical,
            outbound,
        }
    }
}

/// [`apply`] on a copy: what a DS in `state` must do with `input`, and the state after it.
pub fn step(state: &State, input: &Input) -> Step {
    let mut next = state.clone();
    let Outcome { expect, outbound } = apply(&mut next, input);
    Step {
        next,
        expect,
        outbound,
    }
}

/// The model's transition: what a DS in `state` must do with `input` — the canonical answer
/// with every acceptable alternative and the requirements and errata behind it, and the
/// calls it must make — updating `state` to the canonical next state. Every consumer (the
/// checker [`check`], the trace vectors, the reference DS, the explorers) goes through here.
pub fn apply(state: &mut State, input: &Input) -> Outcome {
    match input {
        Input::Send { from, request } => {
            let limits_users = !state.policy.muted.is_empty() || !state.policy.budgets.is_empty();
            let mut outcome = sending::send(state, Some(from), request);
            if limits_users && !outcome.expect.is_error() {
                // The hub mutes or limits local users; a follower's user it cannot.
                outcome
                    .expect
                    .requirements
                    .push(req::POLICY_NO_REMOTE_RATE_LIMIT);
            }
            outcome
        }
        Input::Receive { from, request } => {
            receiving::receive(state, from, request, receiving::Answer::Canonical)
        }
        Input::ExternalJoin { from, request } => {
            external_joins::external_join(state, from, request)
        }
        Input::GroupInfo { request, .. } => external_joins::group_info(state, request),
        Input::KeyPackage { request } => key_packages::request_one(state, request),
        Input::KeyPackageBundle { request } => key_packages::request_bundle(state, request),
        Input::WelcomeInit { from, request } => follower::welcome_init(state, from, request),
        Input::WelcomePush { from, welcome } => follower::welcome_push(state, from, welcome),
        Input::Push { from, response } => follower::push(state, from, response),
        Input::Malformed {
            breaks,
            breaks_errata,
            ..
        } => {
            let mut why = vec![errata::TRANSPORT];
            why.extend(breaks_errata);
            Outcome::error(ErrorCode::Malformed, breaks, &why)
        }
        Input::Unidentified { .. } => Outcome::error(
            ErrorCode::UnauthorizedProvider,
            &[req::ENDPOINTS_FOR_THIRD_PARTIES],
            &[
                errata::PROVIDER_AUTHORIZATION,
                errata::SERVICE_PROVIDER_ID,
                errata::TRANSPORT,
            ],
        ),
        Input::WelcomeInitAnswered {
            provider,
            accepted,
            no_answer,
        } => welcome::answered(state, provider, *accepted, no_answer.is_some()),
        Input::CreateGroup {
            group_id,
            partition_key,
        } => partitions::create_group(state, group_id, *partition_key),
        Input::UploadKeyPackages { user, key_packages } => {
            key_packages::upload(state, user, key_packages)
        }
        Input::IssueToken(token) => key_packages::issue(state, token),
        Input::RevokeToken { token } => key_packages::revoke(state, token),
        Input::Mute { user } => policy::mute(state, user),
        Input::RateLimit { user, budget } => policy::rate_limit(state, user, *budget),
        Input::TerminateBranch { partition_key } => forks::terminate(state, *partition_key),
        Input::FollowGroup { group_id, hub } => follower::follow(state, group_id, hub),
        Input::SelfRemove { group_id } => follower::self_remove(state, group_id),
        Input::LocalSend { user, request } => follower::local_send(state, user, request),
        Input::LocalReceive { group_id, request } => {
            follower::local_receive(state, group_id, request)
        }
    }
}

/// Is `observed` an acceptable answer of a DS in `state` to `input`? On success `state`
/// becomes the state the DS is now in (which depends on the choices it made within the
/// rules); on a violation it is unspecified, as a trace is judged no further than its first
/// violation. Pushes among the calls are judged against the state after the input (errata
/// `errata/push-snapshot`). The cost does not grow with the state: the input is applied in
/// place, and only an answer that may be another reading than the canonical one (a refusal,
/// a KeyPackage choice) keeps the state before it, an O(1) copy of persistent structures.
pub fn check(state: &mut State, input: &Input, observed: &Observed) -> Result<(), Violation> {
    judge(state, input, Some(&observed.response), &observed.outbound)
}

/// [`check`] for an input the target did not answer — an answer its own call got, such as a
/// provider's WelcomeInit answer: only the calls it made are judged.
pub fn check_calls(
    state: &mut State,
    input: &Input,
    outbound: &[Outbound],
) -> Result<(), Violation> {
    judge(state, input, None, outbound)
}

/// Judges calls a DS made that no input caused (they came after the last one): only pushes
/// may come unprompted, judged against `state` like any push.
pub fn check_unprompted(state: &State, outbound: &[Outbound]) -> Result<(), Violation> {
    let nothing = Expectation::accepted(&[], &[]);
    let calls: Vec<&Outbound> = outbound
        .iter()
        .filter(|call| !matches!(call, Outbound::Push { .. }))
        .collect();
    judge_outbound(&nothing, &[], &calls)?;
    for call in outbound {
        if let Outbound::Push { to, response } = call {
            receiving::check_push(&state.partitions, to, response)?;
        }
    }
    Ok(())
}

fn judge(
    state: &mut State,
    input: &Input,
    response: Option<&Response>,
    outbound: &[Outbound],
) -> Result<(), Violation> {
    let may_differ = matches!(response, Some(Response::Error(_)))
        || matches!(
            input,
            Input::KeyPackage { .. } | Input::KeyPackageBundle { .. }
        );
    let before = may_differ.then(|| state.clone());
    let Outcome {
        expect,
        outbound: expected,
    } = match (input, response) {
        // Judged by `Rule::Hints` against the logs, or equal to the empty canonical answer of
        // an unknown partition: the canonical response of a known one is never read.
        (Input::Receive { from, request }, Some(Response::Receive(_))) => {
            receiving::receive(state, from, request, receiving::Answer::RuleOnly)
        }
        _ => apply(state, input),
    };
    let (pushes, calls): (Vec<&Outbound>, Vec<&Outbound>) = outbound
        .iter()
        .partition(|call| matches!(call, Outbound::Push { .. }));
    let other_reading = match response {
        Some(observed @ Response::Error(code)) => {
            *observed != expect.canonical && expect.also.iter().any(|(c, _)| c == code)
        }
        _ => false,
    };
    if other_reading {
        judge_outbound(&expect, &[], &calls)?;
        *state = before.expect("kept for a refusal");
    } else {
        if let Some(observed) = response {
            let before = before.as_ref().unwrap_or(state);
            if let Some(chosen) = judge_response(state, before, input, &expect, observed)
                .map_err(|v| explain_refusal(before, input, &expect, observed, v))?
            {
                state.key_packages = chosen;
            }
        }
        judge_outbound(&expect, &expected, &calls)?;
    }
    for push in pushes {
        if let Outbound::Push { to, response } = push {
            receiving::check_push(&state.partitions, to, response)?;
        }
    }
    Ok(())
}

/// Judges the response alone, in `after` (the state the canonical answer leaves) and
/// `before` (the state before the input, where it differs: a refusal or KeyPackage request);
/// `Some(store)` when the RSP's choice of KeyPackages decides the next state.
fn judge_response(
    after: &State,
    before: &State,
    input: &Input,
    expect: &Expectation,
    observed: &Response,
) -> Result<Option<KeyPackages>, Violation> {
    match (&expect.rule, observed) {
        // A read changes no log: the logs after it are the ones it reads.
        (
            Rule::Hints {
                partition_key,
                counter,
            },
            Response::Receive(response),
        ) => receiving::check_response(&after.partitions, partition_key, *counter, response)
            .map(|()| None),
        (Rule::InferredTreeAllowed, Response::GroupInfo(observed_info)) => {
            match &expect.canonical {
                Response::GroupInfo(canonical)
                    if canonical.group_info == observed_info.group_info =>
                {
                    Ok(None)
                }
                _ => Err(mismatch(input, expect, observed)),
            }
        }
        (Rule::KeyPackageChoice, _) => {
            key_packages::check_choice(&before.key_packages, input, expect, observed).map(Some)
        }
        _ if *observed == expect.canonical => Ok(None),
        _ => Err(mismatch(input, expect, observed)),
    }
}

/// The violation of an answer that is simply not among the acceptable ones.
pub(crate) fn mismatch(input: &Input, expect: &Expectation, observed: &Response) -> Violation {
    let mut because = Vec::new();
    match (&expect.canonical, observed) {
        (Response::Error(code), Response::Error(other)) => because.push(format!(
            "the request must be refused with {code:?}, not {other:?}"
        )),
        (Response::Error(code), _) => {
            because.push(format!("the request must be refused with {code:?}"))
        }
        (_, Response::Error(code)) => because.push(format!(
            "nothing in the state justifies refusing with {code:?}"
        )),
        _ => because.push("the response differs from the only acceptable one".into()),
    }
    let mut requirements = expect.requirements.clone();
    if matches!(observed, Response::Error(ErrorCode::PolicyRejected)) && !expect.is_error() {
        let (reason, broken) = unjustified_policy_refusal(input);
        because.push(reason.into());
        for extra in broken {
            if !requirements.contains(extra) {
                requirements.push(*extra);
            }
        }
    }
    if !expect.also.is_empty() {
        let also: Vec<String> = expect
            .also
            .iter()
            .map(|(c, e)| format!("{c:?} ({e})"))
            .collect();
        because.push(format!("also acceptable: {}", also.join(", ")));
    }
    Violation {
        requirements,
        errata: expect.errata.clone(),
        expected: expect.canonical.summary(),
        observed: observed.summary(),
        because,
    }
}

/// Which policy rule a refusal with `policy_rejected` that nothing justifies breaks: a
/// federation send of a message that is no commit can only have been refused for its
/// sender, a user the hub cannot authenticate; anything else for a rule of another fork.
fn unjustified_policy_refusal(input: &Input) -> (&'static str, &'static [ReqId]) {
    let commit = |request: &SendRequest| {
        request.message.view.content_type == Some(crate::codec::ContentType::Commit)
    };
    match input {
        Input::Send { request, .. } if !commit(request) => (
            "the sender is a follower's user, whom the hub cannot authenticate: a hub may not mute or rate-limit users that are not local",
            &[
                req::POLICY_NO_REMOTE_RATE_LIMIT,
                req::POLICY_ONLY_UNAMBIGUOUS,
                req::POLICY_NEGATIVE_ONLY,
            ],
        ),
        _ => (
            "no rule of the fork the message names refuses it (bans, mutes and limits are per fork and per local user)",
            &[
                req::POLICY_PER_FORK,
                req::POLICY_ONLY_UNAMBIGUOUS,
                req::POLICY_NEGATIVE_ONLY,
            ],
        ),
    }
}

/// Names what an unjustified refusal breaks, when the kind of input says more than the
/// expectation: a provider refused although any provider may call (KeyPackage requests
/// naming none, as OHTTP hides it), or a remote user's message refused by a policy only a
/// local relationship could justify (when this DS keeps mutes or limits of its own users).
fn explain_refusal(
    state: &State,
    input: &Input,
    expect: &Expectation,
    observed: &Response,
    mut violation: Violation,
) -> Violation {
    if expect.is_error() {
        return violation;
    }
    let mut extra: Vec<ReqId> = Vec::new();
    match (observed, input) {
        (
            Response::Error(ErrorCode::UnauthorizedProvider),
            Input::KeyPackage { .. } | Input::KeyPackageBundle { .. },
        ) => {
            violation.because.push("a KeyPackage request comes through OHTTP and names no provider; the bearer token protects it".into());
            extra.extend([
                req::KEY_PACKAGES_OVER_OHTTP,
                req::KEY_PACKAGES_REQUEST_VIA_OHTTP,
            ]);
        }
        (Response::Error(ErrorCode::UnauthorizedProvider), _) => {
            violation.because.push(
                "any authenticated provider may call the endpoints; the partition key is the access control"
                    .into(),
            );
            extra.push(req::ENDPOINTS_FOR_THIRD_PARTIES);
        }
        (Response::Error(ErrorCode::PolicyRejected), Input::LocalSend { user, .. })
            if state.policy.muted.contains(user) =>
        {
            violation
                .because
                .push("a mute refuses its user's application messages only".into());
            if !violation.errata.contains(&errata::MUTE_AND_RATE_LIMIT) {
                violation.errata.push(errata::MUTE_AND_RATE_LIMIT);
            }
            return violation;
        }
        (Response::Error(ErrorCode::PolicyRejected), Input::Send { request, .. }) => {
            violation = explain_policy_refusal(state, request, violation);
            if state.policy == LocalPolicy::default() {
                return violation;
            }
            violation.because.push("a SendRequest from another provider carries no sender this hub can authenticate, so no per-user limit applies to it".into());
            extra.push(req::POLICY_NO_REMOTE_RATE_LIMIT);
        }
        _ => return violation,
    }
    for id in extra {
        if !violation.requirements.contains(&id) {
            violation.requirements.push(id);
        }
    }
    if matches!(observed, Response::Error(ErrorCode::UnauthorizedProvider))
        && !violation.errata.contains(&errata::PROVIDER_AUTHORIZATION)
    {
        violation.errata.push(errata::PROVIDER_AUTHORIZATION);
    }
    violation
}

/// A SendRequest refused by a policy its fork does not have: a ban of another fork, or a
/// presumption about what an encrypted message holds.
fn explain_policy_refusal(
    state: &State,
    request: &SendRequest,
    mut violation: Violation,
) -> Violation {
    let view = &request.message.view;
    let mut extra: Vec<(ReqId, ErratumId)> = Vec::new();
    if view.wire_format == crate::codec::WireFormat::PrivateMessage {
        violation
            .because
            .push("the message is encrypted: the hub cannot know it breaks any rule".into());
        extra.push((
            req::POLICY_ONLY_UNAMBIGUOUS,
            errata::NEGATIVE_POLICY_VISIBILITY,
        ));
    }
    let group = view
        .group_id
        .as_ref()
        .and_then(|g| state.partitions.groups.get(g));
    let banned_elsewhere = group.is_some_and(|g| {
        view.proposals.iter().any(|p| {
            matches!(p, crate::codec::ProposalView::Add { identity, .. }
                if g.partitions.iter().any(|(k, part)| *k != request.partition_key && part.bans.contains(identity)))
        })
    });
    if banned_elsewhere {
        violation.because.push(
            "the added identity is banned in another fork, not in the one the message names".into(),
        );
        extra.push((req::POLICY_BAN_PER_FORK, errata::POLICY_PER_FORK_STATE));
    }
    for (requirement, decision) in extra {
        if !violation.requirements.contains(&requirement) {
            violation.requirements.push(requirement);
        }
        if !violation.errata.contains(&decision) {
            violation.errata.push(decision);
        }
    }
    violation
}

/// Compares the observed calls (pushes aside) with the expected ones, per destination and
/// in order.
fn judge_outbound(
    expect: &Expectation,
    expected: &[Outbound],
    observed: &[&Outbound],
) -> Result<(), Violation> {
    let rest = observed.to_vec();
    fn by_destination(mut calls: Vec<&Outbound>) -> Vec<&Outbound> {
        calls.sort_by(|a, b| a.to().cmp(b.to()));
        calls
    }
    let want = by_destination(expected.iter().collect());
    let got = by_destination(rest);
    if want == got {
        return Ok(());
    }
    let missing: Vec<&&Outbound> = want.iter().filter(|c| !got.contains(c)).collect();
    let unexpected: Vec<&&Outbound> = got.iter().filter(|c| !want.contains(c)).collect();
    let mut requirements: Vec<ReqId> = Vec::new();
    let mut because = Vec::new();
    for call in &missing {
        because.push(format!("missing: {}", call.summary()));
        requirements.extend(call.requirements());
    }
    for call in &unexpected {
        because.push(format!("not called for here: {}", call.summary()));
        requirements.extend(call.requirements());
    }
    if missing.is_empty() && unexpected.is_empty() {
        because.push("the calls to one provider come in the wrong order".into());
        requirements.extend(want.iter().flat_map(|c| c.requirements()));
    }
    requirements.sort();
    requirements.dedup();
    let mut errata = expect.errata.clone();
    // The decisions that say which calls a Welcome causes.
    for call in missing.iter().chain(&unexpected) {
        let decision = match call {
            Outbound::WelcomeInit { .. } => errata::WELCOME_HUB_LOCAL_USERS,
            Outbound::WelcomePush { .. } => errata::WELCOME_PUSH,
            _ => continue,
        };
        if !errata.contains(&decision) {
            errata.push(decision);
        }
    }
    let list = |calls: &[&Outbound]| -> String {
        if calls.is_empty() {
            "no calls".into()
        } else {
            calls
                .iter()
                .map(|c| c.summary())
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    Err(Violation {
        requirements,
        errata,
        expected: list(&want),
        observed: list(&got),
        because,
    })
}

impl Response {
    /// A one-line description for violations and reports.
    pub fn summary(&self) -> String {
        match self {
            Response::Accepted => "accepted".into(),
            Response::Receive(r) => format!(
                "ReceiveResponse: epoch of {} message(s), {} hinted epoch(s)",
                r.epoch.messages.len(),
                r.hints.len()
            ),
            Response::GroupInfo(g) => format!(
                "GroupInfoResponse ({} ratchet tree)",
                if g.ratchet_tree.is_some() {
                    "with"
                } else {
                    "without"
                }
            ),
            Response::KeyPackage(k) => {
                format!("KeyPackage {:?}", k.key_package.view.key_package_ref)
            }
            Response::KeyPackageBundle(b) => {
                format!("KeyPackageBundleResponse of {} result(s)", b.results.len())
            }
            Response::WelcomeInit(w) => format!("WelcomeInitResponse accepted = {}", w.accepted),
            Response::Error(code) => format!("error {code:?}"),
        }
    }
}

/// SHA-256 of a message or push: how the state recognises one it already holds; or of a
/// partition key: its mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest that is `bytes`, if they are as long as one.
    pub fn of_slice(bytes: &[u8]) -> Option<Digest> {
        bytes.try_into().ok().map(Digest)
    }
}

/// The bytes' lexicographic order, compared as two big-endian numbers: the same order as the
/// arrays', without a call to `memcmp` on every step of a lookup among a hub's messages.
impl Ord for Digest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let halves = |d: &Digest| {
            let (high, low) = d.0.split_at(16);
            (
                u128::from_be_bytes(high.try_into().expect("16 bytes")),
                u128::from_be_bytes(low.try_into().expect("16 bytes")),
            )
        };
        halves(self).cmp(&halves(other))
    }
}

impl PartialOrd for Digest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) fn digest(bytes: &[u8]) -> Digest {
    use sha2::Digest as _;
    Digest(sha2::Sha256::digest(bytes).into())
}

/// The first bytes of a key in hex, enough to tell keys apart in an explanation.
pub(crate) fn short(key: &PartitionKey) -> String {
    hex::encode(&key.0[..4])
}
