//! Key packages (draft §"Endpoints / Key Packages"), target the RSP b.example.

use super::*;

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

pub(super) fn key_packages() -> Vec<TraceCase> {
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
