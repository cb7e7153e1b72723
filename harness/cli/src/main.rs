//! `mimi-ds-check`: decode and encode the draft's structures, list requirements and errata,
//! generate and verify vectors.

use clap::{Parser, Subcommand};
use mimi_ds_check::runner::Role;
use mimi_ds_check::stress::Stop;
/// `println!` for everything the CLI prints: a reader that went away (`… | head`) ends the
/// program quietly ([`line_out`]) in every command. SIGPIPE stays ignored, as Rust sets it:
/// a socket write to a peer that closed (a target, the runner's peers, the in-process
/// reference's calls) must be an error to handle, never the end of the run.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::line_out(format_args!($($arg)*))
    };
}

mod commands;

use anyhow::{anyhow, Result};
use mimi_ds_reference::{freedoms, mutants};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mimi-ds-check",
    version,
    about = "Conformance suite for the MIMI Delivery Service draft"
)]
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
    Encode {
        structure: String,
        json: Option<String>,
    },
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
    /// Run the suite against a DS (by default the reference DS, in process).
    Run(RunArgs),
    /// Fuzz a DS over HTTP (by default the reference DS, in process): malformed bodies,
    /// identities, media types and oversize bodies to every endpoint its roles serve and to
    /// test control; every answer judged, the state checked unchanged after each burst.
    Fuzz(FuzzArgs),
    /// Many clients at once against a hub; the history is checked for linearizability.
    Stress(StressArgs),
    /// Serve the reference DS (the model over the binding) until interrupted.
    Serve {
        #[arg(long, value_enum, default_value = "hub")]
        role: RoleArg,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Plant one bug (see `mimi-ds-check mutants`).
        #[arg(long, conflicts_with = "freedom")]
        mutant: Option<String>,
        /// Behave as one legal variant (see `mimi-ds-check freedoms`).
        #[arg(long)]
        freedom: Option<String>,
        /// Serve HTTPS with mutual TLS: present DIR/target.pem (key target.key), take client
        /// certificates from DIR/ca.pem's CA, and name callers by them (BINDING.md §3).
        #[arg(long, value_name = "DIR")]
        tls: Option<PathBuf>,
    },
    /// Write a test CA (ca.pem, ca.key) and, for each provider name, a certificate and key
    /// (NAME.pem, NAME.key) for NAME, localhost and 127.0.0.1; and target.pem/target.key
    /// naming every one, for a DS to serve in every role.
    Pki {
        dir: PathBuf,
        /// A provider name (repeatable); by default every provider the vectors name.
        #[arg(long = "name", default_values_t = mimi_ds_model::vectors::cast::ALL.map(String::from))]
        names: Vec<String>,
    },
    /// List the mutants of the reference DS, or (`--score`) run the suite against each.
    Mutants {
        #[arg(long)]
        score: bool,
        #[arg(long, default_value = "vectors")]
        vectors: PathBuf,
        /// Instead of the vectors, this many random traces per role against each mutant:
        /// every one must fail but those beyond random traces' reach, listed with why.
        #[arg(long, value_name = "TRACES", conflicts_with = "score")]
        explore: Option<u32>,
        /// Seed of the random traces with --explore.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// List the freedoms — legal variants of the reference DS, each using a discretion the
    /// draft gives — or (`--score`) run every vector and random traces against each: every
    /// one must pass.
    Freedoms {
        #[arg(long)]
        score: bool,
        #[arg(long, default_value = "vectors")]
        vectors: PathBuf,
        /// Random traces per freedom with --score.
        #[arg(long, default_value_t = 1000)]
        traces: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Generate or verify the test vectors.
    Vectors {
        #[command(subcommand)]
        action: VectorsAction,
    },
}

/// The DS under test and how it is talked to: what `run` and `fuzz` share.
#[derive(clap::Args)]
struct TargetArgs {
    /// Base URL of the DS under test; without it the reference DS runs in process.
    #[arg(long)]
    target: Option<String>,
    /// With no --target: plant this bug in the in-process reference DS.
    #[arg(long, conflicts_with_all = ["target", "freedom"])]
    mutant: Option<String>,
    /// With no --target: the in-process reference DS behaves as this legal variant.
    #[arg(long, conflicts_with = "target")]
    freedom: Option<String>,
    /// Seconds any one exchange may take, all of it: connecting, the answer's head and its
    /// whole body (also for the calls the target makes to the runner's peers).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// The most bytes read of any one body, answer or call; a longer one is not read on.
    /// Over the binding's 16 MiB a body fails (errata/transport); over a lower cap the
    /// case is indeterminate.
    #[arg(long, value_name = "BYTES", default_value_t = mimi_ds_binding::MAX_BODY)]
    max_body: usize,
    /// Mutual TLS with the test CA in DIR (ca.pem and ca.key, as `pki` writes): for an
    /// https --target, or the in-process reference. The runner's peers then listen on HTTPS
    /// and the certificate cases run.
    #[arg(long, value_name = "DIR")]
    pki: Option<PathBuf>,
    /// Mutual TLS with a fresh test CA, against the in-process reference.
    #[arg(long, conflicts_with = "pki")]
    tls: bool,
    /// Over TLS, the HTTP versions offered (ALPN): any, 1.1 or 2.
    #[arg(long, value_enum, default_value = "any")]
    http: commands::tls::HttpArg,
}

impl TargetArgs {
    /// The options of a run against this target, of `role`'s cases only if given.
    fn options(&self, role: Option<RoleArg>, settle: f64) -> Result<mimi_ds_check::suite::Options> {
        Ok(mimi_ds_check::suite::Options {
            target: self.target.clone(),
            mutant: self.mutant.as_deref().map(mutant).transpose()?,
            freedom: self.freedom.as_deref().map(freedom).transpose()?,
            role: role.map(Role::from),
            only: None,
            timeout: commands::seconds("--timeout", self.timeout)?,
            max_body: match self.max_body {
                0 => return Err(anyhow!("--max-body 0: give at least 1 byte")),
                n => n,
            },
            settle: commands::seconds("--settle", settle)?,
            tls: commands::tls::for_run(
                self.target.as_deref(),
                self.pki.as_deref(),
                self.tls,
                self.http,
            )?,
        })
    }
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only the cases of this role.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    #[arg(long, default_value = "vectors")]
    vectors: PathBuf,
    /// Only the cases whose id matches this glob (e.g. 'receive/*').
    #[arg(long)]
    only: Option<String>,
    /// Also fail on SHOULDs not met (non-strict verdicts).
    #[arg(long)]
    strict: bool,
    /// List the selected cases without running them.
    #[arg(long)]
    dry_run: bool,
    /// Write report.json, junit.xml and index.html here.
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// Instead of the vectors, run this many random traces (shrinking any failure to the
    /// smallest, written to --report-dir as a replayable vector).
    #[arg(long)]
    explore: Option<u32>,
    /// Seed of the random traces (the same seed gives the same traces).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most operations in one random trace.
    #[arg(long, default_value_t = 24)]
    max_ops: usize,
    /// For targets without the idle capability: seconds to wait for the calls an input
    /// should cause (WelcomeInit, Welcome, forwarding) before judging them.
    #[arg(long, default_value_t = DEFAULT_SETTLE)]
    settle: f64,
}

/// `--settle`'s default: what `fuzz`, which has no such flag, waits too.
const DEFAULT_SETTLE: f64 = 0.5;

#[derive(clap::Args)]
struct FuzzArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only fuzz the endpoints of this role (default: every role the target offers).
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// Where the valid requests mutated and the state set up come from.
    #[arg(long, default_value = "vectors")]
    vectors: PathBuf,
    /// Requests to send, shared among the roles fuzzed.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Seed of the requests (the same seed sends the same requests).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write report.json, junit.xml, index.html and, for a failure, failure.json and a
    /// replayable vector here.
    #[arg(long)]
    report_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct StressArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Clients at once, each one request at a time.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Operations in all, shared evenly among the clients (default 20,000).
    #[arg(long, conflicts_with = "seconds")]
    ops: Option<u64>,
    /// Run this long instead of a number of operations.
    #[arg(long)]
    seconds: Option<f64>,
    /// Decides each client's operations, groups and counters.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write report.json, junit.xml and index.html here, and a violation's history.
    #[arg(long)]
    report_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Hub,
    Follower,
    Rsp,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Hub => Role::Hub,
            RoleArg::Follower => Role::Follower,
            RoleArg::Rsp => Role::Rsp,
        }
    }
}

/// Operations of a `stress` run given neither --ops nor --seconds.
const DEFAULT_STRESS_OPS: u64 = 20_000;

fn freedom(name: &str) -> Result<freedoms::Freedom> {
    freedoms::find(name)
        .map(|f| f.kind)
        .ok_or_else(|| anyhow!("no freedom {name:?}; `mimi-ds-check freedoms` lists them"))
}

fn mutant(name: &str) -> Result<mutants::Mutant> {
    mutants::find(name)
        .map(|m| m.kind)
        .ok_or_else(|| anyhow!("no mutant {name:?}; `mimi-ds-check mutants` lists them"))
}

#[derive(Subcommand)]
enum VectorsAction {
    /// Write every vector file and MANIFEST.json. Two runs of the same generator write
    /// identical bytes: every MLS key, secret and nonce comes from a fixed seed (per seed
    /// scope, identity and provider; public, so these keys are for tests only) and nothing
    /// reads the clock. Other generator code or dependency versions may give other bytes.
    Generate {
        #[arg(long, default_value = "vectors")]
        out: PathBuf,
        /// Write nothing: compare DIR (default `vectors`) with a fresh generation, list
        /// every file that differs, is missing or is extra, and fail if any does.
        #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "vectors", conflicts_with = "out")]
        check: Option<PathBuf>,
    },
    /// Recompute every vector's expectation and fail on any difference.
    Verify {
        #[arg(default_value = "vectors")]
        dir: PathBuf,
    },
    /// Count trace vectors per requirement; fail unless every wire-testable requirement has
    /// one and every one needing a negative vector has one (vectors/README.md).
    Coverage {
        #[arg(default_value = "vectors")]
        dir: PathBuf,
    },
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Decode { structure, hex } => commands::codec::decode(&structure, hex),
        Command::Encode { structure, json } => commands::codec::encode(&structure, json),
        Command::Requirements { json } => commands::catalogue::requirements(json),
        Command::Errata { json } => commands::catalogue::errata(json),
        Command::Run(args) => {
            let options = mimi_ds_check::suite::Options {
                only: args.only,
                ..args.target.options(args.role, args.settle)?
            };
            match args.explore {
                Some(traces) => commands::suite::explore(
                    &options,
                    traces,
                    args.max_ops,
                    args.seed,
                    args.report_dir.as_deref(),
                ),
                None => commands::suite::run(
                    &args.vectors,
                    &options,
                    args.strict,
                    args.dry_run,
                    args.report_dir.as_deref(),
                ),
            }
        }
        Command::Fuzz(args) => commands::fuzz::fuzz(
            &args.vectors,
            &args.target.options(args.role, DEFAULT_SETTLE)?,
            args.requests,
            args.seed,
            args.report_dir.as_deref(),
        ),
        Command::Stress(args) => {
            let options = args.target.options(None, DEFAULT_SETTLE)?;
            let stop = match (args.ops, args.seconds) {
                (_, Some(s)) => Stop::Seconds(commands::seconds("--seconds", s)?),
                (Some(0), None) => return Err(anyhow!("--ops 0: give at least 1")),
                (Some(n), None) => Stop::Operations(n),
                (None, None) => Stop::Operations(DEFAULT_STRESS_OPS),
            };
            if args.clients == 0 || args.clients > 1024 {
                return Err(anyhow!("--clients {}: give 1 to 1024", args.clients));
            }
            let settings = mimi_ds_check::stress::Settings {
                clients: args.clients,
                stop,
                seed: args.seed,
            };
            commands::stress::stress(&options, settings, args.report_dir.as_deref())
        }
        Command::Serve {
            role,
            listen,
            mutant: bug,
            freedom: variant,
            tls,
        } => commands::suite::serve(
            Role::from(role),
            listen,
            bug.as_deref().map(mutant).transpose()?,
            variant.as_deref().map(freedom).transpose()?,
            tls.as_deref().map(commands::tls::for_serve).transpose()?,
        ),
        Command::Pki { dir, names } => commands::tls::write_pki(&dir, &names),
        Command::Freedoms {
            score,
            vectors,
            traces,
            seed,
        } => commands::suite::freedoms(score, &vectors, traces, seed),
        Command::Mutants {
            explore: Some(traces),
            seed,
            ..
        } => commands::suite::mutants_explored(traces, seed),
        Command::Mutants { score, vectors, .. } => commands::suite::mutants(score, &vectors),
        Command::Vectors { action } => match action {
            VectorsAction::Generate {
                check: Some(dir), ..
            } => commands::vectors::check(&dir),
            VectorsAction::Generate { out, check: None } => commands::vectors::generate(&out),
            VectorsAction::Verify { dir } => commands::vectors::verify(&dir),
            VectorsAction::Coverage { dir } => commands::vectors::coverage(&dir),
        },
    }
}

/// Writes one line to stdout. A closed stdout ends the program at once, quietly, with the
/// status a death by SIGPIPE gives (128 + 13), as for any Unix tool; any other failure to
/// write ends it with one line on stderr. Never a panic, which `println!` would be.
pub(crate) fn line_out(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => {
            eprintln!("mimi-ds-check: writing stdout: {e}");
            std::process::exit(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            outln!("{}", e.to_string().trim_end());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message is several lines; the first says what is wrong.
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            eprintln!("mimi-ds-check: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<AlreadyReported>() => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("mimi-ds-check: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// A failure whose every line is already on stderr: the exit status carries the rest.
#[derive(Debug, thiserror::Error)]
#[error("already reported")]
struct AlreadyReported;

/// An error and the chain of its causes on one line, each cause after a colon. The checker's
/// errors spell their cause out (`{source}` in their message), for library users who print
/// them plainly; such a cause, already on the line, is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
