//! The providers the runner plays: one HTTP listener per provider id, recording every call
//! the target makes to it and answering as the case scripts (WelcomeInit answers) or as the
//! binding says (201 for Welcome and notify pushes, an accepted send and an empty
//! ReceiveResponse for a follower's forwarded requests). A call's head and body are read
//! within the run's limits (`body`), like the target's answers. Over TLS each listens on HTTPS
//! with a certificate for its id and takes only callers with a certificate from the same CA.

use crate::body::{self, Limits};
use crate::runner::Trouble;
use crate::transport::Tls;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use mimi_ds_binding::tls;
use mimi_ds_binding::wire::{Exchange, WireLog};
use mimi_ds_binding::{self as binding, MEDIA_TYPE, PROVIDER_HEADER};
use mimi_ds_model::codec::{ReceiveResponse, ServiceProviderId, WelcomeInitResponse, Wire};
use mimi_ds_model::ds::{NoAnswer, Outbound};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_rustls::TlsAcceptor;

/// One call the target made to a peer, as the model names it, or why it could not be read.
pub type Received = Result<Outbound, Trouble>;

/// A scripted answer to a WelcomeInit: yes or no, or how to give none.
pub type WelcomeAnswer = Result<bool, NoAnswer>;

#[derive(Default)]
struct Script {
    /// WelcomeInit answers still to give, in order.
    welcome_answers: VecDeque<WelcomeAnswer>,
    received: Vec<Received>,
}

struct PeerState {
    id: ServiceProviderId,
    script: Mutex<Script>,
    log: WireLog,
    limits: Limits,
}

pub struct Peer {
    pub id: ServiceProviderId,
    pub addr: SocketAddr,
    tls: bool,
    state: Arc<PeerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Peer {
    /// Listens on loopback: over HTTPS when `tls` is given, with a certificate for `id` from
    /// its CA, taking only callers with a certificate from that CA.
    pub async fn start(
        id: ServiceProviderId,
        log: WireLog,
        limits: Limits,
        tls: Option<&Tls>,
    ) -> std::io::Result<Peer> {
        let acceptor = match tls {
            None => None,
            Some(Tls { pki, .. }) => {
                let identity = pki.issue(&[id.as_str()]).map_err(std::io::Error::other)?;
                let config = pki
                    .server_config(&identity, true)
                    .map_err(std::io::Error::other)?;
                Some(TlsAcceptor::from(Arc::new(config)))
            }
        };
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(PeerState {
            id: id.clone(),
            script: Mutex::new(Script::default()),
            log,
            limits,
        });
        let task = tokio::spawn(serve(listener, state.clone(), acceptor.clone()));
        Ok(Peer {
            id,
            addr,
            tls: acceptor.is_some(),
            state,
            task,
        })
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Starts a case: forget what was received, answer WelcomeInits with `answers`.
    pub fn script(&self, answers: Vec<WelcomeAnswer>) {
        let mut script = self.state.script.lock().expect("peer lock");
        *script = Script {
            welcome_answers: answers.into(),
            received: Vec::new(),
        };
    }

    /// The calls received since the last take.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut self.state.script.lock().expect("peer lock").received)
    }
}

/// Accepts connections until the peer is dropped (which aborts this task and, with it, every
/// connection it spawned).
async fn serve(listener: tokio::net::TcpListener, peer: Arc<PeerState>, tls: Option<TlsAcceptor>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        let (peer, tls) = (peer.clone(), tls.clone());
        connections.spawn(async move {
            let head_timeout = peer.limits.timeout;
            let service = hyper::service::service_fn(move |request| {
                let peer = peer.clone();
                async move { answer(&peer, request).await }
            });
            let Some(acceptor) = tls else {
                let _ = http1(head_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                return;
            };
            let Some((stream, accepted)) = tls::accept(&acceptor, stream, head_timeout).await
            else {
                return;
            };
            let _ = match accepted.h2 {
                true => {
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
                false => {
                    http1(head_timeout)
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
        });
    }
}

fn http1(head_timeout: std::time::Duration) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
    builder
}

/// What a peer's service fails with to close the connection (HTTP/2: reset the stream)
/// without a response, as a WelcomeInit answer of [`NoAnswer::Closed`].
#[derive(Debug)]
struct ClosedWithoutAnswer;

impl std::fmt::Display for ClosedWithoutAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed without an answer, as the case scripts")
    }
}

impl std::error::Error for ClosedWithoutAnswer {}

async fn answer(
    peer: &PeerState,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, ClosedWithoutAnswer> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let caller = parts
        .headers
        .get(PROVIDER_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Limits { max_body, timeout } = peer.limits;
    let deadline = tokio::time::Instant::now() + timeout;
    let announced = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = body;
    let mut read = Vec::new();
    let outcome = body::read(&mut body, &mut read, announced, max_body, deadline, timeout).await;
    let endpoint = binding::endpoint_of_path(path);
    let received = match (&outcome, endpoint) {
        (Err(e), _) => Err(Trouble::of_body(
            &format!("the call to {} at {path}", peer.id),
            e,
        )),
        (Ok(()), Some(e)) => binding::outbound_of(e, &peer.id, &read).map_err(Trouble::binding),
        (Ok(()), None) => Err(Trouble::binding(format!(
            "call to {path} which is no endpoint of the binding"
        ))),
    };
    let error = match &received {
        Err(Trouble::Transport(why)) => Some(why.clone()),
        Err(Trouble::Binding(e)) => Some(e.why.clone()),
        Ok(_) => None,
    };
    let body = read;
    let (status, reply) = {
        let mut script = peer.script.lock().expect("peer lock");
        let reply = match (&received, endpoint) {
            (Ok(Outbound::WelcomeInit { .. }), _) => {
                // An unscripted WelcomeInit is refused: the case did not expect it.
                match script.welcome_answers.pop_front().unwrap_or(Ok(false)) {
                    Ok(accepted) => (200, WelcomeInitResponse { accepted }.to_bytes()),
                    Err(NoAnswer::ServerError) => (500, Vec::new()),
                    Err(NoAnswer::Undecodable) => (200, Vec::new()),
                    // Status 0 in the wire log: no response at all.
                    Err(NoAnswer::Closed) => (0, Vec::new()),
                }
            }
            // A follower's forwarded read: the runner's hub has nothing for it.
            (Ok(Outbound::Receive { .. }), _) => (200, ReceiveResponse::default().to_bytes()),
            (Ok(_), Some(e)) => (binding::success_status(e), Vec::new()),
            _ => (400, Vec::new()),
        };
        script.received.push(received);
        reply
    };
    let mut exchange = Exchange::inbound(&peer.id, &caller, path, &body, status, &reply);
    exchange.error = error.or_else(|| (status == 0).then(|| ClosedWithoutAnswer.to_string()));
    peer.log.record(exchange);
    if status == 0 {
        return Err(ClosedWithoutAnswer);
    }
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(MEDIA_TYPE),
    );
    Ok(response)
}

/// Every peer the runner plays, by provider id.
pub struct Peers(pub BTreeMap<ServiceProviderId, Peer>);

impl Peers {
    pub async fn start(
        ids: impl IntoIterator<Item = ServiceProviderId>,
        log: &WireLog,
        limits: Limits,
        tls: Option<&Tls>,
    ) -> std::io::Result<Peers> {
        let mut peers = BTreeMap::new();
        for id in ids {
            let peer = Peer::start(id.clone(), log.clone(), limits, tls).await?;
            peers.insert(id, peer);
        }
        Ok(Peers(peers))
    }

    pub fn urls(&self) -> BTreeMap<ServiceProviderId, String> {
        self.0.iter().map(|(id, p)| (id.clone(), p.url())).collect()
    }

    /// How many calls wait to be taken, over all peers.
    pub fn received(&self) -> usize {
        self.0
            .values()
            .map(|p| p.state.script.lock().expect("peer lock").received.len())
            .sum()
    }

    pub fn take_all(&self) -> Vec<Received> {
        self.0.values().flat_map(|p| p.take()).collect()
    }
}
