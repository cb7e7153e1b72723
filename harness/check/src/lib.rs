//! The checker: replays the vectors (`cases`) against any DS at a URL (`runner`), playing the
//! peers it calls (`peers`); sums a run up (`suite`, the library entry point) and writes its
//! reports (`report`). With features: random traces over real MLS (`explore`), the reference
//! DS in process and the suite's score against its mutants (`reference`, `score`). What can
//! go wrong before a target gets a grade is an [`Error`].

pub mod cases;
#[cfg(feature = "explore")]
pub mod explore;
pub mod peers;
pub mod report;
pub mod runner;
#[cfg(feature = "reference")]
pub mod score;
pub mod suite;

mod error;
pub use error::{Error, Result};
