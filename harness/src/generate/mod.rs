//! The trace vector generator: real MLS clients on several providers play the draft's flows,
//! and the model says what the target must answer at every step.
//!
//! This module owns the assembly of the trace vector files: `mls` is the openmls kit,
//! `stories` the MLS histories it plays once, `scenarios` the tables slicing them into
//! cases per draft section; [`trace_files`] runs every case through
//! `mimi_ds_model::vectors::trace::build` and groups the results by section.

pub mod mls;
mod scenarios;
pub mod stories;

use mimi_ds_model::vectors::trace::{self, TraceVectorFile};

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
