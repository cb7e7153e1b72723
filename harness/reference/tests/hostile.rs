//! The reference DS against hostile clients and peers, in process: a peer whose WelcomeInit
//! answer never ends, is huge or never comes; connections that stall in the head or the
//! body; requests the binding does not define. Each must be answered (or closed) within its
//! deadline, every refusal must be a `DsError` (a JSON error under test control), and the
//! server must go on serving.

use mimi_ds_binding::{self as binding, CONTROL_PREFIX, PROVIDER_HEADER};
use mimi_ds_model::codec::*;
use mimi_ds_model::ds::{Endpoint, Input};
use mimi_ds_model::vectors::cast;
use mimi_ds_model::vectors::samples::Samples;
use mimi_ds_reference::server::{start_with, Config, Limits, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CALL_TIMEOUT: Duration = Duration::from_millis(800);

fn limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(700),
        body_timeout: Duration::from_millis(700),
        max_body: 64 << 10,
        ..Limits::default()
    }
}

async fn reference(limits: Limits) -> Server {
    let config = Config {
        me: cast::provider(cast::HUB),
        mutant: None,
        freedom: None,
        call_timeout: CALL_TIMEOUT,
        idle: true,
    };
    start_with(config, limits, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// How a hostile peer answers `welcome-init`.
#[derive(Clone, Copy, Debug)]
enum Peer {
    /// 200 with `accepted = 1`: the control, which must get its Welcome.
    Accepts,
    /// 200, chunked, 64 KiB chunks of 0x01 until the connection is closed.
    Endless,
    /// 200 with a `Content-Length` of 100 MB, all sent.
    Huge,
    /// Reads the request and never answers.
    Silent,
}

/// A peer listening on a free port; counts the `welcome` pushes it gets.
async fn peer(kind: Peer) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let welcomes = Arc::new(AtomicUsize::new(0));
    let counted = welcomes.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let head_end = seen.windows(4).position(|w| w == b"\r\n\r\n");
                    if let Some(end) = head_end {
                        let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|n| n.trim().parse().unwrap())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            let welcome = head.starts_with("post /mimi-ds/v1/welcome ");
                            seen.drain(..end + 4 + length);
                            if welcome {
                                counted.fetch_add(1, Ordering::SeqCst);
                                let _ = socket
                                    .write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
                                    .await;
                            } else if answer(&mut socket, kind).await.is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    (url, welcomes)
}

async fn answer(socket: &mut TcpStream, kind: Peer) -> std::io::Result<()> {
    let chunk = vec![1u8; 64 << 10];
    match kind {
        Peer::Accepts => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/mimi-ds\r\ncontent-length: 1\r\n\r\n\x01")
                .await
        }
        Peer::Endless => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/mimi-ds\r\ntransfer-encoding: chunked\r\n\r\n")
                .await?;
            loop {
                socket.write_all(b"10000\r\n").await?;
                socket.write_all(&chunk).await?;
                socket.write_all(b"\r\n").await?;
            }
        }
        Peer::Huge => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/mimi-ds\r\ncontent-length: 100000000\r\n\r\n")
                .await?;
            for _ in 0..(100_000_000 / chunk.len() + 1) {
                socket.write_all(&chunk).await?;
            }
            Err(std::io::ErrorKind::Other.into())
        }
        Peer::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    }
}

/// Sets the reference up as the hub of a group whose commit welcomes a user of `c.example`,
/// served by `kind`; sends the commit. The send's answer, how long it took, and how many
/// Welcome pushes the peer got.
async fn welcome_through(kind: Peer) -> (u16, Duration, usize) {
    let server = reference(limits()).await;
    let (peer_url, welcomes) = peer(kind).await;
    let client = reqwest::Client::new();
    let base = server.url();
    let reset = serde_json::json!({"me": cast::HUB, "peers": {cast::FOLLOWER_C: peer_url}});
    let answer = client
        .post(format!("{base}{CONTROL_PREFIX}reset"))
        .body(serde_json::to_vec(&reset).unwrap())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let s = Samples::load();
    let group = s.private_message.view.group_id.clone().unwrap();
    let create = Input::CreateGroup {
        group_id: group,
        partition_key: PartitionKey([1; 16]),
    };
    let answer = client
        .post(format!("{base}{CONTROL_PREFIX}control"))
        .body(serde_json::to_vec(&create).unwrap())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let request = SendRequest {
        message: s.public_commit.clone(),
        partition_key: PartitionKey([1; 16]),
        commit_data: Some(CommitData {
            next_partition_key: PartitionKey([2; 16]),
            group_info: Some(s.group_info.clone()),
            welcome_data: Some(WelcomeData {
                welcome: s.welcome.clone(),
                service_providers: vec![cast::provider(cast::FOLLOWER_C)],
            }),
        }),
    };
    let started = Instant::now();
    let answer = client
        .post(format!("{base}{}", binding::path(Endpoint::Send)))
        .header(PROVIDER_HEADER, cast::FOLLOWER_B)
        .body(request.to_bytes())
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    (
        answer.status().as_u16(),
        took,
        welcomes.load(Ordering::SeqCst),
    )
}

#[tokio::test]
async fn a_peer_that_accepts_gets_its_welcome() {
    let (status, _, welcomes) = welcome_through(Peer::Accepts).await;
    assert_eq!((status, welcomes), (200, 1));
}

#[tokio::test]
async fn endless_huge_or_missing_welcome_init_answers_are_refusals_within_the_timeout() {
    for kind in [Peer::Endless, Peer::Huge, Peer::Silent] {
        let (status, took, welcomes) = welcome_through(kind).await;
        assert_eq!(status, 200, "{kind:?}: the send is sequenced");
        assert_eq!(welcomes, 0, "{kind:?}: not affirmative, so no Welcome");
        assert!(
            took < CALL_TIMEOUT + Duration::from_millis(700),
            "{kind:?}: answered after {took:?}"
        );
    }
}

/// Opens `n` connections, writes `bytes` on each, and waits for every one to be closed by
/// the server; the time that took, and what each read before the end.
async fn stall(server: &Server, n: usize, bytes: &[u8]) -> (Duration, Vec<Vec<u8>>) {
    let started = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..n {
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        socket.write_all(bytes).await.unwrap();
        sockets.push(socket);
    }
    let mut read = Vec::new();
    for mut socket in sockets {
        let mut got = Vec::new();
        let end = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut got));
        assert!(end.await.is_ok(), "a stalled connection stayed open");
        read.push(got);
    }
    (started.elapsed(), read)
}

/// The status and body of a raw HTTP/1.1 answer.
fn parse_answer(raw: &[u8]) -> (u16, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer head");
    let head = String::from_utf8_lossy(&raw[..end]);
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw[end + 4..].to_vec())
}

#[tokio::test]
async fn stalled_connections_are_closed_within_the_deadlines() {
    let server = reference(limits()).await;
    let (took, read) = stall(
        &server,
        50,
        b"POST /mimi-ds/v1/send HTTP/1.1\r\nHost: x\r\nConte",
    )
    .await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    assert!(read
        .iter()
        .all(|r| r.is_empty() || parse_answer(r).0 == 408));
    let head = b"POST /mimi-ds/v1/send HTTP/1.1\r\nHost: x\r\nMimi-Ds-Provider: b.example\r\nContent-Length: 100\r\n\r\nonly ten b";
    let (took, read) = stall(&server, 50, head).await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    for answer in read {
        let (status, body) = parse_answer(&answer);
        assert_eq!(status, 400);
        assert_eq!(
            DsError::from_bytes(&body).unwrap().code,
            ErrorCode::Malformed
        );
    }
    assert_still_serves(&server).await;
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let server = reference(Limits {
        max_connections: 2,
        ..limits()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        socket.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(socket);
    }
    // Let the server take both before the third arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (_, read) = stall(&server, 1, b"GET / HTTP/1.1\r\n").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    assert!(read[0].is_empty());
    // Once they are gone, it serves again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = reqwest::get(format!("{}{CONTROL_PREFIX}capabilities", server.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// After hostile traffic the server answers an ordinary request.
async fn assert_still_serves(server: &Server) {
    let answer = reqwest::get(format!("{}{CONTROL_PREFIX}capabilities", server.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the server still serves");
}

/// Sends one raw request and reads the answer to the end.
async fn raw(server: &Server, request: &[u8]) -> (u16, Vec<u8>) {
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    parse_answer(&got)
}

#[tokio::test]
async fn every_refusal_is_a_ds_error() {
    let server = reference(limits()).await;
    let client = reqwest::Client::new();
    let send = format!("{}{}", server.url(), binding::path(Endpoint::Send));
    let mut answers = Vec::new();
    let mut record = |what: &str, status: u16, body: Vec<u8>, expected: u16, code: ErrorCode| {
        answers.push((what.to_owned(), status, body, expected, code));
    };
    for (what, body) in [
        ("oversize body", vec![0u8; 100 << 10]),
        ("junk body", vec![0xff; 7]),
        ("empty body", vec![]),
    ] {
        let answer = client
            .post(&send)
            .header(PROVIDER_HEADER, cast::FOLLOWER_B)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body = answer.bytes().await.unwrap().to_vec();
        record(what, status, body, 400, ErrorCode::Malformed);
    }
    let (status, body) = raw(
        &server,
        b"POST /mimi-ds/v1/send HTTP/1.1\r\nHost: x\r\nMimi-Ds-Provider: b.example\r\nContent-Length: 100\r\n\r\nshort",
    )
    .await;
    record("short body", status, body, 400, ErrorCode::Malformed);
    let answer = client.get(&send).send().await.unwrap();
    let status = answer.status().as_u16();
    record(
        "wrong method",
        status,
        answer.bytes().await.unwrap().to_vec(),
        405,
        ErrorCode::Malformed,
    );
    let answer = client
        .post(format!("{}/mimi-ds/v1/nowhere", server.url()))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    record(
        "unknown path",
        status,
        answer.bytes().await.unwrap().to_vec(),
        404,
        ErrorCode::Malformed,
    );
    let long = "a".repeat(10_000) + ".example";
    for provider in [
        "a..example",
        long.as_str(),
        "B.example",
        "b_example",
        "",
        "1.2.3.4",
    ] {
        let answer = client
            .post(&send)
            .header(PROVIDER_HEADER, provider)
            .body(vec![0xff; 7])
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body = answer.bytes().await.unwrap().to_vec();
        record(
            &format!("provider {:.20?}", provider),
            status,
            body,
            403,
            ErrorCode::UnauthorizedProvider,
        );
    }
    for (what, status, body, expected, code) in answers {
        assert_eq!(status, expected, "{what}");
        let error = DsError::from_bytes(&body).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(error.code, code, "{what}");
    }
}

#[tokio::test]
async fn oversize_heads_are_refused_with_a_ds_error() {
    let server = reference(limits()).await;
    for size in [100 << 10, 1 << 20] {
        let request = format!(
            "POST /mimi-ds/v1/send HTTP/1.1\r\nHost: x\r\nMimi-Ds-Provider: b.example\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
            "a".repeat(size)
        );
        // Not `raw`: hyper drops a request whose client half-closes before it is answered.
        let (_, read) = stall(&server, 1, request.as_bytes()).await;
        let (status, body) = parse_answer(&read[0]);
        assert_eq!(status, 431, "{size}-byte header");
        let error = DsError::from_bytes(&body).unwrap_or_else(|e| panic!("{size}: {e}"));
        assert_eq!(error.code, ErrorCode::Malformed, "{size}-byte header");
        assert!(error.message.contains("65536 bytes"), "{}", error.message);
    }
    assert_still_serves(&server).await;
}

#[tokio::test]
async fn reset_refuses_peers_that_are_not_http_urls() {
    let server = reference(limits()).await;
    let client = reqwest::Client::new();
    let reset = format!("{}{CONTROL_PREFIX}reset", server.url());
    for url in [
        "not a url",
        "ftp://127.0.0.1:1",
        "http://",
        "/mimi-ds",
        "http://127.0.0.1:1/?q=1",
    ] {
        let body = serde_json::json!({"me": cast::HUB, "peers": {cast::FOLLOWER_B: url}});
        let answer = client
            .post(&reset)
            .body(serde_json::to_vec(&body).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{url}");
        let error: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        let why = error["error"].as_str().unwrap();
        assert!(why.contains(cast::FOLLOWER_B), "{url}: {why}");
    }
    let body = serde_json::json!({"me": cast::HUB, "peers": {cast::FOLLOWER_B: "https://b.example:8443/"}});
    let answer = client
        .post(&reset)
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}
