//! The trace vector generator: real MLS clients on several providers play the draft's flows,
//! and the model says what the target must answer at every step.
//!
//! This crate owns the assembly of the trace vector files: `mls` is the openmls kit,
//! `stories` the MLS histories it plays once, `scenarios` the tables slicing them into
//! cases per draft section; [`trace_files`] runs every case through
//! `mimi_ds_model::vectors::trace::build` and groups the results by section.

pub mod mls;
mod scenarios;
pub mod seeded;
pub mod stories;

use mimi_ds_model::vectors::codec;
use mimi_ds_model::vectors::trace::{self, TraceVectorFile};
use std::path::Path;

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

/// How many vectors `generate` wrote.
pub struct Generated {
    pub codec_tests: usize,
    pub trace_tests: usize,
    pub trace_files: usize,
}

/// Writes every codec and trace vector, with the schemas, under `out`.
pub fn generate(out: &Path) -> Result<Generated, Error> {
    let codec_files = codec::generate().map_err(Error::Generation)?;
    mimi_ds_vectors::write_dir(
        &out.join(mimi_ds_vectors::CODEC_DIR),
        &codec_files,
        |f| &f.structure,
        codec::SCHEMA_FILE,
        &codec::schema(),
    )?;
    let files = trace_files().map_err(Error::Generation)?;
    mimi_ds_vectors::write_dir(
        &out.join(mimi_ds_vectors::TRACE_DIR),
        &files,
        |f| &f.section,
        trace::SCHEMA_FILE,
        &trace::schema(),
    )?;
    let codec_tests = codec_files.iter().map(|f| f.number_of_tests).sum();
    let trace_tests = files.iter().map(|f| f.number_of_tests).sum();
    Ok(Generated {
        codec_tests,
        trace_tests,
        trace_files: files.len(),
    })
}
