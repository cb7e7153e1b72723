//! The `run`, `serve`, `mutants` and `freedoms` commands: options in, lines and exit codes
//! out.

use crate::freedoms::{self, Freedom, FREEDOMS};
use crate::mutants::{self, Mutant, MUTANTS};
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
        report::write_all(dir, &summary, strict)?;
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

pub fn serve(
    role: Role,
    listen: std::net::SocketAddr,
    mutant: Option<Mutant>,
    freedom: Option<Freedom>,
) -> CliResult {
    let me = match role {
        Role::Hub => "hub.example",
        Role::Follower | Role::Rsp => "b.example",
    };
    let config = Config {
        me: ServiceProviderId::new(me).expect("valid domain"),
        mutant,
        freedom,
        call_timeout: Duration::from_secs(5),
        idle: true,
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async {
        let server = reference::start(config, listen)
            .await
            .map_err(|e| CliError(format!("listening on {listen}: {e}")))?;
        let bug = match (mutant, freedom) {
            (Some(m), _) => format!(" with mutant {}", mutants::info(m).name),
            (None, Some(f)) => format!(" with freedom {}", freedoms::info(f).name),
            (None, None) => String::new(),
        };
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

/// Whether a run caught `mutant`: a failing case names one of the requirements the mutant
/// breaks (or, for a bug against a rule only our errata state, that erratum). Returns the
/// catching case.
pub fn caught_by(summary: &Summary, mutant: Mutant) -> Option<&CaseResult> {
    let info = mutants::info(mutant);
    summary
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .find(|r| {
            r.violated.iter().any(|v| info.requirements.contains(v))
                || (info.requirements.is_empty()
                    && r.violated_errata.iter().any(|e| info.errata.contains(e)))
        })
}

pub fn mutants(score: bool, vectors: &Path) -> CliResult {
    if !score {
        for m in MUTANTS {
            println!("{:<36} {}", m.name, m.breaks);
        }
        return Ok(());
    }
    let cases: Vec<Case> = suite::select(cases::load(vectors)?, &Options::default())?;
    let mut caught = 0;
    for m in MUTANTS {
        let options = Options {
            mutant: Some(m.mutant),
            ..Options::default()
        };
        let summary = suite::run(&cases, &options, &|_, _| {})?;
        match caught_by(&summary, m.mutant) {
            Some(case) => {
                caught += 1;
                let ids: Vec<&str> = case.violated.iter().map(|r| r.0).collect();
                println!(
                    "caught   {:<36} by {} [{}]",
                    m.name,
                    case.id,
                    ids.join(", ")
                );
            }
            None => println!(
                "MISSED   {:<36} ({} cases failed, none naming what it breaks)",
                m.name,
                summary.count(Verdict::Fail)
            ),
        }
    }
    println!(
        "kill rate: {caught}/{} ({:.0}%)",
        MUTANTS.len(),
        100.0 * caught as f64 / MUTANTS.len() as f64
    );
    if caught == MUTANTS.len() {
        Ok(())
    } else {
        Err(CliError(format!(
            "{} mutants survived",
            MUTANTS.len() - caught
        )))
    }
}

/// Lists the freedoms, or (`score`) runs every vector and `traces` random traces against
/// each: every one must pass, since each is a DS the draft allows.
pub fn freedoms(score: bool, vectors: &Path, traces: u32, seed: u64) -> CliResult {
    if !score {
        for f in FREEDOMS {
            println!("{:<28} {}", f.name, f.uses);
        }
        return Ok(());
    }
    let cases: Vec<Case> = suite::select(cases::load(vectors)?, &Options::default())?;
    let mut false_verdicts = 0;
    for f in FREEDOMS {
        let options = Options {
            freedom: Some(f.freedom),
            ..Options::default()
        };
        let summary = suite::run(&cases, &options, &|_, _| {})?;
        let explored = match traces {
            0 => None,
            n => Some(suite::explore(&options, n, EXPLORE_OPS, seed)?),
        };
        let wrong: Vec<&CaseResult> = summary
            .results
            .iter()
            .filter(|r| {
                matches!(
                    r.verdict,
                    Verdict::Fail | Verdict::NonStrict | Verdict::Indeterminate
                )
            })
            .collect();
        let explore_failure = explored.as_ref().and_then(|e| e.counterexample.as_ref());
        let explore_note = match (&explored, explore_failure) {
            (None, _) => "no random traces".to_string(),
            (Some(_), None) => format!("{traces} random traces pass"),
            (Some(_), Some((test, _))) => {
                format!("a random trace fails ({} inputs)", test.steps.len())
            }
        };
        let passed = summary.count(Verdict::Pass) + summary.count(Verdict::Informational);
        if wrong.is_empty() && explore_failure.is_none() {
            println!(
                "passes  {:<28} {passed} cases pass, {} skipped; {explore_note}",
                f.name,
                summary.count(Verdict::Skipped)
            );
            continue;
        }
        false_verdicts += 1;
        println!(
            "FALSE   {:<28} {} cases wrongly not passed; {explore_note}",
            f.name,
            wrong.len()
        );
        for r in wrong.iter().take(3) {
            println!("          {}", describe(r));
        }
        if let Some((_, result)) = explore_failure {
            println!("          {}", describe(result));
        }
    }
    println!(
        "freedoms passing: {}/{}",
        FREEDOMS.len() - false_verdicts,
        FREEDOMS.len()
    );
    match false_verdicts {
        0 => Ok(()),
        n => Err(CliError(format!("{n} freedoms got false verdicts"))),
    }
}

/// Operations per random trace in `freedoms --score`, as `run --explore` draws by default.
const EXPLORE_OPS: usize = 24;
