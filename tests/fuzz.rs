//! `fuzz` proves itself: the reference DS and every freedom (a DS the draft allows) pass
//! it, and the same seed sends the same requests.

use mimi_ds_check::runner::Grade;
use mimi_ds_check::suite::{self, Options};
use mimi_ds_check::{cases, runner::Case};
use mimi_ds_reference::freedoms::FREEDOMS;
use mimi_ds_vectors::BUNDLED;
use std::path::Path;

/// Small enough for `cargo test` (about 0.3 s against the reference).
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
