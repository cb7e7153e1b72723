//! The runner against the in-process reference DS and some of its mutants, on a few cases
//! built by hand from real MLS messages: the machinery (binding, peers, attribution of
//! Welcome pushes, grading) works before any vector is involved.

use mimi_ds_check::runner::{Case, CaseStep, Grade, RawRequest, Role};
use mimi_ds_check::suite::{self, Options};
use mimi_ds_model::codec::*;
use mimi_ds_model::ds::{Endpoint, Input};
use mimi_ds_model::vectors::samples::Samples;
use mimi_ds_reference::mutants::Mutant;

fn provider(d: &str) -> ServiceProviderId {
    ServiceProviderId::new(d).unwrap()
}

fn key(b: u8) -> PartitionKey {
    PartitionKey([b; 16])
}

fn step(input: Input) -> CaseStep {
    CaseStep { input, raw: None }
}

fn case(id: &str, steps: Vec<CaseStep>) -> Case {
    Case {
        id: id.into(),
        comment: "hand-built smoke case".into(),
        requirements: vec![],
        errata: vec![],
        role: Role::Hub,
        target: provider("hub.example"),
        steps,
    }
}

fn cases() -> Vec<Case> {
    let s = Samples::load();
    let group = s.private_message.view.group_id.clone().unwrap();
    let b = provider("b.example");
    let create = || {
        step(Input::CreateGroup {
            group_id: group.clone(),
            partition_key: key(1),
        })
    };
    let send = |message: &MlsMessage, k: u8| {
        step(Input::Send {
            from: b.clone(),
            request: SendRequest {
                message: message.clone(),
                partition_key: key(k),
                commit_data: None,
            },
        })
    };
    let receive = |k: u8, counter: u32| {
        step(Input::Receive {
            from: b.clone(),
            request: ReceiveRequest {
                partition_key: key(k),
                counter,
            },
        })
    };
    let welcome_commit = |accepted: bool| {
        let commit_data = CommitData {
            next_partition_key: key(2),
            group_info: Some(s.group_info.clone()),
            welcome_data: Some(WelcomeData {
                welcome: s.welcome.clone(),
                service_providers: vec![provider("c.example")],
            }),
        };
        vec![
            create(),
            step(Input::Send {
                from: b.clone(),
                request: SendRequest {
                    message: s.public_commit.clone(),
                    partition_key: key(1),
                    commit_data: Some(commit_data),
                },
            }),
            step(Input::WelcomeInitAnswered {
                provider: provider("c.example"),
                accepted,
                no_answer: None,
            }),
            receive(1, 0),
        ]
    };
    vec![
        case(
            "receive/counters",
            vec![
                create(),
                send(&s.private_message, 1),
                send(&s.public_proposal, 1),
                receive(1, 0),
                receive(1, 1),
                receive(1, 2),
                receive(1, 7),
            ],
        ),
        case("send/unknown-group", vec![send(&s.private_message, 1)]),
        case(
            "binding/malformed",
            vec![
                create(),
                CaseStep {
                    input: Input::malformed(Endpoint::Send),
                    raw: Some(RawRequest {
                        provider: Some(b.to_string()),
                        credential: None,
                        body: vec![0, 1, 2],
                    }),
                },
            ],
        ),
        case(
            "binding/trailing-byte",
            vec![
                create(),
                CaseStep {
                    input: Input::malformed(Endpoint::Receive),
                    raw: Some(RawRequest {
                        provider: Some(b.to_string()),
                        credential: None,
                        body: {
                            let mut x = ReceiveRequest {
                                partition_key: key(1),
                                counter: 0,
                            }
                            .to_bytes();
                            x.push(0);
                            x
                        },
                    }),
                },
            ],
        ),
        case("welcome/accepted", welcome_commit(true)),
        case("welcome/refused", welcome_commit(false)),
    ]
}

fn run(mutant: Option<Mutant>) -> suite::Summary {
    let options = Options {
        mutant,
        ..Options::default()
    };
    suite::run(&cases(), &options, &|_, _| {}).expect("the suite runs")
}

#[test]
fn the_reference_passes_every_case() {
    let summary = run(None);
    for r in &summary.results {
        assert_eq!(r.grade, Grade::Pass, "{}: {:?}", r.id, r.because);
        assert!(
            !r.wire.is_empty(),
            "{}: the wire log records the exchanges",
            r.id
        );
    }
    let welcome = summary
        .results
        .iter()
        .find(|r| r.id == "welcome/accepted")
        .unwrap();
    assert!(
        welcome
            .wire
            .iter()
            .any(|e| e.path.ends_with("/welcome") && e.direction == "from-target"),
        "the Welcome was pushed to the peer"
    );
}

fn grade_of(summary: &suite::Summary, id: &str) -> Grade {
    summary.results.iter().find(|r| r.id == id).unwrap().grade
}

#[test]
fn mutants_fail_the_case_that_exercises_their_bug() {
    for (mutant, case) in [
        (Mutant::CounterOffByOne, "receive/counters"),
        (Mutant::AcceptUnknownGroup, "send/unknown-group"),
        (Mutant::ServerErrorOnMalformed, "binding/malformed"),
        (Mutant::AcceptTrailingBytes, "binding/trailing-byte"),
        (Mutant::WelcomeWithoutAffirmative, "welcome/refused"),
        (Mutant::ReorderConcurrentSends, "receive/counters"),
        (Mutant::LoseSecondMessage, "receive/counters"),
    ] {
        let summary = run(Some(mutant));
        assert_eq!(
            grade_of(&summary, case),
            Grade::Fail,
            "{mutant:?} must fail {case}"
        );
    }
}

#[test]
fn zero_selected_cases_is_an_error() {
    let options = Options {
        only: Some("no-such-*".into()),
        ..Options::default()
    };
    let err = suite::select(cases(), &options).unwrap_err();
    assert!(
        matches!(
            err,
            mimi_ds_check::Error::NothingSelected { ref filters, total }
                if filters == "--only \"no-such-*\"" && total == cases().len()
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("no case selected"), "{err}");
}

#[test]
fn a_target_without_idle_is_watched_for_its_calls() {
    use mimi_ds_reference::{self as reference, Config};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = |mutant| Config {
        me: provider("hub.example"),
        mutant,
        freedom: None,
        call_timeout: std::time::Duration::from_secs(5),
        idle: false,
    };
    for (mutant, expected) in [
        (None, Grade::Pass),
        (Some(Mutant::WelcomeWithoutAffirmative), Grade::Fail),
    ] {
        let server = runtime
            .block_on(reference::start(
                config(mutant),
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap();
        let options = Options {
            target: Some(server.url()),
            ..Options::default()
        };
        let summary = suite::run(&cases(), &options, &|_, _| {}).expect("the suite runs");
        assert_eq!(
            grade_of(&summary, "welcome/refused"),
            expected,
            "{mutant:?}"
        );
        assert_eq!(
            grade_of(&summary, "welcome/accepted"),
            Grade::Pass,
            "{mutant:?}"
        );
        drop(server);
    }
}

/// A target whose `idle` call fails: in front of the reference DS, a proxy that forwards
/// everything but answers `GET …/idle` with 503.
async fn failing_idle_in_front_of(reference: String) -> (String, tokio::task::JoinHandle<()>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    let client = reqwest::Client::new();
    let forward = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let client = client.clone();
        let url = format!("{reference}{uri}");
        async move {
            if uri.path().ends_with("/idle") {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            let mut request = client.request(method, url).body(body);
            for (name, value) in &headers {
                if name != "host" && name != "content-length" {
                    request = request.header(name, value);
                }
            }
            let answer = request.send().await.expect("the reference answers");
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            let content_type = answer.headers().get("content-type").cloned();
            let body = answer.bytes().await.expect("a body");
            let mut response = (status, body).into_response();
            if let Some(v) = content_type {
                response.headers_mut().insert("content-type", v);
            }
            response
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(forward);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[test]
fn a_failing_idle_makes_the_case_indeterminate_never_a_pass() {
    use mimi_ds_reference::{self as reference, Config};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config {
        me: provider("hub.example"),
        mutant: None,
        freedom: None,
        call_timeout: std::time::Duration::from_secs(5),
        idle: true,
    };
    let server = runtime
        .block_on(reference::start(config, "127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let (proxy, task) = runtime.block_on(failing_idle_in_front_of(server.url()));
    let options = Options {
        target: Some(proxy),
        ..Options::default()
    };
    let summary = suite::run(&cases(), &options, &|_, _| {}).expect("the suite runs");
    assert_eq!(summary.count(Grade::Pass), 0, "{}", summary.line());
    let first = &summary.results[0];
    assert_eq!(first.grade, Grade::Indeterminate);
    assert!(
        first.because[0].contains("idle answered 503"),
        "{:?}",
        first.because
    );
    assert!(summary.problem(false).is_some());
    task.abort();
}
