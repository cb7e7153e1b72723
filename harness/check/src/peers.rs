//! The providers the runner plays: one HTTP listener per provider id, recording every call
//! the target makes to it and answering as the case scripts (WelcomeInit answers) or as the
//! binding says (201 for Welcome and notify pushes, an accepted send and an empty
//! ReceiveResponse for a follower's forwarded requests).

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper_util::rt::TokioIo;
use mimi_ds_binding::wire::{Exchange, WireLog};
use mimi_ds_binding::{self as binding, MEDIA_TYPE, PROVIDER_HEADER};
use mimi_ds_model::codec::{ReceiveResponse, ServiceProviderId, WelcomeInitResponse, Wire};
use mimi_ds_model::ds::Outbound;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One call the target made to a peer, as the model names it, or why it could not be read.
pub type Received = Result<Outbound, String>;

#[derive(Default)]
struct Script {
    /// WelcomeInit answers still to give, in order.
    welcome_answers: VecDeque<bool>,
    received: Vec<Received>,
}

struct PeerState {
    id: ServiceProviderId,
    script: Mutex<Script>,
    log: WireLog,
}

pub struct Peer {
    pub id: ServiceProviderId,
    pub addr: SocketAddr,
    state: Arc<PeerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Peer {
    pub async fn start(id: ServiceProviderId, log: WireLog) -> std::io::Result<Peer> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(PeerState {
            id: id.clone(),
            script: Mutex::new(Script::default()),
            log,
        });
        let task = tokio::spawn(serve(listener, state.clone()));
        Ok(Peer {
            id,
            addr,
            state,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts a case: forget what was received, answer WelcomeInits with `answers`.
    pub fn script(&self, answers: Vec<bool>) {
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

/// The largest request body a peer reads; the binding's bodies are far smaller.
const MAX_BODY: usize = 16 << 20;

/// Accepts connections until the peer is dropped (which aborts this task and, with it, every
/// connection it spawned).
async fn serve(listener: tokio::net::TcpListener, peer: Arc<PeerState>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        let peer = peer.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let peer = peer.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&peer, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    peer: &PeerState,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let caller = parts
        .headers
        .get(PROVIDER_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes());
    let endpoint = binding::endpoint_of_path(path);
    let received = match (&body, endpoint) {
        (Err(e), _) => Err(format!(
            "the body of a call to {path} could not be read: {e}"
        )),
        (Ok(body), Some(e)) => binding::outbound_of(e, &peer.id, body),
        (Ok(_), None) => Err(format!(
            "call to {path} which is no endpoint of the binding"
        )),
    };
    let body = body.unwrap_or_default();
    let (status, reply) = {
        let mut script = peer.script.lock().expect("peer lock");
        let reply = match (&received, endpoint) {
            (Ok(Outbound::WelcomeInit { .. }), _) => {
                // An unscripted WelcomeInit is refused: the case did not expect it.
                let accepted = script.welcome_answers.pop_front().unwrap_or(false);
                (200, WelcomeInitResponse { accepted }.to_bytes())
            }
            // A follower's forwarded read: the runner's hub has nothing for it.
            (Ok(Outbound::Receive { .. }), _) => (200, ReceiveResponse::default().to_bytes()),
            (Ok(_), Some(e)) => (binding::success_status(e), Vec::new()),
            _ => (400, Vec::new()),
        };
        script.received.push(received);
        reply
    };
    peer.log.record(Exchange::inbound(
        &peer.id, &caller, path, &body, status, &reply,
    ));
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(MEDIA_TYPE),
    );
    response
}

/// Every peer the runner plays, by provider id.
pub struct Peers(pub BTreeMap<ServiceProviderId, Peer>);

impl Peers {
    pub async fn start(
        ids: impl IntoIterator<Item = ServiceProviderId>,
        log: &WireLog,
    ) -> std::io::Result<Peers> {
        let mut peers = BTreeMap::new();
        for id in ids {
            let peer = Peer::start(id.clone(), log.clone()).await?;
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
