//! The `stress` command: a progress bar while the clients run, then the figures, the
//! interleaving of a violation, the reports and the counterexample's history file.

use anyhow::{bail, Context, Result};
use mimi_ds_check::report::{self, describe};
use mimi_ds_check::runner::Grade;
use mimi_ds_check::stress::{self, Settings, Stop};
use mimi_ds_check::suite::Options;
use std::path::Path;
use std::sync::Arc;

pub fn stress(options: &Options, settings: Settings, report_dir: Option<&Path>) -> Result<()> {
    let bar = match settings.stop {
        Stop::Operations(n) => super::progress_bar(Some(n), "{bar:40} {pos}/{len} operations"),
        Stop::Seconds(_) => super::progress_bar(None, "{spinner} {pos} operations in {elapsed}"),
    };
    let tick = bar.clone();
    let progress = Arc::new(move || {
        if let Some(bar) = &tick {
            bar.inc(1);
        }
    });
    let found = stress::run(options, settings, progress)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = &found.summary;
    for result in summary.results.iter().filter(|r| r.grade != Grade::Pass) {
        outln!("{}", describe(result));
        for line in result.because.iter().skip(1) {
            outln!("  {line}");
        }
    }
    if let Some(dir) = report_dir {
        report::write_all(dir, summary, false)?;
        if let Some(counterexample) = &found.counterexample {
            let dir = dir.join("counterexample");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join("history.json");
            let text = serde_json::to_string_pretty(counterexample).expect("serializes");
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            outln!("the shrunk history is in {}", path.display());
        }
    }
    outln!("{}", summary.line());
    outln!("{} (seed {})", found.figures_line(), settings.seed);
    match summary.problem(false) {
        None => Ok(()),
        Some(problem) => bail!("{problem}"),
    }
}
