//! `fuzz` proves itself both ways: the reference DS and every freedom (a DS the draft
//! allows) pass it, each mutant only the fuzzer can kill fails it naming a rule it breaks,
//! the same seed sends the same requests, and a failure is kept as a vector that replays.

use mimi_ds_check::runner::Grade;
use mimi_ds_check::score::caught_by;
use mimi_ds_check::suite::{self, Options};
use mimi_ds_check::{cases, runner::Case};
use mimi_ds_reference::freedoms::FREEDOMS;
use mimi_ds_reference::mutants::{self, NOT_BY_VECTORS};
use mimi_ds_vectors::BUNDLED;
use std::path::Path;
use std::process::Command;

/// Small enough for `cargo test`, large enough that each fuzz-only mutant dies in every role
/// it can show in (about 0.3 s against the reference).
const REQUESTS: usize = 1500;

fn all_cases() -> Vec<Case> {
    cases::load(Path::new(BUNDLED)).expect("the bundled vectors load")
}

fn fuzz(options: &Options, seed: u64) -> suite::Fuzzing {
    suite::fuzz(&all_cases(), options, REQUESTS, seed, &|| {}).expect("fuzz runs")
}

/// How many requests went to each destination, per role: what a seed fixes.
fn sent(found: &suite::Fuzzing) -> Vec<String> {
    found
        .runs
        .iter()
        .flat_map(|r| {
            r.sent
                .iter()
                .map(move |(to, n)| format!("{:?} {} {n}", r.role, to.path()))
        })
        .collect()
}

#[test]
fn the_reference_and_every_freedom_pass_and_a_seed_fixes_the_requests() {
    let clean = fuzz(&Options::default(), 7);
    assert!(
        clean.summary.passed(false),
        "the reference fails fuzz: {:?}",
        clean.summary.problem(false)
    );
    assert_eq!(clean.runs.len(), 3, "every role of the reference is fuzzed");
    let total: usize = clean
        .runs
        .iter()
        .flat_map(|r| &r.sent)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, REQUESTS);
    assert!(clean.runs.iter().all(|r| r.setup.is_some()));
    assert_eq!(sent(&clean), sent(&fuzz(&Options::default(), 7)));
    assert_ne!(sent(&clean), sent(&fuzz(&Options::default(), 8)));
    for f in FREEDOMS {
        let options = Options {
            freedom: Some(f.kind),
            ..Options::default()
        };
        let found = fuzz(&options, 7);
        assert!(
            found.summary.passed(false),
            "freedom {} fails fuzz (a false verdict): {:?}",
            f.name,
            found
                .summary
                .results
                .iter()
                .find(|r| r.grade != Grade::Pass)
                .map(|r| &r.because)
        );
    }
}

#[test]
fn fuzz_kills_each_mutant_the_vectors_cannot_naming_what_it_breaks() {
    let fuzz_only: Vec<_> = NOT_BY_VECTORS
        .iter()
        .filter(|(_, by)| *by == "fuzz")
        .collect();
    assert!(!fuzz_only.is_empty());
    for (mutant, _) in fuzz_only {
        let options = Options {
            mutant: Some(*mutant),
            ..Options::default()
        };
        let found = fuzz(&options, 1);
        let name = mutants::info(*mutant).name;
        assert!(
            caught_by(&found.summary, *mutant).is_some(),
            "{name} survives {REQUESTS} fuzzed requests, or is failed naming none of its rules: {}",
            found.summary.line()
        );
    }
}

#[test]
fn a_failure_is_minimised_into_a_vector_that_replays() {
    let dir = std::env::temp_dir().join(format!("mimi-ds-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = env!("CARGO_BIN_EXE_mimi-ds-check");
    let mutant = "sequence-before-trailing-check";
    let out = Command::new(bin)
        .args(["fuzz", "--vectors", BUNDLED, "--requests", "1500"])
        .args(["--mutant", mutant, "--report-dir"])
        .arg(&dir)
        .output()
        .expect("fuzz runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let failure: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("failure.json")).unwrap()).unwrap();
    assert_eq!(failure["path"], "/mimi-ds/v1/send");
    assert_eq!(failure["failure"], "state");
    assert_eq!(
        failure["mutations"].as_array().map(Vec::len),
        Some(1),
        "minimised to the one mutation that matters: {failure}"
    );
    for file in ["report.json", "junit.xml", "index.html"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let vectors = dir.join("counterexample");
    let replay = |extra: &[&str]| {
        Command::new(bin)
            .args(["run", "--vectors"])
            .arg(&vectors)
            .args(extra)
            .output()
            .expect("run runs")
    };
    assert_eq!(replay(&["--mutant", mutant]).status.code(), Some(1));
    assert!(
        replay(&[]).status.success(),
        "the reference passes the vector"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
