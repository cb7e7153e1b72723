//! The trace vector generator: real MLS clients on several providers play the draft's flows,
//! and the model says what the target must answer at every step.
//!
//! This crate owns the assembly of the trace vector files: `seeded` is the deterministic
//! openmls provider, `mls` the openmls kit, `stories` the MLS histories it plays once,
//! `scenarios` the tables slicing them into cases, one module per draft section;
//! [`trace_files`] runs every case through
//! `mimi_ds_model::vectors::trace::build` and groups the results by section; [`render`]
//! assembles the whole set with its manifest, which [`generate`] writes and [`check`]
//! compares with a directory.

pub mod mls;
mod scenarios;
mod seeded;
pub mod stories;

use mimi_ds_model::vectors::codec;
use mimi_ds_model::vectors::trace::{self, TraceVectorFile};
use mimi_ds_vectors::{Manifest, Tree};
use std::path::Path;

/// Who wrote a vector set, as its manifest says.
pub const GENERATOR: &str = concat!("mimi-ds-generate ", env!("CARGO_PKG_VERSION"));

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A case the model cannot build (a bug of the generator or the model).
    #[error("generating the vectors: {0}")]
    Generation(String),
    #[error(transparent)]
    Files(#[from] mimi_ds_vectors::Error),
}

/// Every trace vector file, one per draft section, in a fixed order.
pub fn trace_files() -> Result<Vec<TraceVectorFile>, String> {
    scenarios::all()
        .into_iter()
        .map(|(section, cases)| {
            let tests = cases
                .iter()
                .map(trace::build)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(trace::file(section, tests))
        })
        .collect()
}

/// How many vectors a generation holds.
pub struct Generated {
    pub codec_tests: usize,
    pub trace_tests: usize,
    pub trace_files: usize,
}

/// Every codec and trace vector file, their schemas and the manifest listing them, in memory.
pub fn render() -> Result<(Tree, Generated), Error> {
    let mut tree = Tree::new();
    let codec_files = codec::generate().map_err(Error::Generation)?;
    mimi_ds_vectors::render_dir(
        &mut tree,
        mimi_ds_vectors::CODEC_DIR,
        &codec_files,
        |f| &f.structure,
        codec::SCHEMA_FILE,
        &codec::schema(),
    );
    let files = trace_files().map_err(Error::Generation)?;
    mimi_ds_vectors::render_dir(
        &mut tree,
        mimi_ds_vectors::TRACE_DIR,
        &files,
        |f| &f.section,
        trace::SCHEMA_FILE,
        &trace::schema(),
    );
    let manifest = Manifest::of(&tree, GENERATOR.into());
    tree.insert(
        mimi_ds_vectors::MANIFEST_FILE.into(),
        mimi_ds_vectors::canonical_json(&manifest),
    );
    let generated = Generated {
        codec_tests: codec_files.iter().map(|f| f.number_of_tests).sum(),
        trace_tests: files.iter().map(|f| f.number_of_tests).sum(),
        trace_files: files.len(),
    };
    Ok((tree, generated))
}

/// Writes every codec and trace vector, with the schemas and the manifest, under `out`.
pub fn generate(out: &Path) -> Result<Generated, Error> {
    let (tree, generated) = render()?;
    mimi_ds_vectors::write_tree(out, &tree)?;
    Ok(generated)
}

/// One line per file under `dir` that differs from a fresh generation (other bytes,
/// missing, or not generated); none if `dir` is what `generate` would write.
pub fn check(dir: &Path) -> Result<Vec<String>, Error> {
    let (fresh, _) = render()?;
    let found = mimi_ds_vectors::read_tree(dir)?;
    Ok(mimi_ds_vectors::differences(dir, &fresh, &found))
}
