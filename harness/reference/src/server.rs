//! The reference DS: the model served over the binding. One `State` behind one lock, so
//! every partition has one total order; outbound calls (WelcomeInit, Welcome, forwarding)
//! are made in order after the state is updated and before the request is answered, so an
//! observer that got the answer has seen every call. With a [`Mutant`], one bug is planted.

use crate::freedoms::{Freedom, PushTiming};
use crate::mutants::Mutant;
use axum::body::Bytes as Body;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response as HttpResponse};
use mimi_ds_binding::control::{self, Capabilities, Reset};
use mimi_ds_binding::oblivious::{self, Gateway};
use mimi_ds_binding::{self as binding, CONTROL_PREFIX, MEDIA_TYPE, PROVIDER_HEADER};
use mimi_ds_model::codec::{ErrorCode, ServiceProviderId, WelcomeInitResponse, Wire};
use mimi_ds_model::ds::{Endpoint, Input, Model, Observed, Outbound, Reference, Response, State};
use mimi_ds_model::vectors::cast;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a served reference DS is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Who it is until a `reset` says otherwise.
    pub me: ServiceProviderId,
    pub mutant: Option<Mutant>,
    /// A legal variant to behave as (see `mimi-ds-check freedoms`).
    pub freedom: Option<Freedom>,
    /// Per outbound call.
    pub call_timeout: Duration,
    /// Whether to offer the `idle` capability (off, it behaves like a target that cannot
    /// say when its calls are done: the runner then watches for them).
    pub idle: bool,
}

impl Config {
    /// The behaviour served: the mutant, else the freedom, else the reference.
    fn model(&self) -> &dyn Model {
        match (&self.mutant, &self.freedom) {
            (Some(mutant), _) => mutant,
            (None, Some(freedom)) => freedom,
            (None, None) => &Reference,
        }
    }
}

struct Shared {
    config: Config,
    /// OHTTP gateway for KeyPackage requests (BINDING.md §5).
    gateway: Gateway,
    state: Mutex<State>,
    peers: Mutex<BTreeMap<ServiceProviderId, String>>,
    client: reqwest::Client,
    activity: Arc<Activity>,
}

/// Requests being processed and calls being made, pushes after answering included; `idle`
/// waits for none.
#[derive(Default)]
struct Activity {
    busy: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// A running reference DS.
pub struct Server {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves on `listen` (port 0 picks a free one) in the current tokio runtime.
pub async fn start(config: Config, listen: SocketAddr) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let gateway = Gateway::new().map_err(std::io::Error::other)?;
    let shared = Arc::new(Shared {
        gateway,
        state: Mutex::new(State::new(config.me.clone())),
        client: reqwest::Client::builder()
            .timeout(config.call_timeout)
            .build()
            .map_err(std::io::Error::other)?,
        config,
        peers: Mutex::new(BTreeMap::new()),
        activity: Arc::default(),
    });
    let app = axum::Router::new().fallback(handle).with_state(shared);
    let task = tokio::spawn(async move {
        // A failing accept loop ends the server; callers see connection errors.
        let _ = axum::serve(listener, app).await;
    });
    Ok(Server { addr, task })
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let _busy = Busy::enter(&shared.activity);
    if let Some(action) = uri.path().strip_prefix(CONTROL_PREFIX) {
        return handle_control(&shared, &method, action, &body).await;
    }
    if uri.path() == oblivious::KEYS_PATH && method == Method::GET {
        let keys = shared.gateway.keys().to_vec();
        return (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, oblivious::KEYS_TYPE)],
            keys,
        )
            .into_response();
    }
    if uri.path() == oblivious::GATEWAY_PATH && method == Method::POST {
        return handle_oblivious(&shared, &body).await;
    }
    let Some(endpoint) = binding::endpoint_of_path(uri.path()) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no endpoint at {}", uri.path()),
        )
            .into_response();
    };
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "federation endpoints take POST",
        )
            .into_response();
    }
    let caller = headers
        .get(PROVIDER_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| ServiceProviderId::new(v).ok());
    match federation(&shared, endpoint, caller, &body).await {
        Some((status, bytes)) => {
            let (status, media_type) = match shared.config.freedom {
                Some(freedom) => freedom.http_answer(status, MEDIA_TYPE),
                None => (status, MEDIA_TYPE),
            };
            let status = StatusCode::from_u16(status).expect("binding statuses are valid");
            (
                status,
                [(axum::http::header::CONTENT_TYPE, media_type)],
                bytes,
            )
                .into_response()
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// One federation request, direct or from inside OHTTP: the status and body of the answer,
/// or `None` for the 500 the `server-error-on-malformed` mutant gives.
async fn federation(
    shared: &Shared,
    endpoint: Endpoint,
    caller: Option<ServiceProviderId>,
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let caller = match (caller, shared.config.mutant) {
        (None, Some(Mutant::TrustUnidentifiedCallers)) => Some(cast::provider(cast::FOLLOWER_B)),
        (caller, _) => caller,
    };
    let response = match (caller, binding::needs_provider(endpoint)) {
        (None, true) => Response::Error(ErrorCode::UnauthorizedProvider),
        (caller, _) => {
            // KeyPackage requests come through OHTTP and name no caller.
            let from = caller.unwrap_or_else(|| shared.config.me.clone());
            let input = decode(shared, endpoint, &from, body);
            if matches!(input, Input::Malformed { .. })
                && shared.config.mutant == Some(Mutant::ServerErrorOnMalformed)
            {
                return None;
            }
            shared.process(input).await
        }
    };
    let (status, body) = binding::encode_response(endpoint, &response);
    match shared.config.mutant {
        Some(Mutant::RefusalsWithoutDsError) if status >= 400 => Some((status, Vec::new())),
        Some(Mutant::WelcomeInitYesAsFf) if body == [1] && endpoint == Endpoint::WelcomeInit => {
            Some((status, vec![0xff]))
        }
        Some(Mutant::NotifyAnswers200) if status == 201 && endpoint == Endpoint::Notify => {
            Some((200, body))
        }
        _ => Some((status, body)),
    }
}

/// The OHTTP gateway: open, answer the inner KeyPackage request, seal.
async fn handle_oblivious(shared: &Shared, body: &[u8]) -> HttpResponse {
    let (endpoint, inner, sealer) = match shared.gateway.open(body) {
        Ok(opened) => opened,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let (status, bytes) = federation(shared, endpoint, None, &inner)
        .await
        .unwrap_or((500, Vec::new()));
    match oblivious::seal_response(sealer, status, &bytes) {
        Ok(sealed) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, oblivious::RESPONSE_TYPE)],
            sealed,
        )
            .into_response(),
        Err(why) => (StatusCode::INTERNAL_SERVER_ERROR, why).into_response(),
    }
}

fn decode(shared: &Shared, endpoint: Endpoint, from: &ServiceProviderId, body: &[u8]) -> Input {
    let input = binding::input_of(endpoint, from, body);
    match (&input, shared.config.mutant) {
        (Input::Malformed { .. }, Some(mutant)) => {
            mutant.decode_refused(endpoint, from, body).unwrap_or(input)
        }
        _ => input,
    }
}

async fn handle_control(
    shared: &Shared,
    method: &Method,
    action: &str,
    body: &[u8],
) -> HttpResponse {
    let json = |value: serde_json::Value| (StatusCode::OK, axum::Json(value)).into_response();
    let bad = |why: String| (StatusCode::BAD_REQUEST, why).into_response();
    match (method, action) {
        (&Method::GET, "capabilities") => {
            let capabilities = Capabilities {
                idle: shared.config.idle,
                ..Capabilities::reference()
            };
            let capabilities = match shared.config.freedom {
                Some(freedom) => freedom.capabilities(capabilities),
                None => capabilities,
            };
            json(serde_json::to_value(capabilities).expect("serializes"))
        }
        (&Method::GET, "idle") => {
            // This request counts itself as busy.
            let activity = &shared.activity;
            let wait = async {
                loop {
                    let notified = activity.idle.notified();
                    if activity.busy.load(Ordering::SeqCst) <= 1 {
                        break;
                    }
                    notified.await;
                }
            };
            match tokio::time::timeout(Duration::from_secs(5), wait).await {
                Ok(()) => json(serde_json::json!({"idle": true})),
                Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "still busy after 5 s").into_response(),
            }
        }
        (&Method::POST, "reset") => match serde_json::from_slice::<Reset>(body) {
            Ok(reset) => {
                let mut state = State::new(reset.me);
                if let Some(freedom) = shared.config.freedom {
                    freedom.configure(&mut state);
                }
                *shared.state.lock().expect("state lock") = state;
                *shared.peers.lock().expect("peers lock") = reset.peers;
                json(serde_json::json!({"reset": true}))
            }
            Err(e) => bad(format!("reset body: {e}")),
        },
        (&Method::POST, "control") => match control::parse_action(body) {
            Ok(input) => {
                json(serde_json::to_value(shared.process(input).await).expect("serializes"))
            }
            Err(e) => bad(e),
        },
        _ => (
            StatusCode::NOT_FOUND,
            format!("no control action {method} {action}"),
        )
            .into_response(),
    }
}

impl Shared {
    /// Applies one input, then makes the calls it causes, in order; a freedom that pushes
    /// after answering leaves its pushes to a task of their own.
    async fn process(&self, input: Input) -> Response {
        let (response, outbound) = self.apply(input);
        let later =
            self.config.freedom.and_then(|f| f.push_timing()) == Some(PushTiming::AfterAnswering);
        let (pushes, calls): (Vec<Outbound>, Vec<Outbound>) = outbound
            .into_iter()
            .partition(|call| later && matches!(call, Outbound::Push { .. }));
        self.deliver(calls).await;
        if !pushes.is_empty() {
            let posts: Vec<_> = pushes.iter().map(|call| self.post_of(call)).collect();
            let busy = Busy::enter(&self.activity);
            tokio::spawn(async move {
                let _busy = busy;
                for post in posts {
                    let _ = post.send().await;
                }
            });
        }
        response
    }

    fn apply(&self, input: Input) -> (Response, Vec<Outbound>) {
        let mut state = self.state.lock().expect("state lock");
        let Observed { response, outbound } = self.config.model().apply(&mut state, &input);
        (response, outbound)
    }

    async fn deliver(&self, calls: Vec<Outbound>) {
        let mut queue: VecDeque<Outbound> = calls.into();
        while let Some(call) = queue.pop_front() {
            let answer = self.post_of(&call).send().await;
            if let Outbound::WelcomeInit { to, .. } = &call {
                // No answer, an error or an undecodable body all count as a refusal.
                let accepted = answer
                    .ok()
                    .and_then(|body| WelcomeInitResponse::from_bytes(&body).ok())
                    .is_some_and(|r| r.accepted);
                let (_, more) = self.apply(Input::WelcomeInitAnswered {
                    provider: to.clone(),
                    accepted,
                });
                queue.extend(more);
            }
        }
    }

    /// One call, ready to be made now or later.
    fn post_of(&self, call: &Outbound) -> Post {
        let base = self
            .peers
            .lock()
            .expect("peers lock")
            .get(call.to())
            .cloned();
        let (endpoint, body) = binding::outbound_request(call);
        Post {
            client: self.client.clone(),
            url: base.map(|base| format!("{base}{}", binding::path(endpoint))),
            to: call.to().clone(),
            me: self.state.lock().expect("state lock").me.clone(),
            body,
        }
    }
}

/// A call to another provider.
struct Post {
    client: reqwest::Client,
    /// `None` when the provider's address is unknown.
    url: Option<String>,
    to: ServiceProviderId,
    me: ServiceProviderId,
    body: Vec<u8>,
}

impl Post {
    /// POSTs the call; the body of a 2xx answer, or why there is none.
    async fn send(self) -> Result<Vec<u8>, String> {
        let url = self
            .url
            .ok_or_else(|| format!("no address for {}", self.to))?;
        let answer = self
            .client
            .post(url)
            .header(PROVIDER_HEADER, self.me.as_str())
            .header(axum::http::header::CONTENT_TYPE, MEDIA_TYPE)
            .body(self.body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status().is_success() {
            return Err(format!("answered {}", answer.status()));
        }
        answer
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| e.to_string())
    }
}

/// Counts a request or a task of calls as in progress for `idle`.
struct Busy(Arc<Activity>);

impl Busy {
    fn enter(activity: &Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::SeqCst);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
        self.0.idle.notify_waiters();
    }
}
