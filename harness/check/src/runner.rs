//! The runner: replays cases against a target over the binding, playing every other provider,
//! and judges each observation with the model (`ds::check`), so every grade names the
//! requirements it rests on and carries the model's because-chain and the full wire log.

use crate::body::{self, BodyError, Limits};
use crate::peers::{Peers, WelcomeAnswer};
use crate::transport::{Caller, Clients, Credential, Tls};
use mimi_ds_binding::control::{self, Capabilities, Reset};
use mimi_ds_binding::oblivious;
use mimi_ds_binding::wire::{Exchange, WireLog};
use mimi_ds_binding::{
    self as binding, Answer, CONTROL_PREFIX, IDLE_HEADER, MEDIA_TYPE, PROVIDER_HEADER,
};
use mimi_ds_model::codec::{ErrorCode, ServiceProviderId};
use mimi_ds_model::ds::{
    apply, check, check_calls, check_unprompted, Endpoint, Input, Observed, Outbound, Response,
    State, Violation,
};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::requirements::{self as req, Level, ReqId};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mimi_ds_model::vectors::trace;
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

/// One input, with what the model's value cannot say: the raw request of a malformed or
/// unidentified one.
#[derive(Clone, Debug)]
pub struct CaseStep {
    pub input: Input,
    /// For `Input::Malformed` and `Input::Unidentified`: what goes on the wire.
    pub raw: Option<RawRequest>,
}

/// A request as bytes, with the provider it names (none: no identity) or, in the
/// certificate cases, the wrong credential it presents instead.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub provider: Option<String>,
    pub credential: Option<Credential>,
    pub body: Vec<u8>,
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

/// The grade the runner gives one case, from the levels of the requirements its observation
/// breaks (Autobahn's grades, plus `skipped`). Not the vector files' `Verdict`
/// (valid/invalid/acceptable), which says what a case expects of a DS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
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

impl Grade {
    /// In the order reports list them.
    pub const ALL: [Grade; 6] = [
        Grade::Pass,
        Grade::Fail,
        Grade::NonStrict,
        Grade::Informational,
        Grade::Indeterminate,
        Grade::Skipped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Grade::Pass => "pass",
            Grade::NonStrict => "non-strict",
            Grade::Informational => "informational",
            Grade::Indeterminate => "indeterminate",
            Grade::Skipped => "skipped",
            Grade::Fail => "fail",
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
    /// Called `verdict` in report.json, as the README and consumers of the report know it.
    #[serde(rename = "verdict")]
    pub grade: Grade,
    /// The requirements the observation broke (empty unless the grade says so).
    pub violated: Vec<ReqId>,
    /// The errata decisions the broken expectation rests on.
    pub violated_errata: Vec<ErratumId>,
    /// Which input decided the grade, counting from 1 as the vector's steps are read.
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
    pub fn new(case: &Case, grade: Grade) -> Self {
        CaseResult {
            section: case.section().to_owned(),
            comment: case.comment.clone(),
            requirements: case.requirements.clone(),
            errata: case.errata.clone(),
            ..CaseResult::empty(case.id.clone(), case.role, grade)
        }
    }

    /// A result named `id` with nothing else said yet: for what is no vector's case (a
    /// fuzzed endpoint, a stressed group).
    pub fn empty(id: String, role: Role, grade: Grade) -> Self {
        CaseResult {
            section: id.split('/').next().unwrap_or(&id).to_owned(),
            id,
            comment: String::new(),
            role,
            requirements: Vec::new(),
            errata: Vec::new(),
            grade,
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

/// Why a step (or a call the target made) could not be observed.
pub enum Trouble {
    /// No answer, or the connection failed: indeterminate.
    Transport(String),
    /// An answer that breaks the binding itself: a fail against `errata/transport` and the
    /// decision it names besides.
    Binding(binding::BindingError),
}

impl Trouble {
    /// An answer that breaks `errata/transport` alone.
    pub fn binding(why: String) -> Self {
        Trouble::Binding(binding::BindingError {
            why,
            errata: vec![errata::TRANSPORT],
        })
    }

    /// A body that could not be read whole, `at` a path: a binding failure when it is known
    /// to be longer than the binding allows, otherwise nothing can be concluded.
    pub fn of_body(at: &str, error: &BodyError) -> Self {
        let why = format!("{at}: {error}");
        match error.breaks_binding() {
            true => Trouble::binding(format!(
                "{why}, longer than the binding's {} (BINDING.md §1)",
                body::size(binding::MAX_BODY)
            )),
            false => Trouble::Transport(why),
        }
    }
}

/// A target reachable over HTTP, with what it says it supports.
pub struct Target {
    base: String,
    clients: Clients,
    limits: Limits,
    pub capabilities: Capabilities,
    /// The gateway's key configuration, when the target takes KeyPackage requests over OHTTP.
    ohttp_keys: Option<Vec<u8>>,
    log: WireLog,
    /// Exchanges the target answered (a status and a body read whole, or one over the cap):
    /// what tells a target that stopped answering from one with a broken endpoint.
    answered: AtomicUsize,
    /// Whether the target's last answer carried `Mimi-Ds-Idle: true` (BINDING.md §6.1).
    idle_declared: AtomicBool,
    /// The URLs of the paths requested so far, parsed once: parsing one (host, IDNA) costs a
    /// few microseconds, a good part of an exchange with a server on this machine.
    urls: Mutex<HashMap<String, reqwest::Url>>,
}

/// The most paths whose URLs a target keeps parsed (a run requests a dozen).
const PARSED_URLS: usize = 64;

/// Why the runner could not start talking to a target.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach the target at {url}: {why}")]
    Unreachable { url: String, why: String },
    #[error("{url} answered {status}; the target must implement the test-control contract of BINDING.md")]
    NoControl { url: String, status: u16 },
    #[error("{url}: capabilities {why}")]
    Capabilities { url: String, why: String },
    #[error("the target offers ohttp but {url} gave no key configuration: {why}")]
    OhttpKeys { url: String, why: String },
}

/// Whether a target hung up on a TLS client without answering: it sent an alert, or closed
/// or reset the connection once it was established. That is how a server refuses a client
/// certificate: in TLS 1.3 the client learns it only after sending its request, and may
/// see the alert or only the closed connection.
fn hung_up(error: &reqwest::Error) -> bool {
    use std::io::ErrorKind;
    if error.is_timeout() {
        return false;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(rustls::Error::AlertReceived(_)) = e.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(e) = e.downcast_ref::<hyper::Error>() {
            if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
                return true;
            }
        }
        // tokio-rustls reports an alert as an io error of kind InvalidData.
        let closed = [
            ErrorKind::InvalidData,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionAborted,
            ErrorKind::UnexpectedEof,
            ErrorKind::BrokenPipe,
        ];
        let io = e.downcast_ref::<std::io::Error>();
        if io.is_some_and(|io| closed.contains(&io.kind())) {
            return true;
        }
        cause = e.source();
    }
    false
}

/// An exchange that gave no answer read whole.
enum Unanswered {
    /// No answer came: refused, reset, not HTTP, or nothing before the deadline.
    Head(String),
    /// Over TLS, the target hung up without answering ([`hung_up`]).
    Refused(String),
    /// A status came, but its body could not be read whole: `read` holds what came.
    Body {
        status: u16,
        read: Vec<u8>,
        error: BodyError,
    },
}

impl Unanswered {
    fn trouble(&self, at: &str) -> Trouble {
        match self {
            Unanswered::Head(why) | Unanswered::Refused(why) => {
                Trouble::Transport(format!("{at}: {why}"))
            }
            Unanswered::Body { error, .. } => Trouble::of_body(at, error),
        }
    }

    /// For errors before a case: one line, without the body.
    fn why(&self) -> String {
        match self {
            Unanswered::Head(why) | Unanswered::Refused(why) => why.clone(),
            Unanswered::Body { status, error, .. } => format!("answered {status}, but {error}"),
        }
    }
}

impl Target {
    /// Connects over HTTPS with mutual TLS when `tls` is given (an `https` URL), else in
    /// plain-HTTP test mode.
    pub async fn connect(
        base: &str,
        limits: Limits,
        log: WireLog,
        tls: Option<Tls>,
    ) -> Result<Target, ConnectError> {
        let base = base.trim_end_matches('/').to_owned();
        let mut target = Target {
            base,
            clients: Clients::new(tls),
            limits,
            capabilities: Capabilities::default(),
            ohttp_keys: None,
            log,
            answered: AtomicUsize::new(0),
            idle_declared: AtomicBool::new(false),
            urls: Mutex::default(),
        };
        let url = format!("{}{CONTROL_PREFIX}capabilities", target.base);
        let answer = match target.get(&format!("{CONTROL_PREFIX}capabilities")).await {
            Ok(answer) => answer,
            Err(Unanswered::Head(why) | Unanswered::Refused(why)) => {
                return Err(ConnectError::Unreachable { url, why })
            }
            Err(broken) => {
                let why = format!("could not be read: {}", broken.why());
                return Err(ConnectError::Capabilities { url, why });
            }
        };
        if !(200..300).contains(&answer.status) {
            let status = answer.status;
            return Err(ConnectError::NoControl { url, status });
        }
        target.capabilities = match serde_json::from_slice::<Capabilities>(&answer.body) {
            Ok(capabilities) => capabilities,
            Err(e) => {
                return Err(ConnectError::Capabilities {
                    url,
                    why: not_json(&e, "Capabilities JSON of BINDING.md §6.1"),
                })
            }
        };
        if target.capabilities.ohttp {
            target.ohttp_keys = Some(target.fetch_ohttp_keys().await?);
        }
        Ok(target)
    }

    /// Exchanges the target answered so far.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::Relaxed)
    }

    /// Sends `request` and reads its answer whole, all within one `--timeout` and the body
    /// within `--max-body`.
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Posted, Unanswered> {
        let Limits { max_body, timeout } = self.limits;
        let deadline = tokio::time::Instant::now() + timeout;
        self.idle_declared.store(false, Ordering::Relaxed);
        let mut answer = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => {
                return Err(Unanswered::Head(format!(
                    "no answer within {}",
                    body::seconds(timeout)
                )))
            }
            Ok(Err(e)) => {
                let why = body::chain(&e);
                return Err(match self.clients.over_tls() && hung_up(&e) {
                    true => Unanswered::Refused(why),
                    false => Unanswered::Head(why),
                });
            }
            Ok(Ok(answer)) => answer,
        };
        let status = answer.status().as_u16();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let idle = answer
            .headers()
            .get(IDLE_HEADER)
            .is_some_and(|v| v.as_bytes() == b"true");
        let announced = answer.content_length();
        let mut read = Vec::new();
        match body::read(
            &mut answer,
            &mut read,
            announced,
            max_body,
            deadline,
            timeout,
        )
        .await
        {
            Ok(()) => {
                self.answered.fetch_add(1, Ordering::Relaxed);
                self.idle_declared.store(idle, Ordering::Relaxed);
                Ok(Posted {
                    status,
                    content_type,
                    body: read,
                })
            }
            Err(error) => {
                if let BodyError::OverCap { .. } = error {
                    self.answered.fetch_add(1, Ordering::Relaxed);
                }
                Err(Unanswered::Body {
                    status,
                    read,
                    error,
                })
            }
        }
    }

    /// POSTs `body` to `path` as `caller`, with `content_type` (`None`: no such header; the
    /// fuzzer sends any bytes as the provider header and any media type); `from` names the
    /// sender in the wire log.
    async fn post(
        &self,
        path: &str,
        from: &str,
        caller: Caller<'_>,
        body: Outgoing,
        content_type: Option<&str>,
    ) -> Result<Result<Posted, Unanswered>, Trouble> {
        let (client, header) = self
            .clients
            .client(caller)
            .map_err(|e| Trouble::Transport(e.to_string()))?;
        let mut request = match self.url(path) {
            Ok(url) => client.post(url),
            Err(unparsed) => client.post(unparsed),
        }
        .body(body.to_reqwest());
        if let Some(t) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, t);
        }
        if let Some(p) = header {
            let value = reqwest::header::HeaderValue::from_bytes(&p).map_err(|e| {
                Trouble::Transport(format!("{path}: a header value HTTP cannot carry: {e}"))
            })?;
            request = request.header(PROVIDER_HEADER, value);
        }
        let exchange = self.exchange(request).await;
        self.record(path, from, &body, &exchange);
        Ok(exchange)
    }

    /// POSTs as [`Target::post`] does; no answer is trouble.
    pub(crate) async fn post_answered(
        &self,
        path: &str,
        from: &str,
        caller: Caller<'_>,
        body: Outgoing,
        content_type: Option<&str>,
    ) -> Result<Posted, Trouble> {
        self.post(path, from, caller, body, content_type)
            .await?
            .map_err(|unanswered| unanswered.trouble(path))
    }

    /// Logs one exchange with the target (unless the log is paused).
    fn record(
        &self,
        path: &str,
        from: &str,
        body: &Outgoing,
        exchange: &Result<Posted, Unanswered>,
    ) {
        self.log.record_with(|| logged(path, from, body, exchange));
    }
}

/// The wire log's entry for one exchange with the target; a streamed filler by its prefix,
/// at its whole length.
fn logged(
    path: &str,
    from: &str,
    body: &Outgoing,
    exchange: &Result<Posted, Unanswered>,
) -> Exchange {
    let shown = body.shown();
    let mut logged = match exchange {
        Ok(posted) => Exchange::outbound(
            from,
            "target",
            path,
            shown,
            Ok((posted.status, &posted.body)),
        ),
        Err(unanswered) => {
            let why = match unanswered.trouble(path) {
                Trouble::Transport(why) => why,
                Trouble::Binding(e) => e.why,
            };
            match unanswered {
                Unanswered::Body { status, read, .. } => {
                    Exchange::broken(from, path, shown, *status, read, &why)
                }
                _ => Exchange::outbound(from, "target", path, shown, Err(&why)),
            }
        }
    };
    logged.request_bytes = body.len();
    logged
}

impl Target {
    /// A GET of a test-control or well-known path, within the limits.
    async fn get(&self, path: &str) -> Result<Posted, Unanswered> {
        let (client, _) = self
            .clients
            .client(Caller::Runner)
            .map_err(|e| Unanswered::Head(e.to_string()))?;
        let request = match self.url(path) {
            Ok(url) => client.get(url),
            Err(unparsed) => client.get(unparsed),
        };
        self.exchange(request).await
    }

    /// The URL of `path` on the target, parsed once; the text itself when it does not parse
    /// (reqwest then says why, as for any request).
    fn url(&self, path: &str) -> Result<reqwest::Url, String> {
        let mut urls = self.urls.lock().expect("url cache lock");
        if let Some(url) = urls.get(path) {
            return Ok(url.clone());
        }
        let text = format!("{}{path}", self.base);
        let url = reqwest::Url::parse(&text).map_err(|_| text)?;
        if urls.len() < PARSED_URLS {
            urls.insert(path.to_owned(), url.clone());
        }
        Ok(url)
    }

    pub(crate) async fn reset(&self, reset: &Reset) -> Result<(), Trouble> {
        let body = serde_json::to_vec(reset).expect("reset serializes");
        match self
            .post_answered(
                &format!("{CONTROL_PREFIX}reset"),
                "control",
                Caller::Runner,
                Outgoing::Bytes(body),
                Some(JSON),
            )
            .await?
        {
            Posted {
                status: 200..=299, ..
            } => Ok(()),
            Posted { status, .. } => Err(Trouble::Transport(format!("reset answered {status}"))),
        }
    }

    pub(crate) async fn control(&self, input: &Input) -> Result<Response, Trouble> {
        let body = serde_json::to_vec(input).expect("inputs serialize");
        let Posted {
            status,
            body: bytes,
            ..
        } = self
            .post_answered(
                &format!("{CONTROL_PREFIX}control"),
                "control",
                Caller::Runner,
                Outgoing::Bytes(body),
                Some(JSON),
            )
            .await?;
        if !(200..300).contains(&status) {
            return Err(Trouble::Transport(format!(
                "control action answered {status}: {}",
                binding::wire::show(&bytes)
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            Trouble::binding(format!(
                "control answer: {}",
                not_json(&e, "a Response JSON (BINDING.md §6.2)")
            ))
        })
    }

    /// A federation request from provider `from` (none for KeyPackage requests, which go
    /// through OHTTP when the target offers it), or presenting a certificate case's wrong
    /// `credential`.
    pub(crate) async fn federation(
        &self,
        endpoint: Endpoint,
        from: Option<&str>,
        credential: Option<Credential>,
        body: Vec<u8>,
    ) -> Result<Answer, Trouble> {
        let from = from.map(str::as_bytes);
        self.federation_as(
            endpoint,
            from,
            credential,
            Outgoing::Bytes(body),
            Some(MEDIA_TYPE),
        )
        .await
    }

    /// A federation request as the fuzzer sends it: any bytes as the provider header, any
    /// media type (`None`: no header), any body; or presenting a wrong `credential`. A
    /// target that refuses that credential in the TLS handshake refuses the request as
    /// `unauthorized_provider` would (`errata/tls-caller`). KeyPackage requests without a
    /// provider go through OHTTP when the target offers it.
    pub(crate) async fn federation_as(
        &self,
        endpoint: Endpoint,
        from: Option<&[u8]>,
        credential: Option<Credential>,
        body: Outgoing,
        media_type: Option<&str>,
    ) -> Result<Answer, Trouble> {
        let oblivious =
            !binding::needs_provider(endpoint) && from.is_none() && credential.is_none();
        let posted = match (&self.ohttp_keys, body) {
            (Some(keys), Outgoing::Bytes(body)) if oblivious => {
                self.oblivious(keys, endpoint, body).await?
            }
            (_, body) => {
                let (name, caller) = match (credential, from) {
                    (Some(credential), _) => {
                        (credential.name().into(), Caller::Presenting(credential))
                    }
                    (None, Some(from)) => (String::from_utf8_lossy(from), Caller::Provider(from)),
                    (None, None) => (trace::ANONYMOUS.into(), Caller::Runner),
                };
                let path = binding::path(endpoint);
                let posted = match self.post(&path, &name, caller, body, media_type).await? {
                    Ok(posted) => posted,
                    // The wire log holds why; it is a refusal, not another reading.
                    Err(Unanswered::Refused(_)) if credential.is_some() => {
                        return Ok(Answer {
                            response: Response::Error(ErrorCode::UnauthorizedProvider),
                            notes: Vec::new(),
                        })
                    }
                    Err(unanswered) => return Err(unanswered.trouble(&path)),
                };
                Posted {
                    // A missing header is checked as an empty media type.
                    content_type: Some(posted.content_type.unwrap_or_default()),
                    ..posted
                }
            }
        };
        binding::decode_response(
            endpoint,
            posted.status,
            posted.content_type.as_deref(),
            &posted.body,
        )
        .map_err(Trouble::Binding)
    }

    /// A KeyPackage request as requester and relay: sealed to the gateway's keys, posted to
    /// the gateway, the answer opened. The wire log gets the sealed exchange and the inner one.
    async fn oblivious(
        &self,
        keys: &[u8],
        endpoint: Endpoint,
        body: Vec<u8>,
    ) -> Result<Posted, Trouble> {
        let (sealed, opener) =
            oblivious::seal_request(keys, endpoint, &body).map_err(Trouble::binding)?;
        let Posted {
            status,
            body: answer,
            ..
        } = self
            .post_answered(
                oblivious::GATEWAY_PATH,
                "ohttp-relay",
                Caller::Runner,
                Outgoing::Bytes(sealed),
                Some(oblivious::REQUEST_TYPE),
            )
            .await?;
        if status != 200 {
            return Err(Trouble::binding(format!(
                "the OHTTP gateway answered {status}"
            )));
        }
        let (inner_status, inner_body) =
            oblivious::open_response(opener, &answer).map_err(Trouble::binding)?;
        self.log.record(Exchange::inside_ohttp(
            &binding::path(endpoint),
            &body,
            inner_status,
            &inner_body,
        ));
        // The inner response's headers stay inside OHTTP: its media type is not checked.
        Ok(Posted {
            status: inner_status,
            content_type: None,
            body: inner_body,
        })
    }

    /// The gateway's key configuration (RFC 9540), checked.
    async fn fetch_ohttp_keys(&self) -> Result<Vec<u8>, ConnectError> {
        let answer = self.get(oblivious::KEYS_PATH).await;
        let keys = match answer {
            Err(unanswered) => Err(unanswered.why()),
            Ok(answer) if !(200..300).contains(&answer.status) => {
                Err(format!("status {}", answer.status))
            }
            Ok(answer) => oblivious::check_keys(&answer.body).map(|()| answer.body),
        };
        keys.map_err(|why| ConnectError::OhttpKeys {
            url: format!("{}{}", self.base, oblivious::KEYS_PATH),
            why,
        })
    }

    /// The loopback floor: the median round trip of `n` bare capability requests, the least
    /// any exchange with this target can cost.
    pub async fn round_trip_floor(&self, n: usize) -> Duration {
        let path = format!("{CONTROL_PREFIX}capabilities");
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            // A target that stops answering gets no more samples (each would wait a timeout).
            match self.get(&path).await {
                Ok(_) => times.push(started.elapsed()),
                Err(_) => break,
            }
        }
        times.sort();
        times.get(times.len() / 2).copied().unwrap_or_default()
    }

    /// Waits until the target has made every call the last input causes: with `idle`, by
    /// asking (an idle call that fails leaves the calls unknown: indeterminate); without, by
    /// watching the peers until the `expected` calls arrived (or `patience` ran out), then a
    /// short grace for calls nobody expected, such as pushes. With nothing expected the
    /// grace is only spent at the end of a case (`end`): a call that comes later than an
    /// input's window is judged with a later input, against a later state.
    async fn settle(
        &self,
        peers: &Peers,
        expected: usize,
        patience: Duration,
        end: bool,
    ) -> Result<(), Trouble> {
        if self.capabilities.idle {
            // The answer to the last request said the target was idle: nothing to ask.
            if self.idle_declared.load(Ordering::Relaxed) {
                return Ok(());
            }
            let path = format!("{CONTROL_PREFIX}idle");
            return match self.get(&path).await {
                Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
                Ok(answer) => Err(Trouble::Transport(format!(
                    "{path} answered {}: the calls the target still makes are unknown",
                    answer.status
                ))),
                Err(unanswered) => Err(unanswered.trouble(&path)),
            };
        }
        if expected == 0 && !end {
            return Ok(());
        }
        let started = Instant::now();
        while peers.received() < expected && started.elapsed() < patience {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(GRACE).await;
        Ok(())
    }
}

/// One answer of the target over HTTP.
pub(crate) struct Posted {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// A request body: bytes, or (for the fuzzer) `prefix` then zeros up to `length` bytes,
/// streamed so a body over the binding's limit costs no memory of its size. `announced`
/// gives it a Content-Length; otherwise it is sent chunked.
#[derive(Clone, Debug)]
pub(crate) enum Outgoing {
    Bytes(Vec<u8>),
    Filler {
        prefix: Vec<u8>,
        length: u64,
        announced: bool,
    },
}

impl Outgoing {
    /// What the wire log shows of it.
    fn shown(&self) -> &[u8] {
        match self {
            Outgoing::Bytes(b) | Outgoing::Filler { prefix: b, .. } => b,
        }
    }

    fn len(&self) -> usize {
        match self {
            Outgoing::Bytes(b) => b.len(),
            Outgoing::Filler { length, .. } => usize::try_from(*length).unwrap_or(usize::MAX),
        }
    }

    fn to_reqwest(&self) -> reqwest::Body {
        match self {
            Outgoing::Bytes(b) => b.clone().into(),
            Outgoing::Filler {
                prefix,
                length,
                announced,
            } => reqwest::Body::wrap(crate::body::Filler::new(prefix, *length, *announced)),
        }
    }
}

/// How long a target without `idle` gets for calls beyond the expected ones.
const GRACE: Duration = Duration::from_millis(10);

/// The media type of test-control bodies.
pub(crate) const JSON: &str = "application/json";

/// Why `e` refused a body that should be `what`: not JSON at all, or JSON of another shape.
fn not_json(e: &serde_json::Error, what: &str) -> String {
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not JSON: {e}")
        }
        _ => format!("not the {what}: {e}"),
    }
}

/// Why a case cannot run on this target, if it cannot.
pub fn missing_capability(case: &Case, capabilities: &Capabilities) -> Option<String> {
    if !capabilities.roles.iter().any(|r| r == role_name(case.role)) {
        return Some(format!(
            "the target does not offer the {} role",
            role_name(case.role)
        ));
    }
    let missing_action = case
        .steps
        .iter()
        .filter_map(|s| control::action_name(&s.input))
        .find(|a| !capabilities.actions.iter().any(|c| c == a))
        .map(|a| format!("the target does not offer the control action {a}"));
    missing_action.or_else(|| {
        let needs_bans = !capabilities.has_convention(control::BAN_EXTENSION)
            && refuses_by_ban(case);
        needs_bans.then(|| format!("the case needs the optional {} convention (errata/ban-list-extension), which the target does not advertise", control::BAN_EXTENSION))
    })
}

/// Whether the model, enforcing the ban convention, refuses some step of `case` for a ban.
fn refuses_by_ban(case: &Case) -> bool {
    let mut state = State::new(case.target.clone());
    case.steps.iter().any(|step| {
        let expect = apply(&mut state, &step.input).expect;
        expect.is_error() && expect.errata.contains(&errata::BAN_LIST_EXTENSION)
    })
}

/// Knobs of one run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// For targets without `idle`: how long to wait for calls after each input.
    pub settle: Duration,
}

/// Everything a case runs against: the target, the peers the runner plays, the wire log
/// they share, and the knobs.
pub struct Rig {
    pub target: Target,
    pub peers: Peers,
    pub log: WireLog,
    pub settings: Settings,
}

/// Runs one case: reset, replay, grade.
pub async fn run_case(case: &Case, rig: &Rig) -> CaseResult {
    let Rig {
        target,
        peers,
        log,
        settings,
    } = rig;
    let started = Instant::now();
    log.take();
    let mut result = CaseResult::new(case, Grade::Pass);
    if let Some(why) = missing_capability(case, &target.capabilities) {
        result.grade = Grade::Skipped;
        result.because.push(why);
        return result;
    }
    let outcome = replay(case, target, peers, settings).await;
    match outcome {
        Ok(notes) if !notes.is_empty() => {
            // The binding's alternative readings: recorded, never failed.
            result.grade = Grade::Informational;
            result.violated_errata = vec![errata::TRANSPORT];
            result.because = notes;
        }
        Ok(_) => {}
        Err(failure) => {
            result.grade = failure.grade;
            result.violated = failure.violated;
            result.violated_errata = failure.violated_errata;
            result.step = Some(failure.step + 1);
            result.expected = failure.expected;
            result.observed = failure.observed;
            result.because = failure.because;
        }
    }
    result.wire = log.take();
    result.millis = started.elapsed().as_secs_f64() * 1000.0;
    result
}

struct Failure {
    grade: Grade,
    violated: Vec<ReqId>,
    violated_errata: Vec<ErratumId>,
    step: usize,
    expected: Option<String>,
    observed: Option<String>,
    because: Vec<String>,
}

impl Failure {
    /// The grade of a violation of the model at step `step`.
    fn violation(step: usize, v: Violation) -> Self {
        Failure {
            grade: grade(&v.requirements),
            violated: v.requirements,
            violated_errata: v.errata,
            step,
            expected: Some(v.expected),
            observed: Some(v.observed),
            because: v.because,
        }
    }

    /// The grade of a step that could not be observed or broke the binding.
    fn trouble(step: usize, trouble: Trouble) -> Self {
        match trouble {
            Trouble::Transport(why) => Failure {
                grade: Grade::Indeterminate,
                violated: Vec::new(),
                violated_errata: Vec::new(),
                step,
                expected: None,
                observed: None,
                because: vec![why],
            },
            Trouble::Binding(binding::BindingError { why, errata }) => {
                let ids: Vec<&str> = errata.iter().map(|e| e.0).collect();
                Failure {
                    grade: Grade::Fail,
                    violated: Vec::new(),
                    step,
                    expected: Some(format!(
                        "an answer the binding allows (BINDING.md, {})",
                        ids.join(", ")
                    )),
                    observed: Some(why.clone()),
                    because: vec![why, format!("see {}", ids.join(", "))],
                    violated_errata: errata,
                }
            }
        }
    }
}

/// The grade of a broken set of requirements: the strictest level among them.
pub fn grade(violated: &[ReqId]) -> Grade {
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
        Grade::Fail
    } else if levels
        .iter()
        .any(|l| matches!(l, Level::Should | Level::ShouldNot))
    {
        Grade::NonStrict
    } else {
        Grade::Informational
    }
}

/// The model's view of the target at the start of a case: who it is and which optional
/// conventions it enforces.
fn initial_state(case: &Case, capabilities: &Capabilities) -> State {
    let mut state = State::new(case.target.clone());
    state.ban_extension = capabilities.has_convention(control::BAN_EXTENSION);
    state
}

/// Replays `case` and judges each observation; on success, the notes of answers the
/// binding accepts only as its alternative reading (graded informational).
async fn replay(
    case: &Case,
    target: &Target,
    peers: &Peers,
    settings: &Settings,
) -> Result<Vec<String>, Failure> {
    let reset = Reset {
        me: case.target.clone(),
        peers: peers.urls(),
    };
    target
        .reset(&reset)
        .await
        .map_err(|t| Failure::trouble(0, t))?;
    let answers = |p: &ServiceProviderId| -> Vec<WelcomeAnswer> {
        case.steps
            .iter()
            .filter_map(|s| match &s.input {
                Input::WelcomeInitAnswered {
                    provider,
                    accepted,
                    no_answer,
                } if provider == p => Some(no_answer.map_or(Ok(*accepted), Err)),
                _ => None,
            })
            .collect()
    };
    for (id, peer) in &peers.0 {
        peer.script(answers(id));
    }
    let mut state = initial_state(case, &target.capabilities);
    let mut notes = Vec::new();
    let inputs: Vec<&Input> = case.steps.iter().map(|s| &s.input).collect();
    let mut index = 0;
    while index < inputs.len() {
        // A request and the WelcomeInit answers right after it form one window: the calls
        // the target makes in it are attributed to the input that causes them.
        let window_end = (index + 1..inputs.len())
            .find(|&i| !matches!(inputs[i], Input::WelcomeInitAnswered { .. }))
            .unwrap_or(inputs.len());
        let mut response = match perform(&case.steps[index], target).await {
            Ok(Some(answer)) => {
                notes.extend(answer.notes);
                Some(answer.response)
            }
            Ok(None) => None,
            Err(t) => return Err(Failure::trouble(index, t)),
        };
        let window = &inputs[index..window_end];
        // Only a target that cannot say when it is idle is watched for the calls it owes:
        // with `idle`, settling asks it, and what the model expects is not needed.
        let expected = match target.capabilities.idle {
            true => 0,
            false => expected_calls(&state, window),
        };
        target
            .settle(peers, expected, settings.settle, false)
            .await
            .map_err(|t| Failure::trouble(index, t))?;
        let calls = collect(peers).map_err(|t| Failure::trouble(index, t))?;
        let mut attributed = attribute(window, calls);
        for (offset, input) in window.iter().copied().enumerate() {
            let outbound = std::mem::take(&mut attributed[offset]);
            let judged = match (offset, response.take()) {
                (0, Some(response)) => check(&mut state, input, &Observed { response, outbound }),
                // Not a request to the target (a provider's answer to its call): only the
                // calls it made are judged, nothing is taken as its answer.
                _ => check_calls(&mut state, input, &outbound),
            };
            judged.map_err(|mut v| {
                // Refusing a wrong certificate is the TLS caller decision's.
                let step = &case.steps[index + offset];
                if step.raw.as_ref().is_some_and(|r| r.credential.is_some()) {
                    v.errata.push(errata::TLS_CALLER);
                }
                Failure::violation(index + offset, v)
            })?;
        }
        index = window_end;
    }
    // Calls made after the last input (late pushes above all) are judged too.
    let last = inputs.len().saturating_sub(1);
    target
        .settle(peers, 0, settings.settle, true)
        .await
        .map_err(|t| Failure::trouble(last, t))?;
    let late = collect(peers).map_err(|t| Failure::trouble(last, t))?;
    check_unprompted(&state, &late).map_err(|v| Failure::violation(last, v))?;
    Ok(notes)
}

/// The calls the peers received since the last collection, as the model names them.
fn collect(peers: &Peers) -> Result<Vec<Outbound>, Trouble> {
    peers.take_all().into_iter().collect()
}

/// How many calls the model expects the target to make for a window of inputs.
fn expected_calls(state: &State, window: &[&Input]) -> usize {
    let mut state = state.clone();
    window
        .iter()
        .map(|input| apply(&mut state, input).outbound.len())
        .sum()
}

/// Sends one input to the target; `None` for inputs that are not requests (answers the
/// runner's peers already gave).
async fn perform(step: &CaseStep, target: &Target) -> Result<Option<Answer>, Trouble> {
    let input = &step.input;
    if let Input::WelcomeInitAnswered { .. } = input {
        return Ok(None);
    }
    if control::action_name(input).is_some() {
        return target.control(input).await.map(|response| {
            Some(Answer {
                response,
                notes: Vec::new(),
            })
        });
    }
    if let (Input::Malformed { endpoint, .. } | Input::Unidentified { endpoint, .. }, Some(raw)) =
        (input, &step.raw)
    {
        return target
            .federation(
                *endpoint,
                raw.provider.as_deref(),
                raw.credential,
                raw.body.clone(),
            )
            .await
            .map(Some);
    }
    let (endpoint, from, body) = binding::request_of(input)
        .ok_or_else(|| Trouble::binding(format!("the case gives no request body for {input:?}")))?;
    target
        .federation(endpoint, from.map(|f| f.as_str()), None, body)
        .await
        .map(Some)
}

/// Splits a window's calls over its inputs: Welcome pushes to a provider go to that
/// provider's answer, in order; pushes of messages to the last input, so they are judged
/// against the state the whole window leaves (errata `errata/push-snapshot`); everything
/// else to the request that opened the window.
fn attribute(window: &[&Input], calls: Vec<Outbound>) -> Vec<Vec<Outbound>> {
    let mut out = vec![Vec::new(); window.len()];
    let mut used = vec![false; window.len()];
    for call in calls {
        let slot = match &call {
            Outbound::WelcomePush { to, .. } => window.iter().enumerate().position(|(i, input)| {
                !used[i] && matches!(input, Input::WelcomeInitAnswered { provider, .. } if provider == to)
            }),
            Outbound::Push { .. } => Some(window.len() - 1),
            _ => None,
        };
        match (slot, &call) {
            (Some(i), Outbound::Push { .. }) => out[i].push(call),
            (Some(i), _) => {
                used[i] = true;
                out[i].push(call);
            }
            (None, _) => out[0].push(call),
        }
    }
    out
}
