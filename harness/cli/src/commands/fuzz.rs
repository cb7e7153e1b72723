//! The `fuzz` command: options in; a progress bar, one line per non-passing result, the
//! reports, and for a failure its minimised request (`failure.json`) and, when a trace
//! vector can carry it, a replayable vector; the exit code.

use anyhow::{bail, Context, Result};
use mimi_ds_check::fuzz::{self, Failure};
use mimi_ds_check::report::{self, describe};
use mimi_ds_check::runner::Grade;
use mimi_ds_check::{cases, suite};
use mimi_ds_model::vectors::trace;
use std::path::Path;

pub fn fuzz(
    vectors: &Path,
    options: &suite::Options,
    requests: usize,
    seed: u64,
    report_dir: Option<&Path>,
) -> Result<()> {
    if requests == 0 {
        bail!("--requests 0: give at least 1");
    }
    let cases = cases::load(vectors)?;
    let bar = super::progress_bar(
        Some(requests as u64),
        "{bar:40} {pos}/{len} requests {per_sec}",
    );
    let progress = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let found = suite::fuzz(&cases, options, requests, seed, &progress)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = &found.summary;
    for result in summary.results.iter().filter(|r| r.grade != Grade::Pass) {
        outln!("{}", describe(result));
    }
    let failure = found.runs.iter().find_map(|r| r.failure.as_ref());
    if let Some(dir) = report_dir {
        report::write_all(dir, summary, false)?;
        if let Some(failure) = failure {
            keep(dir, failure, &cases, seed)?;
        }
    } else if failure.is_some() {
        outln!("give --report-dir to keep the failing request and a replayable vector");
    }
    let sent: usize = found
        .runs
        .iter()
        .flat_map(|r| &r.sent)
        .map(|(_, n)| n)
        .sum();
    let wall = summary.wall.as_secs_f64();
    outln!(
        "{sent} requests (seed {seed}) against {}: {:.1} s, {:.0} requests/s",
        summary.target,
        wall,
        sent as f64 / wall.max(1e-9)
    );
    match summary.problem(false) {
        None => Ok(()),
        Some(problem) => bail!("{problem}"),
    }
}

/// Writes the minimised failure as `failure.json` and, when it fits a trace vector, as a
/// vector under `counterexample/`; prints how to replay them.
fn keep(
    dir: &Path,
    failure: &Failure,
    cases: &[mimi_ds_check::runner::Case],
    seed: u64,
) -> Result<()> {
    let path = dir.join("failure.json");
    let mut text = serde_json::to_string_pretty(&failure.replay_json())?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    outln!("the failing request, minimised: {}", path.display());
    let setup = cases.iter().find(|c| c.id == failure.setup);
    match setup.and_then(|s| fuzz::vector(failure, s, seed)) {
        Some(test) => {
            let vectors = dir.join("counterexample");
            let file = trace::file(fuzz::SECTION, vec![test]);
            mimi_ds_vectors::write_trace_file(&vectors, &file)?;
            outln!(
                "replay it with: mimi-ds-check run --vectors {}",
                vectors.display()
            );
        }
        None => outln!(
            "no trace vector carries this request (test control, another media type or an oversize body): replay it by hand from failure.json after `mimi-ds-check run --only {}`",
            failure.setup
        ),
    }
    Ok(())
}
