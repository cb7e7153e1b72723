//! End-to-end tests of `mimi-ds-check` as a user runs it: the binary, its exit codes, its
//! one-line errors, and the files it reads and writes.

use mimi_ds_model::codec::{MlsMessage, Wire};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root (this test is compiled as part of `harness/cli`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One line, naming the tool, no panic or backtrace.
fn assert_one_clear_line(out: &Output) {
    let err = text(&out.stderr);
    assert_eq!(
        err.lines().count(),
        1,
        "expected one line on stderr, got {err:?}"
    );
    assert!(err.starts_with("mimi-ds-check: "), "{err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err:?}"
    );
}

fn wg_messages() -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("model/tests/data/mls-messages.json")).unwrap(),
    )
    .unwrap();
    let keys = [
        "mls_welcome",
        "mls_group_info",
        "mls_key_package",
        "public_message_application",
        "public_message_proposal",
        "public_message_commit",
        "private_message",
    ];
    json.as_array()
        .unwrap()
        .iter()
        .flat_map(|o| keys.iter().map(|k| o[*k].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn every_wg_message_decodes_through_the_cli_with_exactly_the_promised_keys() {
    let messages = wg_messages();
    assert_eq!(messages.len(), 2100);
    let out = check(&["decode", "mls-message"], Some(&messages.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2100);
    let allowed = [
        "version",
        "wire_format",
        "group_id",
        "epoch",
        "content_type",
        "sender_type",
        "sender_index",
        "cipher_suite",
        "new_members",
        "tree_hash",
        "has_ratchet_tree",
        "key_package_ref",
    ];
    for (hex, line) in messages.iter().zip(&lines) {
        let printed: serde_json::Value = serde_json::from_str(line).unwrap();
        // The in-process view is the one tests/mls_view_vs_openmls.rs checks against openmls.
        let view = MlsMessage::from_bytes(&hex::decode(hex).unwrap())
            .unwrap()
            .to_json();
        assert_eq!(printed, view);
        for key in printed.as_object().unwrap().keys() {
            assert!(allowed.contains(&key.as_str()), "unexpected key {key}");
        }
    }
}

#[test]
fn malformed_mls_messages_give_exit_1_and_one_line() {
    let good = &wg_messages()[6]; // a PrivateMessage
    let cases = [
        format!("{good}00"),                    // trailing byte
        format!("00010002400a{}", &good[10..]), // non-minimal group_id length (0x40 0x10 form)
        good[..good.len() - 2].to_owned(),      // truncated
        format!("0001000a{}", &good[8..]),      // unknown wire format
        format!("0002{}", &good[4..]),          // version 2
        format!("00010002c0{}", &good[10..]),   // varint prefix 0b11
        "00010002bfffffff0102".to_owned(),      // a 2^30 length on a short input
        "zz".to_owned(),                        // not hex
    ];
    for hex in cases {
        let out = check(&["decode", "mls-message", &hex], None);
        assert_eq!(out.status.code(), Some(1), "{hex}: {}", text(&out.stderr));
        assert_one_clear_line(&out);
        if hex != "zz" {
            assert!(
                text(&out.stderr).contains("at byte "),
                "names the offset: {}",
                text(&out.stderr)
            );
        }
    }
    let out = check(&["decode", "mls-message"], Some(""));
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    let empty = check(&["decode", "mls-message", ""], None);
    assert_eq!(empty.status.code(), Some(1));
    assert_one_clear_line(&empty);
}

#[test]
fn encode_turns_decoded_json_back_into_the_same_hex() {
    let request = format!("10{}00000007", "ab".repeat(16));
    let decoded = check(&["decode", "receive-request", &request], None);
    assert!(decoded.status.success());
    let json = text(&decoded.stdout);
    let encoded = check(&["encode", "receive-request", json.trim()], None);
    assert!(encoded.status.success(), "{}", text(&encoded.stderr));
    assert_eq!(text(&encoded.stdout).trim(), request);
}

#[test]
fn a_wrong_flag_or_command_is_one_line() {
    for args in [
        &["frobnicate"][..],
        &["run", "--no-such-flag"],
        &["decode"],
        &["run", "--role", "king"],
    ] {
        let out = check(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_one_clear_line(&out);
    }
    let out = check(&["decode", "no-such-structure", "00"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
}

#[test]
fn requirements_json_lists_the_catalogue() {
    let out = check(&["requirements", "--json"], None);
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.len() >= 40);
    for r in &list {
        for key in ["id", "level", "section", "quote", "binds", "testable"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    let errata = check(&["errata", "--json"], None);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&errata.stdout).unwrap();
    assert!(list.len() >= 16);
    assert!(list
        .iter()
        .all(|e| !e["reason"].as_str().unwrap().is_empty()));
}

/// A copy of the checked-in vectors in a scratch directory.
fn scratch_vectors(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mimi-ds-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo().join("vectors"), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn vectors_verify_passes_and_catches_a_tampered_codec_vector() {
    let out = check(&["vectors", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = scratch_vectors("tamper");
    let file = dir.join("codec/receive-request.json");
    let original = std::fs::read_to_string(&file).unwrap();
    for (from, to) in [
        ("\"result\": \"valid\"", "\"result\": \"invalid\""),
        ("\"counter\": 0", "\"counter\": 1"),
    ] {
        assert!(original.contains(from), "{from} is in the file");
        std::fs::write(&file, original.replacen(from, to, 1)).unwrap();
        let out = check(&["vectors", "verify", dir.to_str().unwrap()], None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "tampering {from} → {to} must fail verify"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generate_check_passes_on_the_committed_vectors_and_names_a_changed_file() {
    let out = check(&["vectors", "generate", "--check"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = scratch_vectors("generate-check");
    let file = dir.join("trace/welcome.json");
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        original.replacen("\"comment\": \"", "\"comment\": \"x", 1),
    )
    .unwrap();
    let out = check(
        &["vectors", "generate", "--check", dir.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.lines().next().is_some_and(|l| l
            == format!(
                "mimi-ds-check: {}: differs from a fresh generation",
                file.display()
            )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "the file, then the verdict: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_that_selects_nothing_fails_with_one_line() {
    let out = check(&["run", "--only", "no-such-*"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    assert!(text(&out.stderr).contains("no case selected"));
}

#[test]
fn an_unreachable_target_is_one_line() {
    let out = check(
        &["run", "--target", "http://127.0.0.1:9", "--timeout", "2"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    assert!(text(&out.stderr).contains("cannot reach the target"));
}

/// A target that answers `capabilities` properly and everything else as `rest` says:
/// `None` never answers (a hung server), `Some(bytes)` answers 200 with those bytes.
fn hostile_target(rest: Option<&'static [u8]>) -> String {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let capabilities = br#"{"roles":["hub","follower","rsp"],"actions":["create_group","upload_key_packages","issue_token","revoke_token","mute","rate_limit","terminate_branch","follow_group","self_remove","local_send","local_receive"],"idle":false}"#;
                let answer: &[u8] = if head.contains("/capabilities") {
                    capabilities
                } else {
                    match rest {
                        Some(bytes) => bytes,
                        None => {
                            std::thread::sleep(std::time::Duration::from_secs(60));
                            return;
                        }
                    }
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(answer);
            });
        }
    });
    url
}

#[test]
fn a_hung_target_gives_up_quickly_and_never_passes() {
    let url = hostile_target(None);
    let started = std::time::Instant::now();
    let out = check(
        &[
            "run",
            "--target",
            &url,
            "--timeout",
            "0.3",
            "--only",
            "receive/*",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.lines().last().unwrap().contains("indeterminate"),
        "{err}"
    );
    assert!(
        err.contains("stopped answering"),
        "the rest are not run: {err}"
    );
    assert!(!err.contains("panicked"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "gave up in {:?}",
        started.elapsed()
    );
}

#[test]
fn a_target_answering_garbage_fails_with_the_reason() {
    let url = hostile_target(Some(b"\xff\x00garbage"));
    let out = check(
        &[
            "run",
            "--target",
            &url,
            "--timeout",
            "2",
            "--only",
            "receive/*",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.lines().last().unwrap().contains("failed"), "{err}");
    assert!(
        err.contains("not a Response JSON") || err.contains("not a"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

/// What users read, kept as snapshots under `tests/snapshots/`: a change to any of these
/// outputs fails here until its snapshot is reviewed (`cargo insta review`, or read the
/// `.snap.new` insta writes beside the old one when `CI` is unset). Times, rates and the
/// ports the runner's peers listen on (and the hashes of bodies naming them) change from run
/// to run and are filtered out.
fn assert_reads(name: &str, command: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(command);
    settings.set_omit_expression(true);
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    settings.add_filter(
        r"\d+ ms wall, (\d+) exchanges, \d+ exchanges/s; loopback floor \d+ µs per round trip, \d+ ms for all exchanges \([0-9.]+x\)",
        "[ms] ms wall, $1 exchanges, [rate] exchanges/s; loopback floor [µs] µs per round trip, [ms] ms for all exchanges ([ratio]x)",
    );
    settings.add_filter(r#" time="[0-9.]+""#, r#" time="[s]""#);
    settings.add_filter(r#""millis": [0-9.eE+-]+"#, r#""millis": "[ms]""#);
    // A reset names the peers' ports, so its hash changes with them.
    settings.add_filter(r#"_sha256": "[0-9a-f]{64}""#, r#"_sha256": "[sha256]""#);
    settings.add_filter(
        concat!("mimi-ds-check ", env!("CARGO_PKG_VERSION")),
        "mimi-ds-check [version]",
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Runs `args`, which must succeed, and snapshots what it prints.
fn assert_listing_reads(name: &str, args: &[&str]) {
    let out = check(args, None);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    assert_reads(
        name,
        &format!("mimi-ds-check {}", args.join(" ")),
        &text(&out.stdout),
    );
}

#[test]
fn the_listings_read_as_reviewed() {
    assert_listing_reads("requirements", &["requirements"]);
    assert_listing_reads("errata", &["errata"]);
    assert_listing_reads("mutants", &["mutants"]);
    assert_listing_reads("freedoms", &["freedoms"]);
}

#[test]
fn a_decode_of_every_structure_reads_as_reviewed() {
    let mut structures = 0;
    for entry in std::fs::read_dir(repo().join("vectors/codec")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".schema") {
            continue;
        }
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let hex = file["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["result"] == "valid")
            .unwrap_or_else(|| panic!("{name}: no valid vector"))["hex"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_listing_reads(&format!("decode-{name}"), &["decode", &name, &hex]);
        structures += 1;
    }
    assert_eq!(
        structures,
        mimi_ds_model::codec::structures().len(),
        "a vector file for every structure"
    );
}

/// One case counter-off-by-one fails and one it passes.
const MUTANT_RUN: [&str; 5] = [
    "run",
    "--mutant",
    "counter-off-by-one",
    "--only",
    "receive/[mp]*/[ae]*[1p][-t]*",
];

#[test]
fn a_run_against_a_mutant_and_its_reports_read_as_reviewed() {
    let dir = std::env::temp_dir().join(format!("mimi-ds-cli-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = MUTANT_RUN.to_vec();
    args.extend(["--report-dir", dir.to_str().unwrap()]);
    let out = check(&args, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let command = format!("mimi-ds-check {} --report-dir DIR", MUTANT_RUN.join(" "));
    assert_reads(
        "run",
        &command,
        &format!(
            "stdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        ),
    );
    for report in ["report.json", "junit.xml", "index.html"] {
        let written = std::fs::read_to_string(dir.join(report)).unwrap();
        assert_reads(&format!("run-{report}"), &command, &written);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `decode` answers each stdin line before reading the next: a line goes in, its JSON comes
/// out while stdin is still open (as `yes 0000 | mimi-ds-check decode … | head -1` needs).
#[test]
fn decode_streams_one_answer_per_line_while_stdin_is_open() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(["decode", "receive-response"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    // Answers arrive through a channel, so a decoder that waits for the end of stdin fails
    // this test after a few seconds instead of hanging it.
    let (lines, answers) = std::sync::mpsc::channel();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 || lines.send(line).is_err() {
            break;
        }
    });
    for i in 0..3 {
        stdin.write_all(b"0000\n").unwrap();
        stdin.flush().unwrap();
        let answer = answers.recv_timeout(std::time::Duration::from_secs(5));
        if answer.is_err() {
            let _ = child.kill();
        }
        let line =
            answer.unwrap_or_else(|_| panic!("no answer to line {} while stdin is open", i + 1));
        assert_eq!(line, "{\"epoch\":{\"messages\":[]},\"hints\":[]}\n");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// A line over the cap is one error naming it; the lines after it are still answered.
#[test]
fn an_overlong_decode_line_is_refused_and_the_next_one_answered() {
    let long = "a".repeat((32 << 20) + 10);
    let out = check(
        &["decode", "receive-response"],
        Some(&format!("{long}\n0000\n")),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"epoch\":{\"messages\":[]},\"hints\":[]}\n"
    );
    let err = text(&out.stderr);
    assert!(err.contains("line 1: longer than the 32 MiB cap"), "{err}");
}

/// Vector directories are read file by file, and only regular files of bounded size: a
/// symlink to a device, a FIFO, a symlink loop and an oversize file each stop the run with
/// one line naming the file, at once.
#[cfg(unix)]
#[test]
fn vector_files_that_are_not_regular_or_too_large_are_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("mimi-ds-hostile-vectors-{}", std::process::id()));
    let trace = dir.join("trace");
    let hostile = trace.join("hostile.json");
    let cases: Vec<(&str, Box<dyn Fn(&Path)>)> = vec![
        (
            "a symlink to /dev/zero",
            Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
        ),
        (
            "a symlink loop",
            Box::new(|p| std::os::unix::fs::symlink(p, p).unwrap()),
        ),
        (
            "a sparse file one byte over the cap",
            Box::new(|p| {
                std::fs::File::create(p)
                    .unwrap()
                    .set_len(mimi_ds_vectors::MAX_FILE + 1)
                    .unwrap()
            }),
        ),
        (
            "a FIFO",
            Box::new(|p| {
                let made = Command::new("mkfifo").arg(p).status().expect("mkfifo runs");
                assert!(made.success());
            }),
        ),
    ];
    for (what, make) in cases {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&trace).unwrap();
        make(&hostile);
        let started = std::time::Instant::now();
        let out = check(&["run", "--vectors", dir.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert_one_clear_line(&out);
        assert!(
            text(&out.stderr).contains("hostile.json"),
            "{what}: {}",
            text(&out.stderr)
        );
        assert!(
            started.elapsed().as_secs() < 10,
            "{what} took {:?}",
            started.elapsed()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stress_passes_the_reference_and_writes_a_mutants_shrunk_history() {
    let dir = std::env::temp_dir().join(format!("mimi-ds-stress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clean = check(&["stress", "--ops", "400", "--clients", "4"], None);
    assert!(clean.status.success(), "{}", text(&clean.stderr));
    let out = text(&clean.stdout);
    assert!(out.contains("operations/s") && out.contains("p99"), "{out}");
    let report = dir.to_str().unwrap();
    let broken = check(
        &[
            "stress",
            "--mutant",
            "lost-update-race",
            "--ops",
            "4000",
            "--clients",
            "16",
            "--report-dir",
            report,
        ],
        None,
    );
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken.stdout));
    assert_one_clear_line(&broken);
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("counterexample/history.json")).unwrap())
            .unwrap();
    let operations = history["operations"].as_array().expect("operations");
    assert!(!operations.is_empty() && operations.len() < history["of"].as_u64().unwrap() as usize);
    assert!(
        operations[0]["input"]["input"].is_string(),
        "{}",
        operations[0]
    );
    for report in ["report.json", "junit.xml", "index.html"] {
        assert!(dir.join(report).exists(), "{report}");
    }
    assert_one_clear_line(&check(&["stress", "--clients", "0"], None));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader that goes away (`… | head`) ends every command that prints quietly, `fuzz`
/// included (it keeps SIGPIPE ignored for its sockets): the status a death by SIGPIPE gives,
/// nothing on stderr, no panic. Stdout is a pipe whose reader is closed before the command
/// starts, so its first line already fails.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_each_printing_command_quietly() {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    for args in [
        &["fuzz", "--requests", "50"][..],
        &["mutants"][..],
        &["requirements"][..],
        &["decode", "receive-response", "0000"][..],
    ] {
        let mut fds = [0; 2];
        // SAFETY: two fresh descriptors; the reader is closed and the writer owned by `File`.
        let stdout = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
            std::fs::File::from_raw_fd(fds[1])
        };
        let out = Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
            .args(args)
            .current_dir(repo())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .expect("the binary runs");
        let err = text(&out.stderr);
        assert!(err.is_empty(), "{args:?}: {err}");
        let status = out.status;
        assert!(
            status.code() == Some(141) || status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {status:?}"
        );
    }
}
