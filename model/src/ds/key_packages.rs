//! Draft §"Endpoints / Key Packages", RSP side: local users' uploaded KeyPackages, the
//! bearer tokens protecting them (issued per user or shared, revocable at will), and the
//! single and bundled requests (errata `errata/key-package-bundle`).
//!
//! The token is checked first (`errata/bearer-token-scope`), then the user, then the
//! parameters (`errata/key-package-unsupported-parameters`). Each one-time KeyPackage is
//! handed out once; a last resort only when no other matching one is left, as often as
//! asked (`errata/key-package-last-resort`). Which unused KeyPackage is the RSP's choice:
//! any matching one is acceptable, the canonical one is the oldest upload.

use super::{Expectation, Input, Outcome, Response, Rule, State, Token, Violation};
use crate::codec::{
    Bytes, DsError, ErrorCode, KeyPackageBundleRequest, KeyPackageBundleResponse,
    KeyPackageRequest, KeyPackageResponse, KeyPackageResult, MlsMessage,
};
use crate::errata::{self, ErratumId};
use crate::requirements::{self as req, ReqId};
use imbl::{OrdMap, Vector};
use serde::{Deserialize, Serialize};

/// Persistent like the partitions, so judging the RSP's choice against the store before it
/// costs O(1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyPackages {
    /// Per local user, in upload order.
    pub users: OrdMap<Bytes, Vector<StoredKeyPackage>>,
    /// Valid tokens; a revoked token is simply gone.
    pub tokens: OrdMap<Bytes, TokenScope>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoredKeyPackage {
    pub key_package: MlsMessage,
    pub handed_out: bool,
}

/// Whom a bearer token lets a requester fetch KeyPackages of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    User(Bytes),
    /// One long-lived token for every user of the RSP.
    Shared,
}

const REQUIREMENTS: &[ReqId] = &[
    req::KEY_PACKAGES_RESPONSE_MATCHES,
    req::KEY_PACKAGES_BEARER_TOKEN,
    req::KEY_PACKAGES_BEARER_INVALIDATION,
    req::KEY_PACKAGES_OVER_OHTTP,
    req::KEY_PACKAGES_REQUEST_VIA_OHTTP,
];
const ERRATA: &[ErratumId] = &[
    errata::BEARER_TOKEN_SCOPE,
    errata::KEY_PACKAGE_UNSUPPORTED_PARAMETERS,
    errata::KEY_PACKAGE_LAST_RESORT,
    errata::NO_KEY_PACKAGES_UPLOADED,
];

impl KeyPackages {
    /// The indexes of the user's KeyPackages this request may be answered with, oldest
    /// first, or the error it must get.
    fn candidates(&self, request: &KeyPackageRequest) -> Result<(&Bytes, Vec<usize>), ErrorCode> {
        let authorised = match self.tokens.get(&request.bearer_token) {
            Some(TokenScope::Shared) => true,
            Some(TokenScope::User(user)) => *user == request.user_id,
            None => false,
        };
        if !authorised {
            return Err(ErrorCode::InvalidBearerToken);
        }
        let (user, stored) = self
            .users
            .get_key_value(&request.user_id)
            .ok_or(ErrorCode::UnknownUser)?;
        if stored.is_empty() {
            // Nothing uploaded says nothing about parameters: the user simply has none left.
            return Err(ErrorCode::KeyPackageExhausted);
        }
        let matching: Vec<usize> = (0..stored.len())
            .filter(|&i| {
                request.version == 1
                    && stored[i].key_package.view.cipher_suite == Some(request.cipher_suite)
            })
            .collect();
        if matching.is_empty() {
            return Err(ErrorCode::UnsupportedParameters);
        }
        let last_resort = |i: &usize| stored[*i].key_package.view.last_resort;
        let one_time: Vec<usize> = matching
            .iter()
            .copied()
            .filter(|i| !last_resort(i) && !stored[*i].handed_out)
            .collect();
        let allowed = if one_time.is_empty() {
            matching.into_iter().filter(last_resort).collect()
        } else {
            one_time
        };
        if allowed.is_empty() {
            return Err(ErrorCode::KeyPackageExhausted);
        }
        Ok((user, allowed))
    }

    /// Hands out the user's KeyPackage `index`: a one-time one is used up.
    fn hand_out(&mut self, user: &Bytes, index: usize) -> MlsMessage {
        let stored = &mut self.users.get_mut(user).expect("candidate user")[index];
        stored.handed_out |= !stored.key_package.view.last_resort;
        stored.key_package.clone()
    }

    /// The canonical answer: the oldest allowed KeyPackage.
    fn serve(&mut self, request: &KeyPackageRequest) -> Result<MlsMessage, ErrorCode> {
        let (user, allowed) = self.candidates(request)?;
        let user = user.clone();
        Ok(self.hand_out(&user, allowed[0]))
    }

    /// Applies an observed answer if it is an allowed one.
    fn serve_observed(
        &mut self,
        request: &KeyPackageRequest,
        observed: Result<&MlsMessage, ErrorCode>,
    ) -> Result<(), String> {
        match (self.candidates(request), observed) {
            (Err(code), Err(got)) if code == got => Ok(()),
            (Err(code), _) => Err(format!("the request must get {code:?}")),
            (Ok((user, allowed)), Ok(kp)) => {
                let user = user.clone();
                let stored = &self.users[&user];
                match allowed.iter().find(|&&i| stored[i].key_package == *kp) {
                    Some(&i) => {
                        self.hand_out(&user, i);
                        Ok(())
                    }
                    None => Err(match stored.iter().find(|s| s.key_package == *kp) {
                        Some(s) if s.handed_out => "the KeyPackage was already handed out and is not a last resort".into(),
                        Some(s) if s.key_package.view.last_resort => "a last resort may be handed out only when no other matching KeyPackage is left".into(),
                        Some(_) => "the KeyPackage does not match the requested version and cipher suite".into(),
                        None => "the KeyPackage is not one the user uploaded".into(),
                    }),
                }
            }
            (Ok((_, allowed)), Err(code)) => Err(format!(
                "{} matching KeyPackage(s) can be handed out, so {code:?} is wrong",
                allowed.len()
            )),
        }
    }
}

fn as_result(result: Result<MlsMessage, ErrorCode>) -> KeyPackageResult {
    match result {
        Ok(key_package) => KeyPackageResult::KeyPackage(key_package),
        Err(code) => KeyPackageResult::Error(DsError {
            code,
            message: String::new(),
        }),
    }
}

fn choice(canonical: Response) -> Expectation {
    Expectation {
        canonical,
        rule: Rule::KeyPackageChoice,
        also: Vec::new(),
        requirements: REQUIREMENTS.to_vec(),
        errata: ERRATA.to_vec(),
    }
}

pub(crate) fn request_one(state: &mut State, request: &KeyPackageRequest) -> Outcome {
    let canonical = match state.key_packages.serve(request) {
        Ok(key_package) => Response::KeyPackage(KeyPackageResponse { key_package }),
        Err(code) => Response::Error(code),
    };
    Outcome::answer(choice(canonical))
}

pub(crate) fn request_bundle(state: &mut State, request: &KeyPackageBundleRequest) -> Outcome {
    let results = request
        .requests
        .iter()
        .map(|r| as_result(state.key_packages.serve(r)))
        .collect();
    let mut expect = choice(Response::KeyPackageBundle(KeyPackageBundleResponse {
        results,
    }));
    expect.requirements.push(req::KEY_PACKAGES_BUNDLING);
    expect.errata.push(errata::KEY_PACKAGE_BUNDLE);
    Outcome::answer(expect)
}

/// Judges an answer to a KeyPackage request or bundle by replaying the observed choices on
/// the store as it was before the request; returns the store after them.
pub(crate) fn check_choice(
    before: &KeyPackages,
    input: &Input,
    expect: &Expectation,
    observed: &Response,
) -> Result<KeyPackages, Violation> {
    let mut next = before.clone();
    let outcome = match (input, observed) {
        (Input::KeyPackage { request }, Response::KeyPackage(k)) => {
            next.serve_observed(request, Ok(&k.key_package))
        }
        (Input::KeyPackage { request }, Response::Error(code)) => {
            next.serve_observed(request, Err(*code))
        }
        (Input::KeyPackageBundle { request }, Response::KeyPackageBundle(b))
            if b.results.len() == request.requests.len() =>
        {
            request
                .requests
                .iter()
                .zip(&b.results)
                .enumerate()
                .try_for_each(|(i, (r, result))| {
                    let got = match result {
                        KeyPackageResult::KeyPackage(kp) => Ok(kp),
                        KeyPackageResult::Error(e) => Err(e.code),
                    };
                    next.serve_observed(r, got)
                        .map_err(|why| format!("result {}: {why}", i + 1))
                })
        }
        (Input::KeyPackageBundle { .. }, _) => {
            Err("a bundle gets one result per request, in request order".into())
        }
        _ => Err("not an answer to a KeyPackage request".into()),
    };
    outcome.map(|()| next).map_err(|why| {
        let mut violation = super::mismatch(input, expect, observed);
        violation.because = vec![why];
        violation
    })
}

pub(crate) fn upload(state: &mut State, user: &Bytes, key_packages: &[MlsMessage]) -> Outcome {
    let stored = state.key_packages.users.entry(user.clone()).or_default();
    stored.extend(key_packages.iter().map(|kp| StoredKeyPackage {
        key_package: kp.clone(),
        handed_out: false,
    }));
    Outcome::accepted(
        &[req::KEY_PACKAGES_RESPONSE_MATCHES],
        &[errata::KEY_PACKAGE_LAST_RESORT],
    )
}

pub(crate) fn issue(state: &mut State, token: &Token) -> Outcome {
    state
        .key_packages
        .tokens
        .insert(token.token.clone(), token.scope.clone());
    Outcome::accepted(
        &[req::KEY_PACKAGES_BEARER_TOKEN],
        &[errata::BEARER_TOKEN_SCOPE],
    )
}

pub(crate) fn revoke(state: &mut State, token: &Bytes) -> Outcome {
    state.key_packages.tokens.remove(token);
    Outcome::accepted(
        &[req::KEY_PACKAGES_BEARER_INVALIDATION],
        &[errata::BEARER_TOKEN_SCOPE],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::scenario::{checked, hub_state, key_package, SUITE};
    use crate::ds::{step, Observed};

    fn alice() -> Bytes {
        b"alice".as_slice().into()
    }

    fn rsp() -> State {
        let mut state = hub_state();
        let uploads = vec![
            key_package(SUITE, 1, false),
            key_package(SUITE, 2, false),
            key_package(SUITE, 3, true),
        ];
        state = step(
            &state,
            &Input::UploadKeyPackages {
                user: alice(),
                key_packages: uploads,
            },
        )
        .next;
        step(
            &state,
            &Input::IssueToken(Token {
                scope: TokenScope::User(alice()),
                token: b"t".as_slice().into(),
            }),
        )
        .next
    }

    fn ask(user: Bytes, token: &[u8], suite: u16) -> Input {
        Input::KeyPackage {
            request: KeyPackageRequest {
                user_id: user,
                bearer_token: token.into(),
                version: 1,
                cipher_suite: suite,
            },
        }
    }

    fn answer(state: &State, input: &Input) -> Response {
        step(state, input).expect.canonical
    }

    #[test]
    fn one_time_packages_once_then_the_last_resort_repeatedly() {
        let mut state = rsp();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let s = step(&state, &ask(alice(), b"t", SUITE));
            seen.push(match s.expect.canonical {
                Response::KeyPackage(k) => k.key_package.bytes,
                other => panic!("{other:?}"),
            });
            state = s.next;
        }
        assert_eq!(seen[0], key_package(SUITE, 1, false).bytes);
        assert_eq!(seen[1], key_package(SUITE, 2, false).bytes);
        assert_eq!(seen[2], key_package(SUITE, 3, true).bytes);
        assert_eq!(seen[3], seen[2]);
    }

    #[test]
    fn token_then_user_then_parameters() {
        let state = rsp();
        assert_eq!(
            answer(&state, &ask(b"bob".as_slice().into(), b"nope", SUITE)),
            Response::Error(ErrorCode::InvalidBearerToken)
        );
        assert_eq!(
            answer(&state, &ask(b"bob".as_slice().into(), b"t", SUITE)),
            Response::Error(ErrorCode::InvalidBearerToken),
            "alice's token is not bob's"
        );
        let shared = step(
            &state,
            &Input::IssueToken(Token {
                scope: TokenScope::Shared,
                token: b"s".as_slice().into(),
            }),
        )
        .next;
        assert_eq!(
            answer(&shared, &ask(b"bob".as_slice().into(), b"s", SUITE)),
            Response::Error(ErrorCode::UnknownUser)
        );
        assert_eq!(
            answer(&state, &ask(alice(), b"t", 7)),
            Response::Error(ErrorCode::UnsupportedParameters)
        );
        let revoked = step(
            &state,
            &Input::RevokeToken {
                token: b"t".as_slice().into(),
            },
        )
        .next;
        assert_eq!(
            answer(&revoked, &ask(alice(), b"t", SUITE)),
            Response::Error(ErrorCode::InvalidBearerToken)
        );
    }

    #[test]
    fn exhausted_without_a_last_resort() {
        let mut state = step(
            &hub_state(),
            &Input::UploadKeyPackages {
                user: alice(),
                key_packages: vec![key_package(SUITE, 1, false)],
            },
        )
        .next;
        state = step(
            &state,
            &Input::IssueToken(Token {
                scope: TokenScope::Shared,
                token: b"s".as_slice().into(),
            }),
        )
        .next;
        state = step(&state, &ask(alice(), b"s", SUITE)).next;
        assert_eq!(
            answer(&state, &ask(alice(), b"s", SUITE)),
            Response::Error(ErrorCode::KeyPackageExhausted)
        );
    }

    #[test]
    fn any_unused_package_is_acceptable_but_not_a_used_one_or_the_last_resort_early() {
        let state = rsp();
        let second = Observed {
            response: Response::KeyPackage(KeyPackageResponse {
                key_package: key_package(SUITE, 2, false),
            }),
            outbound: vec![],
        };
        let next = checked(&state, &ask(alice(), b"t", SUITE), &second).expect("any unused one");
        let again = checked(&next, &ask(alice(), b"t", SUITE), &second).unwrap_err();
        assert!(again.because[0].contains("already handed out"), "{again:?}");
        let early = Observed {
            response: Response::KeyPackage(KeyPackageResponse {
                key_package: key_package(SUITE, 3, true),
            }),
            outbound: vec![],
        };
        assert!(checked(&state, &ask(alice(), b"t", SUITE), &early)
            .unwrap_err()
            .because[0]
            .contains("last resort"));
    }

    #[test]
    fn a_bundle_answers_each_request_in_order_without_repeats() {
        let request = KeyPackageRequest {
            user_id: alice(),
            bearer_token: b"t".as_slice().into(),
            version: 1,
            cipher_suite: SUITE,
        };
        let input = Input::KeyPackageBundle {
            request: KeyPackageBundleRequest {
                requests: vec![request.clone(), request.clone(), request],
            },
        };
        let s = step(&rsp(), &input);
        let Response::KeyPackageBundle(bundle) = &s.expect.canonical else {
            panic!()
        };
        assert_eq!(bundle.results.len(), 3);
        assert!(checked(
            &rsp(),
            &input,
            &Observed {
                response: s.expect.canonical.clone(),
                outbound: vec![]
            }
        )
        .is_ok());
        let mut repeated = bundle.clone();
        repeated.results[1] = repeated.results[0].clone();
        let v = checked(
            &rsp(),
            &input,
            &Observed {
                response: Response::KeyPackageBundle(repeated),
                outbound: vec![],
            },
        )
        .unwrap_err();
        assert!(v.because[0].starts_with("result 2"), "{v:?}");
    }
}
