//! `vectors generate`, `vectors verify` and `vectors coverage`: the vector files on disk, in
//! canonical formatting (two-space JSON, one trailing newline), each checked against what
//! the codec or the model computes. Codec vectors live in `codec/`, trace vectors in
//! `trace/<section>.json`, each directory with its JSON Schema.

use crate::{CliError, CliResult};
use mimi_ds_model::vectors::codec::{self, CodecVectorFile};
use mimi_ds_model::vectors::trace::{self, CoverageRow, TraceVectorFile};
use serde::Serialize;
use std::path::{Path, PathBuf};

const CODEC_DIR: &str = "codec";
const TRACE_DIR: &str = "trace";

/// The one formatting every vector file has; `verify` rejects any other.
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vector files serialize");
    text.push('\n');
    text
}

fn write(path: &Path, text: &str) -> CliResult {
    std::fs::write(path, text).map_err(|e| CliError(format!("writing {}: {e}", path.display())))
}

fn create_dir(dir: &Path) -> CliResult {
    std::fs::create_dir_all(dir).map_err(|e| CliError(format!("creating {}: {e}", dir.display())))
}

/// How many vectors `generate` wrote.
pub struct Generated {
    pub codec_tests: usize,
    pub trace_tests: usize,
    pub trace_files: usize,
}

pub fn generate(out: &Path) -> CliResult<Generated> {
    let dir = out.join(CODEC_DIR);
    create_dir(&dir)?;
    let files = codec::generate()?;
    let mut codec_tests = 0;
    for file in &files {
        codec_tests += file.number_of_tests;
        write(
            &dir.join(format!("{}.json", file.structure)),
            &canonical_json(file),
        )?;
    }
    write(
        &dir.join(codec::SCHEMA_FILE),
        &canonical_json(&codec::schema()),
    )?;
    let dir = out.join(TRACE_DIR);
    create_dir(&dir)?;
    let files = crate::generate::trace_files()?;
    let mut trace_tests = 0;
    for file in &files {
        trace_tests += file.number_of_tests;
        write(
            &dir.join(format!("{}.json", file.section)),
            &canonical_json(file),
        )?;
    }
    write(
        &dir.join(trace::SCHEMA_FILE),
        &canonical_json(&trace::schema()),
    )?;
    Ok(Generated {
        codec_tests,
        trace_tests,
        trace_files: files.len(),
    })
}

/// What `verify` found: files and cases checked, and one line per problem.
pub struct Verification {
    pub files: usize,
    pub tests: usize,
    pub problems: Vec<String>,
}

pub fn verify(dir: &Path) -> CliResult<Verification> {
    let codec_dir = dir.join(CODEC_DIR);
    if !codec_dir.is_dir() {
        return Err(CliError(format!(
            "no vector directory at {} (give the vectors directory)",
            codec_dir.display()
        )));
    }
    let mut found = Verification {
        files: 0,
        tests: 0,
        problems: Vec::new(),
    };
    let schema_path = codec_dir.join(codec::SCHEMA_FILE);
    match std::fs::read_to_string(&schema_path) {
        Ok(text) if text == canonical_json(&codec::schema()) => {}
        Ok(_) => found.problems.push(format!(
            "{}: differs from the schema of the current format",
            schema_path.display()
        )),
        Err(e) => found
            .problems
            .push(format!("{}: {e}", schema_path.display())),
    }
    let mut seen = Vec::new();
    for path in json_files(&codec_dir)? {
        if path == schema_path {
            continue;
        }
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| CliError(format!("reading {name}: {e}")))?;
        let file: CodecVectorFile = match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                found
                    .problems
                    .push(format!("{name}: not a codec vector file: {e}"));
                continue;
            }
        };
        found.files += 1;
        found.tests += file.tests.len();
        if text != canonical_json(&file) {
            found.problems.push(format!(
                "{name}: not in canonical formatting (regenerate, or format as two-space JSON)"
            ));
        }
        found.problems.extend(
            codec::verify(&file)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
        seen.push(file.structure);
    }
    for s in mimi_ds_model::codec::structures() {
        if !seen.iter().any(|n| n == s.name) {
            found.problems.push(format!(
                "{}: no codec vector file for {}",
                codec_dir.display(),
                s.name
            ));
        }
    }
    verify_traces(dir, &mut found)?;
    Ok(found)
}

/// Checks the schema, the formatting and every vector of `trace/`.
fn verify_traces(dir: &Path, found: &mut Verification) -> CliResult {
    let trace_dir = dir.join(TRACE_DIR);
    let schema_path = trace_dir.join(trace::SCHEMA_FILE);
    match std::fs::read_to_string(&schema_path) {
        Ok(text) if text == canonical_json(&trace::schema()) => {}
        Ok(_) => found.problems.push(format!(
            "{}: differs from the schema of the current format",
            schema_path.display()
        )),
        Err(e) => found
            .problems
            .push(format!("{}: {e}", schema_path.display())),
    }
    let files = read_trace_files(dir)?;
    if files.is_empty() {
        found
            .problems
            .push(format!("{}: no trace vector files", trace_dir.display()));
    }
    for (path, text, file) in files {
        let name = path.display().to_string();
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                found
                    .problems
                    .push(format!("{name}: not a trace vector file: {e}"));
                continue;
            }
        };
        found.files += 1;
        found.tests += file.tests.len();
        if text != canonical_json(&file) {
            found.problems.push(format!(
                "{name}: not in canonical formatting (regenerate, or format as two-space JSON)"
            ));
        }
        if path.file_stem().is_some_and(|stem| *stem != *file.section) {
            found.problems.push(format!(
                "{name}: holds section {:?}; the file is named after its section",
                file.section
            ));
        }
        found.problems.extend(
            trace::verify(&file)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
    }
    Ok(())
}

type TraceFileRead = (PathBuf, String, Result<TraceVectorFile, serde_json::Error>);

/// Every trace vector file under `dir/trace`, with its text and its parse.
fn read_trace_files(dir: &Path) -> CliResult<Vec<TraceFileRead>> {
    let trace_dir = dir.join(TRACE_DIR);
    if !trace_dir.is_dir() {
        return Err(CliError(format!(
            "no trace vector directory at {}",
            trace_dir.display()
        )));
    }
    let mut out = Vec::new();
    for path in json_files(&trace_dir)? {
        if path.file_name().is_some_and(|n| n == trace::SCHEMA_FILE) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError(format!("reading {}: {e}", path.display())))?;
        let file = serde_json::from_str(&text);
        out.push((path, text, file));
    }
    Ok(out)
}

/// Per requirement, the count of trace vectors of each result (see `vectors/README.md`).
pub fn coverage(dir: &Path) -> CliResult<Vec<CoverageRow>> {
    let mut files = Vec::new();
    for (path, _, file) in read_trace_files(dir)? {
        files.push(
            file.map_err(|e| {
                CliError(format!("{}: not a trace vector file: {e}", path.display()))
            })?,
        );
    }
    Ok(trace::coverage(&files))
}

fn json_files(dir: &Path) -> CliResult<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| CliError(format!("reading {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}
