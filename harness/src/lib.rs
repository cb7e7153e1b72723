//! mimi-ds-harness: the `mimi-ds-check` tool's library — the CLI commands that turn the model
//! crate's codec, catalogue and vectors into files, lines and exit codes.

pub mod binding;
pub mod cases;
pub mod codec_cli;
pub mod commands;
pub mod control;
pub mod explore;
pub mod freedoms;
pub mod generate;
pub mod mutants;
pub mod oblivious;
pub mod peers;
pub mod reference;
pub mod report;
pub mod runner;
pub mod suite;
pub mod vector_files;
pub mod wire;

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
