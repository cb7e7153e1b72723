//! Where the runner's cases come from: the trace vectors on disk.

use crate::runner::Case;
use crate::{CliError, CliResult};
use std::path::Path;

pub fn load(dir: &Path) -> CliResult<Vec<Case>> {
    Err(CliError(format!(
        "no trace vectors under {}",
        dir.display()
    )))
}
