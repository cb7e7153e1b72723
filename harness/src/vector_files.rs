//! `vectors generate` and `vectors verify`: the vector files on disk, in canonical formatting
//! (two-space JSON, one trailing newline), each checked against what the model computes.

use crate::{CliError, CliResult};
use mimi_ds_model::vectors::codec::{self, CodecVectorFile};
use serde::Serialize;
use std::path::{Path, PathBuf};

const CODEC_DIR: &str = "codec";

/// The one formatting every vector file has; `verify` rejects any other.
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vector files serialize");
    text.push('\n');
    text
}

fn write(path: &Path, text: &str) -> CliResult {
    std::fs::write(path, text).map_err(|e| CliError(format!("writing {}: {e}", path.display())))
}

pub fn generate(out: &Path) -> CliResult<usize> {
    let dir = out.join(CODEC_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError(format!("creating {}: {e}", dir.display())))?;
    let files = codec::generate()?;
    let mut tests = 0;
    for file in &files {
        tests += file.number_of_tests;
        write(
            &dir.join(format!("{}.json", file.structure)),
            &canonical_json(file),
        )?;
    }
    write(
        &dir.join(codec::SCHEMA_FILE),
        &canonical_json(&codec::schema()),
    )?;
    Ok(tests)
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
    Ok(found)
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
