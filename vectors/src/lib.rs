//! The vector files on disk, in canonical formatting (two-space JSON, one trailing newline):
//! reading them, verifying each against what the codec or the model computes (`vectors
//! verify`), counting coverage, and the writing the generator uses. Codec vectors live in
//! `codec/`, trace vectors in `trace/<section>.json`, each directory with its JSON Schema.
//! This crate's own directory is the published set ([`BUNDLED`]).

use mimi_ds_model::vectors::codec::{self, CodecVectorFile};
use mimi_ds_model::vectors::trace::{self, CoverageRow, TraceVectorFile};
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

/// The vectors published with this crate: the directory holding `codec/` and `trace/`.
pub const BUNDLED: &str = env!("CARGO_MANIFEST_DIR");

pub const CODEC_DIR: &str = "codec";
pub const TRACE_DIR: &str = "trace";

/// What went wrong with a vector directory or file, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no vector directory at {} (give the vectors directory)", .0.display())]
    NoDirectory(PathBuf),
    #[error("{}: not a trace vector file: {source}", path.display())]
    NotATraceFile {
        path: PathBuf,
        source: serde_json::Error,
    },
}

pub type Result<T = (), E = Error> = std::result::Result<T, E>;

fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The one formatting every vector file has; `verify` rejects any other.
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vector files serialize");
    text.push('\n');
    text
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(io("writing", path))
}

fn create_dir(dir: &Path) -> Result {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))
}

/// Writes one trace vector file, with its schema, under `dir/trace/` (a directory `run
/// --vectors dir` replays).
pub fn write_trace_file(dir: &Path, file: &TraceVectorFile) -> Result {
    write_dir(
        &dir.join(TRACE_DIR),
        std::slice::from_ref(file),
        |f| &f.section,
        trace::SCHEMA_FILE,
        &trace::schema(),
    )
}

/// Writes vector files of one kind into `dir`, each as `<name>.json`, and their schema.
pub fn write_dir<F: Serialize>(
    dir: &Path,
    files: &[F],
    name: impl Fn(&F) -> &String,
    schema_file: &str,
    schema: &serde_json::Value,
) -> Result {
    create_dir(dir)?;
    for file in files {
        write(
            &dir.join(format!("{}.json", name(file))),
            &canonical_json(file),
        )?;
    }
    write(&dir.join(schema_file), &canonical_json(schema))
}

/// What `verify` found: files and cases checked, and one line per problem.
pub struct Verification {
    pub files: usize,
    pub tests: usize,
    pub problems: Vec<String>,
}

pub fn verify(dir: &Path) -> Result<Verification> {
    let mut found = Verification {
        files: 0,
        tests: 0,
        problems: Vec::new(),
    };
    let codec_dir = dir.join(CODEC_DIR);
    let codec_files = verify_dir(
        &codec_dir,
        codec::SCHEMA_FILE,
        &codec::schema(),
        "codec",
        &mut found,
        |file: &CodecVectorFile| (file.tests.len(), codec::verify(file)),
    )?;
    for s in mimi_ds_model::codec::structures() {
        if !codec_files.iter().any(|(_, f)| f.structure == s.name) {
            found.problems.push(format!(
                "{}: no codec vector file for {}",
                codec_dir.display(),
                s.name
            ));
        }
    }
    let trace_dir = dir.join(TRACE_DIR);
    let trace_files = verify_dir(
        &trace_dir,
        trace::SCHEMA_FILE,
        &trace::schema(),
        "trace",
        &mut found,
        |file: &TraceVectorFile| (file.tests.len(), trace::verify(file)),
    )?;
    if trace_files.is_empty() {
        found
            .problems
            .push(format!("{}: no trace vector files", trace_dir.display()));
    }
    for (path, file) in &trace_files {
        if path.file_stem().is_some_and(|stem| *stem != *file.section) {
            found.problems.push(format!(
                "{}: holds section {:?}; the file is named after its section",
                path.display(),
                file.section
            ));
        }
    }
    Ok(found)
}

/// Checks one directory of vector files of one kind: its schema file, then every file's
/// parse, canonical formatting and `check` (test count, problems). Returns the parsed files.
fn verify_dir<F: DeserializeOwned + Serialize>(
    dir: &Path,
    schema_file: &str,
    schema: &serde_json::Value,
    kind: &str,
    found: &mut Verification,
    check: impl Fn(&F) -> (usize, Vec<String>),
) -> Result<Vec<(PathBuf, F)>> {
    let schema_path = dir.join(schema_file);
    match std::fs::read_to_string(&schema_path) {
        Ok(text) if text == canonical_json(schema) => {}
        Ok(_) => found.problems.push(format!(
            "{}: differs from the schema of the current format",
            schema_path.display()
        )),
        Err(e) => found
            .problems
            .push(format!("{}: {e}", schema_path.display())),
    }
    let mut parsed = Vec::new();
    for (path, text, file) in read_vector_files::<F>(dir, schema_file)? {
        let name = path.display().to_string();
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                found
                    .problems
                    .push(format!("{name}: not a {kind} vector file: {e}"));
                continue;
            }
        };
        let (tests, problems) = check(&file);
        found.files += 1;
        found.tests += tests;
        if text != canonical_json(&file) {
            found.problems.push(format!(
                "{name}: not in canonical formatting (regenerate, or format as two-space JSON)"
            ));
        }
        found
            .problems
            .extend(problems.into_iter().map(|p| format!("{name}: {p}")));
        parsed.push((path, file));
    }
    Ok(parsed)
}

/// A vector file: where it is, its text, and its parse.
pub type VectorFileRead<F> = (PathBuf, String, Result<F, serde_json::Error>);

/// Every vector file in `dir` but the schema, in name order.
pub fn read_vector_files<F: DeserializeOwned>(
    dir: &Path,
    schema_file: &str,
) -> Result<Vec<VectorFileRead<F>>> {
    if !dir.is_dir() {
        return Err(Error::NoDirectory(dir.to_owned()));
    }
    let mut out = Vec::new();
    for path in json_files(dir)? {
        if path.file_name().is_some_and(|n| n == schema_file) {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io("reading", &path))?;
        let file = serde_json::from_str(&text);
        out.push((path, text, file));
    }
    Ok(out)
}

/// Every trace vector file under `dir/trace`, parsed; the first unreadable one is an error.
pub fn read_trace_files(dir: &Path) -> Result<Vec<(PathBuf, TraceVectorFile)>> {
    read_vector_files::<TraceVectorFile>(&dir.join(TRACE_DIR), trace::SCHEMA_FILE)?
        .into_iter()
        .map(|(path, _, file)| {
            file.map(|f| (path.clone(), f))
                .map_err(|source| Error::NotATraceFile { path, source })
        })
        .collect()
}

/// Per requirement, the count of trace vectors of each result (see `vectors/README.md`).
pub fn coverage(dir: &Path) -> Result<Vec<CoverageRow>> {
    let files: Vec<TraceVectorFile> = read_trace_files(dir)?.into_iter().map(|(_, f)| f).collect();
    Ok(trace::coverage(&files))
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(io("reading", dir))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}
