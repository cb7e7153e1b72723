//! The runner: replays cases against a target over the binding, playing every other provider,
//! and judges each observation with the model (`ds::check`), so every verdict names the
//! requirements it rests on and carries the model's because-chain and the full wire log.

use crate::binding::{self, CONTROL_PREFIX, MEDIA_TYPE, PROVIDER_HEADER};
use crate::control::{self, Capabilities, Reset};
use crate::oblivious;
use crate::peers::Peers;
use crate::wire::{Exchange, WireLog};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::{
    apply_in_place, check, step, Endpoint, Input, Observed, Outbound, Response, State,
};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::requirements::{self as req, Level, ReqId};
use serde::Serialize;
use std::time::{Duration, Instant};

pub use mimi_ds_model::vectors::trace::Role;

/// The role's name in BINDING.md's capabilities.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Hub => "hub",
        Role::Follower => "follower",
        Role::Rsp => "rsp",
    }
}

/// One replayable case: the inputs a target in `role`, named `target`, receives in order.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    pub comment: String,
    pub requirements: Vec<ReqId>,
    pub errata: Vec<ErratumId>,
    pub role: Role,
    pub target: ServiceProviderId,
    pub steps: Vec<CaseStep>,
}

/// One input, with what the model's value cannot say: the raw body of a malformed request
/// and who sends it.
#[derive(Clone, Debug)]
pub struct CaseStep {
    pub input: Input,
    /// For `Input::Malformed`: the bytes that go on the wire, and the calling provider.
    pub malformed: Option<(Option<ServiceProviderId>, Vec<u8>)>,
}

impl Case {
    /// The draft section, the first segment of the id.
    pub fn section(&self) -> &str {
        self.id.split('/').next().unwrap_or(&self.id)
    }

    /// Every provider other than the target the case mentions: the runner plays each.
    pub fn peers(&self) -> Vec<ServiceProviderId> {
        let mut ids: Vec<ServiceProviderId> = self
            .steps
            .iter()
            .flat_map(|s| mentioned(&s.input))
            .collect();
        ids.sort();
        ids.dedup();
        ids.retain(|id| *id != self.target);
        ids
    }
}

fn mentioned(input: &Input) -> Vec<ServiceProviderId> {
    let mut ids = Vec::new();
    let commit_data = match input {
        Input::Send { request, .. } | Input::LocalSend { request, .. } => {
            request.commit_data.as_ref()
        }
        Input::ExternalJoin { request, .. } => Some(&request.commit_data),
        _ => None,
    };
    if let Some(data) = commit_data.and_then(|c| c.welcome_data.as_ref()) {
        ids.extend(data.service_providers.iter().cloned());
    }
    ids.extend(input.sender().cloned());
    if let Input::FollowGroup { hub, .. } = input {
        ids.push(hub.clone());
    }
    ids
}

/// Graded outcome of one case (Autobahn's grades, plus `skipped`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// A SHOULD not met.
    NonStrict,
    /// A MAY not taken; recorded only.
    Informational,
    /// Timeout or transport error: nothing can be concluded.
    Indeterminate,
    /// The target lacks a capability the case needs; never counted as a pass.
    Skipped,
    /// A MUST (or a statement of behaviour) broken.
    Fail,
}

impl Verdict {
    /// In the order reports list them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::NonStrict,
        Verdict::Informational,
        Verdict::Indeterminate,
        Verdict::Skipped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::NonStrict => "non-strict",
            Verdict::Informational => "informational",
            Verdict::Indeterminate => "indeterminate",
            Verdict::Skipped => "skipped",
            Verdict::Fail => "fail",
        }
    }
}

/// Everything a report says of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub section: String,
    pub comment: String,
    pub role: Role,
    pub requirements: Vec<ReqId>,
    pub errata: Vec<ErratumId>,
    pub verdict: Verdict,
    /// The requirements the observation broke (empty unless the verdict says so).
    pub violated: Vec<ReqId>,
    /// The errata decisions the broken expectation rests on.
    pub violated_errata: Vec<ErratumId>,
    /// Which input decided the verdict, counting from 1 as the vector's steps are read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    pub because: Vec<String>,
    pub wire: Vec<Exchange>,
    pub millis: f64,
}

impl CaseResult {
    /// A result for `case` with nothing observed yet.
    pub fn new(case: &Case, verdict: Verdict) -> Self {
        CaseResult {
            id: case.id.clone(),
            section: case.section().to_owned(),
            comment: case.comment.clone(),
            role: case.role,
            requirements: case.requirements.clone(),
            errata: case.errata.clone(),
            verdict,
            violated: Vec::new(),
            violated_errata: Vec::new(),
            step: None,
            expected: None,
            observed: None,
            because: Vec::new(),
            wire: Vec::new(),
            millis: 0.0,
        }
    }
}

/// Why a step could not be observed.
enum Trouble {
    /// No answer, or the connection failed: indeterminate.
    Transport(String),
    /// An answer that breaks the binding itself: a fail against `errata/transport`.
    Binding(String),
}

/// A target reachable over HTTP, with what it says it supports.
pub struct Target {
    base: String,
    client: reqwest::Client,
    pub capabilities: Capabilities,
    /// The gateway's key configuration, when the target takes KeyPackage requests over OHTTP.
    ohttp_keys: Option<Vec<u8>>,
    log: WireLog,
}

impl Target {
    pub async fn connect(base: &str, timeout: Duration, log: WireLog) -> Result<Target, String> {
        let base = base.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{base}{CONTROL_PREFIX}capabilities");
        let answer = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("cannot reach the target at {url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("{url} answered {}; the target must implement the test-control contract of BINDING.md", answer.status()));
        }
        let capabilities = answer
            .json::<Capabilities>()
            .await
            .map_err(|e| format!("{url}: capabilities are not the JSON of BINDING.md: {e}"))?;
        let ohttp_keys = match capabilities.ohttp {
            true => Some(fetch_ohttp_keys(&client, &base).await?),
            false => None,
        };
        Ok(Target {
            base,
            client,
            capabilities,
            ohttp_keys,
            log,
        })
    }

    async fn post(
        &self,
        path: &str,
        from: &str,
        provider: Option<&str>,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(u16, Vec<u8>), Trouble> {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .body(body.clone());
        request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        if let Some(p) = provider {
            request = request.header(PROVIDER_HEADER, p);
        }
        let answer = async {
            let answer = request.send().await?;
            let status = answer.status().as_u16();
            Ok::<_, reqwest::Error>((status, answer.bytes().await?.to_vec()))
        }
        .await;
        let to = "target";
        match answer {
            Ok((status, bytes)) => {
                self.log.record(Exchange::outbound(
                    from,
                    to,
                    path,
                    &body,
                    Ok((status, &bytes)),
                ));
                Ok((status, bytes))
            }
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("no answer to {path} within the timeout")
                } else {
                    format!("{path}: {e}")
                };
                self.log
                    .record(Exchange::outbound(from, to, path, &body, Err(&why)));
                Err(Trouble::Transport(why))
            }
        }
    }

    async fn reset(&self, reset: &Reset) -> Result<(), Trouble> {
        let body = serde_json::to_vec(reset).expect("reset serializes");
        match self
            .post(
                &format!("{CONTROL_PREFIX}reset"),
                "control",
                None,
                body,
                JSON,
            )
            .await?
        {
            (200..=299, _) => Ok(()),
            (status, _) => Err(Trouble::Transport(format!("reset answered {status}"))),
        }
    }

    async fn control(&self, input: &Input) -> Result<Response, Trouble> {
        let body = serde_json::to_vec(input).expect("inputs serialize");
        let (status, bytes) = self
            .post(
                &format!("{CONTROL_PREFIX}control"),
                "control",
                None,
                body,
                JSON,
            )
            .await?;
        if !(200..300).contains(&status) {
            return Err(Trouble::Transport(format!(
                "control action answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Trouble::Binding(format!("control answer is not a Response JSON: {e}")))
    }

    async fn federation(
        &self,
        endpoint: Endpoint,
        from: Option<&ServiceProviderId>,
        body: Vec<u8>,
    ) -> Result<Response, Trouble> {
        let (status, bytes) = match (&self.ohttp_keys, from) {
            (Some(keys), None) => self.oblivious(keys, endpoint, body).await?,
            _ => {
                let caller = from.map(|f| f.as_str()).unwrap_or("anonymous");
                self.post(
                    &binding::path(endpoint),
                    caller,
                    from.map(|f| f.as_str()),
                    body,
                    MEDIA_TYPE,
                )
                .await?
            }
        };
        binding::decode_response(endpoint, status, &bytes).map_err(|e| Trouble::Binding(e.0))
    }

    /// A KeyPackage request as requester and relay: sealed to the gateway's keys, posted to
    /// the gateway, the answer opened. The wire log gets the sealed exchange and the inner one.
    async fn oblivious(
        &self,
        keys: &[u8],
        endpoint: Endpoint,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), Trouble> {
        let (sealed, opener) =
            oblivious::seal_request(keys, endpoint, &body).map_err(Trouble::Binding)?;
        let (status, answer) = self
            .post(
                oblivious::GATEWAY_PATH,
                "ohttp-relay",
                None,
                sealed,
                oblivious::REQUEST_TYPE,
            )
            .await?;
        if status != 200 {
            return Err(Trouble::Binding(format!(
                "the OHTTP gateway answered {status}"
            )));
        }
        let (inner_status, inner_body) =
            oblivious::open_response(opener, &answer).map_err(Trouble::Binding)?;
        self.log.record(Exchange::inside_ohttp(
            &binding::path(endpoint),
            &body,
            inner_status,
            &inner_body,
        ));
        Ok((inner_status, inner_body))
    }

    /// The loopback floor: the median round trip of `n` bare capability requests, the least
    /// any exchange with this target can cost.
    pub async fn round_trip_floor(&self, n: usize) -> Duration {
        let url = format!("{}{CONTROL_PREFIX}capabilities", self.base);
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            // A target that stops answering gets no more samples (each would wait a timeout).
            match self.client.get(&url).send().await {
                Ok(_) => times.push(started.elapsed()),
                Err(_) => break,
            }
        }
        times.sort();
        times.get(times.len() / 2).copied().unwrap_or_default()
    }

    /// Waits until the target has made every call the last input causes: with `idle`, by
    /// asking; without, by watching the peers until the `expected` calls arrived (or `patience`
    /// ran out), plus a short grace for calls nobody expected.
    async fn settle(&self, peers: &Peers, expected: usize, patience: Duration) {
        if self.capabilities.idle {
            let _ = self
                .client
                .get(format!("{}{CONTROL_PREFIX}idle", self.base))
                .send()
                .await;
            return;
        }
        if expected == 0 {
            return;
        }
        let started = Instant::now();
        while peers.received() < expected && started.elapsed() < patience {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(GRACE).await;
    }
}

/// How long a target without `idle` gets for calls beyond the expected ones.
const GRACE: Duration = Duration::from_millis(10);

const JSON: &str = "application/json";

async fn fetch_ohttp_keys(client: &reqwest::Client, base: &str) -> Result<Vec<u8>, String> {
    let url = format!("{base}{}", oblivious::KEYS_PATH);
    let fail =
        |e: String| format!("the target offers ohttp but {url} gave no key configuration: {e}");
    let answer = client
        .get(&url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !answer.status().is_success() {
        return Err(fail(format!("status {}", answer.status())));
    }
    let keys = answer
        .bytes()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_vec();
    ohttp::ClientRequest::from_encoded_config_list(&keys).map_err(|e| fail(e.to_string()))?;
    Ok(keys)
}

/// Why a case cannot run on this target, if it cannot.
pub fn missing_capability(case: &Case, capabilities: &Capabilities) -> Option<String> {
    if !capabilities.roles.iter().any(|r| r == role_name(case.role)) {
        return Some(format!(
            "the target does not offer the {} role",
            role_name(case.role)
        ));
    }
    case.steps
        .iter()
        .filter_map(|s| control::action_name(&s.input))
        .find(|a| !capabilities.actions.iter().any(|c| c == a))
        .map(|a| format!("the target does not offer the control action {a}"))
}

/// Knobs of one run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// For targets without `idle`: how long to wait for calls after each input.
    pub settle: Duration,
}

/// Runs one case: reset, replay, judge.
/// Everything a case runs against: the target, the peers the runner plays, the wire log
/// they share, and the knobs.
pub struct Rig {
    pub target: Target,
    pub peers: Peers,
    pub log: WireLog,
    pub settings: Settings,
}

pub async fn run_case(case: &Case, rig: &Rig) -> CaseResult {
    let Rig {
        target,
        peers,
        log,
        settings,
    } = rig;
    let started = Instant::now();
    log.take();
    let mut result = CaseResult::new(case, Verdict::Pass);
    if let Some(why) = missing_capability(case, &target.capabilities) {
        result.verdict = Verdict::Skipped;
        result.because.push(why);
        return result;
    }
    let outcome = replay(case, target, peers, settings).await;
    if let Err(failure) = outcome {
        result.verdict = failure.verdict;
        result.violated = failure.violated;
        result.violated_errata = failure.violated_errata;
        result.step = Some(failure.step + 1);
        result.expected = failure.expected;
        result.observed = failure.observed;
        result.because = failure.because;
    }
    result.wire = log.take();
    result.millis = started.elapsed().as_secs_f64() * 1000.0;
    result
}

struct Failure {
    verdict: Verdict,
    violated: Vec<ReqId>,
    violated_errata: Vec<ErratumId>,
    step: usize,
    expected: Option<String>,
    observed: Option<String>,
    because: Vec<String>,
}

impl Failure {
    fn trouble(step: usize, trouble: Trouble) -> Self {
        match trouble {
            Trouble::Transport(why) => Failure {
                verdict: Verdict::Indeterminate,
                violated: Vec::new(),
                violated_errata: Vec::new(),
                step,
                expected: None,
                observed: None,
                because: vec![why],
            },
            Trouble::Binding(why) => Failure {
                verdict: Verdict::Fail,
                violated: Vec::new(),
                violated_errata: vec![errata::TRANSPORT],
                step,
                expected: Some(
                    "an answer the binding allows (BINDING.md, errata/transport)".into(),
                ),
                observed: Some(why.clone()),
                because: vec![why, format!("see {}", errata::TRANSPORT)],
            },
        }
    }
}

/// The grade of a broken set of requirements: the strictest level among them.
pub fn grade(violated: &[ReqId]) -> Verdict {
    let levels: Vec<Level> = violated
        .iter()
        .filter_map(|id| req::find(id.0))
        .map(|r| r.level)
        .collect();
    if levels.is_empty()
        || levels
            .iter()
            .any(|l| matches!(l, Level::Must | Level::MustNot | Level::Statement))
    {
        Verdict::Fail
    } else if levels
        .iter()
        .any(|l| matches!(l, Level::Should | Level::ShouldNot))
    {
        Verdict::NonStrict
    } else {
        Verdict::Informational
    }
}

async fn replay(
    case: &Case,
    target: &Target,
    peers: &Peers,
    settings: &Settings,
) -> Result<(), Failure> {
    let reset = Reset {
        me: case.target.clone(),
        peers: peers.urls(),
    };
    target
        .reset(&reset)
        .await
        .map_err(|t| Failure::trouble(0, t))?;
    let answers = |p: &ServiceProviderId| -> Vec<bool> {
        case.steps
            .iter()
            .filter_map(|s| match &s.input {
                Input::WelcomeInitAnswered { provider, accepted } if provider == p => {
                    Some(*accepted)
                }
                _ => None,
            })
            .collect()
    };
    for (id, peer) in &peers.0 {
        peer.script(answers(id));
    }
    let mut state = State::new(case.target.clone());
    let inputs: Vec<&Input> = case.steps.iter().map(|s| &s.input).collect();
    let mut index = 0;
    while index < inputs.len() {
        // A request and the WelcomeInit answers right after it form one window: the calls
        // the target makes in it are attributed to the input that causes them.
        let window_end = (index + 1..inputs.len())
            .find(|&i| !matches!(inputs[i], Input::WelcomeInitAnswered { .. }))
            .unwrap_or(inputs.len());
        let first = &case.steps[index];
        let response = match perform(first, target).await {
            Ok(Some(r)) => r,
            Ok(None) => step(&state, &first.input).expect.canonical,
            Err(t) => return Err(Failure::trouble(index, t)),
        };
        let expected = expected_calls(&state, &inputs[index..window_end]);
        target.settle(peers, expected, settings.settle).await;
        let mut calls = Vec::new();
        for received in peers.take_all() {
            match received {
                Ok(call) => calls.push(call),
                Err(why) => return Err(Failure::trouble(index, Trouble::Binding(why))),
            }
        }
        let window = &inputs[index..window_end];
        let mut attributed = attribute(window, calls);
        for (offset, input) in window.iter().copied().enumerate() {
            let response = if offset == 0 {
                response.clone()
            } else {
                step(&state, input).expect.canonical
            };
            let observed = Observed {
                response,
                outbound: std::mem::take(&mut attributed[offset]),
            };
            state = check(&state, input, &observed).map_err(|v| Failure {
                verdict: grade(&v.requirements),
                violated: v.requirements.clone(),
                violated_errata: v.errata.clone(),
                step: index + offset,
                expected: Some(v.expected.clone()),
                observed: Some(v.observed.clone()),
                because: v.because.clone(),
            })?;
        }
        index = window_end;
    }
    Ok(())
}

/// How many calls the model expects the target to make for a window of inputs.
fn expected_calls(state: &State, window: &[&Input]) -> usize {
    let mut state = state.clone();
    window
        .iter()
        .map(|input| apply_in_place(&mut state, input).1.len())
        .sum()
}

/// Sends one input to the target; `None` for inputs that are not requests (answers the
/// runner's peers already gave).
async fn perform(step: &CaseStep, target: &Target) -> Result<Option<Response>, Trouble> {
    let input = &step.input;
    if let Input::WelcomeInitAnswered { .. } = input {
        return Ok(None);
    }
    if control::action_name(input).is_some() {
        return target.control(input).await.map(Some);
    }
    if let (Input::Malformed { endpoint, .. }, Some((from, body))) = (input, &step.malformed) {
        return target
            .federation(*endpoint, from.as_ref(), body.clone())
            .await
            .map(Some);
    }
    let (endpoint, from, body) = binding::request_of(input)
        .ok_or_else(|| Trouble::Binding(format!("the case gives no request body for {input:?}")))?;
    target.federation(endpoint, from, body).await.map(Some)
}

/// Splits a window's calls over its inputs: Welcome pushes to a provider go to that
/// provider's answer, in order; everything else to the request that opened the window.
fn attribute(window: &[&Input], calls: Vec<Outbound>) -> Vec<Vec<Outbound>> {
    let mut out = vec![Vec::new(); window.len()];
    let mut used = vec![false; window.len()];
    for call in calls {
        let slot = match &call {
            Outbound::WelcomePush { to, .. } => window.iter().enumerate().position(|(i, input)| {
                !used[i] && matches!(input, Input::WelcomeInitAnswered { provider, .. } if provider == to)
            }),
            _ => None,
        };
        match slot {
            Some(i) => {
                used[i] = true;
                out[i].push(call);
            }
            None => out[0].push(call),
        }
    }
    out
}
