//! The reference DS: the model served over the binding. One `State` behind one lock, so
//! every partition has one total order; outbound calls (WelcomeInit, Welcome, forwarding)
//! are made in order after the state is updated and before the request is answered, so an
//! observer that got the answer has seen every call. With a [`Mutant`], one bug is planted;
//! the race mutants' sends read the state before an await point and write it after
//! (`mutants::race`).
//!
//! It also owns what a hostile client or peer can cost it ([`Limits`]): connections are
//! served under a limit, a request's head and body must arrive within deadlines and sizes,
//! and a peer's answer is read up to a cap within the call timeout. Every refusal it sends
//! is a `DsError` (BINDING.md §2), or a JSON error under the test-control prefix (§6), but
//! for heads hyper itself refuses (see [`HEAD_BUFFER`]).

use crate::freedoms::{Freedom, PushTiming};
use crate::mutants::{self, Mutant};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use mimi_ds_binding::control::{self, Capabilities, Reset};
use mimi_ds_binding::oblivious::{self, Gateway};
use mimi_ds_binding::tls::{self, Identity, Pki};
use mimi_ds_binding::{self as binding, CONTROL_PREFIX, MEDIA_TYPE, PROVIDER_HEADER};
use mimi_ds_model::codec::{DsError, ErrorCode, ServiceProviderId, WelcomeInitResponse, Wire};
use mimi_ds_model::ds::{Endpoint, Input, Model, Observed, Outbound, Reference, Response, State};
use mimi_ds_model::vectors::cast;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// How a served reference DS is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Who it is until a `reset` says otherwise.
    pub me: ServiceProviderId,
    pub mutant: Option<Mutant>,
    /// A legal variant to behave as (see `mimi-ds-check freedoms`).
    pub freedom: Option<Freedom>,
    /// Per outbound call, reading its answer included.
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

/// What the server lets a client or a peer cost it. [`Limits::default`] is what `start`
/// serves with; tests shorten the deadlines.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request's head must arrive within this, counted from its first byte or, on a
    /// kept-alive connection, from the end of the previous answer: a connection that
    /// stalls or idles this long is closed.
    pub header_timeout: Duration,
    /// A request's body must arrive within this once its head is read; later it is
    /// answered `malformed` and the connection closed.
    pub body_timeout: Duration,
    /// The largest request body read; a larger one is answered `malformed`.
    pub max_body: usize,
    /// The largest request head (request line and header fields) served; a larger one is
    /// answered 431 `malformed` and the connection closed, up to [`HEAD_BUFFER`].
    pub max_head: usize,
    /// Connections served at once; one more is closed as soon as it is accepted, so a
    /// flood can neither exhaust descriptors nor sit in the backlog.
    pub max_connections: usize,
    /// The largest answer read from a peer (a WelcomeInitResponse is one byte); a larger
    /// one counts as no answer, like one not complete within the call timeout.
    pub max_answer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_body: 2 << 20,
            max_head: 64 << 10,
            max_connections: 256,
            max_answer: 64 << 10,
        }
    }
}

struct Shared {
    config: Config,
    limits: Limits,
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
    tls: bool,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

/// What the reference serves HTTPS with (BINDING.md §3): its certificate, presented to
/// callers and to the peers it calls, and the CA whose client certificates it trusts.
pub struct ServerTls {
    pub pki: Arc<Pki>,
    pub identity: Identity,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves on `listen` (port 0 picks a free one) in the current tokio runtime, within the
/// default [`Limits`].
pub async fn start(config: Config, listen: SocketAddr) -> std::io::Result<Server> {
    start_with(config, Limits::default(), listen).await
}

/// Serves plain HTTP (the test mode of BINDING.md §3) on `listen` within `limits`.
pub async fn start_with(
    config: Config,
    limits: Limits,
    listen: SocketAddr,
) -> std::io::Result<Server> {
    start_serving(config, limits, listen, None).await
}

/// Serves HTTPS with mutual TLS on `listen` within `limits`: HTTP/1.1 or HTTP/2 as the
/// client's ALPN offers, callers named by their certificates (`errata/tls-caller`).
pub async fn start_tls(
    config: Config,
    limits: Limits,
    listen: SocketAddr,
    tls: ServerTls,
) -> std::io::Result<Server> {
    start_serving(config, limits, listen, Some(tls)).await
}

async fn start_serving(
    config: Config,
    limits: Limits,
    listen: SocketAddr,
    tls: Option<ServerTls>,
) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let gateway = Gateway::new().map_err(std::io::Error::other)?;
    let (client, acceptor) = match &tls {
        None => {
            tls::install_default_provider();
            (reqwest::Client::new(), None)
        }
        Some(ServerTls { pki, identity }) => {
            let client_tls = pki
                .client_config(Some(identity), tls::HttpVersions::Any)
                .map_err(std::io::Error::other)?;
            let client = reqwest::Client::builder()
                .tls_backend_preconfigured(client_tls)
                .build()
                .map_err(std::io::Error::other)?;
            let server_tls = match config.mutant {
                Some(Mutant::AcceptAnyCertificate) => {
                    crate::mutants::any_certificate(identity).map_err(std::io::Error::other)?
                }
                _ => pki
                    .server_config(identity, false)
                    .map_err(std::io::Error::other)?,
            };
            (client, Some(TlsAcceptor::from(Arc::new(server_tls))))
        }
    };
    let shared = Arc::new(Shared {
        gateway,
        state: Mutex::new(State::new(config.me.clone())),
        client,
        config,
        limits,
        peers: Mutex::new(BTreeMap::new()),
        activity: Arc::default(),
    });
    let app = axum::Router::new().fallback(handle).with_state(shared);
    let tls = acceptor.is_some();
    let task = tokio::spawn(serve(listener, app, limits, acceptor));
    Ok(Server { addr, tls, task })
}

/// How a request reached the server, which says who may be calling (BINDING.md §3).
#[derive(Clone, Debug)]
enum Transport {
    /// Test mode: the `Mimi-Ds-Provider` header names the caller.
    Plain,
    /// Mutual TLS: whether the client presented a certificate the server verified, and the
    /// provider names it holds.
    Tls {
        certified: bool,
        names: Vec<ServiceProviderId>,
    },
}

/// What hyper buffers of a request head, so what one costs a connection at most. A head
/// larger than [`Limits::max_head`] but within this gets a `DsError`; one past it gets hyper's
/// own empty 431, as hyper answers it before any request exists (BINDING.md §2).
pub const HEAD_BUFFER: usize = 2 << 20;

/// The accept loop: one task per connection, at most `max_connections` at once, each with
/// the header-read timeout (hyper's own, which also closes idle kept-alive connections); over
/// TLS the handshake, too, must end within it.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection reset before it was accepted: wait a
            // little rather than spin, and go on.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // No free slot: the connection is dropped, which closes it.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let (app, tls) = (app.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            // A connection that breaks or times out just ends.
            let _ = match tls {
                None => serve_http1(TokioIo::new(stream), app, Transport::Plain, limits).await,
                Some(acceptor) => {
                    let Some((stream, accepted)) =
                        tls::accept(&acceptor, stream, limits.header_timeout).await
                    else {
                        return;
                    };
                    let transport = Transport::Tls {
                        certified: accepted.certified,
                        names: accepted.names,
                    };
                    match accepted.h2 {
                        true => {
                            let service = service_of(app, transport);
                            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .timer(TokioTimer::new())
                                .max_header_list_size(HEAD_BUFFER as u32)
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                        false => serve_http1(TokioIo::new(stream), app, transport, limits).await,
                    }
                }
            };
        });
    }
}

/// The app, told how its requests arrive.
fn service_of(
    app: axum::Router,
    transport: Transport,
) -> hyper_util::service::TowerToHyperService<axum::Router> {
    hyper_util::service::TowerToHyperService::new(app.layer(axum::Extension(transport)))
}

async fn serve_http1<S>(
    io: TokioIo<S>,
    app: axum::Router,
    transport: Transport,
    limits: Limits,
) -> hyper::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(HEAD_BUFFER)
        .serve_connection(io, service_of(app, transport))
        .await
}

/// A refusal of a request that reached no endpoint's decoding (BINDING.md §2): `status`
/// with a `DsError` body.
fn refusal(status: StatusCode, code: ErrorCode, message: String) -> HttpResponse {
    let error = DsError { code, message };
    (
        status,
        [(axum::http::header::CONTENT_TYPE, MEDIA_TYPE)],
        error.to_bytes(),
    )
        .into_response()
}

/// A refused test-control request (BINDING.md §6): `status` with `{"error": why}`.
fn control_refusal(status: StatusCode, why: String) -> HttpResponse {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// Reads a request body, at most `max_body` bytes within `body_timeout`; why not otherwise.
async fn read_body(limits: &Limits, body: axum::body::Body) -> Result<Vec<u8>, String> {
    let read = Limited::new(body, limits.max_body).collect();
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(format!("the body is larger than {} bytes", limits.max_body))
        }
        Ok(Err(e)) => Err(format!("the body could not be read: {e}")),
        Err(_) => Err(format!(
            "the body did not arrive within {} ms",
            limits.body_timeout.as_millis()
        )),
    }
}

/// The size of a request head as sent in HTTP/1.1: request line, header fields, blank line.
fn head_size(method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> usize {
    let line = method.as_str().len() + uri.to_string().len() + " HTTP/1.1\r\n".len() + 1;
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + ": \r\n".len() + value.len())
        .sum();
    line + fields + 2
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: Request,
) -> HttpResponse {
    let busy = Busy::enter(&shared.activity);
    let mut answer = answer(&shared, request).await;
    // Nothing but this request in flight (a push after answering would be): the answer says
    // so, and the runner spares itself the `idle` round trip (BINDING.md §6.1).
    if shared.config.idle && shared.activity.busy.load(Ordering::SeqCst) <= 1 {
        answer.headers_mut().insert(
            binding::IDLE_HEADER,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    drop(busy);
    answer
}

async fn answer(shared: &Arc<Shared>, request: Request) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let transport = parts
        .extensions
        .get::<Transport>()
        .cloned()
        .unwrap_or(Transport::Plain);
    let control = uri.path().strip_prefix(CONTROL_PREFIX);
    // Checked here, under hyper's own limit, because hyper's refusal has no DsError body.
    let read = if head_size(&method, &uri, &headers) > shared.limits.max_head {
        let why = format!(
            "the request head is larger than {} bytes",
            shared.limits.max_head
        );
        Err((StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, why))
    } else {
        let read = read_body(&shared.limits, body).await;
        read.map_err(|why| (StatusCode::BAD_REQUEST, why))
    };
    let body = match read {
        Ok(body) => body,
        Err((status, why)) => {
            // What was not read of the body cannot be skipped: close the connection.
            let mut answer = match control {
                Some(_) => control_refusal(status, why),
                None => refusal(status, ErrorCode::Malformed, why),
            };
            answer.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return answer;
        }
    };
    if let Some(action) = control {
        if let Transport::Tls {
            certified: false, ..
        } = transport
        {
            let why = "test control over TLS takes a client certificate from the CA".into();
            return control_refusal(StatusCode::FORBIDDEN, why);
        }
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
        return refusal(
            StatusCode::NOT_FOUND,
            ErrorCode::Malformed,
            format!("no endpoint at {}", uri.path()),
        );
    };
    if method != Method::POST {
        let mut answer = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Malformed,
            format!("{} takes POST, not {method}", uri.path()),
        );
        answer.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("POST"),
        );
        return answer;
    }
    let caller = caller_of(&headers, &transport, shared.config.mutant);
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
/// or `None` for the 500 some mutants give (`Mutant::fails_on_refused`).
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
            if let (Input::Malformed { .. }, Some(mutant)) = (&input, shared.config.mutant) {
                if mutant.fails_on_refused(endpoint, body) {
                    return None;
                }
                if let Some(applied) = mutant.applied_before_refusal(endpoint, &from, body) {
                    shared.process(applied).await;
                }
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
        Err(why) => return refusal(StatusCode::BAD_REQUEST, ErrorCode::Malformed, why),
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

/// The calling provider (BINDING.md §3), or `None` when it is unidentified: in test mode the
/// one the `Mimi-Ds-Provider` header names, if it is a ServiceProviderId; over TLS the one
/// the client certificate names, the header choosing among its names (`errata/tls-caller`).
fn caller_of(
    headers: &HeaderMap,
    transport: &Transport,
    mutant: Option<Mutant>,
) -> Option<ServiceProviderId> {
    let header = headers.get(PROVIDER_HEADER);
    let named = || {
        header
            .and_then(|v| v.to_str().ok())
            .and_then(|v| ServiceProviderId::new(v).ok())
    };
    match (transport, mutant) {
        (Transport::Plain, _) => named(),
        (Transport::Tls { names, .. }, Some(Mutant::TrustHeaderOverCertificate)) => {
            named().or_else(|| tls::caller(names, None))
        }
        (Transport::Tls { names, .. }, _) => tls::caller(names, header.map(|v| v.as_bytes())),
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
    let bad = |why: String| control_refusal(StatusCode::BAD_REQUEST, why);
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
            json(capabilities)
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
                Err(_) => control_refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "still busy after 5 s".into(),
                ),
            }
        }
        (&Method::POST, "reset") => match parse_reset(body) {
            Ok(reset) => {
                let mut state = State::new(reset.me);
                if let Some(freedom) = shared.config.freedom {
                    freedom.configure(&mut state);
                }
                *shared.state.lock().expect("state lock") = state;
                *shared.peers.lock().expect("peers lock") = reset.peers;
                json(serde_json::json!({"reset": true}))
            }
            Err(why) => bad(why),
        },
        (&Method::POST, "control") => match control::parse_action(body) {
            Ok(input) => json(shared.process(input).await),
            Err(e) => bad(e),
        },
        _ => control_refusal(
            StatusCode::NOT_FOUND,
            format!("no control action {method} {action}"),
        ),
    }
}

/// A 200 answer with `value` as its JSON body.
fn json<T>(value: T) -> HttpResponse
where
    axum::Json<T>: IntoResponse,
{
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// A reset body whose peers are all reachable addresses: absolute `http` or `https` URLs
/// with a host and no query or fragment (BINDING.md §6). A trailing `/` is dropped, as the
/// endpoint's path is appended to it.
fn parse_reset(body: &[u8]) -> Result<Reset, String> {
    let mut reset: Reset = serde_json::from_slice(body).map_err(|e| format!("reset body: {e}"))?;
    for (provider, base) in reset.peers.iter_mut() {
        let url = reqwest::Url::parse(base)
            .map_err(|e| format!("reset body: the URL of peer {provider} ({base:?}): {e}"))?;
        let fit = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| !h.is_empty())
            && url.query().is_none()
            && url.fragment().is_none();
        if !fit {
            return Err(format!(
                "reset body: the URL of peer {provider} ({base:?}) is not an absolute http or https URL with a host and no query or fragment"
            ));
        }
        base.truncate(base.trim_end_matches('/').len());
    }
    Ok(reset)
}

impl Shared {
    /// Applies one input, then makes the calls it causes, in order; a freedom that pushes
    /// after answering leaves its pushes to a task of their own.
    async fn process(&self, input: Input) -> Response {
        let (response, outbound) = match self.config.mutant {
            Some(mutant) if mutant.races() && matches!(input, Input::Send { .. }) => {
                let snapshot = self.state.lock().expect("state lock").clone();
                // The await point of the race, as long as a database round trip: other
                // requests run here. A bare yield let a loaded machine's CI run 6,000
                // operations with no two sends overlapping, and the mutant passed.
                tokio::time::sleep(Duration::from_millis(1)).await;
                let mut state = self.state.lock().expect("state lock");
                let Observed { response, outbound } =
                    mutants::race(mutant, &snapshot, &mut state, &input);
                (response, outbound)
            }
            _ => self.apply(input),
        };
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
                // No answer, an error or an undecodable body all count as a refusal
                // (errata/welcome-init-unanswered).
                let accepted = match answer.map(|body| WelcomeInitResponse::from_bytes(&body)) {
                    Ok(Ok(response)) => response.accepted,
                    _ => self.config.mutant == Some(Mutant::UnansweredWelcomeInitAsYes),
                };
                let (_, more) = self.apply(Input::WelcomeInitAnswered {
                    provider: to.clone(),
                    accepted,
                    no_answer: None,
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
            timeout: self.config.call_timeout,
            max_answer: self.limits.max_answer,
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
    /// For the whole call, the answer's body included.
    timeout: Duration,
    /// The largest answer body read.
    max_answer: usize,
    /// `None` when the provider's address is unknown.
    url: Option<String>,
    to: ServiceProviderId,
    me: ServiceProviderId,
    body: Vec<u8>,
}

impl Post {
    /// POSTs the call; the body of a 2xx answer, or why there is none: also an answer
    /// longer than `max_answer` or not complete within `timeout`.
    async fn send(self) -> Result<Vec<u8>, String> {
        let (timeout, to) = (self.timeout, self.to.clone());
        tokio::time::timeout(timeout, self.exchange())
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "{to} did not answer within {} ms",
                    timeout.as_millis()
                ))
            })
    }

    async fn exchange(self) -> Result<Vec<u8>, String> {
        let url = self
            .url
            .ok_or_else(|| format!("no address for {}", self.to))?;
        let mut answer = self
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
        let too_long = || format!("answered more than {} bytes", self.max_answer);
        if answer
            .content_length()
            .is_some_and(|n| n > self.max_answer as u64)
        {
            return Err(too_long());
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > self.max_answer {
                return Err(too_long());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
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
