//! `mimi-ds-check run` against hostile targets on 127.0.0.1: each answers capabilities
//! properly, then misbehaves on every other request (or, in one, on the federation
//! endpoints only). No run may pass, each ends within its exchanges' timeouts, and no body
//! is read beyond the cap.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CAPABILITIES: &[u8] = br#"{"roles":["hub","follower","rsp"],"actions":["create_group","upload_key_packages","issue_token","revoke_token","mute","rate_limit","terminate_branch","follow_group","self_remove","local_send","local_receive"],"idle":false}"#;

/// Ten hub cases, each a reset, control actions and several federation requests.
const ONLY: &str = "receive/poll/*";
const CASES: usize = 10;
const TIMEOUT: f64 = 0.3;

/// What a hostile target does with a request (its path given); it counts what it writes.
type Behaviour = fn(&mut Writer, &str);

struct Writer {
    stream: TcpStream,
    written: Arc<AtomicUsize>,
}

impl Writer {
    /// Writes `bytes`, false once the runner has closed the connection.
    fn send(&mut self, bytes: &[u8]) -> bool {
        let ok = self.stream.write_all(bytes).is_ok();
        if ok {
            self.written.fetch_add(bytes.len(), Ordering::Relaxed);
        }
        ok
    }

    fn head(&mut self, status: &str, headers: &str) -> bool {
        self.send(format!("HTTP/1.1 {status}\r\n{headers}Connection: close\r\n\r\n").as_bytes())
    }
}

/// Starts a target; returns its URL and the count of bytes it wrote outside capabilities.
fn hostile(behaviour: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let count = written.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let written = count.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = n.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let _ = reader.read_exact(&mut vec![0; length]);
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                if path.ends_with("/capabilities") {
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        CAPABILITIES.len()
                    );
                    let _ = stream.write_all(CAPABILITIES);
                    return;
                }
                behaviour(&mut Writer { stream, written }, &path);
            });
        }
    });
    (url, written)
}

fn garbage(w: &mut Writer, _: &str) {
    w.send(b"\xff\x00garbage\r\n\r\n");
}

fn silence(_: &mut Writer, _: &str) {
    std::thread::sleep(Duration::from_secs(20));
}

fn drip(w: &mut Writer, _: &str) {
    if w.head("200 OK", "Content-Length: 1000\r\n") {
        while w.send(b"x") {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn endless_chunked(w: &mut Writer, _: &str) {
    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
    if w.head("200 OK", "Transfer-Encoding: chunked\r\n") {
        while w.send(chunk.as_bytes()) {}
    }
}

fn longer_than_sent(w: &mut Writer, _: &str) {
    if w.head("200 OK", "Content-Length: 1000\r\n") && w.send(b"{\"response\"") {
        std::thread::sleep(Duration::from_secs(20));
    }
}

fn shorter_than_sent(w: &mut Writer, _: &str) {
    if w.head("200 OK", "Content-Length: 2\r\n") {
        w.send(b"{\"response\": \"accepted\"}");
    }
}

fn huge(w: &mut Writer, _: &str) {
    let block = vec![b'x'; 1 << 20];
    if w.head("200 OK", &format!("Content-Length: {}\r\n", 64 << 20)) {
        for _ in 0..64 {
            if !w.send(&block) {
                return;
            }
        }
    }
}

fn redirect_loop(w: &mut Writer, path: &str) {
    w.head(
        "307 Temporary Redirect",
        &format!("Location: {path}\r\nContent-Length: 0\r\n"),
    );
}

fn server_error(w: &mut Writer, _: &str) {
    w.head("500 Internal Server Error", "Content-Length: 0\r\n");
}

fn mid_response_close(w: &mut Writer, _: &str) {
    if w.head("200 OK", "Content-Length: 100\r\n") {
        w.send(b"{\"response\"");
    }
}

/// Resets answered; every other request hangs.
fn only_resets_answered(w: &mut Writer, path: &str) {
    let body: &[u8] = match path {
        p if p.ends_with("/reset") => b"{}",
        _ => return silence(w, path),
    };
    if w.head("200 OK", &format!("Content-Length: {}\r\n", body.len())) {
        w.send(body);
    }
}

struct Run {
    out: Output,
    elapsed: Duration,
    report: serde_json::Value,
    report_size: u64,
}

fn run(url: &str, extra: &[&str], dir: &Path) -> Run {
    let timeout = TIMEOUT.to_string();
    let started = Instant::now();
    let mut args = vec![
        "run",
        "--target",
        url,
        "--timeout",
        &timeout,
        "--only",
        ONLY,
        "--settle",
        "0.05",
        "--report-dir",
        dir.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(&args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let path = dir.join("report.json");
    let report_size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    Run {
        out,
        elapsed,
        report,
        report_size,
    }
}

fn report_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mimi-ds-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs the selection against `behaviour`: never a pass, bounded in time, nothing read
/// beyond `cap`; returns stderr.
fn assert_survives(name: &str, behaviour: Behaviour, cap: usize) -> String {
    let (url, written) = hostile(behaviour);
    let dir = report_dir(name);
    let cap_arg = cap.to_string();
    let run = run(&url, &["--max-body", &cap_arg], &dir);
    let stdout = String::from_utf8_lossy(&run.out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.out.stderr).into_owned();
    let context = format!("{name}: {stdout}{stderr}");
    assert_eq!(run.out.status.code(), Some(1), "{context}");
    assert!(!stderr.contains("panicked"), "{context}");
    assert!(
        stdout.contains(&format!("{CASES} cases against")),
        "{context}"
    );
    assert!(stdout.contains(" 0 pass,"), "{context}");
    let summary = &run.report["summary"];
    assert_eq!(summary["pass"], 0, "{context}");
    // Each case stops at its first hostile exchange: at most one timeout per case, plus
    // start-up (capabilities, the floor) and the process itself.
    let bound = Duration::from_secs_f64(TIMEOUT * (CASES + 2) as f64 + 3.0);
    assert!(run.elapsed < bound, "{context}: took {:?}", run.elapsed);
    for case in run.report["cases"].as_array().unwrap() {
        assert_ne!(case["verdict"], "pass", "{context}");
        for exchange in case["wire"].as_array().unwrap() {
            let read = exchange["response_bytes"].as_u64().unwrap() as usize;
            // A chunk may overshoot the cap by what arrived with it; nothing more is kept.
            assert!(read <= cap + (1 << 17), "{context}: read {read}");
            assert!(exchange["response"].as_str().unwrap().len() <= 2 * 4096 + 3);
        }
    }
    // What the target managed to write: what was read, plus what the kernel buffered.
    let sent = written.load(Ordering::Relaxed);
    assert!(sent < CASES * (cap + (16 << 20)), "{context}: wrote {sent}");
    assert!(
        run.report_size < 1 << 20,
        "{context}: report {}",
        run.report_size
    );
    let _ = std::fs::remove_dir_all(&dir);
    stderr
}

const SMALL_CAP: usize = 1 << 16;

#[test]
fn garbage_is_indeterminate_and_the_target_counts_as_gone() {
    let err = assert_survives("garbage", garbage, SMALL_CAP);
    assert!(
        err.contains("not run: the target stopped answering"),
        "{err}"
    );
}

#[test]
fn silence_costs_one_timeout_per_case_until_the_target_counts_as_gone() {
    let err = assert_survives("silence", silence, SMALL_CAP);
    assert!(err.contains("no answer within 0.3 s"), "{err}");
    assert!(
        err.contains("not run: the target stopped answering"),
        "{err}"
    );
}

#[test]
fn a_drip_is_cut_at_the_deadline() {
    let err = assert_survives("drip", drip, SMALL_CAP);
    assert!(err.contains("timed out after 0.3 s having read"), "{err}");
}

#[test]
fn an_endless_chunked_body_stops_at_the_cap() {
    let err = assert_survives("endless", endless_chunked, SMALL_CAP);
    assert!(err.contains("body over the 64 KiB cap"), "{err}");
}

#[test]
fn an_endless_body_over_the_binding_limit_fails() {
    let err = assert_survives("endless-16", endless_chunked, 16 << 20);
    assert!(err.contains("body over the 16 MiB cap"), "{err}");
    assert!(err.lines().any(|l| l.starts_with("fail")), "{err}");
}

#[test]
fn a_huge_announced_body_is_not_read() {
    let err = assert_survives("huge", huge, 16 << 20);
    assert!(
        err.contains("Content-Length announces 67108864 bytes"),
        "{err}"
    );
    assert!(err.lines().any(|l| l.starts_with("fail")), "{err}");
}

#[test]
fn lying_content_lengths_never_pass() {
    let err = assert_survives("longer", longer_than_sent, SMALL_CAP);
    assert!(
        err.contains("timed out after 0.3 s having read 11 bytes"),
        "{err}"
    );
    assert_survives("shorter", shorter_than_sent, SMALL_CAP);
    let err = assert_survives("closed", mid_response_close, SMALL_CAP);
    assert!(err.contains("connection closed after 11 bytes"), "{err}");
}

#[test]
fn redirects_and_server_errors_never_pass() {
    let err = assert_survives("redirect", redirect_loop, SMALL_CAP);
    assert!(err.contains("answered 307"), "{err}");
    let err = assert_survives("500", server_error, SMALL_CAP);
    assert!(err.contains("answered 500"), "{err}");
}

#[test]
fn one_silent_endpoint_does_not_stop_the_run() {
    let err = assert_survives("one-endpoint", only_resets_answered, SMALL_CAP);
    assert!(!err.contains("not run"), "{err}");
    assert_eq!(
        err.matches("/mimi-ds-test/v1/control: no answer within 0.3 s")
            .count(),
        CASES,
        "{err}"
    );
}
