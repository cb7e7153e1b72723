//! Draft §"Endpoints / Welcome", hub side: for a Welcome, each other provider named in
//! WelcomeData first gets a WelcomeInitRequest listing its KeyPackageRefs (in `secrets`
//! order), and only after it answers affirmatively the Welcome itself (errata
//! `errata/welcome-push`). Entries naming the hub are delivered locally
//! (`errata/welcome-hub-local-users`).
//!
//! This module owns the Welcomes waiting for an answer; the follower's side of the exchange
//! is in `follower`.

use super::{Expectation, Outbound, Outcome, State};
use crate::codec::{Bytes, MlsMessage, ServiceProviderId, WelcomeData, WelcomeInitRequest};
use crate::errata;
use crate::requirements as req;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Welcomes waiting for each provider's answer, oldest first: answers arrive in the order
/// the WelcomeInits were sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PendingWelcomes {
    pub waiting: BTreeMap<ServiceProviderId, VecDeque<MlsMessage>>,
}

/// One WelcomeInit per other provider, in order of first appearance, listing its refs.
pub(crate) fn fan_out(state: &mut State, data: &WelcomeData) -> Vec<Outbound> {
    let refs = data.welcome.view.new_members.as_deref().unwrap_or_default();
    let mut per_provider: Vec<(ServiceProviderId, Vec<Bytes>)> = Vec::new();
    for (provider, key_package_ref) in data.service_providers.iter().zip(refs) {
        if *provider == state.me {
            continue;
        }
        match per_provider.iter_mut().find(|(p, _)| p == provider) {
            Some((_, list)) => list.push(key_package_ref.clone()),
            None => per_provider.push((provider.clone(), vec![key_package_ref.clone()])),
        }
    }
    per_provider
        .into_iter()
        .map(|(to, key_package_refs)| {
            state
                .welcomes
                .waiting
                .entry(to.clone())
                .or_default()
                .push_back(data.welcome.clone());
            Outbound::WelcomeInit {
                to,
                request: WelcomeInitRequest { key_package_refs },
            }
        })
        .collect()
}

/// A provider's answer to the oldest WelcomeInit it has not answered: push on yes only; no
/// answer (`unanswered`) is no yes.
pub(crate) fn answered(
    state: &mut State,
    provider: &ServiceProviderId,
    accepted: bool,
    unanswered: bool,
) -> Outcome {
    let requirements = [
        req::WELCOME_PUSH_IF_ACCEPTED,
        req::WELCOME_INIT_BEFORE_PUSH,
        req::SEND_PUSHES_WELCOME,
        req::FLOW_CREATE_FAN_OUT_WELCOME,
    ];
    let mut why = vec![errata::WELCOME_PUSH, errata::WELCOME_REFUSED];
    if unanswered {
        why.push(errata::WELCOME_INIT_UNANSWERED);
    }
    let welcome = state
        .welcomes
        .waiting
        .get_mut(provider)
        .and_then(VecDeque::pop_front);
    if state
        .welcomes
        .waiting
        .get(provider)
        .is_some_and(VecDeque::is_empty)
    {
        state.welcomes.waiting.remove(provider);
    }
    let outbound = match welcome {
        Some(welcome) if accepted && !unanswered => vec![Outbound::WelcomePush {
            to: provider.clone(),
            welcome,
        }],
        _ => Vec::new(),
    };
    Outcome {
        expect: Expectation::accepted(&requirements, &why),
        outbound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::*;
    use crate::ds::step;

    fn data(entries: &[(u8, &[u8])]) -> WelcomeData {
        let hub_or_follower = |i: u8| if i == 9 { hub_id() } else { follower_id(i) };
        WelcomeData {
            welcome: welcome(entries.iter().map(|(_, r)| Bytes::from(*r)).collect()),
            service_providers: entries.iter().map(|(p, _)| hub_or_follower(*p)).collect(),
        }
    }

    #[test]
    fn refs_are_grouped_per_provider_in_secrets_order_and_the_hub_is_skipped() {
        let mut state = hub_state();
        let calls = fan_out(
            &mut state,
            &data(&[(1, b"x"), (9, b"h"), (0, b"y"), (1, b"z")]),
        );
        let expected = vec![
            Outbound::WelcomeInit {
                to: follower_id(1),
                request: WelcomeInitRequest {
                    key_package_refs: vec![b"x".as_slice().into(), b"z".as_slice().into()],
                },
            },
            Outbound::WelcomeInit {
                to: follower_id(0),
                request: WelcomeInitRequest {
                    key_package_refs: vec![b"y".as_slice().into()],
                },
            },
        ];
        assert_eq!(calls, expected);
    }

    #[test]
    fn the_welcome_is_pushed_only_after_a_yes() {
        let mut state = hub_state();
        let d = data(&[(0, b"x")]);
        fan_out(&mut state, &d);
        fan_out(&mut state, &d);
        let no = step(
            &state,
            &crate::ds::Input::WelcomeInitAnswered {
                provider: follower_id(0),
                accepted: false,
                no_answer: None,
            },
        );
        assert!(no.outbound.is_empty());
        let yes = step(
            &no.next,
            &crate::ds::Input::WelcomeInitAnswered {
                provider: follower_id(0),
                accepted: true,
                no_answer: None,
            },
        );
        assert_eq!(
            yes.outbound,
            vec![Outbound::WelcomePush {
                to: follower_id(0),
                welcome: d.welcome.clone()
            }]
        );
        let stray = step(
            &yes.next,
            &crate::ds::Input::WelcomeInitAnswered {
                provider: follower_id(0),
                accepted: true,
                no_answer: None,
            },
        );
        assert!(stray.outbound.is_empty(), "nothing waits any more");
    }
}
