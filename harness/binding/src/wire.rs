//! The wire log: every HTTP exchange of a case in both directions, in the order it happened,
//! for reports and for reproducing a failure by hand. A log keeps at most [`SHOWN`] bytes
//! of each body, with its length and SHA-256, so a report grows with the number of
//! exchanges, never with what a target sends.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// `to-target` (the runner calls the target), `from-target` (the target calls a peer) or
    /// `inside-ohttp` (the request a `to-target` OHTTP exchange carried; not a call of its own).
    pub direction: &'static str,
    /// Who called: a provider id, or `control` for test-control calls.
    pub from: String,
    pub to: String,
    pub path: String,
    /// The first [`SHOWN`] bytes of the request body (see [`show`]).
    pub request: String,
    pub request_bytes: usize,
    pub request_sha256: String,
    /// 0 when no answer came (transport error or timeout).
    pub status: u16,
    /// The first [`SHOWN`] bytes of the answer's body; with `error`, of what was read of it.
    pub response: String,
    /// The length of the body, or with `error` of what was read of it.
    pub response_bytes: usize,
    pub response_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How much of each body a log keeps.
pub const SHOWN: usize = 4 << 10;

/// The first [`SHOWN`] bytes of a body as hex, or as text for JSON control bodies, which
/// read better so (a character cut at the end of the prefix is left out); `…` marks a cut.
pub fn show(body: &[u8]) -> String {
    let prefix = &body[..body.len().min(SHOWN)];
    let cut = if prefix.len() < body.len() { "…" } else { "" };
    let text = match std::str::from_utf8(prefix) {
        Ok(text) => Some(text),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&prefix[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(text) if text.starts_with('{') => format!("{text}{cut}"),
        _ => format!("{}{cut}", hex::encode(prefix)),
    }
}

fn sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

impl Exchange {
    pub fn outbound(
        from: &str,
        to: &str,
        path: &str,
        request: &[u8],
        answer: Result<(u16, &[u8]), &str>,
    ) -> Self {
        let (status, response, error) = match answer {
            Ok((status, body)) => (status, body, None),
            Err(e) => (0, &[][..], Some(e.to_owned())),
        };
        Exchange::new(
            "to-target",
            from,
            to,
            path,
            request,
            status,
            response,
            error,
        )
    }

    /// An answer that came (a status, maybe part of a body) but could not be read whole.
    pub fn broken(
        from: &str,
        path: &str,
        request: &[u8],
        status: u16,
        read: &[u8],
        error: &str,
    ) -> Self {
        let error = Some(error.to_owned());
        Exchange::new(
            "to-target",
            from,
            "target",
            path,
            request,
            status,
            read,
            error,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        direction: &'static str,
        from: &str,
        to: &str,
        path: &str,
        request: &[u8],
        status: u16,
        response: &[u8],
        error: Option<String>,
    ) -> Self {
        Exchange {
            direction,
            from: from.to_owned(),
            to: to.to_owned(),
            path: path.to_owned(),
            request: show(request),
            request_bytes: request.len(),
            request_sha256: sha256(request),
            status,
            response: show(response),
            response_bytes: response.len(),
            response_sha256: sha256(response),
            error,
        }
    }

    /// The request and answer an OHTTP exchange carried, for reading the log.
    pub fn inside_ohttp(path: &str, request: &[u8], status: u16, response: &[u8]) -> Self {
        let from = "ohttp-client";
        Exchange::new(
            "inside-ohttp",
            from,
            "target",
            path,
            request,
            status,
            response,
            None,
        )
    }

    pub fn inbound(
        peer: &impl std::fmt::Display,
        caller: &str,
        path: &str,
        request: &[u8],
        status: u16,
        response: &[u8],
    ) -> Self {
        let to = peer.to_string();
        Exchange::new(
            "from-target",
            caller,
            &to,
            path,
            request,
            status,
            response,
            None,
        )
    }
}

/// Shared by the runner and its peers; drained once per case. While paused (a stress run's
/// many exchanges, which no report lists one by one) it records nothing, and what an
/// exchange would cost to record is not spent.
#[derive(Clone, Default)]
pub struct WireLog {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    paused: Arc<AtomicBool>,
}

impl WireLog {
    pub fn record(&self, exchange: Exchange) {
        self.record_with(|| exchange);
    }

    /// Records the exchange `make` gives, made only when the log is not paused.
    pub fn record_with(&self, make: impl FnOnce() -> Exchange) {
        if !self.paused.load(Ordering::Relaxed) {
            self.exchanges.lock().expect("wire log lock").push(make());
        }
    }

    pub fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut self.exchanges.lock().expect("wire log lock"))
    }
}
