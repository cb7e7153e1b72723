//! The follower role (draft §"Sending Messages", §"Receiving Messages", §"Welcome",
//! §"Self-Remove"): a provider whose local users take part in groups hosted elsewhere.
//!
//! This module owns what a follower remembers: which groups its users follow and at which
//! hub, which KeyPackageRefs it agreed to receive a Welcome for, and which pushes it has
//! already taken (byte-identical pushes are acknowledged and dropped: errata
//! `errata/push-and-pull`). A local user's send or read is forwarded to the hub, or served
//! here when this DS hosts the group; after the last local user self-removed, the follower
//! stops reading the group and refuses pushes for it (`errata/self-remove-signalling`).

use super::{
    digest, policy, receiving, sending, Digest, Expectation, Outbound, Outcome, Response, State,
};
use crate::codec::{
    Bytes, ErrorCode, MlsMessage, ReceiveRequest, ReceiveResponse, SendRequest, ServiceProviderId,
    WelcomeInitRequest, WelcomeInitResponse, Wire,
};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, ReqId};
use imbl::OrdSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Follower {
    pub groups: BTreeMap<Bytes, FollowedGroup>,
    /// KeyPackageRefs this provider answered a WelcomeInit for with yes.
    pub awaiting_welcome: OrdSet<Bytes>,
    /// SHA-256 of every push and Welcome taken, to drop byte-identical repeats.
    pub taken: OrdSet<Digest>,
    /// Messages handed to local users from pushes (each push counted once).
    pub delivered: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FollowedGroup {
    pub hub: ServiceProviderId,
    /// The last local user left: no more reads, pushes refused.
    pub self_removed: bool,
}

const PUSH_ERRATA: &[ErratumId] = &[
    errata::PUSH_AND_PULL,
    errata::SELF_REMOVE_SIGNALLING,
    errata::PROVIDER_AUTHORIZATION,
    errata::PUSH_ACCEPTANCE,
];

pub(crate) fn follow(state: &mut State, group_id: &Bytes, hub: &ServiceProviderId) -> Outcome {
    if *hub == state.me {
        return Outcome::error(
            ErrorCode::Malformed,
            &[req::FLOW_CREATE_FOLLOWERS_READ],
            &[],
        );
    }
    state.follower.groups.insert(
        group_id.clone(),
        FollowedGroup {
            hub: hub.clone(),
            self_removed: false,
        },
    );
    Outcome::accepted(&[req::FLOW_CREATE_FOLLOWERS_READ], &[])
}

pub(crate) fn self_remove(state: &mut State, group_id: &Bytes) -> Outcome {
    let reqs = [
        req::FLOW_SELF_REMOVE_INFORM_LSP,
        req::FLOW_SELF_REMOVE_STOP_PUSHES,
    ];
    match state.follower.groups.get_mut(group_id) {
        Some(group) => {
            group.self_removed = true;
            Outcome::accepted(&reqs, &[errata::SELF_REMOVE_SIGNALLING])
        }
        None => Outcome::error(
            ErrorCode::UnknownGroup,
            &reqs,
            &[errata::SELF_REMOVE_SIGNALLING],
        ),
    }
}

/// A local user's message: local policy, then sequenced here or forwarded to the hub.
pub(crate) fn local_send(state: &mut State, user: &Bytes, request: &SendRequest) -> Outcome {
    let group_id = request.message.view.group_id.clone().unwrap_or_default();
    let hosted = state.partitions.groups.contains_key(&group_id);
    let hub = state.follower.groups.get(&group_id).map(|g| g.hub.clone());
    if !hosted && hub.is_none() {
        return Outcome::error(
            ErrorCode::UnknownGroup,
            &[req::SEND_FOLLOWER_TO_HUB],
            &[errata::FORWARDED_LOCAL_REQUESTS],
        );
    }
    if let Some(refused) = policy::refuse_local(state, user, &request.message) {
        return refused;
    }
    match hub {
        Some(to) if !hosted => Outcome {
            expect: Expectation::accepted(
                &[req::SEND_FOLLOWER_TO_HUB, req::HUB_SEQUENCES_AND_FANS_OUT],
                &[errata::FORWARDED_LOCAL_REQUESTS],
            ),
            outbound: vec![Outbound::Send {
                to,
                request: request.clone(),
            }],
        },
        _ => sending::send(state, None, request),
    }
}

/// A local user's read: served here if hosted, forwarded unless the group was left.
pub(crate) fn local_receive(
    state: &mut State,
    group_id: &Bytes,
    request: &ReceiveRequest,
) -> Outcome {
    if state.partitions.groups.contains_key(group_id) {
        return Outcome::answer(receiving::respond(&state.partitions, request));
    }
    let reqs = [
        req::RECEIVE_FOLLOWER_REQUESTS,
        req::FLOW_CREATE_FOLLOWERS_READ,
        req::FLOW_SELF_REMOVE_STOP_PUSHES,
    ];
    match state.follower.groups.get(group_id) {
        Some(group) if !group.self_removed => Outcome {
            expect: Expectation::accepted(&reqs, &[]),
            outbound: vec![Outbound::Receive {
                to: group.hub.clone(),
                request: request.clone(),
            }],
        },
        _ => Outcome::error(
            ErrorCode::UnknownGroup,
            &reqs,
            &[errata::SELF_REMOVE_SIGNALLING],
        ),
    }
}

/// A hub lists KeyPackageRefs: yes exactly when every one is a local user's upload.
pub(crate) fn welcome_init(
    state: &mut State,
    _from: &ServiceProviderId,
    request: &WelcomeInitRequest,
) -> Outcome {
    let ours = |r: &Bytes| {
        state
            .key_packages
            .users
            .values()
            .flatten()
            .any(|s| s.key_package.view.key_package_ref.as_ref() == Some(r))
    };
    let accepted =
        !request.key_package_refs.is_empty() && request.key_package_refs.iter().all(ours);
    if accepted {
        state
            .follower
            .awaiting_welcome
            .extend(request.key_package_refs.iter().cloned());
    }
    Outcome::answer(Expectation::exact(
        Response::WelcomeInit(WelcomeInitResponse { accepted }),
        &[req::WELCOME_INIT_REQUEST],
        &[errata::WELCOME_INIT_RESPONSE, errata::WELCOME_INIT_ANSWER],
    ))
}

/// A Welcome push: taken when it is for refs this provider said yes to (or repeats one
/// already taken), refused otherwise.
pub(crate) fn welcome_push(
    state: &mut State,
    _from: &ServiceProviderId,
    welcome: &MlsMessage,
) -> Outcome {
    let reqs = [req::WELCOME_PUSH_IF_ACCEPTED, req::WELCOME_AS_MLS_MESSAGE];
    let why = [errata::WELCOME_PUSH, errata::WELCOME_REFUSED];
    let id = digest(welcome.bytes.as_slice());
    if state.follower.taken.contains(&id) {
        return Outcome::accepted(&reqs, &why);
    }
    let refs = welcome.view.new_members.as_deref().unwrap_or_default();
    let expected: Vec<&Bytes> = refs
        .iter()
        .filter(|r| state.follower.awaiting_welcome.contains(*r))
        .collect();
    if expected.is_empty() {
        return Outcome::error(ErrorCode::WelcomeRefused, &reqs, &why);
    }
    for r in refs {
        state.follower.awaiting_welcome.remove(r);
    }
    state.follower.taken.insert(id);
    Outcome::accepted(&reqs, &why)
}

/// A pushed ReceiveResponse: only from the hub of followed groups not left.
pub(crate) fn push(
    state: &mut State,
    from: &ServiceProviderId,
    response: &ReceiveResponse,
) -> Outcome {
    let reqs: &[ReqId] = &[req::RECEIVE_PUSH, req::FLOW_SELF_REMOVE_STOP_PUSHES];
    let messages = || {
        response
            .epoch
            .messages
            .iter()
            .chain(response.hints.iter().flat_map(|h| &h.epoch.messages))
    };
    for message in messages() {
        let group_id = message.message.view.group_id.clone().unwrap_or_default();
        match state.follower.groups.get(&group_id) {
            Some(group) if group.hub != *from => {
                return Outcome::error(ErrorCode::UnauthorizedProvider, reqs, PUSH_ERRATA)
            }
            Some(group) if !group.self_removed => {}
            _ => return Outcome::error(ErrorCode::UnknownGroup, reqs, PUSH_ERRATA),
        }
    }
    if state
        .follower
        .taken
        .insert(digest(&response.to_bytes()))
        .is_none()
    {
        state.follower.delivered += messages().count() as u64;
    }
    Outcome::accepted(reqs, PUSH_ERRATA)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Epoch, HintedEpoch, Message};
    use crate::ds::scenario::*;
    use crate::ds::{step, Input};

    fn follower() -> State {
        let state = State::new(follower_id(0));
        step(
            &state,
            &Input::FollowGroup {
                group_id: GROUP.into(),
                hub: hub_id(),
            },
        )
        .next
    }

    fn pushed() -> ReceiveResponse {
        let epoch = Epoch {
            messages: vec![Message {
                message: application(1),
                commit: None,
            }],
        };
        ReceiveResponse {
            epoch: Epoch::default(),
            hints: vec![HintedEpoch {
                masked_partition_key: key(0).masked(),
                epoch,
            }],
        }
    }

    #[test]
    fn local_sends_and_reads_are_forwarded_to_the_hub() {
        let state = follower();
        let s = step(
            &state,
            &Input::LocalSend {
                user: b"u".as_slice().into(),
                request: send_request(application(1), key(0), None),
            },
        );
        assert!(matches!(&s.outbound[..], [Outbound::Send { to, .. }] if *to == hub_id()));
        let read = ReceiveRequest {
            partition_key: key(0),
            counter: 0,
        };
        let r = step(
            &state,
            &Input::LocalReceive {
                group_id: GROUP.into(),
                request: read.clone(),
            },
        );
        assert_eq!(
            r.outbound,
            vec![Outbound::Receive {
                to: hub_id(),
                request: read
            }]
        );
    }

    #[test]
    fn a_muted_local_user_is_not_forwarded() {
        let mut state = follower();
        state = step(
            &state,
            &Input::Mute {
                user: b"u".as_slice().into(),
            },
        )
        .next;
        let s = step(
            &state,
            &Input::LocalSend {
                user: b"u".as_slice().into(),
                request: send_request(application(1), key(0), None),
            },
        );
        assert_eq!(
            s.expect.canonical,
            Response::Error(ErrorCode::PolicyRejected)
        );
        assert!(s.outbound.is_empty());
    }

    #[test]
    fn pushes_are_taken_once_and_refused_after_self_remove() {
        let state = follower();
        let first = step(
            &state,
            &Input::Push {
                from: hub_id(),
                response: pushed(),
            },
        );
        assert_eq!(first.expect.canonical, Response::Accepted);
        assert_eq!(first.next.follower.delivered, 1);
        let repeat = step(
            &first.next,
            &Input::Push {
                from: hub_id(),
                response: pushed(),
            },
        );
        assert_eq!(repeat.expect.canonical, Response::Accepted);
        assert_eq!(
            repeat.next.follower.delivered, 1,
            "a byte-identical push is dropped"
        );
        let impostor = step(
            &state,
            &Input::Push {
                from: follower_id(1),
                response: pushed(),
            },
        );
        assert_eq!(
            impostor.expect.canonical,
            Response::Error(ErrorCode::UnauthorizedProvider)
        );
        let left = step(
            &state,
            &Input::SelfRemove {
                group_id: GROUP.into(),
            },
        )
        .next;
        assert_eq!(
            step(
                &left,
                &Input::Push {
                    from: hub_id(),
                    response: pushed()
                }
            )
            .expect
            .canonical,
            Response::Error(ErrorCode::UnknownGroup)
        );
        let read = step(
            &left,
            &Input::LocalReceive {
                group_id: GROUP.into(),
                request: ReceiveRequest {
                    partition_key: key(0),
                    counter: 0,
                },
            },
        );
        assert!(
            read.outbound.is_empty(),
            "no reads after the last user left"
        );
    }

    #[test]
    fn a_welcome_is_taken_only_for_refs_said_yes_to() {
        let mut state = follower();
        state = step(
            &state,
            &Input::UploadKeyPackages {
                user: b"u".as_slice().into(),
                key_packages: vec![key_package(SUITE, 5, false)],
            },
        )
        .next;
        let our_ref = key_package(SUITE, 5, false).view.key_package_ref.unwrap();
        let w = welcome(vec![our_ref.clone()]);
        let early = step(
            &state,
            &Input::WelcomePush {
                from: hub_id(),
                welcome: w.clone(),
            },
        );
        assert_eq!(
            early.expect.canonical,
            Response::Error(ErrorCode::WelcomeRefused)
        );
        let foreign = step(
            &state,
            &Input::WelcomeInit {
                from: hub_id(),
                request: WelcomeInitRequest {
                    key_package_refs: vec![b"x".as_slice().into()],
                },
            },
        );
        assert_eq!(
            foreign.expect.canonical,
            Response::WelcomeInit(WelcomeInitResponse { accepted: false })
        );
        let yes = step(
            &state,
            &Input::WelcomeInit {
                from: hub_id(),
                request: WelcomeInitRequest {
                    key_package_refs: vec![our_ref],
                },
            },
        );
        assert_eq!(
            yes.expect.canonical,
            Response::WelcomeInit(WelcomeInitResponse { accepted: true })
        );
        let taken = step(
            &yes.next,
            &Input::WelcomePush {
                from: hub_id(),
                welcome: w.clone(),
            },
        );
        assert_eq!(taken.expect.canonical, Response::Accepted);
        let repeat = step(
            &taken.next,
            &Input::WelcomePush {
                from: hub_id(),
                welcome: w,
            },
        );
        assert_eq!(
            repeat.expect.canonical,
            Response::Accepted,
            "a retried push is acknowledged"
        );
    }
}
