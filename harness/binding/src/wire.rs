//! The wire log: every HTTP exchange of a case in both directions, in the order it happened,
//! for reports and for reproducing a failure by hand. A log keeps at most [`SHOWN`] bytes
//! of each body, with its length and SHA-256, so a report grows with the number of
//! exchanges, never with what a target sends. What a log keeps is put in words (hex or
//! text) only when a report shows it: most logs of a passing run are never read.

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
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
    pub request: Shown,
    pub request_bytes: usize,
    pub request_sha256: Sha256Hex,
    /// 0 when no answer came (transport error or timeout).
    pub status: u16,
    /// The first [`SHOWN`] bytes of the answer's body; with `error`, of what was read of it.
    pub response: Shown,
    /// The length of the body, or with `error` of what was read of it.
    pub response_bytes: usize,
    pub response_sha256: Sha256Hex,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How much of each body a log keeps.
pub const SHOWN: usize = 4 << 10;

/// The first [`SHOWN`] bytes of a body as hex, or as text for JSON control bodies, which
/// read better so (a character cut at the end of the prefix is left out); `…` marks a cut.
pub fn show(body: &[u8]) -> String {
    Shown::of(body).to_string()
}

/// The first [`SHOWN`] bytes of a body, put in words by [`show`] when displayed.
#[derive(Clone, Debug)]
pub struct Shown {
    prefix: Arc<[u8]>,
    cut: bool,
}

impl Shown {
    pub fn of(body: &[u8]) -> Self {
        Shown {
            prefix: body[..body.len().min(SHOWN)].into(),
            cut: body.len() > SHOWN,
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cut = if self.cut { "…" } else { "" };
        let text = match std::str::from_utf8(&self.prefix) {
            Ok(text) => Some(text),
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&self.prefix[..e.valid_up_to()]).ok()
            }
            Err(_) => None,
        };
        match text {
            Some(text) if text.starts_with('{') => write!(f, "{text}{cut}"),
            _ => write!(f, "{}{cut}", hex::encode(&self.prefix)),
        }
    }
}

impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A body's SHA-256, shown in hex. A body the log keeps whole is hashed only when shown
/// (hashing every body was a tenth of the runner's own work); a longer one at once.
#[derive(Clone, Debug)]
pub struct Sha256Hex(Hashed);

#[derive(Clone, Debug)]
enum Hashed {
    Digest([u8; 32]),
    Whole(Arc<[u8]>),
}

impl Sha256Hex {
    fn of(body: &[u8], shown: &Shown) -> Self {
        Sha256Hex(match shown.cut {
            true => Hashed::Digest(Sha256::digest(body).into()),
            false => Hashed::Whole(shown.prefix.clone()),
        })
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digest: [u8; 32] = match &self.0 {
            Hashed::Digest(digest) => *digest,
            Hashed::Whole(body) => Sha256::digest(body).into(),
        };
        f.write_str(&hex::encode(digest))
    }
}

impl Serialize for Sha256Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
        let (request_shown, response_shown) = (Shown::of(request), Shown::of(response));
        Exchange {
            direction,
            from: from.to_owned(),
            to: to.to_owned(),
            path: path.to_owned(),
            request_sha256: Sha256Hex::of(request, &request_shown),
            request: request_shown,
            request_bytes: request.len(),
            status,
            response_sha256: Sha256Hex::of(response, &response_shown),
            response: response_shown,
            response_bytes: response.len(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest is of the whole body, whether the log keeps it whole (hashed when shown)
    /// or only its prefix (hashed at once).
    #[test]
    fn the_digest_is_of_the_whole_body_kept_whole_or_not() {
        for len in [0, 10, SHOWN, SHOWN + 1, 3 * SHOWN] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let logged = Exchange::outbound("b.example", "target", "/p", &body, Ok((200, &[])));
            assert_eq!(
                logged.request_sha256.to_string(),
                hex::encode(Sha256::digest(&body)),
                "a body of {len} bytes"
            );
            assert_eq!(logged.request.cut, len > SHOWN);
        }
    }
}
