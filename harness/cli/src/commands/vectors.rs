//! `vectors generate | verify | coverage`: the vector files, written by the generator and read
//! by the vectors crate, with one line per problem and a summary.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::Instant;

/// Writes every vector under `out`.
pub fn generate(out: &Path) -> Result<()> {
    let started = Instant::now();
    let generated = mimi_ds_generate::generate(out)
        .with_context(|| format!("generating the vectors under {}", out.display()))?;
    outln!(
        "wrote {} codec vectors under {}",
        generated.codec_tests,
        out.display()
    );
    outln!(
        "wrote {} trace vectors in {} files under {} in {:.1} s",
        generated.trace_tests,
        generated.trace_files,
        out.join(mimi_ds_vectors::TRACE_DIR).display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Fails, naming every file, unless `dir` holds exactly what a fresh generation writes.
pub fn check(dir: &Path) -> Result<()> {
    let started = Instant::now();
    let differences = mimi_ds_generate::check(dir)
        .with_context(|| format!("checking the vectors under {}", dir.display()))?;
    for d in &differences {
        eprintln!("mimi-ds-check: {d}");
    }
    if !differences.is_empty() {
        bail!(
            "{} files under {} differ from a fresh generation (run `mimi-ds-check vectors generate --out {}`)",
            differences.len(),
            dir.display(),
            dir.display()
        )
    }
    outln!(
        "{} is what a fresh generation writes ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Recomputes every vector under `dir` and checks the manifest; one line per problem.
pub fn verify(dir: &Path) -> Result<()> {
    let v = mimi_ds_vectors::verify(dir)?;
    for p in &v.problems {
        eprintln!("mimi-ds-check: {p}");
    }
    if !v.problems.is_empty() {
        bail!(
            "{} problems in {} vectors under {}",
            v.problems.len(),
            v.tests,
            dir.display()
        )
    }
    outln!(
        "verified {} vectors in {} files under {}",
        v.tests,
        v.files,
        dir.display()
    );
    Ok(())
}

/// The trace vectors per requirement and result; fails on any gap (vectors/README.md).
pub fn coverage(dir: &Path) -> Result<()> {
    let rows = mimi_ds_vectors::coverage(dir)?;
    outln!(
        "{:<52} {:<10} {:>5} {:>7} {:>10}  gap",
        "requirement",
        "level",
        "valid",
        "invalid",
        "acceptable"
    );
    let mut gaps = 0;
    for row in &rows {
        let level = serde_json::to_value(row.level)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let gap = match (row.wire_testable, row.gap()) {
            (false, _) => "(not wire-testable)",
            (true, Some(gap)) => {
                gaps += 1;
                gap
            }
            (true, None) => "",
        };
        let c = &row.counts;
        outln!(
            "{:<52} {:<10} {:>5} {:>7} {:>10}  {gap}",
            row.id,
            level,
            c.valid,
            c.invalid,
            c.acceptable
        );
    }
    if gaps > 0 {
        bail!("{gaps} requirement(s) lack the vectors they need")
    }
    outln!("every wire-testable requirement has a vector, and a negative one where required");
    Ok(())
}
