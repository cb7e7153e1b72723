//! The checker: replays the vectors (`cases`) against any DS at a URL (`runner`), playing the
//! peers it calls (`peers`); sums a run up (`suite`, the library entry point) and writes its
//! reports (`report`). With features: random traces over real MLS (`explore`), the reference
//! DS in process and the suite's score against its mutants (`reference`, `score`).

pub mod cases;
#[cfg(feature = "explore")]
pub mod explore;
pub mod peers;
pub mod report;
pub mod runner;
#[cfg(feature = "reference")]
pub mod score;
pub mod suite;

/// A failure to report on one line and exit 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

impl From<String> for CliError {
    fn from(s: String) -> Self {
        CliError(s)
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

impl From<mimi_ds_vectors::Error> for CliError {
    fn from(e: mimi_ds_vectors::Error) -> Self {
        CliError(e.to_string())
    }
}
