//! The model's bounded exhaustive explorer finds the harness's mutants — the same planted
//! bugs the reference DS serves with `--mutant` — each with a shortest counterexample.

use mimi_ds_model::ds::explore::explore;
use mimi_ds_reference::mutants::{self, Mutant};

#[test]
fn each_planted_bug_is_found_with_a_shortest_counterexample() {
    for (mutant, shortest) in [
        // A Welcome with a WelcomeInit: the early push is the first wrong call.
        (Mutant::WelcomeBeforeAnswer, 1),
        // Something to read, then the read.
        (Mutant::CounterOffByOne, 2),
        // A ban in one fork, then an Add of the banned identity sent to another partition.
        (Mutant::PolicyAcrossForks, 2),
        // A send makes the partition, it is terminated (any partition may be), a send to it.
        (Mutant::IgnoreBranchTermination, 3),
    ] {
        let name = mutants::info(mutant).name;
        let report = explore(&mutant, 6);
        let c = report
            .counterexample
            .unwrap_or_else(|| panic!("{name} not caught"));
        println!("{name}: {:?}\n{}", c.ops, c.violation);
        assert_eq!(c.ops.len(), shortest, "{name}: {:?}", c.ops);
        assert!(
            c.violation
                .requirements
                .iter()
                .any(|r| mutants::info(mutant).requirements.contains(r)),
            "{name}: the counterexample names what the mutant breaks: {}",
            c.violation
        );
    }
}
