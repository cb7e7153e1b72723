//! Properties of the reference model over random operation sequences, each naming the
//! requirements it covers, and the coverage table proving every testable requirement of
//! the catalogue is exercised here or says why not.

use mimi_ds_model::codec::{
    Bytes, Epoch, ErrorCode, HintedEpoch, KeyPackageRequest, Message, PartitionKey, ReceiveRequest,
    ReceiveResponse,
};
use mimi_ds_model::ds::partitions::to_vec;
use mimi_ds_model::ds::scenario::{
    self, checked, follower_id, hosting_hub, hub_id, key, key_package, Op, GROUP, SUITE,
};
use mimi_ds_model::ds::{
    explore, forks, receiving, step, Input, Model, Outbound, Reference, Response, State, Token,
    TokenScope,
};
use mimi_ds_model::requirements::{self as req, ReqId, Testability, CATALOGUE};
use proptest::prelude::*;

/// How a requirement is exercised.
#[derive(Debug)]
enum Coverage {
    /// By the named property of this file.
    Property(&'static str),
    /// Not by a property: why.
    Reason(&'static str),
}
use Coverage::{Property, Reason};

const COVERAGE: &[(ReqId, Coverage)] = &[
    (req::HUB_SEQUENCES_AND_FANS_OUT, Property("no_message_is_lost_and_order_is_kept")),
    (req::PARTITION_ACCESS_CONTROL, Property("hints_relation_accepts_every_allowed_choice_and_rejects_corruptions")),
    (req::PARTITION_EXTERNAL_EXCEPTION, Property("external_joins_go_to_the_most_recent_partition")),
    (req::PARTITION_KEY_EPOCH_ACCESS, Property("hints_relation_accepts_every_allowed_choice_and_rejects_corruptions")),
    (req::PARTITION_KEYS_NO_HARD_RULES, Property("no_message_is_lost_and_order_is_kept")),
    (req::ENDPOINTS_FOR_THIRD_PARTIES, Reason("who may call is transport (errata/provider-authorization); the harness's binding tests it")),
    (req::KEY_PACKAGES_REQUEST_VIA_OHTTP, Reason("OHTTP encapsulation is transport; the harness's binding tests it")),
    (req::KEY_PACKAGES_OVER_OHTTP, Reason("OHTTP encapsulation is transport; the harness's binding tests it")),
    (req::KEY_PACKAGES_RESPONSE_MATCHES, Property("key_packages_are_handed_out_once_unless_last_resort")),
    (req::KEY_PACKAGES_BUNDLING, Property("key_packages_are_handed_out_once_unless_last_resort")),
    (req::KEY_PACKAGES_BEARER_TOKEN, Property("key_packages_are_handed_out_once_unless_last_resort")),
    (req::KEY_PACKAGES_BEARER_INVALIDATION, Property("key_packages_are_handed_out_once_unless_last_resort")),
    (req::SEND_FOLLOWER_TO_HUB, Property("followers_forward_and_drop_repeated_pushes")),
    (req::SEND_PARTITION_KEY_LENGTH, Reason("a length other than 16 does not decode: the codec's vectors and fuzz targets test it")),
    (req::SEND_UNKNOWN_GROUP_REJECTED, Property("canonical_answers_pass_the_checker")),
    (req::SEND_SEQUENCED_TO_PARTITION, Property("no_message_is_lost_and_order_is_kept")),
    (req::SEND_PUSHES_WELCOME, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::SEND_COMMIT_DATA, Property("masks_are_sha256_of_the_announced_keys")),
    (req::SEND_WELCOME_DATA, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::SEND_WELCOME_PROVIDERS_LENGTH, Reason("a unit test (ds::sending) covers the one rejection; random operations always build matching lists")),
    (req::SEND_WELCOME_PROVIDERS_ONE_TO_ONE, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::SEND_RATCHET_TREE_REQUIRED, Reason("unit tests (ds::sending) cover both outcomes; it needs GroupInfos the random operations do not carry")),
    (req::WELCOME_INIT_BEFORE_PUSH, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::WELCOME_PUSH_IF_ACCEPTED, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::WELCOME_INIT_REQUEST, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::WELCOME_AS_MLS_MESSAGE, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::RECEIVE_FOLLOWER_REQUESTS, Property("followers_forward_and_drop_repeated_pushes")),
    (req::RECEIVE_COUNTER, Property("counters_skip_exactly")),
    (req::RECEIVE_RESPONDS, Property("counters_skip_exactly")),
    (req::RECEIVE_MASKED_KEY, Property("masks_are_sha256_of_the_announced_keys")),
    (req::RECEIVE_SKIP_COUNTER, Property("counters_skip_exactly")),
    (req::RECEIVE_HINTS_OTHER_EPOCHS, Property("hints_relation_accepts_every_allowed_choice_and_rejects_corruptions")),
    (req::RECEIVE_HINTS_COMPLETE, Property("hints_relation_accepts_every_allowed_choice_and_rejects_corruptions")),
    (req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH, Property("hints_relation_accepts_every_allowed_choice_and_rejects_corruptions")),
    (req::RECEIVE_SEQUENCING_ORDER, Property("no_message_is_lost_and_order_is_kept")),
    (req::RECEIVE_PUSH, Property("followers_forward_and_drop_repeated_pushes")),
    (req::EXTERNAL_JOIN_TO_HUB, Property("external_joins_go_to_the_most_recent_partition")),
    (req::EXTERNAL_JOIN_VALIDATED, Property("external_joins_go_to_the_most_recent_partition")),
    (req::EXTERNAL_JOIN_MOST_RECENT_PARTITION, Property("external_joins_go_to_the_most_recent_partition")),
    (req::EXTERNAL_JOIN_GROUP_INFO_REQUEST, Reason("unit tests (ds::external_joins) cover the answer; random operations carry no GroupInfo")),
    (req::EXTERNAL_JOIN_INFERRED_TREE, Reason("a MAY with no observable failure but a tree offered when the GroupInfo has one; unit-tested via Rule::InferredTreeAllowed")),
    (req::FORKS_TOLERATED, Property("policy_is_judged_per_fork")),
    (req::FORK_TERMINATION_MAY, Property("terminated_branches_refuse_sends_and_keep_reads")),
    (req::FORK_TERMINATION_BLOCKS_SENDS, Property("terminated_branches_refuse_sends_and_keep_reads")),
    (req::POLICY_NEGATIVE_ONLY, Property("policy_is_judged_per_fork")),
    (req::POLICY_EXAMPLES, Property("policy_is_judged_per_fork")),
    (req::POLICY_PER_FORK, Property("policy_is_judged_per_fork")),
    (req::POLICY_BAN_PER_FORK, Property("policy_is_judged_per_fork")),
    (req::POLICY_ONLY_UNAMBIGUOUS, Property("remote_users_are_never_muted_or_rate_limited")),
    (req::POLICY_NO_REMOTE_RATE_LIMIT, Property("remote_users_are_never_muted_or_rate_limited")),
    (req::POLICY_NO_POSITIVE, Property("no_message_is_lost_and_order_is_kept")),
    (req::FLOW_CREATE_FAN_OUT_WELCOME, Property("welcomes_are_pushed_only_after_a_yes")),
    (req::FLOW_CREATE_FOLLOWERS_READ, Property("followers_forward_and_drop_repeated_pushes")),
    (req::FLOW_EXTERNAL_JOIN_STEPS, Property("external_joins_go_to_the_most_recent_partition")),
    (req::FLOW_EXTERNAL_JOIN_NEW_PARTITION, Property("external_joins_go_to_the_most_recent_partition")),
    (req::FLOW_SELF_REMOVE_STOP_PUSHES, Property("followers_forward_and_drop_repeated_pushes")),
    (req::FLOW_SELF_REMOVE_KEEP_RECEIVING, Reason("a SHOULD on the user: until it informs its LSP, reads go on as for any user (followers_forward_and_drop_repeated_pushes)")),
];

/// The properties below, by name.
const PROPERTIES: &[&str] = &[
    "canonical_answers_pass_the_checker",
    "no_message_is_lost_and_order_is_kept",
    "counters_skip_exactly",
    "hints_relation_accepts_every_allowed_choice_and_rejects_corruptions",
    "masks_are_sha256_of_the_announced_keys",
    "policy_is_judged_per_fork",
    "terminated_branches_refuse_sends_and_keep_reads",
    "external_joins_go_to_the_most_recent_partition",
    "welcomes_are_pushed_only_after_a_yes",
    "key_packages_are_handed_out_once_unless_last_resort",
    "remote_users_are_never_muted_or_rate_limited",
    "followers_forward_and_drop_repeated_pushes",
];

#[test]
fn every_testable_requirement_is_covered_or_says_why_not() {
    for requirement in CATALOGUE.iter().filter(|r| r.testable == Testability::Wire) {
        let entry = COVERAGE.iter().find(|(id, _)| *id == requirement.id);
        assert!(
            entry.is_some(),
            "{} is testable but neither covered nor excused",
            requirement.id
        );
    }
    for (id, coverage) in COVERAGE {
        assert!(req::find(id.0).is_some(), "{id} is not in the catalogue");
        match coverage {
            Property(name) => assert!(PROPERTIES.contains(name), "{id}: no property {name}"),
            Reason(why) => assert!(!why.is_empty()),
        }
    }
}

/// Operations over four keys and two followers; tags make every message distinct.
fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..4;
    prop_oneof![
        4 => (0u8..2, k.clone()).prop_map(|(from, key)| Op::App { from, key, tag: 0 }),
        2 => (0u8..2, k.clone(), k.clone(), any::<bool>(), any::<bool>(), proptest::option::of(0u8..2))
            .prop_map(|(from, key, next, ban, add, welcome)| Op::Commit { from, key, next, ban, add, welcome, tag: 0 }),
        1 => (0u8..2, k.clone()).prop_map(|(from, next)| Op::ExternalJoin { from, next, tag: 0 }),
        2 => (0u8..2, k.clone(), 0u8..4).prop_map(|(from, key, counter)| Op::Receive { from, key, counter }),
        1 => k.prop_map(|key| Op::Terminate { key }),
        1 => (0u8..2, any::<bool>()).prop_map(|(follower, accepted)| Op::AnswerWelcome { follower, accepted }),
    ]
}

/// Numbers the tags so no two messages are byte-identical.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 0..40).prop_map(|mut ops| {
        for (i, op) in ops.iter_mut().enumerate() {
            let n = i as u32 + 1;
            match op {
                Op::App { tag, .. } | Op::Commit { tag, .. } | Op::ExternalJoin { tag, .. } => {
                    *tag = n
                }
                _ => {}
            }
        }
        ops
    })
}

fn run(ops: &[Op]) -> State {
    ops.iter()
        .fold(hosting_hub(), |s, op| step(&s, &op.input()).next)
}

fn all_keys(state: &State) -> Vec<PartitionKey> {
    state.partitions.index.keys().copied().collect()
}

fn canonical_receive(state: &State, key: PartitionKey, counter: u32) -> ReceiveResponse {
    match receiving::respond(
        &state.partitions,
        &ReceiveRequest {
            partition_key: key,
            counter,
        },
    )
    .canonical
    {
        Response::Receive(r) => r,
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Covers every requirement an `Expectation` names: the canonical answer of each step,
    /// with its calls, is accepted by the checker and leads to the canonical next state.
    #[test]
    fn canonical_answers_pass_the_checker(ops in ops()) {
        let mut state = hosting_hub();
        for op in &ops {
            let input = op.input();
            let mut next = state.clone();
            let observed = Reference.apply(&mut next, &input);
            prop_assert_eq!(checked(&state, &input, &observed), Ok(next.clone()));
            explore::invariants(&state, &input, &next, &observed).map_err(|v| TestCaseError::fail(v.to_string()))?;
            state = next;
        }
    }

    /// SEND_SEQUENCED_TO_PARTITION, RECEIVE_SEQUENCING_ORDER, HUB_SEQUENCES_AND_FANS_OUT,
    /// PARTITION_KEYS_NO_HARD_RULES, POLICY_NO_POSITIVE: every accepted message is in the
    /// partition it was sent to (the most recent one for external joins), once, in the order
    /// accepted — sends to new keys and late sends after a commit included.
    #[test]
    fn no_message_is_lost_and_order_is_kept(ops in ops()) {
        let mut state = hosting_hub();
        let mut expected: std::collections::BTreeMap<PartitionKey, Vec<Bytes>> = Default::default();
        for op in &ops {
            let input = op.input();
            let target = match &input {
                Input::Send { request, .. } => Some(request.partition_key),
                Input::ExternalJoin { .. } => Some(forks::most_recent_partition(&state.partitions.groups[&scenario::group_id()])),
                _ => None,
            };
            let s = step(&state, &input);
            if let (Some(k), Response::Accepted) = (target, &s.expect.canonical) {
                let message = match &input {
                    Input::Send { request, .. } => request.message.bytes.clone(),
                    Input::ExternalJoin { request, .. } => request.message.bytes.clone(),
                    _ => unreachable!(),
                };
                expected.entry(k).or_default().push(message);
            }
            state = s.next;
        }
        for key in all_keys(&state) {
            let log: Vec<Bytes> = state.partitions.partition(&key).unwrap().log.iter().map(|m| m.message.bytes.clone()).collect();
            let want = expected.get(&key).cloned().unwrap_or_default();
            prop_assert_eq!(log, want);
        }
    }

    /// RECEIVE_SKIP_COUNTER, RECEIVE_COUNTER, RECEIVE_RESPONDS: the epoch is the log after
    /// `counter`, empty at or past the end.
    #[test]
    fn counters_skip_exactly(ops in ops(), counter in 0u32..50) {
        let state = run(&ops);
        for key in all_keys(&state) {
            let log = &state.partitions.partition(&key).unwrap().log;
            let epoch = canonical_receive(&state, key, counter).epoch.messages;
            let all = to_vec(log);
            prop_assert_eq!(&epoch[..], all.get(counter as usize..).unwrap_or_default());
        }
    }

    /// RECEIVE_HINTS_OTHER_EPOCHS, RECEIVE_HINTS_COMPLETE, RECEIVE_HINTS_NO_DUPLICATE_EPOCH,
    /// RECEIVE_MASKED_KEY, PARTITION_ACCESS_CONTROL, PARTITION_KEY_EPOCH_ACCESS: every choice
    /// of other partitions, in any order, passes; each corruption fails naming its rule.
    #[test]
    fn hints_relation_accepts_every_allowed_choice_and_rejects_corruptions(
        ops in ops(), pick in any::<u64>(), counter in 0u32..4, corruption in 0u8..5,
    ) {
        let state = run(&ops);
        let keys = all_keys(&state);
        let requested = keys[(pick % keys.len() as u64) as usize];
        let mut choice: Vec<HintedEpoch> = keys
            .iter()
            .enumerate()
            .filter(|(i, k)| **k != requested && pick >> (8 + i) & 1 == 1)
            .map(|(_, k)| {
                let p = state.partitions.partition(k).unwrap();
                HintedEpoch { masked_partition_key: p.masked.clone(), epoch: Epoch { messages: to_vec(&p.log) } }
            })
            .collect();
        if pick & 0x80 != 0 {
            choice.reverse();
        }
        let mut response = canonical_receive(&state, requested, counter);
        response.hints = choice.clone();
        prop_assert!(receiving::check_response(&state.partitions, &requested, counter, &response).is_ok());

        let requested_log = state.partitions.partition(&requested).unwrap().log.clone();
        let (corrupted, broken): (Option<ReceiveResponse>, ReqId) = match corruption {
            0 => (choice.iter().position(|h| !h.epoch.messages.is_empty()).map(|i| {
                let mut r = response.clone();
                r.hints[i].epoch.messages.remove(0);
                r
            }), req::RECEIVE_HINTS_COMPLETE),
            1 => (choice.first().map(|h| {
                let mut r = response.clone();
                r.hints.push(h.clone());
                r
            }), req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH),
            2 => (Some({
                let mut r = response.clone();
                r.hints.push(HintedEpoch { masked_partition_key: requested.masked(), epoch: Epoch { messages: to_vec(&requested_log) } });
                r
            }), req::RECEIVE_HINTS_NO_DUPLICATE_EPOCH),
            3 => (choice.first().map(|_| {
                let mut r = response.clone();
                let raw = keys.iter().find(|k| k.masked() == r.hints[0].masked_partition_key).unwrap();
                r.hints[0].masked_partition_key = Bytes(raw.0.to_vec());
                r
            }), req::RECEIVE_MASKED_KEY),
            _ => (response.epoch.messages.get(1).map(|_| {
                let mut r = response.clone();
                r.epoch.messages.swap(0, 1);
                r
            }), req::RECEIVE_SEQUENCING_ORDER),
        };
        if let Some(corrupted) = corrupted {
            let violation = receiving::check_response(&state.partitions, &requested, counter, &corrupted).unwrap_err();
            prop_assert!(violation.requirements.contains(&broken), "{} not in {}", broken, violation);
        }
    }

    /// RECEIVE_MASKED_KEY, SEND_COMMIT_DATA: each relayed commit carries SHA-256 of the key
    /// it announced, never the raw key.
    #[test]
    fn masks_are_sha256_of_the_announced_keys(ops in ops()) {
        let state = run(&ops);
        let group = &state.partitions.groups[&scenario::group_id()];
        for record in &group.commits {
            let log = &group.partitions[&record.partition].log;
            prop_assert!(log.iter().filter_map(|m| m.commit.as_ref()).any(|c| c.next_partition_key == record.next.masked()));
            prop_assert!(log.iter().filter_map(|m| m.commit.as_ref()).all(|c| c.next_partition_key.0.len() == 32));
        }
    }

    /// POLICY_PER_FORK, POLICY_BAN_PER_FORK, POLICY_EXAMPLES, POLICY_NEGATIVE_ONLY,
    /// FORKS_TOLERATED: after any history, a ban committed in one branch refuses the banned
    /// Add there and there only; the sibling branch accepts it.
    #[test]
    fn policy_is_judged_per_fork(ops in ops()) {
        let mut state = run(&ops);
        let base = forks::most_recent_partition(&state.partitions.groups[&scenario::group_id()]);
        let base_index = (0..=u8::MAX).find(|i| key(*i) == base).unwrap();
        // Every partition may be terminated, the creation partition too: then nothing forks.
        prop_assume!(!state.partitions.partition(&base).unwrap().terminated);
        let banned_before = state.partitions.partition(&base).unwrap().bans.contains(&Bytes::from(scenario::MALLORY));
        for (next, ban, tag) in [(8, true, 1001), (9, false, 1002)] {
            state = step(&state, &Op::Commit { from: 0, key: base_index, next, ban, add: false, welcome: None, tag }.input()).next;
        }
        let add_in = |state: &State, k: u8, tag| step(state, &Op::Commit { from: 1, key: k, next: 10 + k, ban: false, add: true, welcome: None, tag }.input()).expect.canonical;
        prop_assert_eq!(add_in(&state, 8, 1003), Response::Error(ErrorCode::PolicyRejected));
        let sibling = if banned_before { Response::Error(ErrorCode::PolicyRejected) } else { Response::Accepted };
        prop_assert_eq!(add_in(&state, 9, 1004), sibling);
    }

    /// FORK_TERMINATION_MAY, FORK_TERMINATION_BLOCKS_SENDS: a terminated branch refuses every
    /// send and reads exactly as before; its sibling goes on.
    #[test]
    fn terminated_branches_refuse_sends_and_keep_reads(ops in ops(), sends in 1usize..5) {
        let mut state = run(&ops);
        prop_assume!(!state.partitions.partition(&key(0)).unwrap().terminated);
        for (next, tag) in [(8, 2001), (9, 2002)] {
            state = step(&state, &Op::Commit { from: 0, key: 0, next, ban: false, add: false, welcome: None, tag }.input()).next;
        }
        let terminated = step(&state, &Input::TerminateBranch { partition_key: key(8) });
        prop_assert_eq!(&terminated.expect.canonical, &Response::Accepted);
        let mut state = terminated.next;
        let before = canonical_receive(&state, key(8), 0);
        for i in 0..sends {
            let refused = step(&state, &Op::App { from: 0, key: 8, tag: 3000 + i as u32 }.input());
            prop_assert_eq!(&refused.expect.canonical, &Response::Error(ErrorCode::BranchTerminated));
            prop_assert_eq!(&refused.next, &state);
            state = step(&state, &Op::App { from: 1, key: 9, tag: 4000 + i as u32 }.input()).next;
        }
        prop_assert_eq!(canonical_receive(&state, key(8), 0), before);
        prop_assert_eq!(state.partitions.partition(&key(9)).unwrap().log.len(), sends);
    }

    /// EXTERNAL_JOIN_TO_HUB, EXTERNAL_JOIN_VALIDATED, EXTERNAL_JOIN_MOST_RECENT_PARTITION,
    /// PARTITION_EXTERNAL_EXCEPTION, FLOW_EXTERNAL_JOIN_*: the external commit lands at the end
    /// of the most recent partition, and its own key becomes the most recent.
    #[test]
    fn external_joins_go_to_the_most_recent_partition(ops in ops(), next in 4u8..8) {
        let state = run(&ops);
        let recent = forks::most_recent_partition(&state.partitions.groups[&scenario::group_id()]);
        let joined = step(&state, &Op::ExternalJoin { from: 1, next, tag: 5000 }.input());
        if joined.expect.canonical == Response::Accepted {
            let log = &joined.next.partitions.partition(&recent).unwrap().log;
            prop_assert_eq!(&log.last().unwrap().message, &scenario::external_commit(5000));
            prop_assert_eq!(forks::most_recent_partition(&joined.next.partitions.groups[&scenario::group_id()]), key(next));
            let then = step(&joined.next, &Op::App { from: 1, key: next, tag: 5001 }.input());
            prop_assert_eq!(then.expect.canonical, Response::Accepted);
        } else {
            prop_assert!(state.partitions.partition(&recent).unwrap().terminated, "only a terminated creation partition refuses");
        }
    }

    /// WELCOME_INIT_BEFORE_PUSH, WELCOME_PUSH_IF_ACCEPTED, WELCOME_INIT_REQUEST,
    /// SEND_PUSHES_WELCOME, SEND_WELCOME_DATA, SEND_WELCOME_PROVIDERS_ONE_TO_ONE,
    /// FLOW_CREATE_FAN_OUT_WELCOME, WELCOME_AS_MLS_MESSAGE: a Welcome leaves only after a yes,
    /// once per yes to a waiting Welcome, byte-identical to the one sent, in order.
    #[test]
    fn welcomes_are_pushed_only_after_a_yes(ops in ops()) {
        let mut state = hosting_hub();
        let mut waiting: [std::collections::VecDeque<mimi_ds_model::codec::MlsMessage>; 2] = Default::default();
        for op in &ops {
            let s = step(&state, &op.input());
            match op {
                Op::AnswerWelcome { follower, accepted } => {
                    let next_welcome = waiting[*follower as usize].pop_front();
                    let expected: Vec<Outbound> = match next_welcome {
                        Some(welcome) if *accepted => vec![Outbound::WelcomePush { to: follower_id(*follower), welcome }],
                        _ => vec![],
                    };
                    prop_assert_eq!(&s.outbound, &expected);
                }
                _ => {
                    let only_inits = s.outbound.iter().all(|c| matches!(c, Outbound::WelcomeInit { .. }));
                    prop_assert!(only_inits, "a Welcome pushed before any answer");
                    for call in &s.outbound {
                        if let Outbound::WelcomeInit { to, request } = call {
                            let Input::Send { request: send, .. } = op.input() else { unreachable!() };
                            let welcome = send.commit_data.unwrap().welcome_data.unwrap().welcome;
                            prop_assert_eq!(welcome.view.new_members.as_ref().unwrap(), &request.key_package_refs);
                            waiting[usize::from(*to != follower_id(0))].push_back(welcome);
                        }
                    }
                }
            }
            state = s.next;
        }
    }

    /// KEY_PACKAGES_RESPONSE_MATCHES, KEY_PACKAGES_BEARER_TOKEN, KEY_PACKAGES_BEARER_INVALIDATION,
    /// KEY_PACKAGES_BUNDLING: one-time KeyPackages never repeat, the last resort comes only
    /// once they are gone, exhaustion only with neither; bad tokens never get one.
    #[test]
    fn key_packages_are_handed_out_once_unless_last_resort(
        one_time in 0u32..5, last_resort in any::<bool>(), asks in proptest::collection::vec((any::<bool>(), 0u8..3), 1..12),
    ) {
        let alice: Bytes = b"alice".as_slice().into();
        let mut uploads: Vec<_> = (0..one_time).map(|i| key_package(SUITE, i, false)).collect();
        if last_resort {
            uploads.push(key_package(SUITE, 99, true));
        }
        let mut state = State::new(hub_id());
        state = step(&state, &Input::UploadKeyPackages { user: alice.clone(), key_packages: uploads }).next;
        state = step(&state, &Input::IssueToken(Token { scope: TokenScope::User(alice.clone()), token: b"t".as_slice().into() })).next;
        let mut handed = std::collections::BTreeSet::new();
        for (bundle, token) in asks {
            let token: Bytes = [b"t".as_slice(), b"x", b"t"][token as usize].into();
            let request = KeyPackageRequest { user_id: alice.clone(), bearer_token: token.clone(), version: 1, cipher_suite: SUITE };
            let input = if bundle {
                Input::KeyPackageBundle { request: mimi_ds_model::codec::KeyPackageBundleRequest { requests: vec![request.clone(), request] } }
            } else {
                Input::KeyPackage { request }
            };
            let s = step(&state, &input);
            let results: Vec<Result<_, ErrorCode>> = match s.expect.canonical.clone() {
                Response::KeyPackage(k) => vec![Ok(k.key_package)],
                Response::Error(code) => vec![Err(code)],
                Response::KeyPackageBundle(b) => b.results.into_iter().map(|r| match r {
                    mimi_ds_model::codec::KeyPackageResult::KeyPackage(kp) => Ok(kp),
                    mimi_ds_model::codec::KeyPackageResult::Error(e) => Err(e.code),
                }).collect(),
                other => panic!("{other:?}"),
            };
            for result in results {
                match result {
                    Ok(kp) if kp.view.last_resort => prop_assert_eq!(handed.len() as u32, one_time, "last resort while one-time ones remain"),
                    Ok(kp) => prop_assert!(handed.insert(kp.bytes), "handed out twice"),
                    Err(ErrorCode::InvalidBearerToken) => prop_assert_ne!(token.as_slice(), b"t"),
                    Err(ErrorCode::KeyPackageExhausted) => prop_assert!(!last_resort && handed.len() as u32 == one_time),
                    Err(other) => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            state = s.next;
        }
        let revoked = step(&state, &Input::RevokeToken { token: b"t".as_slice().into() }).next;
        let request = KeyPackageRequest { user_id: alice, bearer_token: b"t".as_slice().into(), version: 1, cipher_suite: SUITE };
        prop_assert_eq!(step(&revoked, &Input::KeyPackage { request }).expect.canonical, Response::Error(ErrorCode::InvalidBearerToken));
    }

    /// POLICY_ONLY_UNAMBIGUOUS, POLICY_NO_REMOTE_RATE_LIMIT: mutes and rate limits of a hub's
    /// users never touch the same identities' messages arriving from a follower.
    #[test]
    fn remote_users_are_never_muted_or_rate_limited(ops in ops(), budget in 0u32..3) {
        let mut state = run(&ops);
        let user: Bytes = b"alice".as_slice().into();
        state = step(&state, &Input::Mute { user: user.clone() }).next;
        state = step(&state, &Input::RateLimit { user: user.clone(), budget }).next;
        let recent = forks::most_recent_partition(&state.partitions.groups[&scenario::group_id()]);
        let remote = step(&state, &Input::Send { from: follower_id(0), request: scenario::send_request(scenario::application(6000), recent, None) });
        let terminated = state.partitions.partition(&recent).unwrap().terminated;
        prop_assert_eq!(remote.expect.canonical == Response::Accepted, !terminated);
        let local = step(&state, &Input::LocalSend { user, request: scenario::send_request(scenario::application(6001), recent, None) });
        prop_assert_eq!(local.expect.canonical, Response::Error(ErrorCode::PolicyRejected));
    }

    /// SEND_FOLLOWER_TO_HUB, RECEIVE_FOLLOWER_REQUESTS, RECEIVE_PUSH, FLOW_CREATE_FOLLOWERS_READ,
    /// FLOW_SELF_REMOVE_STOP_PUSHES: a follower forwards its users' sends and reads, takes
    /// each distinct push once, and after the self-remove reads no more and refuses pushes.
    #[test]
    fn followers_forward_and_drop_repeated_pushes(ops in ops(), pushes in proptest::collection::vec(0usize..3, 0..8)) {
        let hub = run(&ops);
        let mut follower = State::new(follower_id(0));
        follower = step(&follower, &Input::FollowGroup { group_id: GROUP.into(), hub: hub_id() }).next;
        let send = scenario::send_request(scenario::application(7000), key(0), None);
        let forwarded = step(&follower, &Input::LocalSend { user: b"u".as_slice().into(), request: send.clone() });
        prop_assert_eq!(forwarded.outbound, vec![Outbound::Send { to: hub_id(), request: send }]);
        let keys = all_keys(&hub);
        let mut distinct = std::collections::BTreeSet::new();
        let mut delivered = 0;
        for pick in pushes {
            let k = keys[pick % keys.len()];
            let p = hub.partitions.partition(&k).unwrap();
            let push = ReceiveResponse { epoch: Epoch::default(), hints: vec![HintedEpoch { masked_partition_key: p.masked.clone(), epoch: Epoch { messages: to_vec(&p.log) } }] };
            let group = hub.partitions.groups.values().next().unwrap();
            for to in &group.participants {
                prop_assert!(receiving::check_push(&hub.partitions, to, &push).is_ok());
            }
            if distinct.insert(k) {
                delivered += p.log.len() as u64;
            }
            follower = step(&follower, &Input::Push { from: hub_id(), response: push }).next;
        }
        prop_assert_eq!(follower.follower.delivered, delivered);
        follower = step(&follower, &Input::SelfRemove { group_id: GROUP.into() }).next;
        let read = step(&follower, &Input::LocalReceive { group_id: GROUP.into(), request: ReceiveRequest { partition_key: key(0), counter: 0 } });
        prop_assert!(read.outbound.is_empty());
        if let Some(m) = hub.partitions.partition(&key(0)).unwrap().log.front() {
            let push = ReceiveResponse { epoch: Epoch { messages: vec![Message::clone(m)] }, hints: vec![] };
            prop_assert_eq!(step(&follower, &Input::Push { from: hub_id(), response: push }).expect.canonical, Response::Error(ErrorCode::UnknownGroup));
        }
    }
}
