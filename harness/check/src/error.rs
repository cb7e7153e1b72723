//! What can go wrong in the checker before a target is graded: the vectors and the cases they
//! make, the selection, starting the runtime, the reference DS and the peers, connecting to
//! the target, exploring, setting a stress run up, and writing the reports. A target that answers wrongly is no error
//! here: it gets a grade.

use crate::cases::CaseError;
use crate::runner::ConnectError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Vectors(#[from] mimi_ds_vectors::Error),
    /// A trace vector that does not make a case the runner can replay.
    #[error("{}: {id}: {source}", path.display())]
    Case {
        path: PathBuf,
        id: String,
        source: CaseError,
    },
    #[error("--only {pattern:?} is not a glob: {source}")]
    Glob {
        pattern: String,
        source: glob::PatternError,
    },
    /// The filters (`--only`, `--role`) left nothing: a run that checks nothing must not
    /// look like a pass.
    #[error("no case selected: {filters} matched none of the {total} cases")]
    NothingSelected { filters: String, total: usize },
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    #[cfg(feature = "reference")]
    #[error("starting the reference DS: {0}")]
    Reference(std::io::Error),
    /// A run without a target where the in-process reference DS is not compiled in.
    #[cfg(not(feature = "reference"))]
    #[error("no target: give the base URL of the DS (running the reference DS in process needs the checker's `reference` feature)")]
    NoTarget,
    #[error("starting the peers: {0}")]
    Peers(std::io::Error),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("nothing to run: the target offers none of the roles asked for")]
    NoRoleOffered,
    /// A random trace the generator drew that does not build into a case.
    #[cfg(feature = "explore")]
    #[error("a random trace does not build: {0}")]
    RandomTrace(String),
    #[cfg(feature = "explore")]
    #[error("a random trace does not replay: {0}")]
    RandomCase(CaseError),
    #[cfg(feature = "explore")]
    #[error("exploring aborted: {0}")]
    ExploreAborted(String),
    /// A stress run whose target could not be set up (or whose clients broke down).
    #[error("stress: {0}")]
    StressSetup(String),
    #[error("writing junit.xml: {0}")]
    Junit(quick_junit::SerializeError),
    /// Creating the report directory (`action` "creating") or writing a report in it.
    #[error("{action} {}: {source}", path.display())]
    Report {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T = (), E = Error> = std::result::Result<T, E>;
