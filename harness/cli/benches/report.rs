//! The benchmark report: every headline figure of the project in one run, each beside its goal,
//! so a regression shows at a glance. `cargo bench -p mimi-ds-check-cli --bench report`.
//!
//! Medians with their spread (min–max) over several runs; a measurement, never a test, as these
//! machines are shared and noisy. Fuzzing throughput needs nightly and is measured apart
//! (`fuzz/README.md`, "Speed").

use mimi_ds_binding::tls::{HttpVersions, Pki};
use mimi_ds_check::cases;
use mimi_ds_check::runner::Grade;
use mimi_ds_check::stress;
use mimi_ds_check::suite::{self, Options};
use mimi_ds_check::transport::Tls;
use mimi_ds_model::codec::{ReceiveResponse, Wire};
use mimi_ds_model::ds::scenario::hosting_hub;
use mimi_ds_model::ds::{check, workloads, Model, Reference};
use mimi_ds_model::vectors::trace;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Median, min and max of some measurements.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        Spread {
            median: values[values.len() / 2],
            min: values[0],
            max: values[values.len() - 1],
        }
    }

    fn show(&self, unit: &str, decimals: usize) -> String {
        format!(
            "{:.*} {unit} ({:.*}–{:.*})",
            decimals, self.median, decimals, self.min, decimals, self.max
        )
    }
}

/// One line of the report: what, the measured figure, the goal, and whether it is met.
fn row(figure: &str, measured: String, goal: &str, met: Option<bool>) {
    let mark = match met {
        Some(true) => "met",
        Some(false) => "NOT MET",
        None => "",
    };
    println!("{figure:<44} {measured:<38} {goal:<14} {mark}");
}

fn seconds(run: impl FnOnce()) -> f64 {
    let started = Instant::now();
    run();
    started.elapsed().as_secs_f64()
}

/// The suite against the in-process reference: wall time and its ratio to the loopback floor.
fn suite_figures() {
    let bundled = cases::load(Path::new(mimi_ds_vectors::BUNDLED)).expect("bundled vectors");
    let runs: Vec<(f64, f64)> = (0..7)
        .map(|_| {
            let summary =
                suite::run(&bundled, &Options::default(), &|_, _| {}).expect("the suite runs");
            assert_eq!(summary.count(Grade::Fail), 0, "the reference fails a case");
            let wall = summary.wall.as_secs_f64();
            let floor = summary.floor.as_secs_f64() * summary.exchanges as f64;
            (wall * 1000.0, wall / floor)
        })
        .collect();
    let ratio = Spread::of(runs.iter().map(|r| r.1).collect());
    row(
        "suite vs reference: wall",
        Spread::of(runs.iter().map(|r| r.0).collect()).show("ms", 0),
        "",
        None,
    );
    row(
        "suite vs reference: × loopback floor",
        ratio.show("×", 2),
        "≤ 1.5×",
        Some(ratio.median <= 1.5),
    );
}

/// The hub cases against a reference DS served by `mimi-ds-check serve` in a process of its
/// own: wall time and its ratio to the loopback floor, as a user's DS in another process
/// would be run.
#[cfg(unix)]
fn served_figures() {
    use std::io::BufRead;
    let mut served = std::process::Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mimi-ds-check serve starts");
    let mut first = String::new();
    std::io::BufReader::new(served.stdout.take().expect("piped"))
        .read_line(&mut first)
        .expect("serve prints its URL");
    let url = first
        .rsplit(' ')
        .next()
        .expect("a URL ends the line")
        .trim();
    let options = Options {
        target: Some(url.to_owned()),
        role: Some(mimi_ds_check::runner::Role::Hub),
        ..Options::default()
    };
    let bundled = cases::load(Path::new(mimi_ds_vectors::BUNDLED)).expect("bundled vectors");
    let hub = suite::select(bundled, &options).expect("hub cases");
    let ratios = Spread::of(
        (0..7)
            .map(|_| {
                let summary = suite::run(&hub, &options, &|_, _| {}).expect("the suite runs");
                assert_eq!(summary.count(Grade::Fail), 0, "the reference fails a case");
                let floor = summary.floor.as_secs_f64() * summary.exchanges as f64;
                summary.wall.as_secs_f64() / floor
            })
            .collect(),
    );
    served.kill().expect("serve stops");
    served.wait().expect("serve ends");
    row(
        "hub cases vs served reference: × floor",
        ratios.show("×", 2),
        "≤ 2×",
        Some(ratios.median <= 2.0),
    );
}

/// The same vectors against the in-process reference over mutual TLS and in plain HTTP, run
/// in turns: the TLS run's wall time over the plain run's, for each HTTP version.
fn tls_figures() {
    let bundled = cases::load(Path::new(mimi_ds_vectors::BUNDLED)).expect("bundled vectors");
    let pki = Arc::new(Pki::generate().expect("a test CA"));
    let wall = |options: &Options| {
        let summary = suite::run(&bundled, options, &|_, _| {}).expect("the suite runs");
        assert_eq!(summary.count(Grade::Fail), 0, "the reference fails a case");
        summary.wall.as_secs_f64()
    };
    for (name, versions) in [
        ("HTTP/1.1", HttpVersions::Http1),
        ("HTTP/2", HttpVersions::Http2),
    ] {
        let tls = Options {
            tls: Some(Tls {
                pki: pki.clone(),
                versions,
            }),
            ..Options::default()
        };
        let ratios = Spread::of(
            (0..7)
                .map(|_| wall(&tls) / wall(&Options::default()))
                .collect(),
        );
        row(
            &format!("suite over TLS ({name}) / plain HTTP"),
            ratios.show("×", 2),
            "≤ 2×",
            Some(ratios.median <= 2.0),
        );
    }
}

/// `stress` against the in-process reference: 32 clients, 20,000 operations, its sends/s.
fn stress_figures() {
    let runs: Vec<(f64, f64)> = (0..3)
        .map(|seed| {
            let settings = stress::Settings {
                clients: 32,
                stop: stress::Stop::Operations(20_000),
                seed,
            };
            let run =
                stress::run(&Options::default(), settings, Arc::new(|| {})).expect("stress runs");
            assert!(run.counterexample.is_none(), "the reference fails stress");
            let seconds = run.wall.as_secs_f64();
            (run.sends as f64 / seconds, run.p99.as_secs_f64() * 1000.0)
        })
        .collect();
    let sends = Spread::of(runs.iter().map(|r| r.0).collect());
    row(
        "stress vs reference (32 clients): sends/s",
        sends.show("sends/s", 0),
        "≥ 10000/s",
        Some(sends.median >= 10_000.0),
    );
    row(
        "stress vs reference (32 clients): p99",
        Spread::of(runs.iter().map(|r| r.1).collect()).show("ms", 2),
        "",
        None,
    );
}

fn explore_figures() {
    let rates = Spread::of(
        (0..3)
            .map(|_| {
                let found = suite::explore(&Options::default(), 1000, 24, 1).expect("explores");
                assert!(
                    found.counterexample.is_none(),
                    "the reference fails a trace"
                );
                found.runs as f64 / found.wall.as_secs_f64()
            })
            .collect(),
    );
    row(
        "explore vs reference (24 ops)",
        rates.show("traces/s", 0),
        "≥ 1000/s",
        Some(rates.median >= 1000.0),
    );
}

/// The checker judging a 10,000-step hub trace, in process: alone, on the reference's
/// answers recorded beforehand (as a run judges a target that answers on its own), which is
/// the goal's figure; and with the reference answering each step in the same loop, for scale.
fn checking_figures() {
    let trace = workloads::hub_trace(10_000);
    let mut target = hosting_hub();
    let answers: Vec<_> = trace
        .iter()
        .map(|input| Reference.apply(&mut target, input))
        .collect();
    let alone = Spread::of(
        (0..7)
            .map(|_| {
                let mut model = hosting_hub();
                let took = seconds(|| {
                    for (input, observed) in trace.iter().zip(&answers) {
                        black_box(check(&mut model, input, observed)).expect("passes");
                    }
                });
                trace.len() as f64 / took / 1000.0
            })
            .collect(),
    );
    let with_reference = Spread::of(
        (0..7)
            .map(|_| {
                let (mut target, mut model) = (hosting_hub(), hosting_hub());
                let took = seconds(|| {
                    for input in &trace {
                        let observed = Reference.apply(&mut target, input);
                        black_box(check(&mut model, input, &observed)).expect("passes");
                    }
                });
                trace.len() as f64 / took / 1000.0
            })
            .collect(),
    );
    row(
        "checked steps/s (10,000-step trace)",
        alone.show("k/s", 0),
        "≥ 1000 k/s",
        Some(alone.median >= 1000.0),
    );
    row(
        "  reference answering + checker",
        with_reference.show("k/s", 0),
        "",
        None,
    );
}

fn decode_figures() {
    let input = workloads::receive_response_bytes(1_000, 1_024);
    let rates = Spread::of(
        (0..50)
            .map(|_| {
                let took = seconds(|| {
                    black_box(ReceiveResponse::from_bytes(black_box(&input)).expect("decodes"));
                });
                input.len() as f64 / took / f64::from(1u32 << 30)
            })
            .collect(),
    );
    row(
        "decode ReceiveResponse (1,000 × 1 KiB)",
        rates.show("GiB/s", 2),
        "≥ 1 GiB/s",
        Some(rates.median >= 1.0),
    );
}

fn generation_figures() {
    let out = std::env::temp_dir().join("mimi-ds-bench-vectors");
    let took = Spread::of(
        (0..3)
            .map(|_| seconds(|| drop(mimi_ds_generate::generate(&out).expect("generates"))))
            .collect(),
    );
    row(
        "vector generation (openmls, all files)",
        took.show("s", 2),
        "(none set)",
        None,
    );
}

/// One long vector, end to end as `run --vectors` spends it: written, loaded, replayed. It
/// stays in the temporary directory, for `mimi-ds-check run --vectors DIR` against any DS.
fn long_trace_figures(steps: u32, goal_seconds: f64) {
    let test = trace::build(&workloads::long_hub_case(steps)).expect("builds");
    let dir = std::env::temp_dir().join(format!("mimi-ds-long-trace-{steps}"));
    mimi_ds_vectors::write_trace_file(&dir, &trace::file("bench", vec![test])).expect("written");
    let took = seconds(|| {
        let cases = cases::load(&dir).expect("loads");
        let summary = suite::run(&cases, &Options::default(), &|_, _| {}).expect("runs");
        assert_eq!(summary.results[0].grade, Grade::Pass);
    });
    row(
        &format!("{steps}-step vector vs reference"),
        format!("{took:.2} s"),
        &format!("< {goal_seconds} s"),
        Some(took < goal_seconds),
    );
}

/// Peak memory of `mimi-ds-check run` with its reports, in a process of its own.
#[cfg(unix)]
fn memory_figures() {
    let reports = std::env::temp_dir().join("mimi-ds-bench-reports");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mimi-ds-check"))
        .args(["run", "--vectors", mimi_ds_vectors::BUNDLED, "--report-dir"])
        .arg(&reports)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("mimi-ds-check runs");
    assert!(status.success(), "the run against the reference passes");
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let megabytes = usage.ru_maxrss as f64 / 1024.0;
    row(
        "peak memory of `run` (with reports)",
        format!("{megabytes:.0} MB"),
        "< 64 MB",
        Some(megabytes < 64.0),
    );
}

fn main() {
    println!("{:<44} {:<38} {:<14}", "figure", "median (min–max)", "goal");
    // First, while this process is small: a child's peak counts what it shared before exec.
    #[cfg(unix)]
    memory_figures();
    suite_figures();
    #[cfg(unix)]
    served_figures();
    tls_figures();
    explore_figures();
    checking_figures();
    decode_figures();
    generation_figures();
    long_trace_figures(10_000, 10.0);
    long_trace_figures(100_000, 30.0);
    stress_figures();
}
