//! The checker: replays the vectors (`cases`) against any DS at a URL (`runner`), playing the
//! peers it calls (`peers`), over plain HTTP or mutual TLS (`transport`); sums a run up
//! (`suite`, the library entry point) and writes its reports (`report`), telling a trace as a
//! story (`story`); fuzzes a target over HTTP (`fuzz`); checks a concurrent history for
//! linearizability (`linearizability`). With features: random traces over real MLS and many
//! clients at once over real MLS groups (`explore`: `explore`, `stress`), the reference DS
//! in process and the suite's score against its mutants (`reference`, `score`). What can go wrong before a target gets a
//! grade is an [`Error`]. Every body read from a target, by the runner or its peers, is read
//! within a cap and a deadline (`body`).

pub mod body;
pub mod cases;
#[cfg(feature = "explore")]
pub mod explore;
pub mod fuzz;
pub mod linearizability;
pub mod peers;
pub mod report;
pub mod runner;
#[cfg(feature = "reference")]
pub mod score;
pub mod story;
#[cfg(feature = "explore")]
pub mod stress;
pub mod suite;
pub mod transport;

mod error;
pub use error::{Error, Result};
