//! The scenario tables: which slices of the MLS histories become trace vectors, per draft
//! section, and what the target is asked at the end of each.
//!
//! Each family is a table of variants (counters, positions, branches, answers, corruptions)
//! over one history; the model decides what every step must get, and `trace::build`
//! refuses nothing here, so a table row only chooses inputs. Ids are
//! `<section>/<family>/<variant>`.

use crate::mls::{self, Handshakes};
use crate::stories::{self, Event, Fork, History, GROUP, STRAY_GROUP};
use mimi_ds_model::codec::reader::Fault;
use mimi_ds_model::codec::{
    Bytes, CommitData, Epoch, ExternalJoinRequest, GroupInfoRequest, HintedEpoch,
    KeyPackageBundleRequest, KeyPackageRequest, Message, PartitionKey, ReceiveRequest,
    ReceiveResponse, SendRequest, WelcomeInitRequest, Wire, Writer,
};
use mimi_ds_model::ds::{Endpoint, Input, Token, TokenScope};
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
        ("flows", &|| flows(&clear)),
        ("key-packages", &key_packages),
        ("send", &|| send(&clear, &encrypted)),
        ("welcome", &welcome),
        ("receive", &|| receive(&clear, &encrypted)),
        ("external-join", &|| external_join(&clear)),
        ("fork-termination", &fork_termination),
        ("policy", &policy),
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

// ---------------------------------------------------------------------------------------
// Example flows (draft §"Example Flows").

fn flows(history: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    let founding = stories::found(Handshakes::Clear);
    let first = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let create_reqs = [
        req::FLOW_CREATE_FAN_OUT_WELCOME,
        req::FLOW_CREATE_FOLLOWERS_READ,
        req::FLOW_CREATE_WITH_LSP,
        req::HUB_SEQUENCES_AND_FANS_OUT,
        req::WELCOME_INIT_BEFORE_PUSH,
        req::WELCOME_AS_MLS_MESSAGE,
        req::SEND_WELCOME_DATA,
        req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE,
        req::ENDPOINTS_FOR_THIRD_PARTIES,
    ];
    let answer = |yes: bool| if yes { "accepts" } else { "refuses" };
    for (b_yes, c_yes) in [(true, true), (true, false), (false, true), (false, false)] {
        let mut inputs = vec![create(founding.creation), first.hub_input()];
        inputs.push(Input::WelcomeInitAnswered {
            provider: provider(FOLLOWER_B),
            accepted: b_yes,
        });
        inputs.push(Input::WelcomeInitAnswered {
            provider: provider(FOLLOWER_C),
            accepted: c_yes,
        });
        inputs.push(read(FOLLOWER_B, founding.creation, 0));
        out.push(hub_case(
            format!("flows/create-group/b-{}-c-{}", answer(b_yes), answer(c_yes)),
            format!(
                "Creating a group: alice (on the hub) commits adding bob and carol with one Welcome; the hub asks b.example and c.example with WelcomeInit; b.example {}, c.example {}; the Welcome is pushed only to a provider that accepted; b.example then reads the creation partition",
                answer(b_yes),
                answer(c_yes)
            ),
            &create_reqs,
            steps(inputs),
        ));
    }
    // A Welcome whose secrets name the hub itself for one joiner: no WelcomeInit to self.
    let local = stories::found_with(
        &[("bob", FOLLOWER_B), ("alan", HUB), ("carl", FOLLOWER_C)],
        Handshakes::Clear,
    );
    for (b_yes, c_yes) in [(true, true), (false, true), (true, false)] {
        let event = local.event(local.commit_data(true, &[FOLLOWER_B, HUB, FOLLOWER_C]));
        let inputs = vec![
            create(local.creation),
            event.hub_input(),
            Input::WelcomeInitAnswered {
                provider: provider(FOLLOWER_B),
                accepted: b_yes,
            },
            Input::WelcomeInitAnswered {
                provider: provider(FOLLOWER_C),
                accepted: c_yes,
            },
        ];
        out.push(hub_case(
            format!("flows/create-group/hub-local-joiner/b-{}-c-{}", answer(b_yes), answer(c_yes)),
            format!("Creating a group whose Welcome adds bob (b.example), alan (on the hub itself) and carl (c.example): WelcomeInit goes to b.example and c.example only; b.example {}, c.example {}", answer(b_yes), answer(c_yes)),
            &[req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE, req::WELCOME_INIT_BEFORE_PUSH, req::FLOW_CREATE_FAN_OUT_WELCOME],
            steps(inputs),
        ));
    }
    // Externally joining: GroupInfo, external commit, then the new partition is usable.
    for commits in 1..=3usize {
        let end = commit_positions(&history.events)[commits - 1] + 1;
        let events = &history.events[..end];
        let info = events[end - 1]
            .request
            .commit_data
            .as_ref()
            .and_then(|d| d.group_info.clone())
            .expect("commits carry a GroupInfo");
        let (mut dave, data, commit) = stories::external_join(&info, "dave", Handshakes::Clear);
        let recent = events[end - 1]
            .request
            .commit_data
            .as_ref()
            .expect("commit")
            .next_partition_key;
        let hello = dave.application("hello from dave");
        let mut inputs = replay(history.creation, events);
        inputs.push(group_info_request(OUTSIDER, GROUP));
        inputs.push(Input::ExternalJoin {
            from: provider(OUTSIDER),
            request: ExternalJoinRequest {
                message: commit,
                commit_data: data.clone(),
            },
        });
        inputs.push(Input::Send {
            from: provider(OUTSIDER),
            request: SendRequest {
                message: hello,
                partition_key: data.next_partition_key,
                commit_data: None,
            },
        });
        inputs.push(read(FOLLOWER_B, recent, messages_in(events, recent)));
        inputs.push(read(FOLLOWER_C, data.next_partition_key, 0));
        out.push(hub_case(
            format!("flows/external-join/after-{commits}-commits"),
            format!("Externally joining after {commits} commit(s): dave (d.example) requests the GroupInfo, sends an external commit (sequenced to the most recent partition), then sends to the partition his commit created; the followers read both"),
            &[req::FLOW_EXTERNAL_JOIN_STEPS, req::FLOW_EXTERNAL_JOIN_NEW_PARTITION, req::EXTERNAL_JOIN_TO_HUB, req::PARTITION_EXTERNAL_EXCEPTION],
            steps(inputs),
        ));
    }
    out.extend(self_remove_flows());
    out
}

fn commit_positions(events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_commit())
        .map(|(i, _)| i)
        .collect()
}

/// Self-remove: carol proposes her own removal, keeps reading the epoch, then her provider
/// stops reading and refuses pushes.
fn self_remove_flows() -> Vec<TraceCase> {
    let mut history = stories::linear(Handshakes::Clear);
    let key = *history.keys.last().expect("a key");
    let proposal = history.members[2].self_remove();
    let before = messages_in(&history.events, key);
    let remove = SendRequest {
        message: proposal.clone(),
        partition_key: key,
        commit_data: None,
    };
    let mut out = Vec::new();
    let mut hub_inputs = replay(history.creation, &history.events);
    hub_inputs.push(Input::Send {
        from: provider(FOLLOWER_C),
        request: remove.clone(),
    });
    hub_inputs.push(read(FOLLOWER_C, key, before));
    out.push(hub_case(
        "flows/self-remove/hub-sequences-the-proposal".into(),
        "Self-remove at the hub: carol's Remove proposal for herself (a PublicMessage proposal) is sequenced like any message, and carol keeps reading the same epoch to see it sequenced".into(),
        &[req::FLOW_SELF_REMOVE_PROPOSAL, req::FLOW_SELF_REMOVE_KEEP_RECEIVING],
        steps(hub_inputs),
    ));
    let carol = Bytes(b"carol".to_vec());
    let pushed = ReceiveResponse {
        epoch: Epoch::default(),
        hints: vec![HintedEpoch {
            masked_partition_key: key.masked(),
            epoch: Epoch {
                messages: vec![Message {
                    message: proposal,
                    commit: None,
                }],
            },
        }],
    };
    // (how many reads before leaving, what is tried after leaving)
    let after_leaving: [(&str, Input); 2] = [
        (
            "read",
            Input::LocalReceive {
                group_id: GROUP.into(),
                request: ReceiveRequest {
                    partition_key: key,
                    counter: before + 1,
                },
            },
        ),
        (
            "push",
            Input::Push {
                from: provider(HUB),
                response: pushed,
            },
        ),
    ];
    for reads in [1u32, 2] {
        for (what, attempt) in &after_leaving {
            let mut inputs = vec![
                follow(),
                Input::LocalSend {
                    user: carol.clone(),
                    request: remove.clone(),
                },
            ];
            inputs.extend((0..reads).map(|r| Input::LocalReceive {
                group_id: GROUP.into(),
                request: ReceiveRequest {
                    partition_key: key,
                    counter: before + r,
                },
            }));
            inputs.push(Input::SelfRemove {
                group_id: GROUP.into(),
            });
            inputs.push(attempt.clone());
            out.push(case(
                format!("flows/self-remove/follower-{reads}-reads-then-{what}"),
                format!("Self-remove at carol's provider: it forwards her Remove proposal to the hub, reads the epoch {reads} time(s) for her, is told she left (test control), then a {what} for the group must be refused with unknown_group"),
                Role::Follower,
                FOLLOWER_C,
                &[req::FLOW_SELF_REMOVE_INFORM_LSP, req::FLOW_SELF_REMOVE_STOP_PUSHES, req::FLOW_SELF_REMOVE_KEEP_RECEIVING, req::SEND_FOLLOWER_TO_HUB],
                steps(inputs),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Key packages (draft §"Endpoints / Key Packages"), target the RSP b.example.

fn key_package_request(user: &[u8], token: &[u8], cipher_suite: u16) -> KeyPackageRequest {
    KeyPackageRequest {
        user_id: user.into(),
        bearer_token: token.into(),
        version: 1,
        cipher_suite,
    }
}

fn rsp_case(id: String, comment: String, exercises: &[ReqId], steps: Vec<CaseStep>) -> TraceCase {
    case(id, comment, Role::Rsp, FOLLOWER_B, exercises, steps)
}

fn key_packages() -> Vec<TraceCase> {
    const SUITE: u16 = 1;
    let with_last_resort = stories::uploads(2, true);
    let without_last_resort = stories::uploads(2, false);
    let setup = |uploads: &stories::Uploads| -> Vec<Input> {
        let mut inputs: Vec<Input> = uploads
            .users
            .iter()
            .map(|(user, packages)| Input::UploadKeyPackages {
                user: user.clone(),
                key_packages: packages.clone(),
            })
            .collect();
        inputs.push(Input::IssueToken(Token {
            scope: TokenScope::User(b"bob".as_slice().into()),
            token: b"token-bob".as_slice().into(),
        }));
        inputs.push(Input::IssueToken(Token {
            scope: TokenScope::Shared,
            token: b"token-shared".as_slice().into(),
        }));
        inputs
    };
    let ask = |user: &[u8], token: &[u8], suite: u16| Input::KeyPackage {
        request: key_package_request(user, token, suite),
    };
    let reqs = [
        req::KEY_PACKAGES_REQUEST_VIA_OHTTP,
        req::KEY_PACKAGES_OVER_OHTTP,
    ];
    let mut out = Vec::new();
    // Repeated requests: one-time KeyPackages once each, then the last resort (or exhaustion).
    for (uploads, label) in [
        (&with_last_resort, "with-last-resort"),
        (&without_last_resort, "without-last-resort"),
    ] {
        for (token, user) in [(&b"token-bob"[..], &b"bob"[..]), (b"token-shared", b"beth")] {
            for requests in 1..=4usize {
                let mut inputs = setup(uploads);
                inputs.extend((0..requests).map(|_| ask(user, token, SUITE)));
                out.push(rsp_case(
                    format!("key-packages/{label}/{}-token/request-{requests}", if token == b"token-shared" { "shared" } else { "user" }),
                    format!("{} uploaded two one-time KeyPackages {}; request number {requests} with a {} token gets {}", String::from_utf8_lossy(user), if label.starts_with("with-") { "and a last resort" } else { "and no last resort" }, if token == b"token-shared" { "shared" } else { "per-user" }, match (requests, label.starts_with("with-")) { (1 | 2, _) => "an unused one-time KeyPackage", (_, true) => "the last resort", (_, false) => "key_package_exhausted" }),
                    &reqs,
                    steps(inputs),
                ));
            }
        }
    }
    // Refusals, token before user before parameters.
    let refusals: Vec<(&str, &str, Vec<Input>, Input)> = vec![
        (
            "unknown-user",
            "a shared token and a user the RSP does not serve",
            vec![],
            ask(b"nobody", b"token-shared", SUITE),
        ),
        (
            "token-of-another-user",
            "bob's per-user token used for beth",
            vec![],
            ask(b"beth", b"token-bob", SUITE),
        ),
        (
            "unknown-token",
            "a token the RSP never issued, for a user that exists",
            vec![],
            ask(b"bob", b"token-forged", SUITE),
        ),
        (
            "unknown-token-unknown-user",
            "a token never issued and an unknown user: the token is checked first",
            vec![],
            ask(b"nobody", b"token-forged", SUITE),
        ),
        (
            "revoked-user-token",
            "bob's token after the RSP revoked it",
            vec![Input::RevokeToken {
                token: b"token-bob".as_slice().into(),
            }],
            ask(b"bob", b"token-bob", SUITE),
        ),
        (
            "revoked-shared-token",
            "the shared token after the RSP revoked it (abused)",
            vec![Input::RevokeToken {
                token: b"token-shared".as_slice().into(),
            }],
            ask(b"beth", b"token-shared", SUITE),
        ),
        (
            "reissued-token",
            "bob's token revoked, then a new one issued: the new one works",
            vec![
                Input::RevokeToken {
                    token: b"token-bob".as_slice().into(),
                },
                Input::IssueToken(Token {
                    scope: TokenScope::User(b"bob".as_slice().into()),
                    token: b"token-bob-2".as_slice().into(),
                }),
            ],
            ask(b"bob", b"token-bob-2", SUITE),
        ),
    ];
    for (what, comment, extra, request) in refusals {
        let mut inputs = setup(&with_last_resort);
        inputs.extend(extra);
        inputs.push(request);
        out.push(rsp_case(
            format!("key-packages/token/{what}"),
            format!("KeyPackage request with {comment}"),
            &[
                req::KEY_PACKAGES_BEARER_TOKEN,
                req::KEY_PACKAGES_BEARER_INVALIDATION,
                req::KEY_PACKAGES_BEARER_UNIQUENESS,
            ],
            steps(inputs),
        ));
    }
    for suite in [2u16, 3, 7, 0xfafa] {
        let mut inputs = setup(&with_last_resort);
        inputs.push(ask(b"bob", b"token-bob", suite));
        out.push(rsp_case(format!("key-packages/suite-mismatch/{suite:#06x}"), format!("bob has KeyPackages of suite 1 only; a request for suite {suite:#06x} gets unsupported_parameters, never a KeyPackage of another suite"), &[req::KEY_PACKAGES_RESPONSE_MATCHES], steps(inputs)));
    }
    let mut none_uploaded = setup(&with_last_resort);
    none_uploaded.extend([
        Input::UploadKeyPackages {
            user: b"dora".as_slice().into(),
            key_packages: Vec::new(),
        },
        ask(b"dora", b"token-shared", SUITE),
    ]);
    out.push(rsp_case(
        "key-packages/none-uploaded".into(),
        "dora is a user of the RSP who uploaded no KeyPackage: key_package_exhausted, as if all were used (not unknown_user)".into(),
        &[req::KEY_PACKAGES_RESPONSE_MATCHES],
        steps(none_uploaded),
    ));
    for version in [0u16, 2, 0x0100] {
        let mut body = key_package_request(b"bob", b"token-bob", SUITE).to_bytes();
        let at = body.len() - 4;
        body[at..at + 2].copy_from_slice(&version.to_be_bytes());
        let mut cases = steps(setup(&with_last_resort));
        cases.push(malformed(Endpoint::KeyPackage, body));
        out.push(rsp_case(format!("key-packages/version-mismatch/{version}"), format!("a KeyPackageRequest for protocol version {version}: only mls10 (1) exists, so the body is malformed"), &[req::KEY_PACKAGES_RESPONSE_MATCHES], cases));
    }
    // Bundles (errata/key-package-bundle).
    let bob = key_package_request(b"bob", b"token-shared", SUITE);
    let beth = key_package_request(b"beth", b"token-shared", SUITE);
    let forged = key_package_request(b"beth", b"token-forged", SUITE);
    let bundles: Vec<(&str, &str, &stories::Uploads, Vec<KeyPackageRequest>)> = vec![
        ("empty", "an empty bundle", &with_last_resort, vec![]),
        (
            "two-users",
            "bob and beth in one transaction",
            &with_last_resort,
            vec![bob.clone(), beth.clone()],
        ),
        (
            "one-bad-token",
            "bob with the shared token, beth with a forged one: one KeyPackage, one error",
            &with_last_resort,
            vec![bob.clone(), forged],
        ),
        (
            "same-user-four-times",
            "bob four times: two one-time KeyPackages, then the last resort twice",
            &with_last_resort,
            vec![bob.clone(); 4],
        ),
        (
            "exhausting",
            "bob three times without a last resort: the third is key_package_exhausted",
            &without_last_resort,
            vec![bob.clone(); 3],
        ),
        (
            "suite-mismatch",
            "bob for suite 1 and for suite 3",
            &with_last_resort,
            vec![bob.clone(), key_package_request(b"bob", b"token-shared", 3)],
        ),
    ];
    for (what, comment, uploads, requests) in bundles {
        let mut inputs = setup(uploads);
        inputs.push(Input::KeyPackageBundle {
            request: KeyPackageBundleRequest { requests },
        });
        out.push(rsp_case(
            format!("key-packages/bundle/{what}"),
            format!("A bundle: {comment}"),
            &[req::KEY_PACKAGES_BUNDLING],
            steps(inputs),
        ));
    }
    let good = key_package_request(b"bob", b"token-bob", SUITE).to_bytes();
    let bundle = KeyPackageBundleRequest {
        requests: vec![bob, beth],
    }
    .to_bytes();
    out.extend(malformed_family(
        "key-packages",
        Role::Rsp,
        FOLLOWER_B,
        Endpoint::KeyPackage,
        &good,
        setup(&with_last_resort),
    ));
    out.extend(malformed_family(
        "key-packages/bundle",
        Role::Rsp,
        FOLLOWER_B,
        Endpoint::KeyPackageBundle,
        &bundle,
        setup(&with_last_resort),
    ));
    out
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

// ---------------------------------------------------------------------------------------
// Sending (draft §"Endpoints / Sending Messages").

fn send(clear: &History, encrypted: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    for (history, label) in [(clear, "clear"), (encrypted, "encrypted")] {
        let places = positions(&history.events);
        for (i, event) in history.events.iter().enumerate() {
            let (_, at) = places[i];
            out.push(hub_case(
                format!("send/sequenced/{label}/event-{i}"),
                format!("{} ({} handshakes) sequenced as message {at} of its partition after {i} earlier event(s)", event.what, label),
                &[req::SEND_SEQUENCED_TO_PARTITION, req::HUB_SEQUENCES_AND_FANS_OUT, req::SEND_COMMIT_DATA],
                steps(replay(history.creation, &history.events[..=i])),
            ));
        }
    }
    // Unknown groups.
    for (message, data, what) in stories::stray_messages() {
        let key = PartitionKey([7; 16]);
        for (hosting, setup) in [
            ("no-group-hosted", vec![]),
            ("other-group-hosted", vec![create(clear.creation)]),
        ] {
            let mut inputs = setup;
            inputs.push(Input::Send {
                from: provider(FOLLOWER_B),
                request: SendRequest {
                    message: message.clone(),
                    partition_key: key,
                    commit_data: data.clone(),
                },
            });
            out.push(hub_case(
                format!(
                    "send/unknown-group/{}/{hosting}",
                    what.trim_start_matches("an ")
                        .trim_start_matches("a ")
                        .replace(' ', "-")
                ),
                format!(
                    "{what} of a group the hub does not host ({}) is rejected",
                    hosting.replace('-', " ")
                ),
                &[req::SEND_UNKNOWN_GROUP_REJECTED],
                steps(inputs),
            ));
        }
    }
    // Keys the hub never announced, or announced long ago: no hard rules.
    let last = *clear.keys.last().expect("a key");
    let chat = clear
        .events
        .iter()
        .find(|e| !e.is_commit() && e.provider.as_str() == FOLLOWER_B)
        .expect("bob chats")
        .clone();
    for (what, key) in [
        ("never-seen-key", PartitionKey([0x5a; 16])),
        ("creation-key", clear.creation),
        ("stale-epoch-key", clear.keys[1]),
        ("current-key", last),
    ] {
        let mut inputs = replay(clear.creation, &clear.events);
        let mut request = chat.request.clone();
        request.partition_key = key;
        inputs.push(Input::Send {
            from: chat.provider.clone(),
            request,
        });
        inputs.push(read(FOLLOWER_C, key, messages_in(&clear.events, key)));
        out.push(hub_case(
            format!("send/any-partition-key/{what}"),
            format!("bob's application message sent to the {} is sequenced there: the hub has no hard rules about partition keys; a reader of that key gets it", what.replace('-', " ")),
            &[req::PARTITION_KEYS_NO_HARD_RULES, req::PARTITION_KEYS_ABUSE_SIGNAL, req::PARTITION_ACCESS_CONTROL],
            steps(inputs),
        ));
    }
    // Duplicates are sequenced again (errata/duplicate-send).
    for copies in [2u32, 3] {
        let mut inputs = replay(clear.creation, &clear.events[..2]);
        inputs.extend((1..copies).map(|_| clear.events[1].hub_input()));
        inputs.push(read(FOLLOWER_B, clear.keys[1], 0));
        out.push(hub_case(
            format!("send/duplicate/{copies}-copies"),
            format!("the same application message sent {copies} times (a retry after a timeout) is sequenced {copies} times"),
            &[req::SEND_SEQUENCED_TO_PARTITION, req::RECEIVE_SEQUENCING_ORDER],
            steps(inputs),
        ));
    }
    out.extend(ratchet_tree_cases());
    out.push(foreign_group_info_case());
    out.push(capitalised_provider_case());
    out.push(group_info_as_message_case());
    out.extend(welcome_data_cases());
    let founding = clear.events[0].request.to_bytes();
    out.extend(malformed_family(
        "send",
        Role::Hub,
        HUB,
        Endpoint::Send,
        &founding,
        vec![create(clear.creation)],
    ));
    // A partition key one byte short or long (errata/partition-key-encoding).
    for length in [15, 17] {
        let mut w = Writer::with_fault(Fault::PartitionKeyLength { site: 0, length });
        clear.events[0].request.write(&mut w);
        out.push(hub_case(
            format!("send/partition-key-length/{length}"),
            format!("the founding commit sent with a {length}-byte partition key: refused as malformed, nothing sequenced"),
            &[],
            vec![
                create(clear.creation).into(),
                malformed_breaking(
                    Endpoint::Send,
                    w.out,
                    &[req::SEND_PARTITION_KEY_LENGTH],
                    &[errata::PARTITION_KEY_ENCODING],
                ),
            ],
        ));
    }
    out.extend(select_cases(clear));
    // Follower side: a local user's message goes to the hub.
    let bob_events: Vec<&Event> = clear
        .events
        .iter()
        .filter(|e| e.provider.as_str() == FOLLOWER_B)
        .collect();
    for (n, event) in bob_events.iter().enumerate() {
        out.push(case(
            format!("send/follower/forward-{n}"),
            format!(
                "{} handed to b.example is forwarded to the hub unchanged",
                event.what
            ),
            Role::Follower,
            FOLLOWER_B,
            &[req::SEND_FOLLOWER_TO_HUB],
            steps([
                follow(),
                Input::LocalSend {
                    user: event.user.clone(),
                    request: event.request.clone(),
                },
            ]),
        ));
    }
    out.push(case(
        "send/follower/unknown-group".into(),
        "bob's message for a group b.example does not follow is refused, nothing forwarded".into(),
        Role::Follower,
        FOLLOWER_B,
        &[req::SEND_FOLLOWER_TO_HUB],
        steps([Input::LocalSend {
            user: bob_events[0].user.clone(),
            request: bob_events[0].request.clone(),
        }]),
    ));
    out
}

/// GroupInfo without a ratchet tree: refused unless the hub knows the tree.
fn ratchet_tree_cases() -> Vec<TraceCase> {
    let founding = stories::found(Handshakes::Clear);
    let with_tree = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let without_tree = founding.event(founding.commit_data(false, &[FOLLOWER_B, FOLLOWER_C]));
    let terminate_creation = Input::TerminateBranch {
        partition_key: founding.creation,
    };
    let table: [(&str, &str, Vec<Input>); 4] = [
        ("required", "a commit whose GroupInfo has no ratchet_tree extension, and no tree the hub could infer: rejected so it can be retried with one", vec![without_tree.hub_input()]),
        ("and-branch-terminated", "the same commit sent to a partition the hub terminated: two refusals apply, branch_terminated and ratchet_tree_required, and either may be answered (errata/refusal-order); nothing sequenced", vec![terminate_creation, without_tree.hub_input()]),
        ("retried-with-tree", "the same commit refused without a tree, then retried with the tree: sequenced", [vec![without_tree.hub_input()], answered(&with_tree)].concat()),
        ("inferred-from-earlier", "the commit with its tree, then a retry of it without the tree: the hub knows a tree with that tree_hash, so it may infer it (or still refuse)", [answered(&with_tree), answered(&without_tree)].concat()),
    ];
    table
        .into_iter()
        .map(|(what, comment, inputs)| {
            let mut all = vec![create(founding.creation)];
            all.extend(inputs);
            hub_case(
                format!("send/ratchet-tree/{what}"),
                comment.into(),
                &[req::SEND_RATCHET_TREE_REQUIRED, req::SEND_COMMIT_DATA],
                steps(all),
            )
        })
        .collect()
}

/// A SendRequest whose message is the group's own GroupInfo, where only a PublicMessage or
/// a PrivateMessage may stand (errata/mls-message-parsing): the body does not decode.
fn group_info_as_message_case() -> TraceCase {
    let founding = stories::found(Handshakes::Clear);
    let group_info = founding
        .commit_data(true, &[FOLLOWER_B, FOLLOWER_C])
        .group_info
        .expect("the founding commit carries its GroupInfo");
    let mut w = Writer::default();
    group_info.write(&mut w);
    w.partition_key(&founding.creation.0);
    hub_case(
        "send/malformed/group-info-as-message".into(),
        "the group's GroupInfo sent as a SendRequest's message, which must be a PublicMessage or a PrivateMessage: refused as malformed, nothing sequenced".into(),
        &[],
        vec![
            CaseStep::from(create(founding.creation)),
            malformed_breaking(Endpoint::Send, w.out, &[], &[errata::MLS_MESSAGE_PARSING]),
        ],
    )
}

/// A commit whose CommitData carries the GroupInfo of another group
/// (errata/group-info-group-mismatch).
fn foreign_group_info_case() -> TraceCase {
    let founding = stories::found(Handshakes::Clear);
    let mut data = founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]);
    data.group_info = Some(stories::stray_group_info());
    hub_case(
        "send/group-info/of-another-group".into(),
        "alice's first commit carrying the GroupInfo of a group the hub does not host: refused as malformed, nothing sequenced, no WelcomeInit".into(),
        &[req::SEND_COMMIT_DATA],
        steps([create(founding.creation), founding.event(data).hub_input()]),
    )
}

/// WelcomeData naming a provider in capitals: not the canonical spelling
/// (errata/service-provider-id), so the body does not decode.
fn capitalised_provider_case() -> TraceCase {
    let founding = stories::found(Handshakes::Clear);
    let event = founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C]));
    let lower = FOLLOWER_B.as_bytes();
    let mut body = event.request.to_bytes();
    let at = body
        .windows(lower.len())
        .position(|w| w == lower)
        .expect("the body names b.example");
    body[at..at + lower.len()].make_ascii_uppercase();
    hub_case(
        "send/malformed/provider-id-in-capitals".into(),
        "alice's first commit forwarded with its WelcomeData naming B.EXAMPLE: a ServiceProviderId is the lowercase domain, so the body is malformed".into(),
        &[req::SEND_WELCOME_DATA, req::ENDPOINTS_FOR_THIRD_PARTIES],
        vec![
            CaseStep::from(create(founding.creation)),
            malformed_breaking(Endpoint::Send, body, &[], &[errata::SERVICE_PROVIDER_ID]),
        ],
    )
}

/// WelcomeData whose providers do not match the Welcome's secrets.
fn welcome_data_cases() -> Vec<TraceCase> {
    let founding = stories::found(Handshakes::Clear);
    let table: [(&str, &[&str]); 3] = [
        ("fewer-providers", &[FOLLOWER_B]),
        ("more-providers", &[FOLLOWER_B, FOLLOWER_C, FOLLOWER_C]),
        ("no-providers", &[]),
    ];
    table
        .into_iter()
        .map(|(what, providers)| {
            let event = founding.event(founding.commit_data(true, providers));
            hub_case(
                format!("send/welcome-providers-length/{what}"),
                format!("a Welcome for two new members with {} service provider(s): the lengths differ, so the request is malformed and no WelcomeInit is sent", providers.len()),
                &[req::SEND_WELCOME_PROVIDERS_LENGTH, req::SEND_WELCOME_DATA],
                steps([create(founding.creation), event.hub_input()]),
            )
        })
        .collect()
}

/// The content-type select: commit data iff commit (errata/select-commit-only).
fn select_cases(history: &History) -> Vec<TraceCase> {
    let commit = &history.events[0].request;
    let application = &history.events[1].request;
    let mut without = commit.message.to_bytes();
    without.extend(
        commit
            .partition_key
            .0
            .len()
            .to_be_bytes()
            .iter()
            .rev()
            .take(1),
    );
    without.extend(commit.partition_key.0);
    let mut with = application.to_bytes();
    with.extend(
        CommitData {
            next_partition_key: PartitionKey([1; 16]),
            group_info: None,
            welcome_data: None,
        }
        .to_bytes(),
    );
    let mut short_key = application.message.to_bytes();
    short_key.push(15);
    short_key.extend(&application.partition_key.0[..15]);
    [
        (
            "commit-without-commit-data",
            "a commit followed by its partition key and nothing else",
            without,
            req::SEND_COMMIT_DATA,
            errata::SELECT_COMMIT_ONLY,
        ),
        (
            "application-with-commit-data",
            "an application message followed by commit data",
            with,
            req::SEND_COMMIT_DATA,
            errata::SELECT_COMMIT_ONLY,
        ),
        (
            "partition-key-15-bytes",
            "an application message with a 15-byte partition key",
            short_key,
            req::SEND_PARTITION_KEY_LENGTH,
            errata::PARTITION_KEY_ENCODING,
        ),
    ]
    .into_iter()
    .map(|(what, comment, body, requirement, erratum)| {
        hub_case(
            format!("send/malformed/{what}"),
            format!("SendRequest: {comment}; refused as malformed"),
            &[requirement, req::ENDPOINTS_FOR_THIRD_PARTIES],
            vec![
                CaseStep::from(create(history.creation)),
                malformed_breaking(Endpoint::Send, body, &[requirement], &[erratum]),
            ],
        )
    })
    .collect()
}

// ---------------------------------------------------------------------------------------
// Welcome (draft §"Endpoints / Welcome"), target the follower b.example.

fn welcome() -> Vec<TraceCase> {
    let founding = stories::found(Handshakes::Clear);
    let bob_package = founding.key_packages[0].clone();
    let bob_ref = bob_package
        .view
        .key_package_ref
        .clone()
        .expect("KeyPackages have a ref");
    let welcome = founding.committed.welcome.clone().expect("Welcome");
    let upload = Input::UploadKeyPackages {
        user: b"bob".as_slice().into(),
        key_packages: vec![bob_package],
    };
    let init = |refs: Vec<Bytes>| Input::WelcomeInit {
        from: provider(HUB),
        request: WelcomeInitRequest {
            key_package_refs: refs,
        },
    };
    let push = Input::WelcomePush {
        from: provider(HUB),
        welcome,
    };
    let table: Vec<(&str, &str, Vec<Input>)> = vec![
        (
            "accepted-then-pushed",
            "the hub lists bob's KeyPackageRef: b.example accepts, then takes the Welcome",
            vec![init(vec![bob_ref.clone()]), push.clone()],
        ),
        (
            "pushed-twice",
            "an accepted Welcome pushed twice (a retry): both acknowledged",
            vec![init(vec![bob_ref.clone()]), push.clone(), push.clone()],
        ),
        (
            "unknown-ref-refused",
            "the hub lists a KeyPackageRef b.example never issued: refused",
            vec![init(vec![Bytes(vec![0xee; 32])])],
        ),
        (
            "partly-unknown-refused",
            "bob's ref and an unknown one: refused as a whole",
            vec![init(vec![bob_ref.clone(), Bytes(vec![0xee; 32])])],
        ),
        (
            "empty-list-refused",
            "a WelcomeInit listing no KeyPackageRef: refused",
            vec![init(vec![])],
        ),
        (
            "push-without-init",
            "a Welcome pushed with no WelcomeInit first: refused",
            vec![push.clone()],
        ),
        (
            "push-after-refusal",
            "a Welcome pushed after b.example refused the WelcomeInit: refused",
            vec![init(vec![Bytes(vec![0xee; 32])]), push.clone()],
        ),
        (
            "push-not-a-welcome",
            "after accepting bob's ref, a push whose MLSMessage is a commit, not a Welcome: refused",
            vec![
                init(vec![bob_ref.clone()]),
                Input::WelcomePush {
                    from: provider(HUB),
                    welcome: founding.committed.commit.clone(),
                },
            ],
        ),
    ];
    let mut out: Vec<TraceCase> = table
        .into_iter()
        .map(|(what, comment, inputs)| {
            let mut all = vec![upload.clone()];
            all.extend(inputs);
            case(
                format!("welcome/{what}"),
                format!("Welcome at a follower: {comment}"),
                Role::Follower,
                FOLLOWER_B,
                &[req::WELCOME_INIT_REQUEST, req::WELCOME_PUSH_IF_ACCEPTED],
                steps(all),
            )
        })
        .collect();
    let init_body = WelcomeInitRequest {
        key_package_refs: vec![bob_ref],
    }
    .to_bytes();
    out.extend(malformed_family(
        "welcome/init",
        Role::Follower,
        FOLLOWER_B,
        Endpoint::WelcomeInit,
        &init_body,
        vec![upload.clone()],
    ));
    let welcome_body = founding
        .committed
        .welcome
        .clone()
        .expect("Welcome")
        .to_bytes();
    out.extend(malformed_family(
        "welcome/push",
        Role::Follower,
        FOLLOWER_B,
        Endpoint::Welcome,
        &welcome_body,
        vec![upload],
    ));
    out
}

// ---------------------------------------------------------------------------------------
// Receiving (draft §"Endpoints / Receiving Messages").

/// The counters worth asking for in a partition of `len` messages: first, second, middle,
/// last, end, past the end, and the largest counter.
fn counters(len: u32) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = vec![
        ("0".into(), 0),
        ("1".into(), 1),
        ("middle".into(), len / 2),
        ("last".into(), len.saturating_sub(1)),
        ("end".into(), len),
        ("past-end".into(), len + 1),
        ("max".into(), u32::MAX),
    ];
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|(_, c)| seen.insert(*c));
    out
}

fn receive(clear: &History, encrypted: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::RECEIVE_RESPONDS,
        req::RECEIVE_MASKED_KEY,
        req::RECEIVE_FOLLOWER_REQUESTS,
    ];
    for (history, label) in [(clear, "clear"), (encrypted, "encrypted")] {
        for (epoch, key) in history.keys.iter().enumerate() {
            let len = messages_in(&history.events, *key);
            for (n, (name, counter)) in counters(len).into_iter().enumerate() {
                let reader = if n % 2 == 0 { FOLLOWER_B } else { FOLLOWER_C };
                let mut inputs = replay(history.creation, &history.events);
                inputs.push(read(reader, *key, counter));
                out.push(hub_case(
                    format!("receive/counter/{label}/epoch-{epoch}/{name}"),
                    format!("{reader} reads the partition of epoch {epoch} ({len} message(s), {label} handshakes) with counter {counter}: the epoch skips the first {counter}; hints are the hub's choice"),
                    &reqs,
                    steps(inputs),
                ));
            }
        }
    }
    // Polling as the history unfolds: each read continues where the last one stopped.
    let places = positions(&clear.events);
    for upto in 1..=clear.events.len() {
        let mut inputs = vec![create(clear.creation)];
        for (event, (key, at)) in clear.events[..upto].iter().zip(&places) {
            inputs.extend(answered(event));
            inputs.push(read(FOLLOWER_B, *key, *at));
        }
        out.push(hub_case(
            format!("receive/poll/after-{upto}-events"),
            format!("b.example polls after each of {upto} event(s), each time with the counter of what it already has; commits make it move to the next partition key"),
            &[req::RECEIVE_COUNTER, req::RECEIVE_SKIP_COUNTER, req::FLOW_CREATE_FOLLOWERS_READ],
            steps(inputs),
        ));
    }
    // Hints across epochs: read a parent partition from its commit while the child fills.
    let commits = commit_positions(&clear.events);
    for (c, &at) in commits.iter().enumerate() {
        let parent = clear.events[at].request.partition_key;
        let counter = places[at].1;
        let end = commits
            .get(c + 1)
            .map_or(clear.events.len(), |next| next + 1);
        for upto in (at + 1)..=end {
            let mut inputs = replay(clear.creation, &clear.events[..upto]);
            inputs.push(read(FOLLOWER_C, parent, counter));
            out.push(hub_case(
                format!("receive/hints/commit-{c}/after-{upto}-events"),
                format!("c.example reads from commit {c} on (counter {counter}) after {upto} event(s): the epoch ends with the commit and the partition it announces, with {} message(s) so far, may come as a hint", upto - at - 1),
                &[req::RECEIVE_HINTS_OTHER_EPOCHS, req::RECEIVE_HINTS_COMPLETE, req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH, req::RECEIVE_HINTS_UNORDERED, req::RECEIVE_HUB_DISCRETION],
                steps(inputs),
            ));
        }
    }
    // Unknown partitions.
    let unknown: [(&str, &str, Vec<Input>, PartitionKey); 3] = [
        (
            "no-group",
            "before any group exists",
            vec![],
            PartitionKey([9; 16]),
        ),
        (
            "guessed-key",
            "a key nobody announced, while the group is live",
            replay(clear.creation, &clear.events),
            PartitionKey([9; 16]),
        ),
        (
            "other-groups-key",
            "the key of a group another hub hosts (what a removed or foreign user may hold)",
            replay(clear.creation, &clear.events),
            encrypted.creation,
        ),
    ];
    for (what, comment, mut inputs, key) in unknown {
        inputs.push(read(FOLLOWER_B, key, 0));
        out.push(hub_case(
            format!("receive/unknown-partition/{what}"),
            format!("a read of an unknown partition key, {comment}: an empty response (or unknown_partition), and never another partition's messages"),
            &[req::PARTITION_ACCESS_CONTROL, req::PARTITION_KEY_EPOCH_ACCESS],
            steps(inputs),
        ));
    }
    // Two hosted groups: the key alone finds the partition, whichever group it is in.
    let mut two_groups = vec![Input::CreateGroup {
        group_id: b"mimi-group-0".as_slice().into(),
        partition_key: PartitionKey([0xee; 16]),
    }];
    two_groups.extend(replay(clear.creation, &clear.events));
    two_groups.push(read(FOLLOWER_B, clear.creation, 0));
    out.push(hub_case(
        "receive/two-groups/read-by-key-alone".into(),
        "the hub hosts another group (created first) besides the group read: a ReceiveRequest names no group, and the partition key alone finds the group's first epoch".into(),
        &[req::RECEIVE_COUNTER, req::PARTITION_ACCESS_CONTROL],
        steps(two_groups),
    ));
    let read_body = ReceiveRequest {
        partition_key: clear.creation,
        counter: 0,
    }
    .to_bytes();
    out.extend(malformed_family(
        "receive",
        Role::Hub,
        HUB,
        Endpoint::Receive,
        &read_body,
        vec![create(clear.creation)],
    ));
    out.extend(follower_reads(clear));
    out
}

/// The follower side of reading: forwarding reads, taking pushes.
fn follower_reads(history: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    for (epoch, key) in history.keys.iter().enumerate() {
        let counter = messages_in(&history.events, *key) / 2;
        out.push(case(
            format!("receive/follower/forward-read/epoch-{epoch}"),
            format!("a local user of b.example reads epoch {epoch} from counter {counter}: b.example asks the hub"),
            Role::Follower,
            FOLLOWER_B,
            &[req::RECEIVE_FOLLOWER_REQUESTS, req::FLOW_CREATE_FOLLOWERS_READ],
            steps([follow(), Input::LocalReceive { group_id: GROUP.into(), request: ReceiveRequest { partition_key: *key, counter } }]),
        ));
    }
    let hinted = |key: PartitionKey| HintedEpoch {
        masked_partition_key: key.masked(),
        epoch: Epoch {
            messages: history
                .events
                .iter()
                .filter(|e| e.request.partition_key == key)
                .map(message_of)
                .collect(),
        },
    };
    let push = |hints: Vec<HintedEpoch>| ReceiveResponse {
        epoch: Epoch::default(),
        hints,
    };
    let all = push(
        history
            .keys
            .iter()
            .map(|k| hinted(*k))
            .filter(|h| !h.epoch.messages.is_empty())
            .collect(),
    );
    let one = push(vec![hinted(history.keys[1])]);
    let table: Vec<(&str, &str, Vec<Input>)> = vec![
        (
            "one-epoch",
            "the hub pushes one complete epoch",
            vec![
                follow(),
                Input::Push {
                    from: provider(HUB),
                    response: one.clone(),
                },
            ],
        ),
        (
            "all-epochs",
            "the hub pushes every epoch as hints",
            vec![
                follow(),
                Input::Push {
                    from: provider(HUB),
                    response: all.clone(),
                },
            ],
        ),
        (
            "duplicate",
            "the same push twice (a retry): both acknowledged, delivered once",
            vec![
                follow(),
                Input::Push {
                    from: provider(HUB),
                    response: one.clone(),
                },
                Input::Push {
                    from: provider(HUB),
                    response: one.clone(),
                },
            ],
        ),
        (
            "from-another-provider",
            "c.example pushes for a group a.example hosts: refused",
            vec![
                follow(),
                Input::Push {
                    from: provider(FOLLOWER_C),
                    response: one.clone(),
                },
            ],
        ),
        (
            "unfollowed-group",
            "a push for a group no local user follows: refused",
            vec![Input::Push {
                from: provider(HUB),
                response: one.clone(),
            }],
        ),
    ];
    for (what, comment, inputs) in table {
        out.push(case(
            format!("receive/follower/push/{what}"),
            format!("Push to b.example: {comment}"),
            Role::Follower,
            FOLLOWER_B,
            &[req::RECEIVE_PUSH],
            steps(inputs),
        ));
    }
    out.extend(malformed_family(
        "receive/follower/push",
        Role::Follower,
        FOLLOWER_B,
        Endpoint::Notify,
        &one.to_bytes(),
        vec![follow()],
    ));
    out
}

fn message_of(event: &Event) -> Message {
    Message {
        message: event.request.message.clone(),
        commit: event.request.commit_data.as_ref().map(|d| {
            mimi_ds_model::codec::MessageCommitData {
                next_partition_key: d.next_partition_key.masked(),
                group_info: d.group_info.clone(),
            }
        }),
    }
}

// ---------------------------------------------------------------------------------------
// External joins (draft §"Endpoints / External Joins").

fn external_join(history: &History) -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::EXTERNAL_JOIN_TO_HUB,
        req::EXTERNAL_JOIN_VALIDATED,
        req::EXTERNAL_JOIN_MOST_RECENT_PARTITION,
    ];
    let commits = commit_positions(&history.events);
    let latest_info = |events: &[Event]| {
        events
            .iter()
            .rev()
            .find_map(|e| {
                e.request
                    .commit_data
                    .as_ref()
                    .and_then(|d| d.group_info.clone())
            })
            .expect("a GroupInfo")
    };
    // GroupInfo requests at every point of the history.
    for upto in 0..=history.events.len() {
        let mut inputs = replay(history.creation, &history.events[..upto]);
        inputs.push(group_info_request(OUTSIDER, GROUP));
        out.push(hub_case(
            format!("external-join/group-info/after-{upto}-events"),
            format!("d.example asks for the GroupInfo after {upto} event(s): the one of the commit that created the most recent partition{}", if upto == 0 { "; there is none yet" } else { "" }),
            &[req::EXTERNAL_JOIN_GROUP_INFO_REQUEST, req::EXTERNAL_JOIN_INFERRED_TREE],
            steps(inputs),
        ));
    }
    let mut unknown = replay(history.creation, &history.events);
    unknown.push(group_info_request(OUTSIDER, STRAY_GROUP));
    out.push(hub_case(
        "external-join/group-info/unknown-group".into(),
        "a GroupInfo request for a group the hub does not host".into(),
        &[req::EXTERNAL_JOIN_GROUP_INFO_REQUEST],
        steps(unknown),
    ));
    // The GroupInfo published without a tree (accepted by inference): a tree may be added.
    let founding = stories::found(Handshakes::Clear);
    let mut inferred = vec![create(founding.creation)];
    inferred.extend(answered(
        &founding.event(founding.commit_data(true, &[FOLLOWER_B, FOLLOWER_C])),
    ));
    inferred.extend(answered(
        &founding.event(founding.commit_data(false, &[FOLLOWER_B, FOLLOWER_C])),
    ));
    inferred.push(group_info_request(OUTSIDER, GROUP));
    out.push(hub_case(
        "external-join/group-info/without-ratchet-tree".into(),
        "the most recent commit came with a GroupInfo without a ratchet tree (the hub inferred it): the GroupInfo is returned, with or without an inferred tree".into(),
        &[req::EXTERNAL_JOIN_INFERRED_TREE, req::EXTERNAL_JOIN_GROUP_INFO_REQUEST],
        steps(inferred),
    ));
    // External commits after each commit, from the fresh GroupInfo or a stale one.
    for (c, &at) in commits.iter().enumerate() {
        let events = &history.events[..=at];
        for (label, info) in [
            ("fresh", latest_info(events)),
            ("stale", history.stale_group_info.clone()),
        ] {
            let (_, data, commit) = stories::external_join(&info, "dave", Handshakes::Clear);
            let recent = events[at]
                .request
                .commit_data
                .as_ref()
                .expect("commit")
                .next_partition_key;
            let mut inputs = replay(history.creation, events);
            inputs.push(Input::ExternalJoin {
                from: provider(OUTSIDER),
                request: ExternalJoinRequest {
                    message: commit,
                    commit_data: data,
                },
            });
            inputs.push(read(FOLLOWER_B, recent, 0));
            out.push(hub_case(
                format!("external-join/sequenced/after-commit-{c}/{label}-group-info"),
                format!("dave's external commit from the {label} GroupInfo after commit {c} is sequenced to the most recent partition{}", if label == "stale" && c > 0 { ", although it was built for an older epoch: a fork the draft names" } else { "" }),
                &reqs,
                steps(inputs),
            ));
        }
    }
    // Not an external commit, or not a hosted group.
    let member_commit = history.events[commits[1]].request.clone();
    let (_, stray_data, stray_commit) = {
        let mut stray = crate::mls::Client::new("stray", FOLLOWER_B)
            .create_group(STRAY_GROUP, Handshakes::Clear);
        let info = stray.group_info(true);
        let _ = stray.application("keep the group alive");
        stories::external_join(&info, "dave", Handshakes::Clear)
    };
    let refused: [(&str, &str, ExternalJoinRequest); 2] = [
        (
            "member-commit",
            "a member's ordinary commit sent as an external join",
            ExternalJoinRequest {
                message: member_commit.message,
                commit_data: member_commit.commit_data.expect("commit"),
            },
        ),
        (
            "unknown-group",
            "an external commit to a group the hub does not host",
            ExternalJoinRequest {
                message: stray_commit,
                commit_data: stray_data,
            },
        ),
    ];
    for (what, comment, request) in refused {
        let mut inputs = replay(history.creation, &history.events);
        inputs.push(Input::ExternalJoin {
            from: provider(OUTSIDER),
            request,
        });
        out.push(hub_case(
            format!("external-join/refused/{what}"),
            format!("{comment}: refused, nothing sequenced"),
            &reqs,
            steps(inputs),
        ));
    }
    let info = latest_info(&history.events);
    let (_, data, commit) = stories::external_join(&info, "erin", Handshakes::Clear);
    let body = ExternalJoinRequest {
        message: commit,
        commit_data: data,
    }
    .to_bytes();
    out.extend(malformed_family(
        "external-join",
        Role::Hub,
        HUB,
        Endpoint::ExternalJoin,
        &body,
        vec![create(history.creation)],
    ));
    let info_body = GroupInfoRequest {
        group_id: GROUP.into(),
    }
    .to_bytes();
    out.extend(malformed_family(
        "external-join/group-info",
        Role::Hub,
        HUB,
        Endpoint::GroupInfo,
        &info_body,
        vec![create(history.creation)],
    ));
    out
}

// ---------------------------------------------------------------------------------------
// Forks and their termination (draft §"Fork Termination").

fn fork_setup(fork: &Fork) -> Vec<Input> {
    [
        vec![create(fork.creation)],
        answered(&fork.founding_event),
        vec![fork.bob_commit.hub_input(), fork.carol_commit.hub_input()],
    ]
    .concat()
}

fn fork_termination() -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::FORKS_TOLERATED,
        req::FORK_TERMINATION_MAY,
        req::FORK_TERMINATION_BLOCKS_SENDS,
        req::PARTITION_KEYS_NO_HARD_RULES,
    ];
    for (handshakes, label) in [
        (Handshakes::Clear, "clear"),
        (Handshakes::Encrypted, "encrypted"),
    ] {
        // (whose branch is terminated, what happens next)
        for terminated_bob in [true, false] {
            let mut fork = stories::fork(handshakes, None);
            let bob_chat = Fork::chat_in_branch(&mut fork.bob, "bob in his branch");
            let carol_chat = Fork::chat_in_branch(&mut fork.carol, "carol in her branch");
            let (dead, alive) = if terminated_bob {
                (&bob_chat, &carol_chat)
            } else {
                (&carol_chat, &bob_chat)
            };
            let dead_key = dead.request.partition_key;
            let alive_info = if terminated_bob {
                fork.carol_commit.clone()
            } else {
                fork.bob_commit.clone()
            };
            let (_, join_data, join_commit) = stories::external_join(
                alive_info
                    .request
                    .commit_data
                    .as_ref()
                    .and_then(|d| d.group_info.as_ref())
                    .expect("GroupInfo"),
                "dave",
                handshakes,
            );
            let who = if terminated_bob { "bob" } else { "carol" };
            let then: Vec<(&str, Vec<Input>)> = vec![
                ("send-to-terminated", vec![dead.hub_input()]),
                ("send-to-other-branch", vec![alive.hub_input()]),
                ("read-terminated", vec![read(FOLLOWER_B, dead_key, 0)]),
                (
                    "external-join",
                    vec![
                        Input::ExternalJoin {
                            from: provider(OUTSIDER),
                            request: ExternalJoinRequest {
                                message: join_commit,
                                commit_data: join_data,
                            },
                        },
                        read(FOLLOWER_B, alive.request.partition_key, 0),
                    ],
                ),
            ];
            for (what, after) in then {
                let mut inputs = fork_setup(&fork);
                inputs.push(dead.hub_input());
                inputs.push(Input::TerminateBranch {
                    partition_key: dead_key,
                });
                inputs.extend(after);
                out.push(hub_case(
                    format!("fork-termination/{label}/terminate-{who}s-branch/{what}"),
                    format!("bob and carol commit in the same epoch ({label} handshakes): a fork; after one message in {who}'s branch the hub terminates it; then {}", what.replace('-', " ")),
                    &reqs,
                    steps(inputs),
                ));
            }
        }
    }
    // Termination covers the one partition: a later epoch of the branch stays open.
    let mut fork = stories::fork(Handshakes::Clear, None);
    let bob_next = Fork::add_in_branch(&mut fork.bob, "dave");
    let bob_later_chat = Fork::chat_in_branch(&mut fork.bob, "bob, one epoch later");
    let mut inputs = fork_setup(&fork);
    inputs.extend([
        bob_next.hub_input(),
        Input::TerminateBranch {
            partition_key: bob_next.request.partition_key,
        },
        bob_later_chat.hub_input(),
    ]);
    out.push(hub_case(
        "fork-termination/clear/terminate-bobs-branch/send-to-later-epoch".into(),
        "bob and carol commit in the same epoch: a fork; bob commits again in his branch, then the hub terminates bob's branch; a message to the epoch bob's second commit announced is still sequenced".into(),
        &[req::FORK_TERMINATION_BLOCKS_SENDS, req::FORKS_TOLERATED],
        steps(inputs),
    ));
    // Both branches live: forks are tolerated.
    let mut fork = stories::fork(Handshakes::Clear, None);
    let bob_chat = Fork::chat_in_branch(&mut fork.bob, "bob");
    let carol_chat = Fork::chat_in_branch(&mut fork.carol, "carol");
    let mut inputs = fork_setup(&fork);
    inputs.extend([
        bob_chat.hub_input(),
        carol_chat.hub_input(),
        read(FOLLOWER_B, fork.base, 0),
        read(FOLLOWER_C, bob_chat.request.partition_key, 0),
        read(FOLLOWER_B, carol_chat.request.partition_key, 0),
    ]);
    out.push(hub_case(
        "fork-termination/tolerated/both-branches-live".into(),
        "two commits in one epoch; both branches receive messages and each reads back alone".into(),
        &[req::FORKS_TOLERATED, req::PARTITION_ACCESS_CONTROL],
        steps(inputs),
    ));
    // Which partitions to terminate is the hub's discretion (errata/terminate-branch-scope):
    // the reference terminates what it is asked to, and declining is accepted too.
    let discretion: [(&str, &str, Vec<Input>); 3] = [
        (
            "no-fork-yet",
            "terminating the only successor of an epoch that has one commit (no fork): terminated, or declined",
            [
                vec![create(fork.creation)],
                answered(&fork.founding_event),
                vec![
                    fork.bob_commit.hub_input(),
                    Input::TerminateBranch {
                        partition_key: fork
                            .bob_commit
                            .request
                            .commit_data
                            .as_ref()
                            .expect("commit")
                            .next_partition_key,
                    },
                ],
            ]
            .concat(),
        ),
        (
            "unknown-partition",
            "terminating a key the hub never saw: unknown_partition, or declined otherwise; never accepted",
            vec![
                create(fork.creation),
                Input::TerminateBranch {
                    partition_key: PartitionKey([3; 16]),
                },
            ],
        ),
        (
            "base-partition",
            "terminating the epoch the fork starts from, which is no branch of it: terminated, or declined",
            {
                let mut i = fork_setup(&fork);
                i.push(Input::TerminateBranch {
                    partition_key: fork.base,
                });
                i
            },
        ),
    ];
    for (what, comment, inputs) in discretion {
        out.push(hub_case(
            format!("fork-termination/discretion/{what}"),
            comment.into(),
            &[req::FORK_TERMINATION_MAY, req::FORK_TERMINATION_DISCRETION],
            steps(inputs),
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Policy (draft §"Policy Enforcement").

fn policy() -> Vec<TraceCase> {
    let mut out = Vec::new();
    let reqs = [
        req::POLICY_PER_FORK,
        req::POLICY_BAN_PER_FORK,
        req::POLICY_NEGATIVE_ONLY,
        req::POLICY_ONLY_UNAMBIGUOUS,
        req::POLICY_NO_POSITIVE,
        req::POLICY_EXAMPLES,
    ];
    // (handshakes, branch adding, identity added)
    let table = [
        (Handshakes::Clear, true, "mallory"),
        (Handshakes::Clear, false, "mallory"),
        (Handshakes::Clear, true, "eve"),
        (Handshakes::Clear, false, "eve"),
        (Handshakes::Encrypted, true, "mallory"),
        (Handshakes::Encrypted, false, "mallory"),
    ];
    // Carol's branch adds mallory before the commit announcing that branch is sequenced:
    // the key is in no fork the hub knows, so bob's ban does not reach it
    // (errata/policy-before-announcement).
    let mut fork = stories::fork(Handshakes::Clear, Some(b"mallory"));
    let early = Fork::add_in_branch(&mut fork.carol, "mallory");
    out.push(hub_case(
        "policy/ban/clear/unannounced-branch/add-mallory".into(),
        "bob commits a ban of mallory; a commit adding mallory arrives on carol's key before carol's commit announcing that key: sequenced, no fork's ban reaches a key no commit placed yet; then carol's commit".into(),
        &reqs,
        steps(
            [
                vec![create(fork.creation)],
                answered(&fork.founding_event),
                vec![
                    fork.bob_commit.hub_input(),
                    early.hub_input(),
                    fork.carol_commit.hub_input(),
                ],
            ]
            .concat(),
        ),
    ));
    for (handshakes, in_ban_branch, identity) in table {
        let mut fork = stories::fork(handshakes, Some(b"mallory"));
        let adder = if in_ban_branch {
            &mut fork.bob
        } else {
            &mut fork.carol
        };
        let add = Fork::add_in_branch(adder, identity);
        let mut inputs = fork_setup(&fork);
        inputs.push(add.hub_input());
        let label = if handshakes == Handshakes::Clear {
            "clear"
        } else {
            "encrypted"
        };
        let branch = if in_ban_branch {
            "ban-branch"
        } else {
            "other-branch"
        };
        out.push(hub_case(
            format!("policy/ban/{label}/{branch}/add-{identity}"),
            format!("bob commits a ban of mallory (GroupContextExtensions by value, {label}) while carol commits an update in the same epoch; then a commit in the {} adds {identity}: {}", branch.replace('-', " "), match (label, in_ban_branch, identity) {
                ("clear", true, "mallory") => "rejected, the ban holds in that fork",
                ("encrypted", _, _) => "sequenced: the hub cannot see the ban or the Add",
                _ => "sequenced: the ban does not apply here",
            }),
            &reqs,
            steps(inputs),
        ));
    }
    // An encrypted message to the fork with the ban: nothing visible breaks the ban.
    let mut fork = stories::fork(Handshakes::Clear, Some(b"mallory"));
    let bob_chat = Fork::chat_in_branch(&mut fork.bob, "bob after banning mallory");
    let mut inputs = fork_setup(&fork);
    inputs.push(bob_chat.hub_input());
    out.push(hub_case(
        "policy/ban/clear/ban-branch/encrypted-chat".into(),
        "bob commits a ban of mallory in the clear; then his application message in that branch, a PrivateMessage the hub cannot read: sequenced, as nothing unambiguously breaks the ban".into(),
        &[req::POLICY_ONLY_UNAMBIGUOUS, req::POLICY_NEGATIVE_ONLY],
        steps(inputs),
    ));
    // Local users: mutes and rate limits apply to the provider's own users only.
    let mut history = stories::linear(Handshakes::Clear);
    let key = *history.keys.last().expect("a key");
    let alice = Bytes(b"alice".to_vec());
    let alice_chat: Vec<SendRequest> = (0..4)
        .map(|n| SendRequest {
            message: history.members[0].application(&format!("alice {n}")),
            partition_key: key,
            commit_data: None,
        })
        .collect();
    let local = |request: &SendRequest| Input::LocalSend {
        user: alice.clone(),
        request: request.clone(),
    };
    let mut muted = replay(history.creation, &history.events);
    muted.extend([
        Input::Mute {
            user: alice.clone(),
        },
        local(&alice_chat[0]),
    ]);
    out.push(hub_case(
        "policy/mute/local-user-chat".into(),
        "the hub mutes its own user alice: her application message is rejected".into(),
        &[req::POLICY_EXAMPLES],
        steps(muted),
    ));
    let mut muted_commit = vec![
        create(history.creation),
        Input::Mute {
            user: alice.clone(),
        },
    ];
    muted_commit.extend(answered(&history.events[0]));
    out.push(hub_case(
        "policy/mute/local-user-commit".into(),
        "a muted alice may still commit: a mute silences chat, not the group's evolution".into(),
        &[req::POLICY_EXAMPLES, req::POLICY_ONLY_UNAMBIGUOUS],
        steps(muted_commit),
    ));
    let bob_chat = history
        .events
        .iter()
        .find(|e| e.provider.as_str() == FOLLOWER_B && !e.is_commit())
        .expect("bob chats")
        .clone();
    let mut remote = replay(history.creation, &history.events);
    remote.extend([
        Input::Mute {
            user: bob_chat.user.clone(),
        },
        Input::RateLimit {
            user: bob_chat.user.clone(),
            budget: 0,
        },
        bob_chat.hub_input(),
    ]);
    out.push(hub_case("policy/mute/remote-user-not-enforced".into(), "the hub records a mute and a zero budget for bob, a user of b.example: it cannot authenticate him, so his message is still sequenced".into(), &[req::POLICY_NO_REMOTE_RATE_LIMIT, req::POLICY_ONLY_UNAMBIGUOUS], steps(remote)));
    for budget in 0..=3u32 {
        let mut inputs = replay(history.creation, &history.events);
        inputs.push(Input::RateLimit {
            user: alice.clone(),
            budget,
        });
        inputs.extend(alice_chat.iter().take(budget as usize + 1).map(local));
        out.push(hub_case(
            format!("policy/rate-limit/budget-{budget}"),
            format!(
                "alice, local to the hub, may send {budget} message(s); message {} is rejected",
                budget + 1
            ),
            &[req::POLICY_LOCAL_RATE_LIMIT, req::POLICY_EXAMPLES],
            steps(inputs),
        ));
    }
    let bob = Bytes(b"bob".to_vec());
    let mut follower_mute = vec![follow(), Input::Mute { user: bob.clone() }];
    follower_mute.push(Input::LocalSend {
        user: bob,
        request: bob_chat.request.clone(),
    });
    out.push(case(
        "policy/mute/follower-local-user".into(),
        "b.example mutes its own user bob: his message is refused and not forwarded".into(),
        Role::Follower,
        FOLLOWER_B,
        &[req::POLICY_EXAMPLES, req::POLICY_FOLLOWER_ENFORCES_HUB],
        steps(follower_mute),
    ));
    out
}
