//! The wire log: every HTTP exchange of a case in both directions, in the order it happened,
//! for reports and for reproducing a failure by hand.

use serde::Serialize;
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
    pub request: String,
    /// 0 when no answer came (transport error or timeout).
    pub status: u16,
    pub response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Bodies as hex, except JSON control bodies, which read better as text.
fn show(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) if text.starts_with('{') => text.to_owned(),
        _ => hex::encode(body),
    }
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
            Ok((status, body)) => (status, show(body), None),
            Err(e) => (0, String::new(), Some(e.to_owned())),
        };
        Exchange {
            direction: "to-target",
            from: from.to_owned(),
            to: to.to_owned(),
            path: path.to_owned(),
            request: show(request),
            status,
            response,
            error,
        }
    }

    /// The request and answer an OHTTP exchange carried, for reading the log.
    pub fn inside_ohttp(path: &str, request: &[u8], status: u16, response: &[u8]) -> Self {
        Exchange {
            direction: "inside-ohttp",
            from: "ohttp-client".to_owned(),
            to: "target".to_owned(),
            path: path.to_owned(),
            request: show(request),
            status,
            response: show(response),
            error: None,
        }
    }

    pub fn inbound(
        peer: &impl std::fmt::Display,
        caller: &str,
        path: &str,
        request: &[u8],
        status: u16,
        response: &[u8],
    ) -> Self {
        Exchange {
            direction: "from-target",
            from: caller.to_owned(),
            to: peer.to_string(),
            path: path.to_owned(),
            request: show(request),
            status,
            response: show(response),
            error: None,
        }
    }
}

/// Shared by the runner and its peers; drained once per case.
#[derive(Clone, Default)]
pub struct WireLog(Arc<Mutex<Vec<Exchange>>>);

impl WireLog {
    pub fn record(&self, exchange: Exchange) {
        self.0.lock().expect("wire log lock").push(exchange);
    }

    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut self.0.lock().expect("wire log lock"))
    }
}
