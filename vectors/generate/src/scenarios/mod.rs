//! The scenario tables: which slices of the MLS histories become trace vectors, per draft
//! section, and what the target is asked at the end of each.
//!
//! Each family is a table of variants (counters, positions, branches, answers, corruptions)
//! over one history; the model decides what every step must get, and `trace::build`
//! refuses nothing here, so a table row only chooses inputs. Ids are
//! `<section>/<family>/<variant>`.
//!
//! Each submodule owns the tables of one section, the one written to `trace/<section>.json`;
//! this module owns [`all`] and the helpers several sections share (case and input
//! builders, replays, the malformed-body family, the fork setup).

mod external_join;
mod flows;
mod fork_termination;
mod key_packages;
mod policy;
mod receive;
mod send;
mod welcome;

use crate::mls::{self, Handshakes};
use crate::stories::{self, Event, Fork, History, GROUP, STRAY_GROUP};
use mimi_ds_model::codec::reader::Fault;
use mimi_ds_model::codec::{
    Bytes, CommitData, Epoch, ExternalJoinRequest, GroupInfoRequest, HintedEpoch,
    KeyPackageBundleRequest, KeyPackageRequest, Message, PartitionKey, ReceiveRequest,
    ReceiveResponse, SendRequest, WelcomeInitRequest, Wire, Writer,
};
use mimi_ds_model::ds::{Endpoint, Input, NoAnswer, Token, TokenScope};
use mimi_ds_model::errata::{self, ErratumId};
use mimi_ds_model::requirements::{self as req, ReqId};
use mimi_ds_model::vectors::cast::{provider, FOLLOWER_B, FOLLOWER_C, HUB, OUTSIDER};
use mimi_ds_model::vectors::trace::{CaseStep, Role, Target, TraceCase};

/// Every section's cases, in file order. The histories several sections share are played
/// in the seed scope `histories`, each section's own in the scope of its name, so a change in
/// one section leaves the MLS bytes of the others as they were.
pub fn all() -> Vec<(&'static str, Vec<TraceCase>)> {
    let (clear, encrypted) = mls::seeded_as("histories", || {
        (
            stories::linear(Handshakes::Clear),
            stories::linear(Handshakes::Encrypted),
        )
    });
    let sections: [(&'static str, &dyn Fn() -> Vec<TraceCase>); 8] = [
        ("flows", &|| flows::flows(&clear)),
        ("key-packages", &key_packages::key_packages),
        ("send", &|| send::send(&clear, &encrypted)),
        ("welcome", &welcome::welcome),
        ("receive", &|| receive::receive(&clear, &encrypted)),
        ("external-join", &|| external_join::external_join(&clear)),
        ("fork-termination", &fork_termination::fork_termination),
        ("policy", &policy::policy),
    ];
    sections
        .into_iter()
        .map(|(section, cases)| (section, mls::seeded_as(section, cases)))
        .collect()
}

fn case(
    id: String,
    comment: String,
    role: Role,
    target: &str,
    exercises: &[ReqId],
    steps: Vec<CaseStep>,
) -> TraceCase {
    TraceCase {
        id,
        comment,
        target: Target {
            role,
            provider: target.into(),
        },
        exercises: exercises.to_vec(),
        steps,
    }
}

fn hub_case(id: String, comment: String, exercises: &[ReqId], steps: Vec<CaseStep>) -> TraceCase {
    case(id, comment, Role::Hub, HUB, exercises, steps)
}

fn steps(inputs: impl IntoIterator<Item = Input>) -> Vec<CaseStep> {
    inputs.into_iter().map(CaseStep::from).collect()
}

fn create(key: PartitionKey) -> Input {
    Input::CreateGroup {
        group_id: GROUP.into(),
        partition_key: key,
    }
}

fn read(from: &str, partition_key: PartitionKey, counter: u32) -> Input {
    Input::Receive {
        from: provider(from),
        request: ReceiveRequest {
            partition_key,
            counter,
        },
    }
}

fn group_info_request(from: &str, group_id: &[u8]) -> Input {
    Input::GroupInfo {
        from: provider(from),
        request: GroupInfoRequest {
            group_id: group_id.into(),
        },
    }
}

fn follow() -> Input {
    Input::FollowGroup {
        group_id: GROUP.into(),
        hub: provider(HUB),
    }
}

/// Following a second group, hosted at d.example.
fn follow_other() -> Input {
    Input::FollowGroup {
        group_id: STRAY_GROUP.into(),
        hub: provider(OUTSIDER),
    }
}

/// The hub's inputs that replay `events` after creating the group.
fn replay(creation: PartitionKey, events: &[Event]) -> Vec<Input> {
    std::iter::once(create(creation))
        .chain(events.iter().flat_map(answered))
        .collect()
}

/// An accepted event and a yes from every other provider its Welcome names, so no
/// WelcomeInit the vector causes is left unanswered.
fn answered(event: &Event) -> Vec<Input> {
    let mut inputs = vec![event.hub_input()];
    let providers = event
        .request
        .commit_data
        .iter()
        .flat_map(|d| &d.welcome_data)
        .flat_map(|w| &w.service_providers);
    for p in providers {
        let answer = Input::WelcomeInitAnswered {
            provider: p.clone(),
            accepted: true,
            no_answer: None,
        };
        if p.as_str() != HUB && !inputs.contains(&answer) {
            inputs.push(answer);
        }
    }
    inputs
}

/// Where each event lands: (partition key, position in it), as the hub sequences them.
fn positions(events: &[Event]) -> Vec<(PartitionKey, u32)> {
    let mut counts: std::collections::BTreeMap<PartitionKey, u32> = Default::default();
    events
        .iter()
        .map(|e| {
            let n = counts.entry(e.request.partition_key).or_default();
            *n += 1;
            (e.request.partition_key, *n - 1)
        })
        .collect()
}

fn messages_in(events: &[Event], key: PartitionKey) -> u32 {
    events
        .iter()
        .filter(|e| e.request.partition_key == key)
        .count() as u32
}

fn commit_positions(events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_commit())
        .map(|(i, _)| i)
        .collect()
}

fn malformed(endpoint: Endpoint, body: Vec<u8>) -> CaseStep {
    CaseStep {
        input: Input::malformed(endpoint),
        malformed_body: Some(Bytes(body)),
    }
}

/// A body whose bytes break `breaks` (and the decisions `breaks_errata`), which a decoder
/// reading them leniently would take.
fn malformed_breaking(
    endpoint: Endpoint,
    body: Vec<u8>,
    breaks: &[ReqId],
    breaks_errata: &[ErratumId],
) -> CaseStep {
    CaseStep {
        input: Input::Malformed {
            endpoint,
            breaks: breaks.to_vec(),
            breaks_errata: breaks_errata.to_vec(),
        },
        malformed_body: Some(Bytes(body)),
    }
}

/// Corruptions of a valid body that every strict decoder rejects.
fn corruptions(valid: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut trailing = valid.to_vec();
    trailing.push(0);
    vec![
        ("empty", Vec::new()),
        ("truncated-to-half", valid[..valid.len() / 2].to_vec()),
        ("last-byte-missing", valid[..valid.len() - 1].to_vec()),
        ("trailing-byte", trailing),
    ]
}

/// Requests the binding refuses whatever they say: bodies that do not decode, and (at the
/// endpoints that take a provider identity) a valid body with no identity or one of
/// another form than a ServiceProviderId (BINDING.md §3).
fn malformed_family(
    section: &str,
    role: Role,
    target: &str,
    endpoint: Endpoint,
    valid: &[u8],
    setup: Vec<Input>,
) -> Vec<TraceCase> {
    let name = serde_json::to_value(endpoint)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let mut out: Vec<TraceCase> = corruptions(valid)
        .into_iter()
        .map(|(what, body)| {
            let mut all = steps(setup.clone());
            all.push(malformed(endpoint, body));
            case(
                format!("{section}/malformed/{what}"),
                format!("A body at the {name} endpoint that does not decode ({}): refused as malformed, nothing changes", what.replace('-', " ")),
                role,
                target,
                &[req::ENDPOINTS_FOR_THIRD_PARTIES],
                all,
            )
        })
        .collect();
    if !mimi_ds_binding::needs_provider(endpoint) {
        return out;
    }
    let claims = [
        ("no-provider", None, "with no provider identity"),
        (
            "provider-with-port",
            Some("b.example:8443"),
            "naming the provider as host:port, which is no ServiceProviderId",
        ),
    ];
    for (what, claimed, how) in claims {
        let mut all = steps(setup.clone());
        all.push(CaseStep {
            input: Input::Unidentified {
                endpoint,
                claimed: claimed.map(String::from),
            },
            malformed_body: Some(Bytes(valid.to_vec())),
        });
        out.push(case(
            format!("{section}/unidentified/{what}"),
            format!("A valid body at the {name} endpoint {how}: refused as unauthorized_provider, nothing changes"),
            role,
            target,
            &[req::ENDPOINTS_FOR_THIRD_PARTIES],
            all,
        ));
    }
    out
}

fn fork_setup(fork: &Fork) -> Vec<Input> {
    [
        vec![create(fork.creation)],
        answered(&fork.founding_event),
        vec![fork.bob_commit.hub_input(), fork.carol_commit.hub_input()],
    ]
    .concat()
}
