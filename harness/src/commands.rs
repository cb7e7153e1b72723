//! The `run`, `serve` and `mutants` commands: options in, lines and exit codes out.

use crate::mutants::{self, Mutant, MutantInfo, Rule, MUTANTS};
use crate::reference::{self, Config};
use crate::runner::{role_name, Case, CaseResult, Role, Verdict};
use crate::suite::{self, Options, Summary};
use crate::{cases, explore, report, vector_files, CliError, CliResult};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::vectors::trace;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

pub fn seconds(flag: &str, value: f64) -> CliResult<Duration> {
    if value.is_finite() && value > 0.0 && value <= 3600.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(CliError(format!(
            "{flag} {value}: give seconds between 0 and 3600"
        )))
    }
}

/// A progress bar on a terminal, one line per non-passing case otherwise.
fn progress(total: usize) -> impl Fn(usize, &CaseResult) {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .expect("valid template"),
        );
        bar
    });
    // After a target stops answering, one line says so rather than one per case not run.
    let said_not_run = std::cell::Cell::new(false);
    move |i, result: &CaseResult| {
        if let Some(bar) = &bar {
            bar.set_position(i as u64 + 1);
            bar.set_message(result.id.clone());
            if i + 1 == total {
                bar.finish_and_clear();
            }
        }
        let not_run = result
            .because
            .first()
            .is_some_and(|b| b.starts_with("not run:"));
        if result.verdict != Verdict::Pass && !(not_run && said_not_run.replace(true)) {
            let line = describe(result);
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }
}

/// One line per case that did not pass: verdict, id, what broke.
pub fn describe(result: &CaseResult) -> String {
    let ids: Vec<&str> = result.violated.iter().map(|r| r.0).collect();
    let what = if ids.is_empty() {
        String::new()
    } else {
        format!(" [{}]", ids.join(", "))
    };
    let first = result.because.first().map(String::as_str).unwrap_or("");
    format!("{:<13} {}{what}: {first}", result.verdict.name(), result.id)
}

pub fn run(
    vectors: &Path,
    options: &Options,
    strict: bool,
    dry_run: bool,
    report_dir: Option<&Path>,
) -> CliResult {
    let selected = suite::select(cases::load(vectors)?, options)?;
    if dry_run {
        for case in &selected {
            println!(
                "{} ({}, {} inputs)",
                case.id,
                role_name(case.role),
                case.steps.len()
            );
        }
        println!("{} cases selected", selected.len());
        return Ok(());
    }
    let summary = suite::run(&selected, options, &progress(selected.len()))?;
    if let Some(dir) = report_dir {
        report::write_all(dir, &summary)?;
    }
    println!("{}", summary.line());
    println!("{}", summary.timing_line());
    match summary.problem(strict) {
        None => Ok(()),
        Some(problem) => Err(CliError(problem)),
    }
}

pub fn explore(
    options: &Options,
    traces: u32,
    max_ops: usize,
    seed: u64,
    report_dir: Option<&Path>,
) -> CliResult {
    if traces == 0 || max_ops == 0 {
        return Err(CliError("--explore and --max-ops need at least 1".into()));
    }
    let found = suite::explore(options, traces, max_ops, seed)?;
    let Some((test, result)) = found.counterexample else {
        println!(
            "{traces} random traces (seed {seed}, up to {max_ops} operations) passed; {} runs",
            found.runs
        );
        return Ok(());
    };
    println!("{}", describe(&result));
    println!(
        "a random trace failed; shrunk to {} inputs after {} runs (seed {seed})",
        test.steps.len(),
        found.runs
    );
    match report_dir {
        Some(dir) => {
            let vectors = dir.join("counterexample");
            let file = trace::file(explore::SECTION, vec![test]);
            vector_files::write_trace_file(&vectors, &file)?;
            println!(
                "replay it with: mimi-ds-check run --vectors {}",
                vectors.display()
            );
        }
        None => println!("give --report-dir to keep it as a replayable vector"),
    }
    Err(CliError(format!("{} failed", result.id)))
}

pub fn serve(role: Role, listen: std::net::SocketAddr, mutant: Option<Mutant>) -> CliResult {
    let me = match role {
        Role::Hub => "hub.example",
        Role::Follower | Role::Rsp => "b.example",
    };
    let config = Config {
        me: ServiceProviderId::new(me).expect("valid domain"),
        mutant,
        call_timeout: Duration::from_secs(5),
        idle: true,
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async {
        let server = reference::start(config, listen)
            .await
            .map_err(|e| CliError(format!("listening on {listen}: {e}")))?;
        let bug = mutant
            .map(|m| format!(" with mutant {}", mutants::info(m).name))
            .unwrap_or_default();
        println!(
            "reference DS ({} role){bug} serving at {}",
            role_name(role),
            server.url()
        );
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| CliError(format!("waiting for Ctrl-C: {e}")))?;
        Ok(())
    })
}

/// Whether a run caught `mutant`: a case that failed (or, for a SHOULD, was non-strict)
/// naming one of the requirements the mutant breaks, or one of the errata decisions it
/// breaks. Returns the catching case.
pub fn caught_by(summary: &Summary, mutant: Mutant) -> Option<&CaseResult> {
    let info = mutants::info(mutant);
    summary
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::NonStrict))
        .find(|r| {
            r.violated.iter().any(|v| info.requirements.contains(v))
                || r.violated_errata.iter().any(|e| info.errata.contains(e))
        })
}

/// What the vectors alone did to each mutant: the case that killed it, if one did.
pub struct Score {
    pub kills: Vec<(&'static MutantInfo, Option<CaseResult>)>,
}

impl Score {
    /// Runs every vector against every mutant.
    pub fn run(vectors: &Path) -> CliResult<Score> {
        let cases: Vec<Case> = suite::select(cases::load(vectors)?, &Options::default())?;
        let mut kills = Vec::new();
        for m in MUTANTS {
            let options = Options {
                mutant: Some(m.mutant),
                ..Options::default()
            };
            let summary = suite::run(&cases, &options, &|_, _| {})?;
            kills.push((m, caught_by(&summary, m.mutant).cloned()));
        }
        Ok(Score { kills })
    }

    pub fn killer(&self, mutant: Mutant) -> Option<&CaseResult> {
        self.kills
            .iter()
            .find(|(m, _)| m.mutant == mutant)
            .and_then(|(_, case)| case.as_ref())
    }

    pub fn survivors(&self) -> Vec<&'static str> {
        self.kills
            .iter()
            .filter(|(_, case)| case.is_none())
            .map(|(m, _)| m.name)
            .collect()
    }

    /// Wire rules with neither a mutant nor a reason for having none.
    pub fn uncovered() -> Vec<Rule> {
        mutants::rules()
            .into_iter()
            .filter(|r| mutants::mutants_of(*r).next().is_none())
            .filter(|r| mutants::why_without_mutant(*r).is_none())
            .collect()
    }
}

pub fn mutants(score: bool, vectors: &Path) -> CliResult {
    if !score {
        for m in MUTANTS {
            println!("{:<40} {}", m.name, m.breaks);
        }
        return Ok(());
    }
    let score = Score::run(vectors)?;
    let rules = mutants::rules();
    let mut rules_killed = 0;
    for rule in &rules {
        let breakers: Vec<&MutantInfo> = mutants::mutants_of(*rule).collect();
        if breakers.is_empty() {
            let why = mutants::why_without_mutant(*rule).unwrap_or("NO MUTANT AND NO REASON");
            println!("{}\n  no mutant: {why}", rule.id());
            continue;
        }
        println!("{}", rule.id());
        let mut all_killed = true;
        for m in breakers {
            match score.killer(m.mutant) {
                Some(case) => {
                    let ids: Vec<&str> = case
                        .violated
                        .iter()
                        .map(|r| r.0)
                        .chain(case.violated_errata.iter().map(|e| e.0))
                        .collect();
                    println!(
                        "  killed   {:<40} by {} [{}]",
                        m.name,
                        case.id,
                        ids.join(", ")
                    );
                }
                None => {
                    all_killed = false;
                    println!(
                        "  SURVIVED {:<40} no failing case names what it breaks",
                        m.name
                    );
                }
            }
        }
        rules_killed += usize::from(all_killed);
    }
    let survivors = score.survivors();
    let uncovered = Score::uncovered();
    let with_mutant = rules
        .iter()
        .filter(|r| mutants::mutants_of(**r).next().is_some())
        .count();
    let killed = MUTANTS.len() - survivors.len();
    println!(
        "rules: {} ({} with mutants, all killed for {rules_killed}; {} without, with reasons; {} without reason)",
        rules.len(),
        with_mutant,
        mutants::WITHOUT_MUTANT.len(),
        uncovered.len()
    );
    println!(
        "kill rate: {killed}/{} ({:.0}%)",
        MUTANTS.len(),
        100.0 * killed as f64 / MUTANTS.len() as f64
    );
    let mut problems = Vec::new();
    if !survivors.is_empty() {
        problems.push(format!("mutants survived: {}", survivors.join(", ")));
    }
    if !uncovered.is_empty() {
        let ids: Vec<&str> = uncovered.iter().map(|r| r.id()).collect();
        problems.push(format!("rules without a mutant: {}", ids.join(", ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError(problems.join("; ")))
    }
}
