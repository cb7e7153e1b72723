//! HTTP fuzzing of a target (`mimi-ds-check fuzz`): malformed traffic to every endpoint the
//! target's roles serve and to test control, judged request by request, with the target's
//! state checked unchanged after each burst.
//!
//! This module owns the generator (seeded, so the same seed sends the same requests), the
//! classification of each request by the codec (does its body decode strictly? does its
//! provider header name a provider?), the judgement of each answer, the state check, and the
//! minimising of a failure into a replayable vector. Requests go out through the runner's
//! [`Target`], so every read is capped and time-bounded as `run`'s are.
//!
//! A generated request is one of:
//! - **refused**: a body that does not decode strictly (the codec decides), or a valid body
//!   from a caller the header does not identify. The answer must be a 4xx whose `DsError`
//!   carries `malformed` (or `unauthorized_provider` for an unidentified caller; either when
//!   both apply, `errata/refusal-order`), and the state must not change;
//! - **legal**: a mutation that still decodes, from an identified caller (or with another
//!   media type). It is a request like any other, so only what holds for every answer is
//!   judged: no 5xx, no dropped connection or timeout, an answer the binding can read. Legal
//!   requests may change the state, so they are sent after their burst's state check, and
//!   the reads are recorded again;
//! - **oversize**: a body over the binding's 16 MiB, streamed. The DS may stop reading and
//!   close (BINDING.md §1): judged are only no 2xx, no 5xx and no timeout;
//! - **control refused**: a test-control body that is not JSON or names no control action,
//!   or a reset body that names neither `me` nor `peers`: a 4xx (JSON, never a `DsError`),
//!   state unchanged. A body naming an action but in a form the binding refuses is legal (a
//!   lenient reader may take it); a mutated reset that parses, or names `me` or `peers`, is
//!   never sent, as a DS could take it and legally wipe the state.

use crate::runner::{
    role_name, run_case, Case, CaseResult, CaseStep, Grade, Outgoing, Rig, Role, Trouble, JSON,
};
use crate::transport::Caller;
use mimi_ds_binding::control::{self, Reset};
use mimi_ds_binding::wire::{self, Exchange};
use mimi_ds_binding::{self as binding, Answer, CONTROL_PREFIX, MAX_BODY, MEDIA_TYPE};
use mimi_ds_model::codec::reader::Fault;
use mimi_ds_model::codec::{
    Bytes, ErrorCode, GroupInfoRequest, KeyPackageRequest, PartitionKey, ReceiveRequest,
    ServiceProviderId, WelcomeInitRequest, Wire, Writer,
};
use mimi_ds_model::ds::{Endpoint, Input, Response};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::fuzzing::SplitMix64;
use mimi_ds_model::vectors::trace::{self, TraceCase, TraceTest};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The section of the vectors a minimised failure is written as (`fuzz/<role>/…`).
pub const SECTION: &str = "fuzz";

/// Requests sent between two state checks.
const BURST: usize = 40;
/// Attempts to minimise a failure; each one re-sends the request (a state failure also
/// replays the setup first).
const SHRINK_ATTEMPTS: usize = 120;

/// The endpoints a role serves (BINDING.md §1), the ones fuzzed for it.
pub fn endpoints(role: Role) -> &'static [Endpoint] {
    match role {
        Role::Hub => &[
            Endpoint::Send,
            Endpoint::Receive,
            Endpoint::ExternalJoin,
            Endpoint::GroupInfo,
        ],
        Role::Follower => &[Endpoint::WelcomeInit, Endpoint::Welcome, Endpoint::Notify],
        Role::Rsp => &[Endpoint::KeyPackage, Endpoint::KeyPackageBundle],
    }
}

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    Federation(Endpoint),
    /// `POST /mimi-ds-test/v1/control`.
    Control,
    /// `POST /mimi-ds-test/v1/reset`.
    Reset,
}

impl Destination {
    pub fn path(self) -> String {
        match self {
            Destination::Federation(e) => binding::path(e),
            Destination::Control => format!("{CONTROL_PREFIX}control"),
            Destination::Reset => format!("{CONTROL_PREFIX}reset"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Destination::Federation(e) => binding::name(e),
            Destination::Control => "control",
            Destination::Reset => "reset",
        }
    }
}

/// One change to a valid body, applied in order; positions are already inside the body
/// they apply to (a generator draws them from its length).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mutation")]
pub enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        value: u8,
    },
    Truncate {
        to: usize,
    },
    Append {
        bytes: Bytes,
    },
    Insert {
        at: usize,
        bytes: Bytes,
    },
    Remove {
        at: usize,
        len: usize,
    },
    /// A one-byte varint length prefix (or any byte that could be one) made larger or
    /// smaller by `by`.
    Length {
        at: usize,
        by: i8,
    },
    /// The body decoded and written again by the codec with this fault planted (the codec
    /// vectors' faults: a huge or non-minimal length prefix, a reserved varint prefix, an
    /// optional's tag of 2, a partition key of 15 or 17 bytes), at its `site`-th place.
    Fault {
        fault: &'static str,
        site: usize,
    },
    /// The body replaced by an `arbitrary` value of the endpoint's structure, encoded.
    Arbitrary {
        seed: u64,
    },
    /// The body followed by zeros up to one byte over the binding's limit, streamed.
    Oversize {
        announced: bool,
    },
}

/// The codec's faults by name (those of the codec vectors).
fn fault(name: &str, site: usize) -> Option<Fault> {
    Some(match name {
        "huge-length" => Fault::HugeLength { site },
        "non-minimal-varint" => Fault::NonMinimalVarint { site },
        "reserved-varint-prefix" => Fault::ReservedVarintPrefix { site },
        "bad-optional-tag" => Fault::BadOptionalTag { site },
        "partition-key-15-bytes" => Fault::PartitionKeyLength { site, length: 15 },
        "partition-key-17-bytes" => Fault::PartitionKeyLength { site, length: 17 },
        _ => return None,
    })
}

const FAULTS: &[&str] = &[
    "huge-length",
    "non-minimal-varint",
    "reserved-varint-prefix",
    "bad-optional-tag",
    "partition-key-15-bytes",
    "partition-key-17-bytes",
];

/// `body` decoded as `T` and written again with `fault` planted; `None` when it does not
/// decode or has no such site.
fn faulted<T: Wire>(body: &[u8], fault: Fault) -> Option<Vec<u8>> {
    let value = T::from_bytes(body).ok()?;
    let mut w = Writer::with_fault(fault);
    value.write(&mut w);
    w.fault_planted().then_some(w.out)
}

/// [`faulted`] for the request structure of `endpoint`.
fn faulted_at(endpoint: Endpoint, body: &[u8], fault: Fault) -> Option<Vec<u8>> {
    use mimi_ds_model::codec::*;
    match endpoint {
        Endpoint::KeyPackage => faulted::<KeyPackageRequest>(body, fault),
        Endpoint::KeyPackageBundle => faulted::<KeyPackageBundleRequest>(body, fault),
        Endpoint::Send => faulted::<SendRequest>(body, fault),
        Endpoint::Receive => faulted::<ReceiveRequest>(body, fault),
        Endpoint::ExternalJoin => faulted::<ExternalJoinRequest>(body, fault),
        Endpoint::GroupInfo => faulted::<GroupInfoRequest>(body, fault),
        Endpoint::WelcomeInit => faulted::<WelcomeInitRequest>(body, fault),
        Endpoint::Welcome => faulted::<MlsMessage>(body, fault),
        Endpoint::Notify => faulted::<ReceiveResponse>(body, fault),
    }
}

/// An `arbitrary` value of the request structure of `endpoint`, encoded; `None` for the
/// structures that embed MLSMessages, which have no `Arbitrary` (a random MLSMessage would
/// almost never walk).
fn arbitrary_at(endpoint: Endpoint, seed: u64) -> Option<Vec<u8>> {
    let mut rng = SplitMix64(seed);
    let raw = rng.bytes(64);
    let mut u = arbitrary::Unstructured::new(&raw);
    fn encoded<T: Wire + for<'a> arbitrary::Arbitrary<'a>>(
        u: &mut arbitrary::Unstructured<'_>,
    ) -> Option<Vec<u8>> {
        u.arbitrary::<T>().ok().map(|v| v.to_bytes())
    }
    match endpoint {
        Endpoint::Receive => encoded::<ReceiveRequest>(&mut u),
        Endpoint::GroupInfo => encoded::<GroupInfoRequest>(&mut u),
        Endpoint::KeyPackage => encoded::<KeyPackageRequest>(&mut u),
        Endpoint::WelcomeInit => encoded::<WelcomeInitRequest>(&mut u),
        _ => None,
    }
}

impl Mutation {
    /// Applies this mutation to `body`, a request to `to`.
    fn apply(&self, to: Destination, body: &mut Vec<u8>) {
        let len = body.len();
        match self {
            Mutation::FlipBit { at, bit } if *at < len => body[*at] ^= 1 << (bit % 8),
            Mutation::SetByte { at, value } if *at < len => body[*at] = *value,
            Mutation::Length { at, by } if *at < len => {
                body[*at] = body[*at].wrapping_add_signed(*by);
            }
            Mutation::Truncate { to } => body.truncate(*to),
            Mutation::Append { bytes } => body.extend_from_slice(bytes.as_slice()),
            Mutation::Insert { at, bytes } if *at <= len => {
                body.splice(*at..*at, bytes.as_slice().iter().copied());
            }
            Mutation::Remove { at, len: n } if *at < len => {
                body.drain(*at..(*at + n).min(len));
            }
            Mutation::Fault { fault: name, site } => {
                if let (Destination::Federation(e), Some(f)) = (to, fault(name, *site)) {
                    if let Some(out) = faulted_at(e, body, f) {
                        *body = out;
                    }
                }
            }
            Mutation::Arbitrary { seed } => {
                if let Some(out) = match to {
                    Destination::Federation(e) => arbitrary_at(e, *seed),
                    _ => None,
                } {
                    *body = out;
                }
            }
            // Positions past a shortened body, and the oversize filler (see `body`).
            _ => {}
        }
    }
}

/// One request the fuzzer sends.
#[derive(Clone, Debug, Serialize)]
pub struct Request {
    pub role: Role,
    pub to: Destination,
    /// The valid body it started from: a request of the vectors.
    #[serde(serialize_with = "hex_bytes")]
    pub base: Vec<u8>,
    pub mutations: Vec<Mutation>,
    /// The `Mimi-Ds-Provider` header's bytes; `None`: no header.
    #[serde(serialize_with = "hex_opt")]
    pub provider: Option<Vec<u8>>,
    /// The Content-Type header; `None`: no header.
    pub media_type: Option<String>,
    /// The provider header of the vector it came from, and the binding's media type for
    /// its destination: what minimising puts back.
    #[serde(skip)]
    usual: (Option<Vec<u8>>, &'static str),
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

fn hex_opt<S: serde::Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => hex_bytes(b, s),
        None => s.serialize_none(),
    }
}

impl Request {
    /// The body after every mutation but the oversize filler.
    pub fn body(&self) -> Vec<u8> {
        let mut body = self.base.clone();
        for m in &self.mutations {
            m.apply(self.to, &mut body);
        }
        body
    }

    fn oversize(&self) -> Option<bool> {
        self.mutations.iter().find_map(|m| match m {
            Mutation::Oversize { announced } => Some(*announced),
            _ => None,
        })
    }

    /// What goes on the wire.
    fn outgoing(&self) -> Outgoing {
        let body = self.body();
        match self.oversize() {
            Some(announced) => Outgoing::Filler {
                prefix: body,
                length: MAX_BODY as u64 + 1,
                announced,
            },
            None => Outgoing::Bytes(body),
        }
    }

    /// The header's caller, when it names one.
    fn caller(&self) -> Option<ServiceProviderId> {
        let text = std::str::from_utf8(self.provider.as_deref()?).ok()?;
        ServiceProviderId::new(text).ok()
    }

    /// What the answer must be, as the codec and the binding decide it; `None` for a
    /// request never sent (a mutated reset that still parses).
    fn expectation(&self) -> Option<Expect> {
        let body = self.body();
        match self.to {
            // A reset that parses, or that a lenient reader might take (it names `me` or
            // `peers`), would wipe the state: never sent.
            Destination::Reset => {
                let lenient = json_object(&body)
                    .is_some_and(|o| o.contains_key("me") || o.contains_key("peers"));
                let refused = serde_json::from_slice::<Reset>(&body).is_err() && !lenient;
                refused.then_some(Expect::ControlRefused)
            }
            // An action that parses is legal; so is one naming a known action whose fields
            // a lenient reader might take. Only JSON that is none must be refused.
            Destination::Control => {
                let named = json_object(&body)
                    .and_then(|o| o.get("input")?.as_str().map(String::from))
                    .is_some_and(|a| control::ACTIONS.contains(&a.as_str()));
                Some(match control::parse_action(&body).is_ok() || named {
                    true => Expect::Legal,
                    false => Expect::ControlRefused,
                })
            }
            Destination::Federation(_) if self.oversize().is_some() => Some(Expect::Oversize),
            Destination::Federation(endpoint) => {
                let anyone = ServiceProviderId::new("a.example").expect("a valid id");
                let decodes = !matches!(
                    binding::input_of(endpoint, &anyone, &body),
                    Input::Malformed { .. }
                );
                let identified = !binding::needs_provider(endpoint) || self.caller().is_some();
                Some(match (decodes, identified) {
                    (true, true) => Expect::Legal,
                    (true, false) => Expect::Refused(vec![ErrorCode::UnauthorizedProvider]),
                    (false, true) => Expect::Refused(vec![ErrorCode::Malformed]),
                    (false, false) => {
                        Expect::Refused(vec![ErrorCode::Malformed, ErrorCode::UnauthorizedProvider])
                    }
                })
            }
        }
    }

    /// The request as the model sees it, when a trace vector can carry it: a federation
    /// request with the binding's media type and a body of bytes.
    fn input(&self) -> Option<Input> {
        let Destination::Federation(endpoint) = self.to else {
            return None;
        };
        if self.oversize().is_some() || self.media_type.as_deref() != Some(MEDIA_TYPE) {
            return None;
        }
        let body = self.body();
        let needs = binding::needs_provider(endpoint);
        match (self.caller(), needs) {
            (Some(from), _) => Some(binding::input_of(endpoint, &from, &body)),
            // KeyPackage requests name no caller.
            (None, false) if self.provider.is_none() => {
                let rsp = ServiceProviderId::new("rsp.example").expect("a valid id");
                Some(binding::input_of(endpoint, &rsp, &body))
            }
            (None, _) => {
                let anyone = ServiceProviderId::new("a.example").expect("a valid id");
                let decodes = !matches!(
                    binding::input_of(endpoint, &anyone, &body),
                    Input::Malformed { .. }
                );
                let claimed = match &self.provider {
                    None => None,
                    Some(p) => Some(String::from_utf8(p.clone()).ok()?),
                };
                decodes.then_some(Input::Unidentified { endpoint, claimed })
            }
        }
    }
}

/// `body` as a JSON object, if it is one.
fn json_object(body: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(o)) => Some(o),
        _ => None,
    }
}

/// What a request's answer must be.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// A 4xx `DsError` with one of these codes; the state unchanged.
    Refused(Vec<ErrorCode>),
    /// Any answer the binding can read: no 5xx, no dropped connection, no timeout.
    Legal,
    /// No 2xx, no 5xx, no timeout; the DS may close the connection unread.
    Oversize,
    /// A 4xx to a test-control body that is no action (or no reset); the state unchanged.
    ControlRefused,
}

impl Expect {
    fn says(&self) -> String {
        match self {
            Expect::Refused(codes) => {
                let names: Vec<String> = codes.iter().map(|c| format!("{c:?}")).collect();
                format!("a 4xx with a DsError {}", names.join(" or "))
            }
            Expect::Legal => "an answer the binding allows (no 5xx, no dropped connection)".into(),
            Expect::Oversize => {
                "a 4xx or a closed connection, never a 2xx, a 5xx or a timeout".into()
            }
            Expect::ControlRefused => "a 4xx refusal of the control body".into(),
        }
    }
}

/// How one request broke the binding.
#[derive(Clone, Debug, Serialize)]
pub struct Broken {
    pub expected: String,
    pub observed: String,
    pub errata: Vec<ErratumId>,
}

fn broken(expect: &Expect, observed: String) -> Broken {
    Broken {
        expected: expect.says(),
        observed,
        errata: vec![errata::TRANSPORT],
    }
}

/// What came back for one request.
enum Outcome {
    Federation(Box<Result<Answer, Trouble>>),
    Control(Result<u16, Trouble>),
}

fn trouble_text(t: &Trouble) -> String {
    match t {
        Trouble::Transport(why) => format!("no answer: {why}"),
        Trouble::Binding(e) => e.why.clone(),
    }
}

/// Judges one answer against what the request must get; `status` is the one the target
/// answered, if any.
fn judge(
    expect: &Expect,
    outcome: &Outcome,
    status: Option<u16>,
    took: Duration,
    timeout: Duration,
) -> Result<(), Broken> {
    match (expect, outcome) {
        // A DS may stop reading an oversize body and close (BINDING.md §1), or refuse it in
        // a form of its own (§2: the runner grades none), but not accept it, fail or hang.
        (Expect::Oversize, _) => match status {
            Some(400..=499) => Ok(()),
            None if took < timeout => Ok(()),
            Some(status) => Err(broken(expect, format!("answered {status}"))),
            None => Err(broken(expect, "no answer within the timeout".into())),
        },
        (_, Outcome::Federation(result)) => match (expect, result.as_ref()) {
            (Expect::Refused(codes), Ok(answer)) => match &answer.response {
                Response::Error(code) if codes.contains(code) => Ok(()),
                other => Err(broken(expect, format!("answered {}", other.summary()))),
            },
            (Expect::Legal, Ok(_)) => Ok(()),
            (_, Ok(answer)) => Err(broken(
                expect,
                format!("answered {}", answer.response.summary()),
            )),
            (_, Err(t)) => Err(broken(expect, trouble_text(t))),
        },
        (Expect::ControlRefused, Outcome::Control(Ok(status))) if (400..500).contains(status) => {
            Ok(())
        }
        // An action the target does not offer may be refused.
        (Expect::Legal, Outcome::Control(Ok(status))) if *status < 500 => Ok(()),
        (_, Outcome::Control(Ok(status))) => Err(broken(expect, format!("answered {status}"))),
        (_, Outcome::Control(Err(t))) => Err(broken(expect, trouble_text(t))),
    }
}

/// Sends `request` and judges its answer; the exchanges it made, for the report.
async fn send(
    rig: &Rig,
    request: &Request,
    expect: &Expect,
    timeout: Duration,
) -> (Result<(), Broken>, Vec<Exchange>) {
    let started = Instant::now();
    let outgoing = request.outgoing();
    let outcome = match request.to {
        Destination::Federation(endpoint) => Outcome::Federation(Box::new(
            rig.target
                .federation_as(
                    endpoint,
                    request.provider.as_deref(),
                    None,
                    outgoing,
                    request.media_type.as_deref(),
                )
                .await,
        )),
        to @ (Destination::Control | Destination::Reset) => Outcome::Control(
            rig.target
                .post_answered(
                    &to.path(),
                    "control",
                    Caller::Runner,
                    outgoing,
                    request.media_type.as_deref(),
                )
                .await
                .map(|posted| posted.status),
        ),
    };
    let wire = rig.log.take();
    let status = wire
        .iter()
        .rev()
        .find(|e| e.direction == "to-target")
        .map(|e| e.status)
        .filter(|s| *s != 0);
    let verdict = judge(expect, &outcome, status, started.elapsed(), timeout);
    (verdict, wire)
}

/// The state a burst must leave alone: the setup case, and the reads that show its state.
struct Setup<'a> {
    case: &'a Case,
    /// Federation reads (hub) or control reads (follower), each an input of the model.
    reads: Vec<Input>,
}

/// The answers to the reads, as the model reads them (a canonical codec: equal values are
/// byte-identical bodies).
async fn read_state(rig: &Rig, reads: &[Input]) -> Result<Vec<Response>, String> {
    let mut answers = Vec::with_capacity(reads.len());
    for input in reads {
        let answer = match binding::request_of(input) {
            Some((endpoint, from, body)) => rig
                .target
                .federation(endpoint, from.map(|f| f.as_str()), None, body)
                .await
                .map(|a| a.response),
            None => rig.target.control(input).await,
        };
        answers.push(answer.map_err(|t| format!("a read of the state: {}", trouble_text(&t)))?);
    }
    rig.log.take();
    Ok(answers)
}

/// The reads that show a role's state after `case`: for a hub, every partition key the case
/// names read from counter 0 and every group's GroupInfo; for a follower, a local read of
/// every group (followed or not); for an RSP, each KeyPackage request of the case (alone or
/// in a bundle), and each for a user who never had a KeyPackage, that the model refuses
/// once the case is over, changing nothing: a user with none (left) for that suite, refused
/// the same way after a burst only if the burst handed none out to them. A request served either uses a KeyPackage up or may be served
/// another last-resort one (the RSP's choice), so it cannot read twice.
fn reads_of(case: &Case) -> Vec<Input> {
    if case.role == Role::Rsp {
        return rsp_reads(case);
    }
    let mut keys: Vec<PartitionKey> = Vec::new();
    let mut groups: Vec<Bytes> = Vec::new();
    for step in &case.steps {
        match &step.input {
            Input::CreateGroup {
                group_id,
                partition_key,
            } => {
                keys.push(*partition_key);
                groups.push(group_id.clone());
            }
            Input::Send { request, .. } | Input::LocalSend { request, .. } => {
                keys.push(request.partition_key);
                keys.extend(request.commit_data.iter().map(|c| c.next_partition_key));
                groups.extend(request.message.view.group_id.iter().cloned());
            }
            Input::FollowGroup { group_id, .. } => groups.push(group_id.clone()),
            _ => {}
        }
    }
    keys.sort();
    keys.dedup();
    groups.sort();
    groups.dedup();
    let reader = case
        .peers()
        .into_iter()
        .next()
        .unwrap_or_else(|| ServiceProviderId::new("b.example").expect("a valid id"));
    match case.role {
        Role::Hub => keys
            .into_iter()
            .map(|partition_key| Input::Receive {
                from: reader.clone(),
                request: ReceiveRequest {
                    partition_key,
                    counter: 0,
                },
            })
            .chain(groups.into_iter().map(|group_id| Input::GroupInfo {
                from: reader.clone(),
                request: GroupInfoRequest { group_id },
            }))
            .collect(),
        Role::Follower => groups
            .into_iter()
            .map(|group_id| Input::LocalReceive {
                group_id,
                request: ReceiveRequest {
                    partition_key: PartitionKey([0; 16]),
                    counter: 0,
                },
            })
            .collect(),
        Role::Rsp => Vec::new(),
    }
}

/// The KeyPackage requests of `case` the model refuses after it, changing nothing.
fn rsp_reads(case: &Case) -> Vec<Input> {
    let mut state = mimi_ds_model::ds::State::new(case.target.clone());
    for step in &case.steps {
        mimi_ds_model::ds::apply(&mut state, &step.input);
    }
    let mut requests: Vec<&KeyPackageRequest> = Vec::new();
    for step in &case.steps {
        match &step.input {
            Input::KeyPackage { request } => requests.push(request),
            Input::KeyPackageBundle { request } => requests.extend(&request.requests),
            _ => {}
        }
    }
    // Each as asked, and for a user who never had a KeyPackage.
    let nobody = requests.iter().map(|r| KeyPackageRequest {
        user_id: Bytes::from(&b"nobody"[..]),
        ..(*r).clone()
    });
    let candidates: Vec<KeyPackageRequest> = requests
        .iter()
        .map(|r| (*r).clone())
        .chain(nobody)
        .collect();
    let mut reads: Vec<Input> = Vec::new();
    for request in candidates {
        let read = Input::KeyPackage { request };
        let step = mimi_ds_model::ds::step(&state, &read);
        let refused = matches!(step.expect.canonical, Response::Error(_));
        if refused && step.next.key_packages == state.key_packages && !reads.contains(&read) {
            reads.push(read);
        }
    }
    reads
}

/// The case of `role` that gives the target the most state to keep: the one with the most
/// requests, among those it can run with no refused or malformed step, in a stable order.
fn setup_candidates(cases: &[Case], role: Role) -> Vec<&Case> {
    let mut candidates: Vec<&Case> = cases
        .iter()
        .filter(|c| c.role == role)
        .filter(|c| {
            c.steps.iter().all(|s| {
                !matches!(
                    s.input,
                    Input::Malformed { .. } | Input::Unidentified { .. }
                )
            })
        })
        .collect();
    candidates.sort_by_key(|c| (std::cmp::Reverse(c.steps.len()), c.id.clone()));
    candidates
}

/// Replays the setup case; why not, if the target does not pass it.
async fn set_up(rig: &Rig, case: &Case) -> Result<(), String> {
    let result = run_case(case, rig).await;
    rig.peers.take_all();
    match result.grade {
        Grade::Pass | Grade::Informational | Grade::NonStrict => Ok(()),
        grade => Err(format!(
            "setting the state up with case {} gave {}: {}",
            case.id,
            grade.name(),
            result.because.first().cloned().unwrap_or_default()
        )),
    }
}

/// Bodies of valid requests to fuzz from, per destination: every request the vectors send.
struct Seeds {
    federation: Vec<(Endpoint, Option<ServiceProviderId>, Vec<u8>)>,
    /// Those of the setup case: what its reads show, if a mutant lets them through.
    own: Vec<(Endpoint, Option<ServiceProviderId>, Vec<u8>)>,
    control: Vec<Vec<u8>>,
    reset: Vec<u8>,
}

impl Seeds {
    /// The seeds of `cases` and of `setup` among them; control actions only those the
    /// target offers (`actions`).
    fn of(cases: &[Case], setup: &Case, reset: &Reset, actions: &[String]) -> Seeds {
        let own = Seeds::federation_of(std::slice::from_ref(setup));
        let mut control = Vec::new();
        for step in cases.iter().flat_map(|c| &c.steps) {
            let offered =
                control::action_name(&step.input).filter(|a| actions.iter().any(|o| o == a));
            if offered.is_some() {
                let body = serde_json::to_vec(&step.input).expect("inputs serialize");
                if !control.contains(&body) {
                    control.push(body);
                }
            }
        }
        Seeds {
            federation: Seeds::federation_of(cases),
            own,
            control,
            reset: serde_json::to_vec(reset).expect("resets serialize"),
        }
    }

    /// Every federation request of `cases`, once.
    fn federation_of(cases: &[Case]) -> Vec<(Endpoint, Option<ServiceProviderId>, Vec<u8>)> {
        let mut federation = Vec::new();
        for step in cases.iter().flat_map(|c| &c.steps) {
            let CaseStep { input, raw } = step;
            let seed = match (binding::request_of(input), input, raw) {
                (Some((endpoint, from, body)), _, _) => Some((endpoint, from.cloned(), body)),
                (None, Input::Malformed { endpoint, .. }, Some(raw)) => {
                    Some((*endpoint, None, raw.body.clone()))
                }
                _ => None,
            };
            if let Some(seed) = seed.filter(|s| !federation.contains(s)) {
                federation.push(seed);
            }
        }
        federation
    }
}

/// Header values for the provider identity: none, garbage, an all-digit label, another
/// form of a name, or (valid) someone else's id.
fn identity(
    rng: &mut SplitMix64,
    usual: &Option<ServiceProviderId>,
    peers: &[ServiceProviderId],
) -> Option<Vec<u8>> {
    let usual = usual.clone().or_else(|| peers.first().cloned());
    match rng.below(8) {
        0 => None,
        1 => Some(vec![0xff, 0xfe, b'x', 0x80]),
        2 => Some(b"12345".to_vec()),
        3 => Some(b"10.0.0.1".to_vec()),
        4 => usual.map(|u| u.as_str().to_ascii_uppercase().into_bytes()),
        5 => Some(b"".to_vec()),
        6 => Some(b"outsider.example".to_vec()),
        _ => Some(rng.pick(peers).as_str().as_bytes().to_vec()),
    }
}

const MEDIA_TYPES: &[Option<&str>] = &[
    None,
    Some("text/plain"),
    Some("application/json"),
    Some("application/octet-stream"),
    Some("APPLICATION/MIMI-DS"),
];

/// Byte-level and codec-level mutations of a body `len` bytes long: one to three.
fn body_mutations(rng: &mut SplitMix64, to: Destination, len: usize) -> Vec<Mutation> {
    let mut out = Vec::new();
    let mut len = len;
    if matches!(to, Destination::Federation(_)) && rng.percent(25) {
        out.push(match rng.below(4) {
            0 => Mutation::Arbitrary { seed: rng.next() },
            _ => Mutation::Fault {
                fault: FAULTS[rng.below(FAULTS.len())],
                site: rng.below(4),
            },
        });
        if rng.percent(50) {
            return out;
        }
    }
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(len.max(1));
        let m = match rng.below(8) {
            0 | 1 => Mutation::FlipBit {
                at,
                bit: rng.below(8) as u8,
            },
            2 => Mutation::SetByte {
                at,
                value: match rng.below(8) {
                    7 => rng.next() as u8,
                    i => [0x00, 0xff, 0x3f, 0x40, 0x7f, 0x80, 0xc0][i],
                },
            },
            3 => Mutation::Truncate { to: at },
            4 => Mutation::Append {
                bytes: {
                    let n = 1 + rng.below(8);
                    Bytes(rng.bytes(n))
                },
            },
            5 => Mutation::Insert {
                at,
                bytes: {
                    let n = 1 + rng.below(4);
                    Bytes(rng.bytes(n))
                },
            },
            6 => Mutation::Remove {
                at,
                len: 1 + rng.below(4),
            },
            _ => Mutation::Length {
                at,
                by: *rng.pick(&[-2, -1, 1, 2, 16, -16]),
            },
        };
        len = match &m {
            Mutation::Truncate { to } => *to,
            Mutation::Append { bytes } => len + bytes.0.len(),
            Mutation::Insert { bytes, .. } => len + bytes.0.len(),
            Mutation::Remove { at, len: n } => len - (*n).min(len.saturating_sub(*at)),
            _ => len,
        };
        out.push(m);
    }
    out
}

/// JSON-level garbage for a control body: cut, a character changed, a value of another type,
/// or no JSON at all.
fn json_mutations(rng: &mut SplitMix64, len: usize) -> Vec<Mutation> {
    let at = rng.below(len.max(1));
    vec![match rng.below(6) {
        0 => Mutation::Truncate { to: at },
        1 => Mutation::SetByte {
            at,
            value: *rng.pick(b"{}[]\",:0x\\\xff"),
        },
        2 => Mutation::Insert {
            at,
            bytes: Bytes(
                rng.pick(&[&b"null,"[..], b"\"x\":1,", b"[", b"}", b"\xc3"])
                    .to_vec(),
            ),
        },
        3 => Mutation::Remove {
            at,
            len: 1 + rng.below(8),
        },
        4 => Mutation::Truncate { to: 0 },
        _ => Mutation::Append {
            bytes: Bytes(b"{\"input\":\"no_such_action\"}".to_vec()),
        },
    }]
}

/// The generator of one role's requests.
struct Generator<'a> {
    role: Role,
    seeds: &'a Seeds,
    peers: Vec<ServiceProviderId>,
    ohttp: bool,
}

impl<'a> Generator<'a> {
    fn request(&self, rng: &mut SplitMix64) -> Request {
        let endpoints: Vec<Endpoint> = endpoints(self.role)
            .iter()
            .copied()
            .filter(|e| self.seeds.federation.iter().any(|(s, _, _)| s == e))
            .collect();
        let to = match rng.below(20) {
            0 => Destination::Reset,
            1 | 2 if !self.seeds.control.is_empty() => Destination::Control,
            _ if !endpoints.is_empty() => Destination::Federation(*rng.pick(&endpoints)),
            _ => Destination::Control,
        };
        let (base, usual) = match to {
            Destination::Federation(e) => {
                let at = |seeds: &'a [(Endpoint, Option<ServiceProviderId>, Vec<u8>)]| {
                    seeds.iter().filter(|(s, _, _)| *s == e).collect::<Vec<_>>()
                };
                // Half from the setup case's own requests, when it has some here.
                let own = at(&self.seeds.own);
                let of = match own.is_empty() || rng.percent(50) {
                    true => at(&self.seeds.federation),
                    false => own,
                };
                let (_, from, body) = rng.pick(&of);
                (body.clone(), from.clone())
            }
            Destination::Control if !self.seeds.control.is_empty() => {
                (rng.pick(&self.seeds.control).clone(), None)
            }
            _ => (self.seeds.reset.clone(), None),
        };
        let mut request = Request {
            role: self.role,
            to,
            mutations: Vec::new(),
            provider: None,
            media_type: Some(JSON.into()),
            base,
            usual: (None, JSON),
        };
        let Destination::Federation(endpoint) = to else {
            request.mutations = json_mutations(rng, request.base.len());
            return request;
        };
        let needs = binding::needs_provider(endpoint);
        let provider = needs
            .then(|| usual.clone().or_else(|| self.peers.first().cloned()))
            .flatten()
            .map(|p| p.as_str().as_bytes().to_vec());
        request.usual = (provider.clone(), MEDIA_TYPE);
        request.provider = provider;
        request.media_type = Some(MEDIA_TYPE.into());
        // KeyPackage requests through OHTTP carry no headers of their own.
        let headers_apply = needs || !self.ohttp;
        match rng.below(100) {
            0..=69 => request.mutations = body_mutations(rng, to, request.base.len()),
            70..=84 if needs => {
                request.provider = identity(rng, &usual, &self.peers);
                if rng.percent(30) {
                    request.mutations = body_mutations(rng, to, request.base.len());
                }
            }
            85..=96 if headers_apply => {
                request.media_type = rng.pick(MEDIA_TYPES).map(String::from);
                if rng.percent(50) {
                    request.mutations = body_mutations(rng, to, request.base.len());
                }
            }
            97..=99 if headers_apply => request.mutations.push(Mutation::Oversize {
                announced: rng.percent(50),
            }),
            _ => request.mutations = body_mutations(rng, to, request.base.len()),
        }
        request
    }
}

/// How a request failed: its own answer, or the state it changed.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub request: Request,
    /// `answer`: the request's own answer broke the binding; `state`: a read after it
    /// answered otherwise than before.
    pub kind: &'static str,
    pub broken: Broken,
    /// The setup case whose state the request met.
    pub setup: String,
    #[serde(skip)]
    pub wire: Vec<Exchange>,
    /// Requests tried while minimising it.
    pub shrink_attempts: usize,
}

impl Failure {
    /// The failing request as a documented, replayable JSON object (see README, `fuzz`).
    pub fn replay_json(&self) -> serde_json::Value {
        let body = self.request.body();
        let mut headers = serde_json::Map::new();
        if let Some(t) = &self.request.media_type {
            headers.insert("content-type".into(), t.clone().into());
        }
        if let Some(p) = &self.request.provider {
            let value = match std::str::from_utf8(p) {
                Ok(text) => serde_json::json!(text),
                Err(_) => serde_json::json!({ "hex": hex::encode(p) }),
            };
            headers.insert(binding::PROVIDER_HEADER.into(), value);
        }
        let oversize = self.request.oversize().map(|announced| {
            serde_json::json!({
                "length": MAX_BODY + 1,
                "filler": "zeros after body_hex",
                "content_length_announced": announced,
            })
        });
        serde_json::json!({
            "what": "a request mimi-ds-check fuzz sent, minimised; replay the setup case first (mimi-ds-check run --only SETUP), then this request, then compare the reads",
            "role": role_name(self.request.role),
            "setup_case": self.setup,
            "method": "POST",
            "path": self.request.to.path(),
            "headers": headers,
            "body_hex": hex::encode(&body),
            "oversize": oversize,
            "mutations": self.request.mutations,
            "base_hex": hex::encode(&self.request.base),
            "failure": self.kind,
            "expected": self.broken.expected,
            "observed": self.broken.observed,
            "errata": self.broken.errata.iter().map(|e| e.0).collect::<Vec<_>>(),
        })
    }
}

/// What one role's fuzzing found.
pub struct RoleRun {
    pub role: Role,
    pub setup: Option<String>,
    /// Requests sent per destination, and the first failure, if any.
    pub sent: Vec<(Destination, usize)>,
    pub failure: Option<Failure>,
    /// Why nothing could be concluded: the target fails every setup case tried, or stopped
    /// answering the reads with no refused request since the last ones.
    pub indeterminate: Option<String>,
    /// The reads of the state check (0 for an RSP).
    pub reads: usize,
    /// Requests sent that still decoded (legal, judged only for what every answer owes).
    pub legal: usize,
}

/// The fuzzing of one role: `requests` requests from `seed`, stopping at the first failure,
/// which is minimised. `progress` is told each request sent.
pub async fn fuzz_role(
    rig: &Rig,
    cases: &[Case],
    role: Role,
    requests: usize,
    seed: u64,
    timeout: Duration,
    progress: &dyn Fn(),
) -> RoleRun {
    let mut run = RoleRun {
        role,
        setup: None,
        sent: Vec::new(),
        failure: None,
        indeterminate: None,
        reads: 0,
        legal: 0,
    };
    let mut why_not = Vec::new();
    let mut setup = None;
    for case in setup_candidates(cases, role).into_iter().take(3) {
        match set_up(rig, case).await {
            Ok(()) => {
                let offered = |input: &Input| {
                    control::action_name(input)
                        .is_none_or(|a| rig.target.capabilities.actions.iter().any(|o| o == a))
                };
                let reads = reads_of(case).into_iter().filter(offered).collect();
                setup = Some(Setup { case, reads });
                break;
            }
            Err(why) => why_not.push(why),
        }
    }
    let Some(setup) = setup else {
        run.indeterminate = Some(match why_not.first() {
            Some(why) => why.clone(),
            None => format!(
                "no case of the {} role to set the state up with",
                role_name(role)
            ),
        });
        return run;
    };
    run.setup = Some(setup.case.id.clone());
    run.reads = setup.reads.len();
    let reset = Reset {
        me: setup.case.target.clone(),
        peers: rig.peers.urls(),
    };
    let seeds = Seeds::of(cases, setup.case, &reset, &rig.target.capabilities.actions);
    let generator = Generator {
        role,
        seeds: &seeds,
        peers: setup.case.peers(),
        ohttp: rig.target.capabilities.ohttp,
    };
    let mut rng = SplitMix64(seed ^ (role as u64).wrapping_mul(0x1000_0000_01b3));
    let mut before = match read_state(rig, &setup.reads).await {
        Ok(answers) => answers,
        Err(why) => {
            run.indeterminate = Some(why);
            return run;
        }
    };
    let mut done = 0;
    while done < requests {
        let mut burst = Vec::new();
        let mut legal = Vec::new();
        while burst.len() + legal.len() < BURST && done < requests {
            let request = generator.request(&mut rng);
            let Some(expect) = request.expectation() else {
                continue;
            };
            done += 1;
            progress();
            match run.sent.iter_mut().find(|(d, _)| *d == request.to) {
                Some((_, n)) => *n += 1,
                None => run.sent.push((request.to, 1)),
            }
            if expect == Expect::Legal {
                run.legal += 1;
                legal.push((request, expect));
                continue;
            }
            let (verdict, wire) = send(rig, &request, &expect, timeout).await;
            if let Err(broken) = verdict {
                run.failure =
                    Some(minimise(rig, &setup, request, broken, wire, timeout, false).await);
                return run;
            }
            burst.push(request);
        }
        rig.peers.take_all();
        let after = read_state(rig, &setup.reads).await;
        match after {
            Ok(after) if after == before => {}
            Ok(after) => {
                let broken = state_changed(&setup.reads, &before, &after);
                run.failure = Some(culprit(rig, &setup, burst, broken, timeout).await);
                return run;
            }
            Err(why) => {
                stopped_answering(&mut run, &setup, burst.pop(), why);
                return run;
            }
        }
        if legal.is_empty() {
            continue;
        }
        let mut last = None;
        for (request, expect) in legal {
            let (verdict, wire) = send(rig, &request, &expect, timeout).await;
            if let Err(broken) = verdict {
                run.failure =
                    Some(minimise(rig, &setup, request, broken, wire, timeout, false).await);
                return run;
            }
            last = Some(request);
        }
        rig.peers.take_all();
        before = match read_state(rig, &setup.reads).await {
            Ok(answers) => answers,
            Err(why) => {
                stopped_answering(&mut run, &setup, last, why);
                return run;
            }
        };
    }
    run
}

/// The target stopped answering the reads: the last request sent since the previous reads
/// is the suspect; with none, nothing can be concluded.
fn stopped_answering(run: &mut RoleRun, setup: &Setup<'_>, last: Option<Request>, why: String) {
    match last {
        Some(request) => {
            run.failure = Some(Failure {
                request,
                kind: "state",
                broken: broken(&Expect::Legal, why),
                setup: setup.case.id.clone(),
                wire: Vec::new(),
                shrink_attempts: 0,
            })
        }
        None => run.indeterminate = Some(why),
    }
}

/// The first read whose answer changed, as a failure of the refusals before it.
fn state_changed(reads: &[Input], before: &[Response], after: &[Response]) -> Broken {
    let (i, (b, a)) = before
        .iter()
        .zip(after)
        .enumerate()
        .find(|(_, (b, a))| b != a)
        .expect("the answers differ");
    Broken {
        expected: format!(
            "refused requests change nothing: read {} still answered {}",
            read_name(&reads[i]),
            b.summary()
        ),
        observed: format!("it answered {}", a.summary()),
        errata: vec![errata::TRANSPORT, errata::REFUSAL_ORDER],
    }
}

fn read_name(input: &Input) -> String {
    match input {
        Input::Receive { request, .. } => format!(
            "receive of partition {} from counter {}",
            hex::encode(request.partition_key.0),
            request.counter
        ),
        Input::GroupInfo { request, .. } => {
            format!(
                "group-info of group {}",
                hex::encode(request.group_id.as_slice())
            )
        }
        Input::LocalReceive { group_id, .. } => {
            format!(
                "local_receive of group {}",
                hex::encode(group_id.as_slice())
            )
        }
        Input::KeyPackage { request } => format!(
            "key-package request for user {} (suite {})",
            String::from_utf8_lossy(request.user_id.as_slice()),
            request.cipher_suite
        ),
        other => format!("{other:?}"),
    }
}

/// Whether `request`, sent alone after a fresh setup, changes the reads; `None` when the
/// setup itself cannot be made again.
async fn changes_state(
    rig: &Rig,
    setup: &Setup<'_>,
    request: &Request,
    timeout: Duration,
) -> Option<(Broken, Vec<Exchange>)> {
    if !matches!(
        request.expectation(),
        Some(Expect::Refused(_) | Expect::ControlRefused | Expect::Oversize)
    ) {
        return None;
    }
    set_up(rig, setup.case).await.ok()?;
    let before = read_state(rig, &setup.reads).await.ok()?;
    let expect = request.expectation()?;
    let (_, wire) = send(rig, request, &expect, timeout).await;
    let after = read_state(rig, &setup.reads).await.ok()?;
    (after != before).then(|| (state_changed(&setup.reads, &before, &after), wire))
}

/// The request of `burst` that changes the state alone, minimised; if none does alone, the
/// last one of the burst, unminimised.
async fn culprit(
    rig: &Rig,
    setup: &Setup<'_>,
    burst: Vec<Request>,
    broken: Broken,
    timeout: Duration,
) -> Failure {
    for request in &burst {
        if let Some((broken, wire)) = changes_state(rig, setup, request, timeout).await {
            return minimise(rig, setup, request.clone(), broken, wire, timeout, true).await;
        }
    }
    let request = burst
        .last()
        .cloned()
        .expect("a burst that changed the state sent requests");
    Failure {
        request,
        kind: "state",
        broken: Broken {
            observed: format!(
                "{} (no single request of its burst of {} did it alone)",
                broken.observed,
                burst.len()
            ),
            ..broken
        },
        setup: setup.case.id.clone(),
        wire: Vec::new(),
        shrink_attempts: burst.len(),
    }
}

impl Request {
    /// How far from its vector's request this one is: what minimising makes smaller at
    /// every step (so it ends), weighing a mutation or a changed header above a few bytes.
    fn size(&self) -> usize {
        let (provider, media_type) = &self.usual;
        self.body().len()
            + 8 * self.mutations.len()
            + 4 * usize::from(self.provider != *provider)
            + 4 * usize::from(self.media_type.as_deref() != Some(*media_type))
    }
}

/// Simpler versions of `request`: each with one mutation fewer (or adding one byte where it
/// added more), with the vector's provider
/// header and the binding's media type back, then with the body cut (shortest first).
fn smaller(request: &Request) -> Vec<Request> {
    let mut out = Vec::new();
    for i in 0..request.mutations.len() {
        let mut r = request.clone();
        r.mutations.remove(i);
        out.push(r);
        // Bytes added: one only.
        let mut r = request.clone();
        if let Mutation::Append { bytes } | Mutation::Insert { bytes, .. } = &mut r.mutations[i] {
            if bytes.0.len() > 1 {
                bytes.0.truncate(1);
                out.push(r);
            }
        }
    }
    let (provider, media_type) = &request.usual;
    if request.provider != *provider {
        let mut r = request.clone();
        r.provider = provider.clone();
        out.push(r);
    }
    if request.media_type.as_deref() != Some(*media_type) {
        let mut r = request.clone();
        r.media_type = Some(media_type.to_string());
        out.push(r);
    }
    let len = request.body().len();
    if request.oversize().is_none() {
        for to in [
            len / 8,
            len / 4,
            len / 2,
            len * 3 / 4,
            len.saturating_sub(1),
        ] {
            if to == 0 || to >= len {
                continue;
            }
            let mut r = request.clone();
            // Cuts replace the last cut rather than pile up.
            if let Some(Mutation::Truncate { .. }) = r.mutations.last() {
                r.mutations.pop();
            }
            r.mutations.push(Mutation::Truncate { to });
            if r.body().len() < len {
                out.push(r);
            }
        }
    }
    out
}

/// Shrinks a failing request: fewer mutations, a shorter body, the vector's headers, each
/// step smaller by [`Request::size`], as long as it still fails the same way (`state`:
/// changes the reads after a fresh setup; else: its own answer).
async fn minimise(
    rig: &Rig,
    setup: &Setup<'_>,
    request: Request,
    broken: Broken,
    wire: Vec<Exchange>,
    timeout: Duration,
    state: bool,
) -> Failure {
    let mut best = (request, broken, wire);
    let mut attempts = 0;
    'shrinking: while attempts < SHRINK_ATTEMPTS {
        let size = best.0.size();
        for candidate in smaller(&best.0).into_iter().filter(|c| c.size() < size) {
            if attempts >= SHRINK_ATTEMPTS {
                break 'shrinking;
            }
            attempts += 1;
            let failed = if state {
                changes_state(rig, setup, &candidate, timeout).await
            } else {
                match candidate.expectation() {
                    Some(expect) => {
                        let (verdict, wire) = send(rig, &candidate, &expect, timeout).await;
                        verdict.err().map(|b| (b, wire))
                    }
                    None => None,
                }
            };
            if let Some((broken, wire)) = failed {
                best = (candidate, broken, wire);
                continue 'shrinking;
            }
        }
        break;
    }
    rig.peers.take_all();
    let (request, broken, wire) = best;
    Failure {
        request,
        kind: if state { "state" } else { "answer" },
        broken,
        setup: setup.case.id.clone(),
        wire,
        shrink_attempts: attempts,
    }
}

/// The failure as a trace vector `run --vectors` replays: the setup case's steps, the
/// request, and the reads; `None` when the request is no input a vector can carry (another
/// media type, an oversize body, test control, or an unidentified caller with a body that
/// does not decode).
pub fn vector(failure: &Failure, setup: &Case, seed: u64) -> Option<TraceTest> {
    let input = failure.request.input()?;
    let raw = match &input {
        Input::Malformed { .. } | Input::Unidentified { .. } => Some(Bytes(failure.request.body())),
        _ => None,
    };
    let mut steps: Vec<trace::CaseStep> = setup
        .steps
        .iter()
        .map(|s| trace::CaseStep {
            input: s.input.clone(),
            malformed_body: s.raw.as_ref().map(|r| Bytes(r.body.clone())),
        })
        .collect();
    steps.push(trace::CaseStep {
        input,
        malformed_body: raw,
    });
    steps.extend(reads_of(setup).into_iter().map(trace::CaseStep::from));
    let case = TraceCase {
        id: format!(
            "{SECTION}/{}/{}/seed-{seed}",
            role_name(setup.role),
            failure.request.to.name()
        ),
        comment: format!(
            "mimi-ds-check fuzz (seed {seed}): after the steps of {}, {}; the reads after it must answer as before",
            setup.id,
            describe(&failure.request)
        ),
        target: trace::Target {
            role: setup.role,
            provider: setup.target.to_string(),
        },
        exercises: Vec::new(),
        steps,
    };
    trace::build(&case).ok()
}

impl RoleRun {
    /// The run as report cases: one per destination fuzzed (`fuzz/<role>/<endpoint>`), one
    /// for the state check (`fuzz/<role>/state`), or one for a setup that failed.
    pub fn results(&self) -> Vec<CaseResult> {
        let role = role_name(self.role);
        let result = |what: &str, comment: String, grade: Grade| CaseResult {
            section: SECTION.into(),
            comment,
            errata: vec![errata::TRANSPORT],
            ..CaseResult::empty(format!("{SECTION}/{role}/{what}"), self.role, grade)
        };
        if let Some(why) = &self.indeterminate {
            let comment = "the state fuzzing starts from and must keep".into();
            let mut r = result("state", comment, Grade::Indeterminate);
            r.because.push(why.clone());
            return vec![r];
        }
        let setup = self.setup.as_deref().unwrap_or_default();
        let mut out: Vec<CaseResult> = self
            .sent
            .iter()
            .map(|(to, n)| {
                let comment = format!("{n} fuzzed requests to POST {}", to.path());
                result(to.name(), comment, Grade::Pass)
            })
            .collect();
        out.push(result(
            "state",
            format!(
                "{} reads after the state of {setup} give the same answers before and after each burst of up to {BURST} requests; {} legal requests were sent after the checks",
                self.reads, self.legal
            ),
            Grade::Pass,
        ));
        if let Some(f) = &self.failure {
            let at = match f.kind {
                "state" => out.len() - 1,
                _ => out
                    .iter()
                    .position(|r| r.id.ends_with(&format!("/{}", f.request.to.name())))
                    .unwrap_or(0),
            };
            let r = &mut out[at];
            r.grade = Grade::Fail;
            r.violated_errata = f.broken.errata.clone();
            r.expected = Some(f.broken.expected.clone());
            r.observed = Some(f.broken.observed.clone());
            r.because = vec![
                format!(
                    "expected {}; {} (minimised in {} attempts)",
                    f.broken.expected, f.broken.observed, f.shrink_attempts
                ),
                describe(&f.request),
                format!("the state was that of case {setup}"),
            ];
            r.wire = f.wire.clone();
        }
        out
    }
}

/// One line for a request: where it went, what was done to its body and headers.
pub fn describe(request: &Request) -> String {
    let mutations: Vec<String> = request
        .mutations
        .iter()
        .map(|m| serde_json::to_string(m).expect("mutations serialize"))
        .collect();
    let provider = match &request.provider {
        None => "no provider header".to_string(),
        Some(p) => format!("provider header {:?}", String::from_utf8_lossy(p)),
    };
    format!(
        "POST {} ({provider}, media type {:?}, body {}{}) mutated by [{}]",
        request.to.path(),
        request.media_type.as_deref().unwrap_or("none"),
        wire::show(&request.body()),
        if request.oversize().is_some() {
            " then zeros past 16 MiB"
        } else {
            ""
        },
        mutations.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RSP's state is read too: the case a burst would start from leaves a user the model
    /// refuses, and each read is one the model refuses without a change.
    #[test]
    fn an_rsp_setup_has_reads_that_change_nothing() {
        let cases = crate::cases::load(std::path::Path::new(mimi_ds_vectors::BUNDLED))
            .expect("the bundled vectors load");
        let setup = setup_candidates(&cases, Role::Rsp)[0];
        let reads = reads_of(setup);
        assert!(!reads.is_empty(), "no read of {}", setup.id);
        let mut state = mimi_ds_model::ds::State::new(setup.target.clone());
        for step in &setup.steps {
            mimi_ds_model::ds::apply(&mut state, &step.input);
        }
        for read in &reads {
            let step = mimi_ds_model::ds::step(&state, read);
            assert!(
                matches!(step.expect.canonical, Response::Error(_)),
                "{read:?}"
            );
            assert_eq!(step.next.key_packages, state.key_packages, "{read:?}");
        }
    }

    fn request(to: Destination, base: Vec<u8>, mutations: Vec<Mutation>) -> Request {
        Request {
            role: Role::Hub,
            to,
            base,
            mutations,
            provider: Some(b"b.example".to_vec()),
            media_type: Some(MEDIA_TYPE.into()),
            usual: (Some(b"b.example".to_vec()), MEDIA_TYPE),
        }
    }

    fn receive() -> Vec<u8> {
        ReceiveRequest {
            partition_key: PartitionKey([7; 16]),
            counter: 3,
        }
        .to_bytes()
    }

    /// The codec decides: a body that decodes is legal, one that does not is malformed, and
    /// an unidentified caller of a valid body is unauthorized.
    #[test]
    fn the_codec_classifies_each_request() {
        let to = Destination::Federation(Endpoint::Receive);
        assert_eq!(
            request(to, receive(), vec![]).expectation(),
            Some(Expect::Legal)
        );
        let trailing = vec![Mutation::Append {
            bytes: Bytes(vec![0]),
        }];
        assert_eq!(
            request(to, receive(), trailing).expectation(),
            Some(Expect::Refused(vec![ErrorCode::Malformed]))
        );
        let short = vec![Mutation::Fault {
            fault: "partition-key-15-bytes",
            site: 0,
        }];
        let r = request(to, receive(), short);
        assert_eq!(r.body().len(), receive().len() - 1);
        assert_eq!(
            r.expectation(),
            Some(Expect::Refused(vec![ErrorCode::Malformed]))
        );
        let mut digits = request(to, receive(), vec![]);
        digits.provider = Some(b"12345".to_vec());
        assert_eq!(
            digits.expectation(),
            Some(Expect::Refused(vec![ErrorCode::UnauthorizedProvider]))
        );
        let reset = br#"{"me":"a.example","peers":{}}"#.to_vec();
        let reset_with = |m: Vec<Mutation>| request(Destination::Reset, reset.clone(), m);
        assert_eq!(
            reset_with(vec![]).expectation(),
            None,
            "a reset that parses is never sent"
        );
        let unknown_key = vec![Mutation::Insert {
            at: 1,
            bytes: Bytes(b"\"x\":1,".to_vec()),
        }];
        assert_eq!(
            reset_with(unknown_key).expectation(),
            None,
            "nor one a lenient reader takes"
        );
        let cut = vec![Mutation::Truncate { to: 5 }];
        assert_eq!(reset_with(cut).expectation(), Some(Expect::ControlRefused));
        let action = |body: &[u8]| request(Destination::Control, body.to_vec(), vec![]);
        let bad_hex = action(br#"{"input":"mute","user":"zz"}"#);
        assert_eq!(
            bad_hex.expectation(),
            Some(Expect::Legal),
            "a known action, read leniently"
        );
        let unknown = action(br#"{"input":"no_such_action"}"#);
        assert_eq!(unknown.expectation(), Some(Expect::ControlRefused));
    }

    #[test]
    fn a_seed_fixes_the_requests() {
        let seeds = Seeds {
            federation: vec![(Endpoint::Receive, None, receive())],
            own: Vec::new(),
            control: vec![b"{\"input\":\"mute\",\"user\":\"00\"}".to_vec()],
            reset: b"{}".to_vec(),
        };
        let generator = Generator {
            role: Role::Hub,
            seeds: &seeds,
            peers: vec![ServiceProviderId::new("b.example").unwrap()],
            ohttp: false,
        };
        let draw = |seed| {
            let mut rng = SplitMix64(seed);
            (0..200)
                .map(|_| describe(&generator.request(&mut rng)))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }
}
