//! The `run`, `serve`, `mutants` and `freedoms` commands: options in, lines and exit codes
//! out.

use anyhow::{bail, Context, Result};
use mimi_ds_check::report::describe;
use mimi_ds_check::runner::{role_name, Case, CaseResult, Grade, Role};
use mimi_ds_check::score::Score;
use mimi_ds_check::suite::{self, Options};
use mimi_ds_check::{cases, explore, report};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::requirements::{ReqId, CATALOGUE};
use mimi_ds_model::vectors::trace;
use mimi_ds_reference::freedoms::{self, Freedom, FREEDOMS};
use mimi_ds_reference::mutants::{self, Mutant, MutantInfo, MUTANTS};
use mimi_ds_reference::server::ServerTls;
use mimi_ds_reference::{self as reference, Config};
use std::path::Path;
use std::time::Duration;

/// Informational cases listed one by one before the rest are only counted.
const LISTED_INFORMATIONAL: usize = 5;

/// A progress bar on a terminal, one line per non-passing case otherwise.
fn progress(total: usize) -> impl Fn(usize, &CaseResult) {
    let bar = super::progress_bar(Some(total as u64), "{bar:40} {pos}/{len} {msg}");
    // After a target stops answering, one line says so rather than one per case not run;
    // informational findings (another status or media type, often on every answer) are
    // listed a few at a time, then counted.
    let said_not_run = std::cell::Cell::new(false);
    let informational = std::cell::Cell::new(0usize);
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
        let say = |line: String| match &bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        };
        if result.grade == Grade::Informational {
            informational.set(informational.get() + 1);
        }
        let too_many =
            result.grade == Grade::Informational && informational.get() > LISTED_INFORMATIONAL;
        if result.grade != Grade::Pass && !(not_run && said_not_run.replace(true)) && !too_many {
            say(describe(result));
        }
        let unlisted = informational.get().saturating_sub(LISTED_INFORMATIONAL);
        if i + 1 == total && unlisted > 0 {
            say(format!(
                "… and {unlisted} more informational cases (all in --report-dir's reports)"
            ));
        }
    }
}

pub fn run(
    vectors: &Path,
    options: &Options,
    strict: bool,
    dry_run: bool,
    report_dir: Option<&Path>,
) -> Result<()> {
    let selected = suite::select(cases::load(vectors)?, options)?;
    if dry_run {
        for case in &selected {
            outln!(
                "{} ({}, {} inputs)",
                case.id,
                role_name(case.role),
                case.steps.len()
            );
        }
        outln!("{} cases selected", selected.len());
        return Ok(());
    }
    let summary = suite::run(&selected, options, &progress(selected.len()))?;
    if let Some(dir) = report_dir {
        report::write_all(dir, &summary, strict)?;
    }
    outln!("{}", summary.line());
    outln!("{}", summary.timing_line());
    match summary.problem(strict) {
        None => Ok(()),
        Some(problem) => bail!("{problem}"),
    }
}

pub fn explore(
    options: &Options,
    traces: u32,
    max_ops: usize,
    seed: u64,
    report_dir: Option<&Path>,
) -> Result<()> {
    if traces == 0 || max_ops == 0 {
        bail!("--explore and --max-ops need at least 1");
    }
    let found = suite::explore(options, traces, max_ops, seed)?;
    let rate = found.rate_line();
    let Some((test, result)) = found.counterexample else {
        outln!(
            "{traces} random traces per role the target offers (seed {seed}, up to {max_ops} operations) passed; {rate}"
        );
        print_coverage(&found.coverage);
        return Ok(());
    };
    outln!("{}", describe(&result));
    outln!(
        "a random trace failed; shrunk to {} inputs (seed {seed}); {rate}",
        test.steps.len()
    );
    let case = cases::case_of(&test)?;
    for line in mimi_ds_check::story::tell(case.steps.iter().map(|s| &s.input)) {
        outln!("  {line}");
    }
    match report_dir {
        Some(dir) => {
            let vectors = dir.join("counterexample");
            let file = trace::file(explore::SECTION, vec![test]);
            mimi_ds_vectors::write_trace_file(&vectors, &file)?;
            outln!(
                "replay it with: mimi-ds-check run --vectors {}",
                vectors.display()
            );
        }
        None => outln!("give --report-dir to keep it as a replayable vector"),
    }
    bail!("{} failed", result.id)
}

/// What a green exploration covered: the inputs drawn, and the wire-testable requirements
/// its expectations cited, with those they did not.
fn print_coverage(coverage: &explore::Coverage) {
    let inputs: Vec<String> = coverage.inputs().into_iter().collect();
    outln!("inputs drawn ({}): {}", inputs.len(), inputs.join(", "));
    let wire: Vec<ReqId> = CATALOGUE
        .iter()
        .filter(|r| r.testable.is_wire_testable())
        .map(|r| r.id)
        .collect();
    let missed: Vec<&str> = wire
        .iter()
        .filter(|id| !coverage.requirements.contains(*id))
        .map(|id| id.0)
        .collect();
    outln!(
        "wire-testable requirements exercised: {} of {}",
        wire.len() - missed.len(),
        wire.len()
    );
    if !missed.is_empty() {
        outln!("not exercised: {}", missed.join(", "));
    }
}

pub fn serve(
    role: Role,
    listen: std::net::SocketAddr,
    mutant: Option<Mutant>,
    freedom: Option<Freedom>,
    tls: Option<ServerTls>,
) -> Result<()> {
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
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let server = match tls {
            None => reference::start(config, listen).await,
            Some(tls) => {
                reference::server::start_tls(config, Default::default(), listen, tls).await
            }
        }
        .with_context(|| format!("listening on {listen}"))?;
        let bug = match (mutant, freedom) {
            (Some(m), _) => format!(" with mutant {}", mutants::info(m).name),
            (None, Some(f)) => format!(" with freedom {}", freedoms::info(f).name),
            (None, None) => String::new(),
        };
        outln!(
            "reference DS ({} role){bug} serving at {}",
            role_name(role),
            server.url()
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        Ok(())
    })
}

/// Random traces alone against every mutant: which trace found each, shrunk to how many
/// inputs, and which survived.
pub fn mutants_explored(traces: u32, seed: u64) -> Result<()> {
    let mut survivors = Vec::new();
    let mut found_count = 0;
    for m in MUTANTS {
        if let Some(why) = mutants::beyond_explore(m.kind) {
            outln!("  beyond   {:<40} {why}", m.name);
            continue;
        }
        let options = Options {
            mutant: Some(m.kind),
            ..Options::default()
        };
        let found = suite::explore(&options, traces, 24, seed)?;
        match &found.counterexample {
            Some((test, _)) => {
                found_count += 1;
                outln!(
                    "  found    {:<40} shrunk to {} inputs; {}",
                    m.name,
                    test.steps.len(),
                    found.rate_line()
                );
            }
            None => {
                outln!("  SURVIVED {:<40} {}", m.name, found.rate_line());
                survivors.push(m.name);
            }
        }
    }
    outln!(
        "random traces alone (seed {seed}, {traces} per role): {found_count} of {} mutants found",
        MUTANTS.len()
    );
    match survivors.is_empty() {
        true => Ok(()),
        false => bail!("mutants random traces missed: {}", survivors.join(", ")),
    }
}

pub fn mutants(score: bool, vectors: &Path) -> Result<()> {
    if !score {
        for m in MUTANTS {
            outln!("{:<40} {}", m.name, m.does);
        }
        return Ok(());
    }
    let score = Score::run(vectors).context("scoring the vectors against the mutants")?;
    let rules = mutants::rules();
    for rule in &rules {
        let breakers: Vec<&MutantInfo> = mutants::mutants_of(*rule).collect();
        if breakers.is_empty() {
            let why = mutants::why_without_mutant(*rule).unwrap_or("NO MUTANT AND NO REASON");
            outln!("{}\n  no mutant: {why}", rule.id());
            continue;
        }
        outln!("{}", rule.id());
        for m in breakers {
            if let Some(by) = mutants::not_by_vectors(m.kind) {
                outln!(
                    "  by {by:<6} {:<40} no vector can kill it: `mimi-ds-check {by} --mutant {}` does",
                    m.name, m.name
                );
                continue;
            }
            match score.killer(m.kind, *rule) {
                Some(kill) => outln!("  killed   {:<40} by {}", m.name, kill.case),
                None => outln!(
                    "  SURVIVED {:<40} no failing case names {}",
                    m.name,
                    rule.id()
                ),
            }
        }
    }
    let survivors = score.survivors();
    let unnamed = score.unnamed();
    let uncovered = Score::uncovered();
    let with_mutant = rules
        .iter()
        .filter(|r| mutants::mutants_of(**r).next().is_some())
        .count();
    let rules_killed = rules
        .iter()
        .filter(|r| mutants::mutants_of(**r).next().is_some())
        .filter(|r| !unnamed.iter().any(|(u, _)| u == *r))
        .count();
    let scored = score.runs.len();
    let killed = scored - survivors.len();
    outln!(
        "rules: {} wire rules; {with_mutant} with mutants, every one killed by a case naming the rule for {rules_killed}; {} without a mutant, each with its reason above; {} with neither",
        rules.len(),
        mutants::WITHOUT_MUTANT.len(),
        uncovered.len()
    );
    outln!(
        "kill rate: {killed}/{scored} mutants ({:.0}%); {} more only another command catches",
        100.0 * killed as f64 / scored as f64,
        mutants::NOT_BY_VECTORS.len()
    );
    let mut problems = Vec::new();
    if !survivors.is_empty() {
        problems.push(format!("mutants survived: {}", survivors.join(", ")));
    }
    if !unnamed.is_empty() {
        let pairs: Vec<String> = unnamed
            .iter()
            .map(|(r, m)| format!("{m} ({})", r.id()))
            .collect();
        problems.push(format!(
            "mutants no case names a rule for: {}",
            pairs.join(", ")
        ));
    }
    if !uncovered.is_empty() {
        let ids: Vec<&str> = uncovered.iter().map(|r| r.id()).collect();
        problems.push(format!("rules without a mutant: {}", ids.join(", ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}", problems.join("; "))
    }
}

/// Lists the freedoms, or (`score`) runs every vector and `traces` random traces against
/// each: every one must pass, since each is a DS the draft allows.
pub fn freedoms(score: bool, vectors: &Path, traces: u32, seed: u64) -> Result<()> {
    if !score {
        for f in FREEDOMS {
            outln!("{:<28} {}", f.name, f.does);
        }
        return Ok(());
    }
    let cases: Vec<Case> = suite::select(cases::load(vectors)?, &Options::default())?;
    let mut false_verdicts = 0;
    for f in FREEDOMS {
        let options = Options {
            freedom: Some(f.kind),
            ..Options::default()
        };
        let summary = suite::run(&cases, &options, &|_, _| {})
            .with_context(|| format!("running the vectors against freedom {}", f.name))?;
        let explored = match traces {
            0 => None,
            n => Some(
                suite::explore(&options, n, EXPLORE_OPS, seed)
                    .with_context(|| format!("random traces against freedom {}", f.name))?,
            ),
        };
        let wrong: Vec<&CaseResult> = summary
            .results
            .iter()
            .filter(|r| {
                matches!(
                    r.grade,
                    Grade::Fail | Grade::NonStrict | Grade::Indeterminate
                )
            })
            .collect();
        let explore_failure = explored.as_ref().and_then(|e| e.counterexample.as_ref());
        let explore_note = match (&explored, explore_failure) {
            (None, _) => "no random traces".to_string(),
            (Some(_), None) => format!("{traces} random traces pass in every role"),
            (Some(_), Some((test, _))) => {
                format!("a random trace fails ({} inputs)", test.steps.len())
            }
        };
        if wrong.is_empty() && explore_failure.is_none() {
            outln!(
                "passes  {:<28} {} pass, {} informational, {} skipped; {explore_note}",
                f.name,
                summary.count(Grade::Pass),
                summary.count(Grade::Informational),
                summary.count(Grade::Skipped)
            );
            continue;
        }
        false_verdicts += 1;
        outln!(
            "FALSE   {:<28} {} cases wrongly not passed; {explore_note}",
            f.name,
            wrong.len()
        );
        for r in wrong.iter().take(3) {
            outln!("          {}", describe(r));
        }
        if let Some((_, result)) = explore_failure {
            outln!("          {}", describe(result));
        }
    }
    outln!(
        "freedoms passing: {}/{}",
        FREEDOMS.len() - false_verdicts,
        FREEDOMS.len()
    );
    match false_verdicts {
        0 => Ok(()),
        n => bail!("{n} freedoms got false verdicts"),
    }
}

/// Operations per random trace in `freedoms --score`, as `run --explore` draws by default.
const EXPLORE_OPS: usize = 24;
