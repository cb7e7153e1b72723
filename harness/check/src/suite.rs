//! One run of the suite: pick the target (a URL, or with the `reference` feature the reference
//! DS in process, possibly a mutant), start the peers, replay the selected cases, and sum up.
//! This is also the library entry point a Rust implementer's `#[test]` calls.

use crate::body::Limits;
use crate::peers::Peers;
use crate::runner::{role_name, run_case, Case, CaseResult, Grade, Rig, Role, Settings, Target};
use crate::transport::Tls;
use crate::{Error, Result};
use mimi_ds_binding::wire::WireLog;
use mimi_ds_model::codec::ServiceProviderId;
#[cfg(feature = "reference")]
use mimi_ds_model::vectors::cast;
#[cfg(feature = "reference")]
use mimi_ds_reference as reference;
#[cfg(feature = "reference")]
use mimi_ds_reference::{
    freedoms::{self, Freedom},
    mutants::{self, Mutant},
};
#[cfg(feature = "reference")]
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The one call for a Rust implementer's `#[test]`: every bundled vector against `target`
/// (a base URL), or against the in-process reference DS when `None` (with the `reference`
/// feature; without, `None` is [`Error::NoTarget`]).
///
/// ```no_run
/// let summary = mimi_ds_check::suite::check(Some("http://127.0.0.1:8080")).unwrap();
/// assert!(summary.passed(false), "{}", summary.line());
/// ```
pub fn check(target: Option<&str>) -> Result<Summary> {
    let options = Options {
        target: target.map(String::from),
        ..Options::default()
    };
    let cases = select(
        crate::cases::load(std::path::Path::new(mimi_ds_vectors::BUNDLED))?,
        &options,
    )?;
    run(&cases, &options, &|_, _| {})
}

/// Consecutive cases in which the target answered no request at all (refused, reset, not
/// HTTP, or nothing whole before the deadline) after which it counts as gone: the rest are
/// not run, so a hung server costs a few timeouts, not one per case. A target that answers
/// some requests (a reset) but not others (one broken endpoint) is never gone: each of its
/// cases is run and graded.
const GIVE_UP_AFTER: usize = 5;

/// Round trips measured for the loopback floor.
const FLOOR_SAMPLES: usize = 200;

/// What to run and against what.
#[derive(Clone, Debug)]
pub struct Options {
    /// Base URL of the DS under test; `None` runs the reference DS in process.
    pub target: Option<String>,
    /// With no target: the bug to plant in the in-process reference.
    #[cfg(feature = "reference")]
    pub mutant: Option<Mutant>,
    /// With no target: the legal variant the in-process reference behaves as.
    #[cfg(feature = "reference")]
    pub freedom: Option<Freedom>,
    /// Only cases of this role.
    pub role: Option<Role>,
    /// Only cases whose id matches this glob (`*`, `?`, `[…]`).
    pub only: Option<String>,
    /// Per exchange, all of it: connecting, the answer's head and its body.
    pub timeout: Duration,
    /// The most bytes read of any one body (default the binding's 16 MiB).
    pub max_body: usize,
    /// For targets without the `idle` capability: how long to wait for their calls.
    pub settle: Duration,
    /// Mutual TLS (BINDING.md §3): the target is reached over HTTPS and the peers listen on
    /// HTTPS, with certificates from this CA; the certificate cases run. With no target,
    /// the reference serves HTTPS with a certificate from it.
    pub tls: Option<Tls>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: None,
            #[cfg(feature = "reference")]
            mutant: None,
            #[cfg(feature = "reference")]
            freedom: None,
            role: None,
            only: None,
            timeout: Duration::from_secs(5),
            max_body: mimi_ds_binding::MAX_BODY,
            settle: Duration::from_millis(500),
            tls: None,
        }
    }
}

/// The results of a run, with the figures of the benchmark.
#[derive(Debug)]
pub struct Summary {
    pub target: String,
    pub results: Vec<CaseResult>,
    pub wall: Duration,
    /// HTTP exchanges in both directions.
    pub exchanges: usize,
    /// Median loopback round trip to the target, measured in the same run.
    pub floor: Duration,
}

impl Summary {
    pub fn count(&self, grade: Grade) -> usize {
        self.results.iter().filter(|r| r.grade == grade).count()
    }

    /// Nothing failed (and, when strict, no SHOULD was missed).
    pub fn passed(&self, strict: bool) -> bool {
        self.problem(strict).is_none()
    }

    /// Why this run is not a pass: a failure (with `strict`, a SHOULD not met), a case that
    /// could not be observed, or nothing checked at all. `None` for a pass.
    pub fn problem(&self, strict: bool) -> Option<String> {
        let failed = self.count(Grade::Fail)
            + if strict {
                self.count(Grade::NonStrict)
            } else {
                0
            };
        let indeterminate = self.count(Grade::Indeterminate);
        let checked = self.count(Grade::Pass)
            + self.count(Grade::Fail)
            + self.count(Grade::NonStrict)
            + self.count(Grade::Informational);
        if failed > 0 {
            let strict_note = if strict {
                " (strict: non-strict counts)"
            } else {
                ""
            };
            Some(format!("{} failed{strict_note}", n_cases(failed)))
        } else if indeterminate > 0 {
            Some(format!("{} indeterminate (timeouts or transport errors): nothing can be concluded from them", n_cases(indeterminate)))
        } else if checked == 0 {
            Some(format!(
                "no case could be checked: all {} were skipped for capabilities the target lacks",
                self.results.len()
            ))
        } else {
            None
        }
    }

    /// The benchmark line: wall time, exchanges per second, and how the run compares with
    /// the loopback floor (every exchange at the floor's cost).
    pub fn timing_line(&self) -> String {
        let wall = self.wall.as_secs_f64();
        let floor_total = self.floor.as_secs_f64() * self.exchanges as f64;
        format!(
            "{:.0} ms wall, {} exchanges, {:.0} exchanges/s; loopback floor {:.0} µs per round trip, {:.0} ms for all exchanges ({:.2}x)",
            wall * 1000.0,
            self.exchanges,
            self.exchanges as f64 / wall.max(1e-9),
            self.floor.as_secs_f64() * 1e6,
            floor_total * 1000.0,
            wall / floor_total.max(1e-9)
        )
    }

    /// One line: counts per grade.
    pub fn line(&self) -> String {
        let parts: Vec<String> = Grade::ALL
            .iter()
            .map(|v| format!("{} {}", self.count(*v), v.name()))
            .collect();
        format!(
            "{} against {}: {}",
            n_cases(self.results.len()),
            self.target,
            parts.join(", ")
        )
    }
}

/// "1 case", "2 cases".
fn n_cases(n: usize) -> String {
    match n {
        1 => "1 case".into(),
        n => format!("{n} cases"),
    }
}

/// The cases `options` selects, in order, over TLS with the certificate cases after them; an
/// error if none is left (a run that checks nothing must not look like a pass).
pub fn select(mut cases: Vec<Case>, options: &Options) -> Result<Vec<Case>> {
    if options.tls.is_some() {
        let derived = crate::cases::certificate_cases(&cases);
        cases.extend(derived);
    }
    let pattern = match &options.only {
        Some(p) => Some(glob::Pattern::new(p).map_err(|source| Error::Glob {
            pattern: p.clone(),
            source,
        })?),
        None => None,
    };
    let total = cases.len();
    let chosen: Vec<Case> = cases
        .into_iter()
        .filter(|c| options.role.is_none_or(|r| c.role == r))
        .filter(|c| pattern.as_ref().is_none_or(|p| p.matches(&c.id)))
        .collect();
    if chosen.is_empty() {
        let mut why = vec![];
        if let Some(p) = &options.only {
            why.push(format!("--only {p:?}"));
        }
        if let Some(r) = options.role {
            why.push(format!("--role {}", role_name(r)));
        }
        return Err(Error::NothingSelected {
            filters: why.join(" and "),
            total,
        });
    }
    Ok(chosen)
}

/// Runs `cases` (already selected) against the target of `options`.
pub fn run(
    cases: &[Case],
    options: &Options,
    progress: &dyn Fn(usize, &CaseResult),
) -> Result<Summary> {
    runtime()?.block_on(run_async(cases, options, progress))
}

/// The runtime of a run that sends one request at a time (`run`, `explore`, `fuzz`): one
/// thread for the runner, its peers and the in-process reference, so an exchange costs no
/// wake-up of another thread. On two worker threads each exchange paid two of them, and
/// the loopback round trip measured 100 µs instead of 16 µs.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// The runtime of `stress`, whose clients overlap: a worker per core.
pub(crate) fn concurrent_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// What keeps the in-process reference DS serving while a run uses it.
#[cfg(feature = "reference")]
type Serving = Option<reference::Server>;
#[cfg(not(feature = "reference"))]
type Serving = ();

/// A target connected to, the peers started, and the name reports give the target.
pub(crate) struct Running {
    pub(crate) rig: Rig,
    pub(crate) name: String,
    _serving: Serving,
}

/// Connects to the target of `options` (the given URL, or a reference DS started here) and
/// starts the peers `ids`.
pub(crate) async fn start(options: &Options, ids: Vec<ServiceProviderId>) -> Result<Running> {
    let (serving, url, name) = match &options.target {
        Some(url) => (Serving::default(), url.clone(), url.clone()),
        None => start_reference(options).await?,
    };
    let log = WireLog::default();
    let limits = Limits {
        max_body: options.max_body,
        timeout: options.timeout,
    };
    let target = Target::connect(&url, limits, log.clone(), options.tls.clone()).await?;
    let peers = Peers::start(ids, &log, limits, options.tls.as_ref())
        .await
        .map_err(Error::Peers)?;
    let settings = Settings {
        settle: options.settle,
    };
    Ok(Running {
        rig: Rig {
            target,
            peers,
            log,
            settings,
        },
        name,
        _serving: serving,
    })
}

/// The reference DS of `options` (with its mutant or freedom), serving on a free port: what
/// keeps it serving, its URL, its name.
#[cfg(feature = "reference")]
async fn start_reference(options: &Options) -> Result<(Serving, String, String)> {
    let config = reference::Config {
        me: ServiceProviderId::new("hub.example").expect("valid domain"),
        mutant: options.mutant,
        freedom: options.freedom,
        call_timeout: options.timeout,
        idle: true,
    };
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = match &options.tls {
        None => reference::start(config, listen).await,
        Some(tls) => {
            let identity = tls
                .pki
                .issue(&cast::ALL)
                .map_err(|e| Error::Reference(std::io::Error::other(e)))?;
            let serving = reference::server::ServerTls {
                pki: tls.pki.clone(),
                identity,
            };
            reference::server::start_tls(config, Default::default(), listen, serving).await
        }
    }
    .map_err(Error::Reference)?;
    let name = match (options.mutant, options.freedom) {
        (Some(m), _) => format!("the reference DS with mutant {}", mutants::info(m).name),
        (None, Some(f)) => format!("the reference DS with freedom {}", freedoms::info(f).name),
        (None, None) => "the reference DS".into(),
    };
    let name = match options.tls {
        Some(_) => format!("{name} over TLS"),
        None => name,
    };
    let url = server.url();
    Ok((Some(server), url, name))
}

#[cfg(not(feature = "reference"))]
async fn start_reference(_: &Options) -> Result<(Serving, String, String)> {
    Err(Error::NoTarget)
}

/// `traces` random traces in each role the target of `options` offers (or the one
/// `options.role` names), see `explore`.
#[cfg(feature = "explore")]
pub fn explore(
    options: &Options,
    traces: u32,
    max_ops: usize,
    seed: u64,
) -> Result<crate::explore::Exploration> {
    let runtime = runtime()?;
    let running = runtime.block_on(start(options, crate::explore::peers()))?;
    let rig = &running.rig;
    let offered = |role: &Role| {
        let name = role_name(*role);
        rig.target.capabilities.roles.iter().any(|r| r == name)
    };
    let roles: Vec<Role> = [Role::Hub, Role::Follower, Role::Rsp]
        .into_iter()
        .filter(|r| options.role.is_none_or(|only| only == *r))
        .filter(offered)
        .collect();
    if roles.is_empty() {
        return Err(Error::NoRoleOffered);
    }
    crate::explore::explore(&runtime, rig, &roles, traces, max_ops, seed)
}

/// What `fuzz` found, over every role it fuzzed.
pub struct Fuzzing {
    pub runs: Vec<crate::fuzz::RoleRun>,
    /// The runs as report cases.
    pub summary: Summary,
}

/// `requests` fuzzed requests (see `fuzz`), shared among the roles the target of `options`
/// offers (or the one `options.role` names), each role starting from the state of one of
/// its `cases`; `progress` is told each request sent.
pub fn fuzz(
    cases: &[Case],
    options: &Options,
    requests: usize,
    seed: u64,
    progress: &dyn Fn(),
) -> Result<Fuzzing> {
    let runtime = runtime()?;
    let mut ids: Vec<ServiceProviderId> = cases.iter().flat_map(|c| c.peers()).collect();
    ids.sort();
    ids.dedup();
    let running = runtime.block_on(start(options, ids))?;
    let rig = &running.rig;
    let roles: Vec<Role> = [Role::Hub, Role::Follower, Role::Rsp]
        .into_iter()
        .filter(|r| options.role.is_none_or(|only| only == *r))
        .filter(|r| {
            rig.target
                .capabilities
                .roles
                .iter()
                .any(|o| o == role_name(*r))
        })
        .collect();
    if roles.is_empty() {
        return Err(Error::NoRoleOffered);
    }
    let started = Instant::now();
    let mut runs = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        // The first roles take the remainder, so the total is exactly `requests`.
        let share = requests / roles.len() + usize::from(i < requests % roles.len());
        runs.push(runtime.block_on(crate::fuzz::fuzz_role(
            rig,
            cases,
            *role,
            share,
            seed,
            options.timeout,
            progress,
        )));
    }
    let wall = started.elapsed();
    let results: Vec<CaseResult> = runs.iter().flat_map(|r| r.results()).collect();
    let floor = runtime.block_on(rig.target.round_trip_floor(FLOOR_SAMPLES));
    Ok(Fuzzing {
        summary: Summary {
            target: running.name,
            results,
            wall,
            exchanges: rig.target.answered(),
            floor,
        },
        runs,
    })
}

async fn run_async(
    cases: &[Case],
    options: &Options,
    progress: &dyn Fn(usize, &CaseResult),
) -> Result<Summary> {
    let mut ids: Vec<ServiceProviderId> = cases.iter().flat_map(|c| c.peers()).collect();
    ids.sort();
    ids.dedup();
    let running = start(options, ids).await?;
    let rig = &running.rig;
    let floor = rig.target.round_trip_floor(FLOOR_SAMPLES).await;
    let started = Instant::now();
    let mut results = Vec::with_capacity(cases.len());
    let mut silent = 0;
    let mut last_silence = String::new();
    for (i, case) in cases.iter().enumerate() {
        let result = if silent >= GIVE_UP_AFTER {
            let mut not_run = CaseResult::new(case, Grade::Indeterminate);
            not_run.because.push(format!(
                "not run: the target stopped answering: no request of {GIVE_UP_AFTER} cases in a row got an answer (the last: {last_silence})"
            ));
            not_run
        } else {
            let answered = rig.target.answered();
            let result = run_case(case, rig).await;
            let silence = result.grade == Grade::Indeterminate && rig.target.answered() == answered;
            if silence {
                silent += 1;
                last_silence = result.because.first().cloned().unwrap_or_default();
            } else {
                silent = 0;
            }
            result
        };
        progress(i, &result);
        results.push(result);
    }
    let exchanges = results
        .iter()
        .flat_map(|r| &r.wire)
        .filter(|e| e.direction != "inside-ohttp")
        .count();
    Ok(Summary {
        target: running.name,
        results,
        wall: started.elapsed(),
        exchanges,
        floor,
    })
}

#[cfg(all(test, not(feature = "reference")))]
mod tests {
    use super::*;

    /// The library as a user gets it by default has no reference DS to fall back on.
    #[test]
    fn without_the_reference_feature_a_run_needs_a_target() {
        let err = check(None).unwrap_err();
        assert!(matches!(err, Error::NoTarget), "{err}");
        assert!(err.to_string().contains("base URL"), "{err}");
    }
}
