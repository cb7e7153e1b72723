//! The `Mimi-Ds-Idle` answer header (BINDING.md §6.1): the runner skips its `idle` request
//! when an answer carries it, so the reference must send it only when nothing but the request
//! it answers is in flight, and never when it does not offer `idle`.

use mimi_ds_binding::{CONTROL_PREFIX, IDLE_HEADER};
use mimi_ds_model::vectors::cast;
use mimi_ds_reference::server::{start_with, Config, Limits, Server};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn reference(idle: bool) -> Server {
    let config = Config {
        me: cast::provider(cast::HUB),
        mutant: None,
        freedom: None,
        call_timeout: Duration::from_secs(1),
        idle,
    };
    start_with(config, Limits::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Whether the answer to a capabilities request says the target is idle.
async fn says_idle(server: &Server) -> bool {
    let url = format!("{}{CONTROL_PREFIX}capabilities", server.url());
    let answer = reqwest::get(url).await.unwrap();
    assert!(answer.status().is_success());
    answer
        .headers()
        .get(IDLE_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true")
}

#[tokio::test]
async fn an_answer_says_idle_only_when_nothing_else_is_in_flight() {
    let server = reference(true).await;
    assert!(says_idle(&server).await, "nothing else in flight");

    // A request whose body is still coming is in flight.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"POST /mimi-ds/v1/send HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!says_idle(&server).await, "a request is still being read");

    drop(stalled);
    let started = Instant::now();
    while !says_idle(&server).await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "idle again once the stalled request is gone"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_target_without_idle_never_says_it() {
    let server = reference(false).await;
    assert!(!says_idle(&server).await);
}
