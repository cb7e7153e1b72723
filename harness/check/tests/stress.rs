//! `stress` at small sizes: the reference DS and every freedom (a legal DS) have a
//! linearizable history, commits, forks and external joins included, and each mutant that only stress catches (`NOT_BY_VECTORS`) has
//! none, with a shrunk counterexample.

use mimi_ds_check::runner::Grade;
use mimi_ds_check::stress::{self, Settings, Stop, Stress};
use mimi_ds_check::suite::Options;
use mimi_ds_reference::freedoms::FREEDOMS;
use mimi_ds_reference::mutants::{self, NOT_BY_VECTORS};
use std::sync::Arc;

fn stress(options: Options, operations: u64) -> Stress {
    let settings = Settings {
        clients: 16,
        stop: Stop::Operations(operations),
        seed: 7,
    };
    stress::run(&options, settings, Arc::new(|| {})).expect("stress runs")
}

fn grades(found: &Stress) -> Vec<Grade> {
    found.summary.results.iter().map(|r| r.grade).collect()
}

#[test]
fn the_reference_and_every_freedom_are_linearizable() {
    let found = stress(Options::default(), 3000);
    assert_eq!(grades(&found), vec![Grade::Pass; stress::GROUPS]);
    // Then one read of each partition whole: more than one per group.
    assert!(
        found.operations > 3000 + stress::GROUPS,
        "{}",
        found.figures_line()
    );
    assert!(found.sends > 1000, "{}", found.figures_line());
    // Every group's commits and external joins were sent, and bob's commit adding mallory
    // in the branch where he banned her was refused.
    assert_eq!(
        found.commits,
        8 * stress::GROUPS,
        "{}",
        found.figures_line()
    );
    assert_eq!(
        found.commits_accepted,
        7 * stress::GROUPS,
        "{}",
        found.figures_line()
    );
    assert!(found.counterexample.is_none());
    for freedom in FREEDOMS {
        let options = Options {
            freedom: Some(freedom.kind),
            ..Options::default()
        };
        let found = stress(options, 1000);
        assert!(
            found.summary.passed(false),
            "{}: {:?}",
            freedom.name,
            found.summary.results
        );
    }
}

#[test]
fn each_race_mutant_has_no_linearization_and_a_shrunk_counterexample() {
    for (mutant, command) in NOT_BY_VECTORS {
        if *command != "stress" {
            continue;
        }
        let name = mutants::info(*mutant).name;
        let options = Options {
            mutant: Some(*mutant),
            ..Options::default()
        };
        let found = stress(options, 6000);
        assert!(
            grades(&found).contains(&Grade::Fail),
            "{name} passes stress"
        );
        let counterexample = found.counterexample.as_ref().expect("a counterexample");
        assert!(
            counterexample.operations.len() < counterexample.of,
            "{name}: shrunk from {}",
            counterexample.of
        );
    }
}
