//! Reading a body someone else controls: the target's answers (to the runner) and the
//! target's calls (to the peers). Every read is incremental, stops at a byte cap, and shares
//! one total deadline with the rest of its exchange, so a drip, an endless stream or a huge
//! body costs at most the timeout and the cap. What went wrong is a [`BodyError`], one line.

use mimi_ds_binding::MAX_BODY;
use std::time::Duration;
use tokio::time::Instant;

/// How much of a body is read, and for how long an exchange may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes read of any one body; more is refused unread.
    pub max_body: usize,
    /// Total time of one exchange: connecting, the answer's head and its whole body.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: MAX_BODY,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Why a body could not be read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The deadline passed: `read` bytes had come by then.
    TimedOut { after: Duration, read: usize },
    /// The peer closed (or broke) the connection before the body was complete.
    Closed { read: usize, why: String },
    /// The body is longer than `cap`: announced by its Content-Length, or found after
    /// reading `read` bytes.
    OverCap {
        cap: usize,
        announced: Option<u64>,
        read: usize,
    },
}

impl BodyError {
    /// Whether the body is known to be longer than the binding allows (BINDING.md §1,
    /// `errata/transport`): a cap at or above [`MAX_BODY`] was exceeded. Over a lower
    /// `--max-body` nothing is known of the binding.
    pub fn breaks_binding(&self) -> bool {
        match self {
            BodyError::OverCap { cap, announced, .. } => {
                *cap >= MAX_BODY || announced.is_some_and(|n| n > MAX_BODY as u64)
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TimedOut { after, read } => write!(
                f,
                "timed out after {} having read {read} bytes",
                seconds(*after)
            ),
            BodyError::Closed { read, why } => {
                write!(f, "connection closed after {read} bytes ({why})")
            }
            BodyError::OverCap {
                cap,
                announced: Some(n),
                ..
            } => write!(
                f,
                "body over the {} cap: Content-Length announces {n} bytes (none read)",
                size(*cap)
            ),
            BodyError::OverCap { cap, read, .. } => write!(
                f,
                "body over the {} cap: stopped reading after {read} bytes",
                size(*cap)
            ),
        }
    }
}

/// "0.5 s".
pub fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// "16 MiB", "4 KiB", "1000 bytes".
pub fn size(bytes: usize) -> String {
    match bytes {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A source of body chunks: `Ok(None)` at the end, `Err` with a one-line reason.
pub(crate) trait Chunks {
    async fn next_chunk(&mut self) -> Result<Option<hyper::body::Bytes>, String>;
}

impl Chunks for reqwest::Response {
    async fn next_chunk(&mut self) -> Result<Option<hyper::body::Bytes>, String> {
        self.chunk().await.map_err(|e| chain(&e))
    }
}

impl Chunks for hyper::body::Incoming {
    async fn next_chunk(&mut self) -> Result<Option<hyper::body::Bytes>, String> {
        use http_body_util::BodyExt;
        loop {
            match self.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(chain(&e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                    // Trailers carry no body bytes.
                }
            }
        }
    }
}

/// Reads `body` whole into `buf`, at most `cap` bytes of it, before `deadline` (the end of
/// an exchange that may take `timeout`); on an error `buf` holds what was read. `announced`
/// is the Content-Length, if any: one over the cap is refused before a byte is read.
pub(crate) async fn read(
    body: &mut impl Chunks,
    buf: &mut Vec<u8>,
    announced: Option<u64>,
    cap: usize,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), BodyError> {
    if announced.is_some_and(|n| n > cap as u64) {
        return Err(BodyError::OverCap {
            cap,
            announced,
            read: 0,
        });
    }
    buf.reserve(announced.map_or(0, |n| n as usize).min(cap));
    loop {
        let chunk = match tokio::time::timeout_at(deadline, body.next_chunk()).await {
            Err(_) => {
                return Err(BodyError::TimedOut {
                    after: timeout,
                    read: buf.len(),
                })
            }
            Ok(Err(why)) => {
                return Err(BodyError::Closed {
                    read: buf.len(),
                    why,
                })
            }
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(chunk))) => chunk,
        };
        if buf.len() + chunk.len() > cap {
            return Err(BodyError::OverCap {
                cap,
                announced: None,
                read: buf.len() + chunk.len(),
            });
        }
        buf.extend_from_slice(&chunk);
    }
}

/// A request body the fuzzer streams: a prefix, then zeros up to a length, in chunks of one
/// static buffer, so a body over the binding's 16 MiB costs no memory of its size.
pub(crate) struct Filler {
    prefix: Option<hyper::body::Bytes>,
    left: u64,
    announced: Option<u64>,
}

static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

impl Filler {
    /// `prefix` then zeros, `length` bytes in all; `announced`: with a Content-Length.
    pub(crate) fn new(prefix: &[u8], length: u64, announced: bool) -> Self {
        let prefix = hyper::body::Bytes::copy_from_slice(prefix);
        Filler {
            left: length.saturating_sub(prefix.len() as u64),
            prefix: Some(prefix),
            announced: announced.then_some(length),
        }
    }
}

impl hyper::body::Body for Filler {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let chunk = match self.prefix.take() {
            Some(prefix) => prefix,
            None if self.left == 0 => return std::task::Poll::Ready(None),
            None => {
                let n = self.left.min(ZEROS.len() as u64);
                self.left -= n;
                hyper::body::Bytes::from_static(&ZEROS[..n as usize])
            }
        };
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self.announced {
            Some(n) => hyper::body::SizeHint::with_exact(n),
            None => hyper::body::SizeHint::default(),
        }
    }
}

/// An error and its sources on one line, innermost last, without repeats.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script(Vec<Result<&'static [u8], &'static str>>);

    impl Chunks for Script {
        async fn next_chunk(&mut self) -> Result<Option<hyper::body::Bytes>, String> {
            if self.0.is_empty() {
                return std::future::pending().await;
            }
            match self.0.remove(0) {
                Ok([]) => Ok(None),
                Ok(b) => Ok(Some(hyper::body::Bytes::from_static(b))),
                Err(e) => Err(e.to_owned()),
            }
        }
    }

    async fn run(script: Script, announced: Option<u64>, cap: usize) -> Result<Vec<u8>, BodyError> {
        let mut script = script;
        let mut buf = Vec::new();
        let timeout = Duration::from_millis(50);
        let deadline = Instant::now() + timeout;
        read(&mut script, &mut buf, announced, cap, deadline, timeout)
            .await
            .map(|()| buf)
    }

    #[tokio::test]
    async fn reads_whole_bodies_and_says_why_others_stop() {
        let whole = run(Script(vec![Ok(b"ab"), Ok(b"c"), Ok(b"")]), None, 3).await;
        assert_eq!(whole, Ok(b"abc".to_vec()));
        let over = run(Script(vec![Ok(b"ab"), Ok(b"cd")]), None, 3)
            .await
            .unwrap_err();
        assert_eq!(
            over.to_string(),
            "body over the 3 bytes cap: stopped reading after 4 bytes"
        );
        assert!(!over.breaks_binding());
        let announced = run(Script(vec![]), Some(64 << 20), MAX_BODY)
            .await
            .unwrap_err();
        assert!(announced.breaks_binding());
        assert!(announced.to_string().contains("16 MiB cap"), "{announced}");
        let silent = run(Script(vec![Ok(b"ab")]), None, 3).await.unwrap_err();
        assert_eq!(
            silent.to_string(),
            "timed out after 0.05 s having read 2 bytes"
        );
        let closed = run(Script(vec![Ok(b"a"), Err("reset")]), None, 3)
            .await
            .unwrap_err();
        assert_eq!(
            closed.to_string(),
            "connection closed after 1 bytes (reset)"
        );
    }
}
