//! The suite proves itself: the clean reference DS passes every vector in every role, every
//! wire rule has a mutant (or a stated reason for none) and the vectors alone kill each
//! mutant with a case naming every rule it breaks, and a reference in another process over
//! real sockets gets the same verdicts as the in-process one.

use mimi_ds_check::runner::{Grade, Role};
use mimi_ds_check::score::Score;
use mimi_ds_check::suite::{self, Options};
use mimi_ds_check::{cases, runner::Case};
use mimi_ds_model::errata::ERRATA;
use mimi_ds_model::requirements::CATALOGUE;
use mimi_ds_reference::mutants::{self, Rule, MUTANTS};
use mimi_ds_vectors::BUNDLED as BUNDLED_VECTORS;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn all_cases() -> Vec<Case> {
    cases::load(Path::new(BUNDLED_VECTORS)).expect("the bundled vectors load")
}

#[test]
fn the_reference_passes_every_vector_in_every_role() {
    let cases = all_cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    for role in [Role::Hub, Role::Follower, Role::Rsp] {
        assert!(cases.iter().any(|c| c.role == role), "no case for {role:?}");
    }
    let summary = suite::check(None).expect("the suite runs");
    let not_passed: Vec<String> = summary
        .results
        .iter()
        .filter(|r| r.grade != Grade::Pass)
        .map(mimi_ds_check::report::describe)
        .collect();
    assert!(
        not_passed.is_empty(),
        "the reference must pass everything:\n{}",
        not_passed.join("\n")
    );
    assert_eq!(summary.results.len(), cases.len());
}

#[test]
fn every_wire_rule_has_a_mutant_and_the_vectors_alone_kill_every_one() {
    let rules = mutants::rules();
    let requirements = rules
        .iter()
        .filter(|r| matches!(r, Rule::Requirement(_)))
        .count();
    let wire_requirements = CATALOGUE
        .iter()
        .filter(|r| r.testable.is_wire_testable())
        .count();
    assert_eq!(requirements, wire_requirements);
    assert_eq!(
        rules.len() - requirements + mutants::ERRATA_NOT_DECIDING_WIRE.len(),
        ERRATA.len(),
        "every erratum decides the wire or is exempted with a reason"
    );
    let uncovered: Vec<&str> = Score::uncovered().iter().map(|r| r.id()).collect();
    assert!(
        uncovered.is_empty(),
        "rules with neither a mutant nor a reason: {uncovered:?}"
    );
    assert!(
        mutants::WITHOUT_MUTANT.len() * 10 <= rules.len(),
        "rules without a mutant must stay rare: {}",
        mutants::WITHOUT_MUTANT.len()
    );
    let score = Score::run(Path::new(BUNDLED_VECTORS)).expect("the score runs");
    assert_eq!(
        score.runs.len(),
        MUTANTS.len() - mutants::NOT_BY_VECTORS.len(),
        "the vectors face every mutant but those only another command kills"
    );
    assert!(
        score.survivors().is_empty(),
        "mutants no case kills naming what they break: {:?}",
        score.survivors()
    );
    let unnamed: Vec<String> = score
        .unnamed()
        .iter()
        .map(|(rule, m)| format!("{m} ({})", rule.id()))
        .collect();
    assert!(
        unnamed.is_empty(),
        "killed, but by no case naming this rule: {unnamed:?}"
    );
}

/// `mimi-ds-check serve` with `args` in another process, and the URL it prints.
fn serve(args: &[&str]) -> (std::process::Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(["serve", "--role", "hub", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .last()
        .expect("serve prints its URL")
        .to_owned();
    (server, url)
}

#[test]
fn a_reference_in_another_process_gets_the_same_verdicts() {
    let (mut server, url) = serve(&[]);
    let remote = suite::check(Some(&url));
    server.kill().unwrap();
    server.wait().unwrap();
    let remote = remote.expect("the suite runs against the served reference");
    let local = suite::check(None).expect("the suite runs in process");
    let verdicts = |s: &suite::Summary| {
        s.results
            .iter()
            .map(|r| (r.id.clone(), r.grade))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&remote), verdicts(&local));
}

#[test]
fn random_traces_pass_the_reference_and_shrink_a_mutant_to_a_replayable_counterexample() {
    let clean = suite::explore(&Options::default(), 60, 16, 11).expect("explores");
    assert!(
        clean.counterexample.is_none(),
        "the reference fails a random trace"
    );
    assert_eq!(clean.runs, 3 * 60, "60 traces in each of the three roles");

    // The follower and RSP alphabets reach bugs of those roles.
    for (mutant, role) in [
        ("take-pushes-from-anyone", "follower"),
        ("accept-unknown-token", "rsp"),
    ] {
        let broken = Options {
            mutant: Some(mimi_ds_reference::mutants::find(mutant).unwrap().kind),
            ..Options::default()
        };
        let (test, result) = suite::explore(&broken, 60, 16, 11)
            .expect("explores")
            .counterexample
            .unwrap_or_else(|| panic!("{mutant} survives 60 random traces per role"));
        assert_eq!(result.grade, Grade::Fail);
        assert!(
            test.tc_id.starts_with(&format!("explore/{role}/")),
            "{}",
            test.tc_id
        );
    }

    let broken = Options {
        mutant: Some(mimi_ds_reference::mutants::Mutant::CounterOffByOne),
        ..Options::default()
    };
    let found = suite::explore(&broken, 60, 16, 11).expect("explores");
    let (test, result) = found
        .counterexample
        .expect("the mutant fails some random trace");
    assert_eq!(result.grade, Grade::Fail);
    assert!(
        result
            .violated
            .iter()
            .any(|r| r.0 == "receive/skip-counter"),
        "{:?}",
        result.violated
    );
    // Create the group, send one message (with the WelcomeInit answers it may need), read.
    assert!(
        test.steps.len() <= 5,
        "shrunk to {} inputs",
        test.steps.len()
    );
    let case = cases::case_of(&test).unwrap();
    let replayed = suite::run(std::slice::from_ref(&case), &broken, &|_, _| {}).unwrap();
    assert_eq!(
        replayed.results[0].grade,
        Grade::Fail,
        "the counterexample replays"
    );
    let clean_replay = suite::run(&[case], &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(clean_replay.results[0].grade, Grade::Pass);
}

/// What a run shows of each case that does not change from run to run: its verdict and
/// every exchange but the reset (which names the peers' ports) and the sealed OHTTP one
/// (randomised; the request inside it is kept).
fn observable(summary: &suite::Summary) -> Vec<(String, &'static str, Vec<String>)> {
    summary
        .results
        .iter()
        .map(|r| {
            let wire = r
                .wire
                .iter()
                .filter(|e| !e.path.ends_with("/reset") && !e.path.ends_with("/ohttp"))
                .map(|e| {
                    format!(
                        "{} {} {} {} {}",
                        e.direction, e.path, e.request, e.status, e.response
                    )
                })
                .collect();
            (r.id.clone(), r.grade.name(), wire)
        })
        .collect()
}

#[test]
fn every_freedom_passes_every_vector_and_is_exercised_by_them() {
    use mimi_ds_binding::control::Capabilities;
    use mimi_ds_reference::freedoms::FREEDOMS;
    let cases = all_cases();
    let reference = suite::run(&cases, &Options::default(), &|_, _| {}).expect("runs");
    let reference_wire = observable(&reference);
    assert!(FREEDOMS.len() >= 12, "only {} freedoms", FREEDOMS.len());
    for f in FREEDOMS {
        let options = Options {
            freedom: Some(f.kind),
            ..Options::default()
        };
        let summary = suite::run(&cases, &options, &|_, _| {}).expect("runs");
        let wrong: Vec<String> = summary
            .results
            .iter()
            .filter(|r| !matches!(r.grade, Grade::Pass | Grade::Informational | Grade::Skipped))
            .map(mimi_ds_check::report::describe)
            .collect();
        assert!(
            wrong.is_empty(),
            "freedom {} is a legal DS, yet:\n{}",
            f.name,
            wrong.join("\n")
        );
        let says_otherwise =
            f.kind.capabilities(Capabilities::reference()) != Capabilities::reference();
        let acts_otherwise = observable(&summary) != reference_wire;
        assert!(
            says_otherwise || acts_otherwise,
            "freedom {} changes nothing the vectors observe, so its pass proves nothing",
            f.name
        );
    }
}

#[test]
fn junit_counts_what_report_json_counts() {
    let dir = std::env::temp_dir().join(format!("mimi-ds-junit-{}", std::process::id()));
    let cases = all_cases();
    let options = Options {
        mutant: Some(mutants::find("counter-off-by-one").expect("a mutant").kind),
        ..Options::default()
    };
    let summary = suite::run(&cases, &options, &|_, _| {}).expect("runs");
    for strict in [false, true] {
        mimi_ds_check::report::write_all(&dir, &summary, strict).expect("reports written");
        let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .expect("report.json");
        let count = |v: &str| report["summary"][v].as_u64().unwrap_or(0);
        let head = junit.lines().nth(1).expect("a testsuites line");
        let attribute = |name: &str| -> u64 {
            let start = head.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
            head[start..].split('"').next().unwrap().parse().unwrap()
        };
        let failures = count("fail") + if strict { count("non-strict") } else { 0 };
        assert!(count("fail") > 0, "the mutant fails some case");
        assert_eq!(attribute("tests"), summary.results.len() as u64);
        assert_eq!(attribute("failures"), failures);
        assert_eq!(attribute("errors"), count("indeterminate"));
        // Skipped cases are counted per testsuite (quick-junit writes no total).
        let skipped: u64 = junit
            .lines()
            .filter(|l| l.trim_start().starts_with("<testsuite "))
            .map(|l| {
                let start = l.find(" skipped=\"").expect("skipped") + 10;
                l[start..]
                    .split('"')
                    .next()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(skipped, count("skipped"));
        assert_eq!(junit.matches("<failure ").count() as u64, failures);
        assert_eq!(
            junit.matches("<error ").count() as u64,
            count("indeterminate")
        );
        assert_eq!(junit.matches("<skipped ").count() as u64, count("skipped"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's three TLS commands: `pki DIR`, a DS serving DIR's files, `run --target
/// https://… --pki DIR`; every case passes over HTTP/1.1 and over HTTP/2, the certificate
/// cases included, and an https target without the CA is refused before any case.
#[test]
fn a_tls_only_reference_passes_every_case_over_http1_and_http2_with_the_written_pki() {
    let dir = std::env::temp_dir().join(format!("mimi-ds-self-test-pki-{}", std::process::id()));
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
            .args(args)
            .output()
            .expect("the CLI runs")
    };
    let dir_arg = dir.to_str().unwrap();
    assert!(cli(&["pki", dir_arg]).status.success());
    let (mut server, url) = serve(&["--tls", dir_arg]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let runs: Vec<_> = ["1.1", "2"]
        .map(|http| {
            cli(&[
                "run",
                "--vectors",
                BUNDLED_VECTORS,
                "--target",
                &url,
                "--pki",
                dir_arg,
                "--http",
                http,
                // The other tests of this binary load both cores meanwhile.
                "--timeout",
                "30",
            ])
        })
        .into_iter()
        .collect();
    let without_ca = cli(&["run", "--target", &url]);
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    for run in runs {
        let out = String::from_utf8_lossy(&run.stdout);
        let summary = out
            .lines()
            .find(|l| l.contains(" cases against "))
            .unwrap_or("");
        assert!(
            run.status.success(),
            "{summary}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let cases: usize = summary.split_whitespace().next().unwrap().parse().unwrap();
        assert!(
            summary.contains(&format!("{cases} pass")) && cases > all_cases().len(),
            "every vector and the certificate cases pass: {summary}"
        );
    }
    assert!(!without_ca.status.success());
    assert!(
        String::from_utf8_lossy(&without_ca.stderr).contains("give --pki DIR"),
        "{}",
        String::from_utf8_lossy(&without_ca.stderr)
    );
}
