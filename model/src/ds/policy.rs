//! Draft §"Policy Enforcement": negative policy only, always judged against the fork a
//! message names.
//!
//! This module owns two kinds of rule, both negative:
//! - bans, read from a PublicMessage commit's GroupContextExtensions proposal, recorded on
//!   the partition that commit announces and inherited along the chain of partitions, so a
//!   ban in one fork never reaches its sibling;
//! - mutes and rate limits of the provider's *own* users, applied only to `LocalSend`
//!   (a hub cannot authenticate a follower's users, so it never mutes or rate-limits them).

use super::{Expectation, Outcome, State};
use crate::codec::{Bytes, ContentType, ErrorCode, MlsMessage, ProposalView, Reader, WireFormat};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, ReqId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Private-use GroupContext extension (RFC 9420 §17.3 reserves 0xff00–0xffff) carrying the
/// group's ban list: `struct { opaque identity<V>; } BannedIdentity; BannedIdentity bans<V>;`
/// — the basic-credential identities no Add may bring into the fork. A GroupContextExtensions
/// proposal replaces the whole list (absent extension = nobody banned).
pub const BAN_EXTENSION_TYPE: u16 = 0xff00;

/// Local users' mutes and rate limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalPolicy {
    pub muted: BTreeSet<Bytes>,
    /// Messages each rate-limited user may still send.
    pub budgets: BTreeMap<Bytes, u32>,
}

const BAN_REQUIREMENTS: &[ReqId] = &[
    req::POLICY_EXAMPLES,
    req::POLICY_PER_FORK,
    req::POLICY_BAN_PER_FORK,
    req::POLICY_NEGATIVE_ONLY,
];
const BAN_ERRATA: &[ErratumId] = &[
    errata::POLICY_PER_FORK_STATE,
    errata::NEGATIVE_POLICY_VISIBILITY,
    errata::BAN_LIST_EXTENSION,
];

/// The proposals a DS can read unambiguously: those of a PublicMessage commit, by value.
fn visible_proposals(message: &MlsMessage) -> &[ProposalView] {
    let clear_commit = message.view.wire_format == WireFormat::PublicMessage
        && message.view.content_type == Some(ContentType::Commit);
    if clear_commit {
        &message.view.proposals
    } else {
        &[]
    }
}

/// The ban list of the fork a commit announces: the list of its GroupContextExtensions
/// proposal if it carries one, else the list of the fork it was sent to.
pub(crate) fn bans_after(current: &BTreeSet<Bytes>, commit: &MlsMessage) -> BTreeSet<Bytes> {
    let replaced = visible_proposals(commit)
        .iter()
        .rev()
        .find_map(|p| match p {
            ProposalView::GroupContextExtensions { extensions } => Some(
                extensions
                    .iter()
                    .find(|(kind, _)| *kind == BAN_EXTENSION_TYPE)
                    .map(|(_, data)| parse_ban_list(data))
                    .unwrap_or_default(),
            ),
            _ => None,
        });
    replaced.unwrap_or_else(|| current.clone())
}

/// An unreadable list bans nobody: never reject on criteria not unambiguously known.
fn parse_ban_list(data: &Bytes) -> BTreeSet<Bytes> {
    let mut r = Reader::new(data.as_slice());
    let list = r.vector("BannedIdentity", |r| {
        r.opaque("BannedIdentity.identity").map(Bytes::from)
    });
    match (list, r.finish()) {
        (Ok(list), Ok(())) => list.into_iter().collect(),
        _ => BTreeSet::new(),
    }
}

/// The refusal of a commit that adds an identity banned in the fork it names, if it does.
pub(crate) fn refuse_banned(bans: &BTreeSet<Bytes>, message: &MlsMessage) -> Option<Outcome> {
    if bans.is_empty() {
        return None;
    }
    let banned_add = visible_proposals(message)
        .iter()
        .any(|p| matches!(p, ProposalView::Add { identity, .. } if bans.contains(identity)));
    banned_add.then(|| Outcome::error(ErrorCode::PolicyRejected, BAN_REQUIREMENTS, BAN_ERRATA))
}

/// The refusal of a local user's message by its mute or rate limit, if any; otherwise the
/// message is counted against the user's budget.
pub(crate) fn refuse_local(
    state: &mut State,
    user: &Bytes,
    message: &MlsMessage,
) -> Option<Outcome> {
    const WHY: &[ErratumId] = &[
        errata::NEGATIVE_POLICY_VISIBILITY,
        errata::MUTE_AND_RATE_LIMIT,
    ];
    let application = message.view.content_type == Some(ContentType::Application);
    if application && state.policy.muted.contains(user) {
        return Some(Outcome::error(
            ErrorCode::PolicyRejected,
            &[req::POLICY_EXAMPLES, req::POLICY_LOCAL_RATE_LIMIT],
            WHY,
        ));
    }
    if let Some(budget) = state.policy.budgets.get_mut(user) {
        if *budget == 0 {
            return Some(Outcome::error(
                ErrorCode::PolicyRejected,
                &[req::POLICY_LOCAL_RATE_LIMIT],
                WHY,
            ));
        }
        *budget -= 1;
    }
    None
}

pub(crate) fn mute(state: &mut State, user: &Bytes) -> Outcome {
    state.policy.muted.insert(user.clone());
    Outcome::answer(Expectation::accepted(
        &[req::POLICY_EXAMPLES],
        &[errata::MUTE_AND_RATE_LIMIT],
    ))
}

pub(crate) fn rate_limit(state: &mut State, user: &Bytes, budget: u32) -> Outcome {
    state.policy.budgets.insert(user.clone(), budget);
    Outcome::answer(Expectation::accepted(
        &[req::POLICY_LOCAL_RATE_LIMIT],
        &[errata::MUTE_AND_RATE_LIMIT],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::{add, application, ban, commit, MALLORY};

    #[test]
    fn a_ban_replaces_the_list_and_is_otherwise_inherited() {
        let none = BTreeSet::new();
        let banned = bans_after(&none, &commit(1, vec![ban(&[MALLORY, b"eve"])]));
        assert_eq!(banned.len(), 2);
        assert_eq!(
            bans_after(&banned, &commit(2, vec![])),
            banned,
            "no GCE: inherited"
        );
        let cleared = ProposalView::GroupContextExtensions { extensions: vec![] };
        assert!(
            bans_after(&banned, &commit(3, vec![cleared])).is_empty(),
            "GCE without the extension clears"
        );
    }

    #[test]
    fn only_clear_commits_adding_a_banned_identity_are_refused() {
        let bans: BTreeSet<Bytes> = [Bytes::from(MALLORY)].into();
        assert!(refuse_banned(&bans, &commit(1, vec![add(MALLORY)])).is_some());
        assert!(refuse_banned(&bans, &commit(1, vec![add(b"bob")])).is_none());
        let mut hidden = commit(1, vec![add(MALLORY)]);
        hidden.view.wire_format = WireFormat::PrivateMessage;
        assert!(
            refuse_banned(&bans, &hidden).is_none(),
            "an encrypted commit is not unambiguous"
        );
        assert!(refuse_banned(&bans, &application(1)).is_none());
    }

    #[test]
    fn a_garbled_ban_list_bans_nobody() {
        let garbled = ProposalView::GroupContextExtensions {
            extensions: vec![(BAN_EXTENSION_TYPE, Bytes(vec![5, 1]))],
        };
        assert!(bans_after(&BTreeSet::new(), &commit(1, vec![garbled])).is_empty());
    }

    #[test]
    fn mutes_stop_application_messages_and_budgets_run_out() {
        let mut state = crate::ds::scenario::hub_state();
        let alice: Bytes = b"alice".as_slice().into();
        mute(&mut state, &alice);
        assert!(refuse_local(&mut state, &alice, &application(1)).is_some());
        assert!(
            refuse_local(&mut state, &alice, &commit(1, vec![])).is_none(),
            "a mute silences chat, not commits"
        );
        let bob: Bytes = b"bob".as_slice().into();
        rate_limit(&mut state, &bob, 1);
        assert!(refuse_local(&mut state, &bob, &application(1)).is_none());
        assert!(refuse_local(&mut state, &bob, &application(2)).is_some());
    }
}
