//! The suite proves itself: the clean reference DS passes every vector in every role, every
//! wire rule has a mutant (or a stated reason for none) and the vectors alone kill each
//! mutant with a case naming every rule it breaks, and a reference in another process over
//! real sockets gets the same verdicts as the in-process one.

use mimi_ds_harness::commands::Score;
use mimi_ds_harness::mutants::{self, Rule, MUTANTS};
use mimi_ds_harness::runner::{Role, Verdict};
use mimi_ds_harness::suite::{self, Options, BUNDLED_VECTORS};
use mimi_ds_harness::{cases, runner::Case};
use mimi_ds_model::errata::ERRATA;
use mimi_ds_model::requirements::CATALOGUE;
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
        .filter(|r| r.verdict != Verdict::Pass)
        .map(mimi_ds_harness::commands::describe)
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
    assert_eq!(score.runs.len(), MUTANTS.len());
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

#[test]
fn a_reference_in_another_process_gets_the_same_verdicts() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(["serve", "--role", "hub", "--listen", "127.0.0.1:0"])
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
    let remote = suite::check(Some(&url));
    server.kill().unwrap();
    server.wait().unwrap();
    let remote = remote.expect("the suite runs against the served reference");
    let local = suite::check(None).expect("the suite runs in process");
    let verdicts = |s: &suite::Summary| {
        s.results
            .iter()
            .map(|r| (r.id.clone(), r.verdict))
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
    assert_eq!(clean.runs, 60);

    let broken = Options {
        mutant: Some(mimi_ds_harness::mutants::Mutant::CounterOffByOne),
        ..Options::default()
    };
    let found = suite::explore(&broken, 60, 16, 11).expect("explores");
    let (test, result) = found
        .counterexample
        .expect("the mutant fails some random trace");
    assert_eq!(result.verdict, Verdict::Fail);
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
        replayed.results[0].verdict,
        Verdict::Fail,
        "the counterexample replays"
    );
    let clean_replay = suite::run(&[case], &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(clean_replay.results[0].verdict, Verdict::Pass);
}
