//! The vector files on disk, in canonical formatting (two-space JSON, one trailing newline):
//! reading them, verifying each against what the codec or the model computes (`vectors
//! verify`), counting coverage, and the writing the generator uses. Codec vectors live in
//! `codec/`, trace vectors in `trace/<section>.json`, each directory with its JSON Schema,
//! and `MANIFEST.json` lists every one of those files with its SHA-256 ([`Manifest`]).
//! This crate's own directory is the published set ([`BUNDLED`]).
//!
//! The generator renders a whole set in memory as a [`Tree`], which this crate writes
//! ([`write_tree`]) or compares with a directory ([`read_tree`], [`differences`]).

use mimi_ds_model::vectors::codec::{self, CodecVectorFile};
use mimi_ds_model::vectors::trace::{self, CoverageRow, TraceVectorFile};
use mimi_ds_model::vectors::{DRAFT, FORMAT_VERSION};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The vectors published with this crate: the directory holding `codec/` and `trace/`.
pub const BUNDLED: &str = env!("CARGO_MANIFEST_DIR");

pub const CODEC_DIR: &str = "codec";
pub const TRACE_DIR: &str = "trace";
pub const MANIFEST_FILE: &str = "MANIFEST.json";

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

/// The largest vector file read: the bundled trace files are about 3 MB, a trace of
/// 100,000 steps about 180 MB.
pub const MAX_FILE: u64 = 512 << 20;

/// A vector file's bytes: only a regular file is opened — a FIFO, device or directory is
/// refused before it could block or stream forever, a symlink loop is the system's error —
/// and at most [`MAX_FILE`] bytes are read.
fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a directory, FIFO or device)",
        ));
    }
    let over = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("over the {} MiB cap on a vector file", MAX_FILE >> 20),
        )
    };
    if meta.len() > MAX_FILE {
        return Err(over());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(over());
    }
    Ok(bytes)
}

/// [`read_bytes`], as UTF-8 text.
fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
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

/// A vector set in memory: each file's text by its path under the vectors directory
/// (`codec/<structure>.json`, `trace/<section>.json`, the schemas, `MANIFEST.json`).
pub type Tree = BTreeMap<String, String>;

/// Adds vector files of one kind to `tree` under `dir`, each as `<name>.json`, and their
/// schema.
pub fn render_dir<F: Serialize>(
    tree: &mut Tree,
    dir: &str,
    files: &[F],
    name: impl Fn(&F) -> &String,
    schema_file: &str,
    schema: &serde_json::Value,
) {
    for file in files {
        tree.insert(format!("{dir}/{}.json", name(file)), canonical_json(file));
    }
    tree.insert(format!("{dir}/{schema_file}"), canonical_json(schema));
}

/// Writes every file of `tree` under `out`.
pub fn write_tree(out: &Path, tree: &Tree) -> Result {
    for (name, text) in tree {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        write(&path, text)?;
    }
    Ok(())
}

/// Writes one trace vector file, with its schema, under `dir/trace/` (a directory `run
/// --vectors dir` replays).
pub fn write_trace_file(dir: &Path, file: &TraceVectorFile) -> Result {
    let mut tree = Tree::new();
    render_dir(
        &mut tree,
        TRACE_DIR,
        std::slice::from_ref(file),
        |f| &f.section,
        trace::SCHEMA_FILE,
        &trace::schema(),
    );
    write_tree(dir, &tree)
}

/// The files of the set under `dir`: every JSON file of `codec/` and `trace/`, and the
/// manifest if there is one.
pub fn read_tree(dir: &Path) -> Result<Tree> {
    if !dir.is_dir() {
        return Err(Error::NoDirectory(dir.to_owned()));
    }
    let mut names = listed_files(dir)?;
    if dir.join(MANIFEST_FILE).is_file() {
        names.push(MANIFEST_FILE.into());
    }
    names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let text = read_text(&path).map_err(io("reading", &path))?;
            Ok((name, text))
        })
        .collect()
}

/// One line per file of `found` (read from `dir`) that is not as in `fresh`: missing,
/// extra, or other bytes.
pub fn differences(dir: &Path, fresh: &Tree, found: &Tree) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = fresh.keys().chain(found.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let path = dir.join(name);
            match (fresh.get(name), found.get(name)) {
                (Some(a), Some(b)) if a == b => None,
                (Some(_), Some(_)) => Some(format!(
                    "{}: differs from a fresh generation",
                    path.display()
                )),
                (Some(_), None) => Some(format!(
                    "{}: missing (a fresh generation writes it)",
                    path.display()
                )),
                (None, _) => Some(format!(
                    "{}: not written by a fresh generation",
                    path.display()
                )),
            }
        })
        .collect()
}

/// `MANIFEST.json`: what a vector set holds, so a copy can be checked byte for byte.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the files listed.
    pub format_version: u32,
    /// The generator that wrote the set: `mimi-ds-generate <crate version>`.
    pub generator: String,
    /// The draft revision the vectors follow ([`DRAFT`]).
    pub draft: String,
    /// Every file of `codec/` and `trace/`, schemas included, in path order.
    pub files: Vec<ManifestEntry>,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The path under the vectors directory, `/`-separated.
    pub path: String,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Manifest {
    /// The manifest of `tree` (which holds no manifest yet), written by `generator`.
    pub fn of(tree: &Tree, generator: String) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            generator,
            draft: DRAFT.into(),
            files: tree
                .iter()
                .map(|(path, text)| ManifestEntry {
                    path: path.clone(),
                    sha256: sha256(text.as_bytes()),
                })
                .collect(),
        }
    }
}

/// The paths of the files a manifest lists: every JSON file in `codec/` and `trace/`.
fn listed_files(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for kind in [CODEC_DIR, TRACE_DIR] {
        if !dir.join(kind).is_dir() {
            continue;
        }
        for path in json_files(&dir.join(kind))? {
            if let Some(file) = path.file_name().and_then(|n| n.to_str()) {
                names.push(format!("{kind}/{file}"));
            }
        }
    }
    Ok(names)
}

/// The manifest's problems: unreadable or stale, a file it does not list, a file it lists
/// that is absent, a hash that differs.
fn verify_manifest(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(MANIFEST_FILE);
    let name = path.display();
    let text = match read_text(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(vec![format!(
                "{name}: missing (`mimi-ds-check vectors generate` writes it)"
            )])
        }
        Err(e) => return Ok(vec![format!("{name}: {e}")]),
    };
    let manifest: Manifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => return Ok(vec![format!("{name}: not a manifest: {e}")]),
    };
    let mut problems = Vec::new();
    if text != canonical_json(&manifest) {
        problems.push(format!("{name}: not in canonical formatting"));
    }
    if manifest.format_version != FORMAT_VERSION {
        problems.push(format!(
            "{name}: format version {}, this verifier reads {FORMAT_VERSION}",
            manifest.format_version
        ));
    }
    if manifest.draft != DRAFT {
        problems.push(format!(
            "{name}: names draft {:?}, the vectors follow {DRAFT:?}",
            manifest.draft
        ));
    }
    let listed: BTreeMap<&str, &str> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let present = listed_files(dir)?;
    for file in &present {
        let path = dir.join(file);
        match listed.get(file.as_str()) {
            None => problems.push(format!("{}: not listed in {MANIFEST_FILE}", path.display())),
            Some(hash) => {
                let bytes = read_bytes(&path).map_err(io("reading", &path))?;
                if sha256(&bytes) != *hash {
                    problems.push(format!(
                        "{}: SHA-256 differs from the one {MANIFEST_FILE} lists",
                        path.display()
                    ));
                }
            }
        }
    }
    for file in listed.keys() {
        if !present.iter().any(|p| p == file) {
            problems.push(format!(
                "{}: listed in {MANIFEST_FILE} but absent",
                dir.join(file).display()
            ));
        }
    }
    Ok(problems)
}

/// What `verify` found: files and cases checked, and one line per problem.
pub struct Verification {
    pub files: usize,
    pub tests: usize,
    pub problems: Vec<String>,
}

/// Checks every vector file against the codec or the model, the schemas, and the manifest.
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
    found.problems.extend(verify_manifest(dir)?);
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
    match read_text(&schema_path) {
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
        let text = read_text(&path).map_err(io("reading", &path))?;
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
