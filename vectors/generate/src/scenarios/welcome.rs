//! Welcome (draft §"Endpoints / Welcome"), target the follower b.example.

use super::*;

pub(super) fn welcome() -> Vec<TraceCase> {
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
