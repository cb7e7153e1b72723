//! `mimi-ds-check`: decode and encode the draft's structures, list requirements and errata,
//! generate and verify vectors.

use clap::{Parser, Subcommand};
use mimi_ds_harness::{codec_cli, vector_files, CliError, CliResult};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "mimi-ds-check", version, about = "Conformance suite for the MIMI Delivery Service draft")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode hex (argument, or stdin one per line) into one JSON object per line.
    Decode {
        /// `mls-message` or a structure of the draft in kebab case (`send-request`, …).
        structure: String,
        hex: Option<String>,
    },
    /// Encode JSON (argument, or stdin one per line) as produced by `decode` back into hex.
    Encode { structure: String, json: Option<String> },
    /// The requirement catalogue: every normative statement of the draft.
    Requirements {
        #[arg(long)]
        json: bool,
    },
    /// Our decisions on what the draft leaves open.
    Errata {
        #[arg(long)]
        json: bool,
    },
    /// Generate or verify the test vectors.
    Vectors {
        #[command(subcommand)]
        action: VectorsAction,
    },
}

#[derive(Subcommand)]
enum VectorsAction {
    /// Write every vector file, deterministically.
    Generate {
        #[arg(long, default_value = "vectors")]
        out: PathBuf,
    },
    /// Recompute every vector's expectation and fail on any difference.
    Verify {
        #[arg(default_value = "vectors")]
        dir: PathBuf,
    },
}

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Decode { structure, hex } => codec_cli::decode(&structure, hex),
        Command::Encode { structure, json } => codec_cli::encode(&structure, json),
        Command::Requirements { json } => {
            let catalogue = mimi_ds_model::requirements::CATALOGUE;
            if json {
                println!("{}", serde_json::to_string_pretty(catalogue).map_err(|e| CliError(e.to_string()))?);
            } else {
                for r in catalogue {
                    println!("{:<52} {:<10} {}", r.id.0, r.level.keyword().unwrap_or("STATEMENT"), r.section);
                }
            }
            Ok(())
        }
        Command::Errata { json } => {
            let errata = mimi_ds_model::errata::ERRATA;
            if json {
                println!("{}", serde_json::to_string_pretty(errata).map_err(|e| CliError(e.to_string()))?);
            } else {
                for e in errata {
                    println!("{}\n  decision: {}\n  reason:   {}\n", e.id.0, e.decision, e.reason);
                }
            }
            Ok(())
        }
        Command::Vectors { action: VectorsAction::Generate { out } } => {
            let tests = vector_files::generate(&out)?;
            println!("wrote {tests} codec vectors under {}", out.display());
            Ok(())
        }
        Command::Vectors { action: VectorsAction::Verify { dir } } => {
            let v = vector_files::verify(&dir)?;
            for p in &v.problems {
                eprintln!("mimi-ds-check: {p}");
            }
            if v.problems.is_empty() {
                println!("verified {} vectors in {} files under {}", v.tests, v.files, dir.display());
                Ok(())
            } else {
                Err(CliError(format!("{} problems in {} vectors under {}", v.problems.len(), v.tests, dir.display())))
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message is several lines; the first says what is wrong.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments").trim_start_matches("error: ");
            eprintln!("mimi-ds-check: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(msg)) => {
            if !msg.is_empty() {
                eprintln!("mimi-ds-check: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}
