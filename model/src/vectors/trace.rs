//! Trace vectors: a sequence of inputs to one Delivery Service playing one role (hub,
//! follower or RSP), each with what the model says the DS must answer and which calls it
//! must make. The harness replays a vector against a target and plays every other provider.
//!
//! This module owns the file format, the one function that turns a [`TraceCase`] (inputs
//! chosen by a generator) into a [`TraceTest`] (inputs plus the model's expectations), the
//! verification that recomputes every expectation from the recorded inputs, and the
//! coverage count per requirement. MLS bytes are inputs: a regenerated vector may carry
//! other bytes and still verifies, since nothing here depends on which bytes were chosen.

use super::codec::FlagNote;
use super::{Verdict, DRAFT};
use crate::codec::{find_structure, Bytes, DsError, ErrorCode, ServiceProviderId, Wire};
use crate::ds::{self, Endpoint, Expectation, Input, Outbound, Response, State};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, Level, Party, ReqId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const SCHEMA_FILE: &str = "trace-vectors.schema.json";

/// The actor of a test-control action (a local user's act, or the operator's).
pub const CONTROL: &str = "control";
/// The actor of a KeyPackage request: it arrives through an OHTTP relay, caller unknown.
pub const OHTTP: &str = "ohttp";
/// The actor of a federation request sent with no provider identity.
pub const ANONYMOUS: &str = "anonymous";

/// One file: the trace vectors of one draft section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceVectorFile {
    /// The JSON Schema file beside this one.
    pub schema: String,
    /// The draft section the file covers; every `tcId` starts with it and a `/`.
    pub section: String,
    pub draft: String,
    #[serde(rename = "numberOfTests")]
    pub number_of_tests: usize,
    /// What every flag used in this file means.
    pub notes: BTreeMap<String, FlagNote>,
    pub tests: Vec<TraceTest>,
}

/// Which role of the draft the target plays in a vector.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Hosts the group: sequences, answers reads, fans Welcomes out.
    Hub,
    /// Serves local users of a group hosted elsewhere.
    Follower,
    /// Serves its users' KeyPackages to remote requesters.
    Rsp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub role: Role,
    /// The ServiceProviderId the target is addressed as (its `State::new`).
    pub provider: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceTest {
    /// Stable id: `<section>/<what>/<variant>`.
    #[serde(rename = "tcId")]
    pub tc_id: String,
    pub comment: String,
    /// Every requirement a step's expectation cites, plus the ones the trace exercises as a
    /// whole (an example flow); all in the catalogue.
    pub requirements: Vec<String>,
    /// Every erratum the expectations rest on.
    pub errata: Vec<String>,
    /// `invalid`: some step must be refused; `acceptable`: no step is refused but some step
    /// has another acceptable answer; `valid`: otherwise.
    pub result: Verdict,
    /// Mandatory on non-valid vectors; each explained in the file's `notes`.
    pub flags: Vec<String>,
    pub target: Target,
    pub steps: Vec<TraceStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceStep {
    /// The provider sending the request, `control` for a test-control action, `ohttp` for a
    /// KeyPackage request (anonymous by design).
    pub actor: String,
    /// The model's `Input`, tagged by `input`; an embedded MLSMessage is read from its `hex`
    /// alone (the other keys are its DS view, for people).
    #[schemars(with = "Input")]
    pub input: serde_json::Value,
    /// The request body as it goes on the wire (none for control actions). For
    /// `welcome_init_answered` it is the actor's WelcomeInitResponse; for `malformed` the
    /// raw body that does not decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<WireBody>,
    pub expect: StepExpectation,
    /// The calls the target must make, in order per destination.
    pub outbound: Vec<OutboundCall>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireBody {
    /// The endpoint of errata/transport (`POST /mimi-ds/v1/<endpoint>`).
    pub endpoint: String,
    pub hex: Bytes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepExpectation {
    /// The canonical response: the model's `Response`, tagged by `response`.
    #[schemars(with = "Response")]
    pub response: serde_json::Value,
    /// Its body on the wire: empty for `accepted`, a DsError with an empty message for errors.
    pub body: Bytes,
    /// How far a response may differ from the canonical one: `exact`, `hints` (the epoch
    /// is fixed, hints judged by relation), `key_package_choice`, `inferred_tree_allowed`.
    #[schemars(with = "crate::ds::Rule")]
    pub rule: serde_json::Value,
    /// Other acceptable answers: an error code, justified by an erratum, state unchanged.
    pub also: Vec<Alternative>,
    pub requirements: Vec<String>,
    pub errata: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    pub code: String,
    pub erratum: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundCall {
    /// The model's `Outbound`, tagged by `call`.
    #[schemars(with = "Outbound")]
    pub call: serde_json::Value,
    pub endpoint: String,
    pub body: Bytes,
}

/// What a generator chooses: the inputs. Everything else comes from the model.
#[derive(Clone, Debug)]
pub struct TraceCase {
    pub id: String,
    pub comment: String,
    pub target: Target,
    /// Requirements the trace exercises as a whole, beyond those its steps cite.
    pub exercises: Vec<ReqId>,
    pub steps: Vec<CaseStep>,
}

#[derive(Clone, Debug)]
pub struct CaseStep {
    pub input: Input,
    /// The raw body of an `Input::Malformed` or `Input::Unidentified`; derived from the
    /// input otherwise.
    pub malformed_body: Option<Bytes>,
}

impl From<Input> for CaseStep {
    fn from(input: Input) -> Self {
        CaseStep {
            input,
            malformed_body: None,
        }
    }
}

/// The requirements a case exercises and the errata its expectations rest on (the
/// alternatives' included), gathered as the model runs over its steps.
#[derive(Clone, Debug, Default)]
pub struct Grounds {
    pub requirements: BTreeSet<ReqId>,
    pub errata: BTreeSet<ErratumId>,
}

impl Grounds {
    fn of(case: &TraceCase) -> Self {
        Grounds {
            requirements: case.exercises.iter().copied().collect(),
            errata: BTreeSet::new(),
        }
    }

    fn add(&mut self, expect: &Expectation) {
        self.requirements.extend(&expect.requirements);
        self.errata.extend(&expect.errata);
        self.errata.extend(expect.also.iter().map(|(_, e)| e));
    }
}

/// What [`build`] records as `case`'s requirements and errata, from the model run alone:
/// for generators that make many cases, run each, and write at most one as a vector.
pub fn grounds(case: &TraceCase) -> Result<Grounds, String> {
    let mut state = State::new(target_provider(case)?);
    let mut grounds = Grounds::of(case);
    for step in &case.steps {
        grounds.add(&ds::apply(&mut state, &step.input).expect);
    }
    Ok(grounds)
}

fn target_provider(case: &TraceCase) -> Result<ServiceProviderId, String> {
    ServiceProviderId::new(&case.target.provider)
        .map_err(|e| format!("{}: target provider {e}", case.id))
}

/// Runs the model over a case's inputs from `State::new(target)` and records every
/// expectation: the one place a trace vector's expectations come from.
pub fn build(case: &TraceCase) -> Result<TraceTest, String> {
    let mut state = State::new(target_provider(case)?);
    let mut grounds = Grounds::of(case);
    let mut refusals: Vec<ErrorCode> = Vec::new();
    let mut alternatives: Vec<&'static str> = Vec::new();
    let mut steps = Vec::new();
    for (index, step) in case.steps.iter().enumerate() {
        let context = || format!("{} step {}", case.id, index + 1);
        let body = request_body(&step.input, step.malformed_body.as_ref())
            .map_err(|e| format!("{}: {e}", context()))?;
        let ds::Outcome { expect, outbound } = ds::apply(&mut state, &step.input);
        grounds.add(&expect);
        if let Response::Error(code) = expect.canonical {
            refusals.push(code);
        }
        alternatives.extend(expect.also.iter().map(|(_, e)| e.0));
        steps.push(TraceStep {
            actor: actor(&step.input),
            input: to_json(&step.input),
            body,
            expect: step_expectation(&expect),
            outbound: outbound.iter().map(outbound_call).collect(),
        });
    }
    let (result, flags) = if !refusals.is_empty() {
        (
            Verdict::Invalid,
            dedup(refusals.iter().map(|c| refusal_flag(*c))),
        )
    } else if !alternatives.is_empty() {
        (
            Verdict::Acceptable,
            dedup(alternatives.iter().map(|e| alternative_flag(e))),
        )
    } else {
        (Verdict::Valid, Vec::new())
    };
    Ok(TraceTest {
        tc_id: case.id.clone(),
        comment: case.comment.clone(),
        requirements: grounds.requirements.iter().map(|r| r.0.into()).collect(),
        errata: grounds.errata.iter().map(|e| e.0.into()).collect(),
        result,
        flags,
        target: case.target.clone(),
        steps,
    })
}

fn dedup(flags: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for flag in flags {
        if !out.contains(&flag) {
            out.push(flag);
        }
    }
    out
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("model values serialize to JSON")
}

fn kebab<T: Serialize>(value: &T) -> String {
    to_json(value).as_str().unwrap_or_default().to_owned()
}

/// Who sends an input, as the harness plays it.
pub fn actor(input: &Input) -> String {
    match (input.sender(), input) {
        (Some(from), _) => from.to_string(),
        (None, Input::KeyPackage { .. } | Input::KeyPackageBundle { .. }) => OHTTP.into(),
        (None, Input::Malformed { .. }) => "any".into(),
        (None, Input::Unidentified { claimed, .. }) => {
            claimed.clone().unwrap_or_else(|| ANONYMOUS.into())
        }
        (None, _) => CONTROL.into(),
    }
}

/// The body an input puts on the wire, through the codec.
fn request_body(input: &Input, malformed: Option<&Bytes>) -> Result<Option<WireBody>, String> {
    let body = |endpoint: Endpoint, bytes: Vec<u8>| {
        Some(WireBody {
            endpoint: kebab(&endpoint),
            hex: Bytes(bytes),
        })
    };
    Ok(match input {
        Input::Send { request, .. } => body(Endpoint::Send, request.to_bytes()),
        Input::Receive { request, .. } => body(Endpoint::Receive, request.to_bytes()),
        Input::ExternalJoin { request, .. } => body(Endpoint::ExternalJoin, request.to_bytes()),
        Input::GroupInfo { request, .. } => body(Endpoint::GroupInfo, request.to_bytes()),
        Input::KeyPackage { request } => body(Endpoint::KeyPackage, request.to_bytes()),
        Input::KeyPackageBundle { request } => body(Endpoint::KeyPackageBundle, request.to_bytes()),
        Input::WelcomeInit { request, .. } => body(Endpoint::WelcomeInit, request.to_bytes()),
        Input::WelcomePush { welcome, .. } => body(Endpoint::Welcome, welcome.to_bytes()),
        Input::Push { response, .. } => body(Endpoint::Notify, response.to_bytes()),
        Input::WelcomeInitAnswered {
            accepted: true,
            no_answer: Some(_),
            ..
        } => return Err("a WelcomeInit answer is yes or none, not both".into()),
        // No answer puts no WelcomeInitResponse on the wire.
        Input::WelcomeInitAnswered {
            no_answer: Some(_), ..
        } => body(Endpoint::WelcomeInit, Vec::new()),
        Input::WelcomeInitAnswered { accepted, .. } => body(
            Endpoint::WelcomeInit,
            crate::codec::WelcomeInitResponse {
                accepted: *accepted,
            }
            .to_bytes(),
        ),
        Input::Unidentified { endpoint, .. } => {
            let raw = malformed.ok_or("an unidentified request needs its raw body")?;
            body(*endpoint, raw.0.clone())
        }
        Input::Malformed { endpoint, .. } => {
            let raw = malformed.ok_or("a malformed input needs its raw body")?;
            if decodes_at(*endpoint, raw.as_slice()) {
                return Err(format!(
                    "the body given as malformed decodes at {}",
                    kebab(endpoint)
                ));
            }
            body(*endpoint, raw.0.clone())
        }
        _ => None,
    })
}

/// Whether `bytes` decode as the request structure of `endpoint`.
fn decodes_at(endpoint: Endpoint, bytes: &[u8]) -> bool {
    let name = match endpoint {
        Endpoint::KeyPackage => "key-package-request",
        Endpoint::KeyPackageBundle => "key-package-bundle-request",
        Endpoint::Send => "send-request",
        Endpoint::Receive => "receive-request",
        Endpoint::ExternalJoin => "external-join-request",
        Endpoint::GroupInfo => "group-info-request",
        Endpoint::WelcomeInit => "welcome-init-request",
        Endpoint::Welcome => "mls-message",
        Endpoint::Notify => "receive-response",
    };
    let structure = find_structure(name).expect("every endpoint's structure is registered");
    (structure.decode)(bytes).is_ok()
}

/// The body of a response on the wire.
pub fn response_body(response: &Response) -> Vec<u8> {
    match response {
        Response::Accepted => Vec::new(),
        Response::Receive(r) => r.to_bytes(),
        Response::GroupInfo(g) => g.to_bytes(),
        Response::KeyPackage(k) => k.to_bytes(),
        Response::KeyPackageBundle(b) => b.to_bytes(),
        Response::WelcomeInit(w) => w.to_bytes(),
        Response::Error(code) => DsError {
            code: *code,
            message: String::new(),
        }
        .to_bytes(),
    }
}

fn step_expectation(expect: &Expectation) -> StepExpectation {
    StepExpectation {
        response: to_json(&expect.canonical),
        body: Bytes(response_body(&expect.canonical)),
        rule: to_json(&expect.rule),
        also: expect
            .also
            .iter()
            .map(|(code, why)| Alternative {
                code: kebab(code),
                erratum: why.0.into(),
            })
            .collect(),
        requirements: expect.requirements.iter().map(|r| r.0.to_owned()).collect(),
        errata: expect.errata.iter().map(|e| e.0.to_owned()).collect(),
    }
}

fn outbound_call(call: &Outbound) -> OutboundCall {
    let (endpoint, body) = match call {
        Outbound::WelcomeInit { request, .. } => (Endpoint::WelcomeInit, request.to_bytes()),
        Outbound::WelcomePush { welcome, .. } => (Endpoint::Welcome, welcome.to_bytes()),
        Outbound::Send { request, .. } => (Endpoint::Send, request.to_bytes()),
        Outbound::Receive { request, .. } => (Endpoint::Receive, request.to_bytes()),
        Outbound::Push { response, .. } => (Endpoint::Notify, response.to_bytes()),
    };
    OutboundCall {
        call: to_json(call),
        endpoint: kebab(&endpoint),
        body: Bytes(body),
    }
}

/// `snake_case` → `CamelCase`, for flags named after codes and errata.
fn camel(name: &str) -> String {
    name.split(['_', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn refusal_flag(code: ErrorCode) -> String {
    format!("Refused{}", camel(&kebab(&code)))
}

fn alternative_flag(erratum: &str) -> String {
    format!("Either{}", camel(erratum.trim_start_matches("errata/")))
}

/// Why a DS refuses with each code, for the `notes` of flags.
fn refusal_reason(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Malformed => "A step must be refused as malformed: the body does not decode, or breaks a rule the bytes show (errata/transport, errata/select-commit-only, errata/welcome-providers-length-mismatch).",
        ErrorCode::UnknownGroup => "A step names a group the target does not host or follow; the hub rejects it (send/unknown-group-rejected).",
        ErrorCode::BranchTerminated => "A step sends to a partition whose branch the hub terminated (fork-termination/block-sends).",
        ErrorCode::RatchetTreeRequired => "A commit's GroupInfo has no ratchet_tree extension and the hub cannot infer the tree (send/ratchet-tree-required).",
        ErrorCode::PolicyRejected => "A step breaks negative policy in the fork it names: a banned Add, a muted or rate-limited local user (policy/*).",
        ErrorCode::InvalidBearerToken => "A KeyPackage request carries a bearer token the RSP did not issue, revoked, or issued for another user (errata/bearer-token-scope).",
        ErrorCode::UnknownUser => "A KeyPackage request names a user the RSP does not serve.",
        ErrorCode::KeyPackageExhausted => "The user has no unused KeyPackage and no last resort left (errata/key-package-last-resort).",
        ErrorCode::UnsupportedParameters => "No KeyPackage of the user matches the requested version and cipher suite (errata/key-package-unsupported-parameters).",
        ErrorCode::WelcomeRefused => "A Welcome push for KeyPackageRefs the follower never agreed to (errata/welcome-refused).",
        ErrorCode::UnauthorizedProvider => "A provider other than the group's hub pushes to a follower (errata/provider-authorization).",
        ErrorCode::UnknownPartition => "A step names a partition key the hub has never seen where one is needed (errata/group-info-source).",
    }
}

/// The notes for the flags `tests` use, computed from the flags' sources.
pub fn notes_for(tests: &[TraceTest]) -> BTreeMap<String, FlagNote> {
    let used: BTreeSet<&str> = tests
        .iter()
        .flat_map(|t| t.flags.iter().map(String::as_str))
        .collect();
    let mut notes = BTreeMap::new();
    for code in ErrorCode::ALL {
        let flag = refusal_flag(code);
        if used.contains(flag.as_str()) {
            notes.insert(
                flag,
                FlagNote {
                    bug_type: "must-refuse".into(),
                    description: refusal_reason(code).into(),
                },
            );
        }
    }
    for erratum in errata::ERRATA {
        let flag = alternative_flag(erratum.id.0);
        if used.contains(flag.as_str()) {
            let description = format!(
                "Two readings are acceptable here ({}). Ours: {} Other: {}",
                erratum.id,
                erratum.decision,
                erratum
                    .alternative
                    .unwrap_or("an error code, state unchanged.")
            );
            notes.insert(
                flag,
                FlagNote {
                    bug_type: "alternative-reading".into(),
                    description,
                },
            );
        }
    }
    notes
}

/// Assembles one file from the tests of one section.
pub fn file(section: &str, tests: Vec<TraceTest>) -> TraceVectorFile {
    TraceVectorFile {
        schema: SCHEMA_FILE.into(),
        section: section.into(),
        draft: DRAFT.into(),
        number_of_tests: tests.len(),
        notes: notes_for(&tests),
        tests,
    }
}

/// Checks a file against what the model computes from its recorded inputs: results, flags,
/// ids, every step's expectation and outbound calls, bodies and counts. One line per
/// disagreement.
pub fn verify(file: &TraceVectorFile) -> Vec<String> {
    let mut problems = Vec::new();
    if file.schema != SCHEMA_FILE {
        problems.push(format!("schema is {:?}, not {SCHEMA_FILE:?}", file.schema));
    }
    if file.draft != DRAFT {
        problems.push(format!("draft is {:?}, not {DRAFT:?}", file.draft));
    }
    if file.number_of_tests != file.tests.len() {
        problems.push(format!(
            "numberOfTests is {} but there are {} tests",
            file.number_of_tests,
            file.tests.len()
        ));
    }
    if file.notes != notes_for(&file.tests) {
        problems.push("notes differ from the explanations of exactly the flags used".into());
    }
    let mut ids = BTreeSet::new();
    for test in &file.tests {
        let id = &test.tc_id;
        if !ids.insert(id) {
            problems.push(format!("{id}: duplicate tcId"));
        }
        if !id.starts_with(&format!("{}/", file.section)) {
            problems.push(format!(
                "{id}: tcId does not start with the section {:?}",
                file.section
            ));
        }
        if test.comment.trim().is_empty() {
            problems.push(format!("{id}: empty comment"));
        }
        if test.result != Verdict::Valid && test.flags.is_empty() {
            problems.push(format!("{id}: a non-valid vector without flags"));
        }
        problems.extend(verify_test(test).into_iter().map(|p| format!("{id}: {p}")));
    }
    problems
}

/// Recomputes one vector from its recorded inputs and compares.
pub fn verify_test(test: &TraceTest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut exercises = Vec::new();
    for id in &test.requirements {
        match req::find(id) {
            Some(r) => exercises.push(r.id),
            None => problems.push(format!("requirement {id} is not in the catalogue")),
        }
    }
    for id in &test.errata {
        if errata::find(id).is_none() {
            problems.push(format!("erratum {id} is not in the errata"));
        }
    }
    let mut steps = Vec::new();
    for (i, step) in test.steps.iter().enumerate() {
        match serde_json::from_value::<Input>(step.input.clone()) {
            Ok(input) => {
                let malformed_body =
                    matches!(input, Input::Malformed { .. } | Input::Unidentified { .. })
                        .then(|| step.body.as_ref().map(|b| b.hex.clone()))
                        .flatten();
                steps.push(CaseStep {
                    input,
                    malformed_body,
                });
            }
            Err(e) => {
                problems.push(format!("step {}: input is not a model Input: {e}", i + 1));
                return problems;
            }
        }
    }
    let case = TraceCase {
        id: test.tc_id.clone(),
        comment: test.comment.clone(),
        target: test.target.clone(),
        exercises,
        steps,
    };
    let rebuilt = match build(&case) {
        Ok(t) => t,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    if rebuilt.requirements != test.requirements {
        let missing: Vec<&String> = rebuilt
            .requirements
            .iter()
            .filter(|r| !test.requirements.contains(r))
            .collect();
        problems.push(format!(
            "requirements lack {missing:?}, which the steps cite (or are not sorted)"
        ));
    }
    if rebuilt.errata != test.errata {
        problems.push(format!(
            "errata are {:?}; the model cites {:?}",
            test.errata, rebuilt.errata
        ));
    }
    if rebuilt.result != test.result {
        problems.push(format!(
            "result says {:?} but the model makes it {:?}",
            test.result, rebuilt.result
        ));
    }
    if rebuilt.flags != test.flags {
        problems.push(format!(
            "flags are {:?}; the model gives {:?}",
            test.flags, rebuilt.flags
        ));
    }
    for (i, (ours, theirs)) in rebuilt.steps.iter().zip(&test.steps).enumerate() {
        let n = i + 1;
        if ours.actor != theirs.actor {
            problems.push(format!(
                "step {n}: actor {:?}, but the input comes from {:?}",
                theirs.actor, ours.actor
            ));
        }
        if ours.input != theirs.input {
            problems.push(format!(
                "step {n}: input JSON differs from the input its hex decodes to"
            ));
        }
        if ours.body != theirs.body {
            problems.push(format!(
                "step {n}: request body differs from the codec's encoding of the input"
            ));
        }
        if ours.expect.response != theirs.expect.response || ours.expect.body != theirs.expect.body
        {
            problems.push(format!(
                "step {n}: canonical response differs from the model's"
            ));
        }
        if ours.expect.rule != theirs.expect.rule || ours.expect.also != theirs.expect.also {
            problems.push(format!(
                "step {n}: acceptance rule or alternatives differ from the model's"
            ));
        }
        if ours.expect.requirements != theirs.expect.requirements
            || ours.expect.errata != theirs.expect.errata
        {
            problems.push(format!(
                "step {n}: requirement or errata ids differ from the model's"
            ));
        }
        if ours.outbound != theirs.outbound {
            problems.push(format!(
                "step {n}: outbound calls differ: the model makes {}, the vector records {}",
                ours.outbound.len(),
                theirs.outbound.len()
            ));
        }
    }
    problems
}

/// Per requirement: how many vectors of each result list it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub valid: usize,
    pub invalid: usize,
    pub acceptable: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct CoverageRow {
    pub id: &'static str,
    pub level: Level,
    pub wire_testable: bool,
    /// A negative (`invalid`) vector is required: a wire-testable MUST or MUST NOT, or a
    /// hub-binding statement describing a rejection.
    pub needs_negative: bool,
    pub counts: Counts,
}

impl CoverageRow {
    /// What is missing, if anything.
    pub fn gap(&self) -> Option<&'static str> {
        let total = self.counts.valid + self.counts.invalid + self.counts.acceptable;
        if self.wire_testable && total == 0 {
            Some("no vector")
        } else if self.needs_negative && self.counts.invalid == 0 {
            Some("no negative vector")
        } else {
            None
        }
    }
}

/// A hub-binding statement describing a rejection: its quote rejects or blocks.
fn describes_rejection(r: &req::Requirement) -> bool {
    let quote = r.quote.to_lowercase();
    r.level == Level::Statement
        && r.binds.contains(&Party::Hub)
        && (quote.contains("reject") || quote.contains("block"))
}

/// Counts vectors per catalogue requirement, honestly: a vector counts for a requirement
/// only through a step whose expectation cites it — as invalid when that step must be
/// refused, acceptable when it admits another reading, valid otherwise. The ids a case
/// says it exercises as a whole count for nothing.
pub fn coverage(files: &[TraceVectorFile]) -> Vec<CoverageRow> {
    req::CATALOGUE
        .iter()
        .map(|r| {
            let mut counts = Counts::default();
            for test in files.iter().flat_map(|f| &f.tests) {
                let citing: Vec<&StepExpectation> = test
                    .steps
                    .iter()
                    .map(|s| &s.expect)
                    .filter(|e| e.requirements.iter().any(|id| id == r.id.0))
                    .collect();
                let refused = |e: &&StepExpectation| e.response["response"] == "error";
                if citing.iter().any(refused) {
                    counts.invalid += 1;
                }
                if citing.iter().any(|e| !refused(e) && !e.also.is_empty()) {
                    counts.acceptable += 1;
                }
                if citing.iter().any(|e| !refused(e) && e.also.is_empty()) {
                    counts.valid += 1;
                }
            }
            let wire_testable = r.testable.is_wire_testable();
            // A MUST NOT of this draft forbids refusing (hard rules, ambiguous criteria,
            // positive policy): valid vectors test it, there is nothing to refuse.
            let needs_negative =
                wire_testable && (r.level == Level::Must || describes_rejection(r));
            CoverageRow {
                id: r.id.0,
                level: r.level,
                wire_testable,
                needs_negative,
                counts,
            }
        })
        .collect()
}

/// The JSON Schema of a trace vector file.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(TraceVectorFile)).expect("schemas serialize")
}
