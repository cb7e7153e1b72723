//! The test-control contract's JSON Schema (`harness/binding/control.schema.json`, BINDING.md §6): the
//! committed file is the one the code generates, and what the runner really sends and the
//! reference really answers validates against it. Set `MIMI_DS_BLESS=1` to rewrite the file.

use mimi_ds_binding::control::{self, Capabilities, Reset};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::{Input, Response};
use mimi_ds_model::vectors::trace::TraceVectorFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(control::SCHEMA_FILE)
}

fn generated() -> String {
    serde_json::to_string_pretty(&control::schema()).expect("serializes") + "\n"
}

/// A validator for one definition of the control schema.
fn validator(definition: &str) -> jsonschema::Validator {
    let mut schema = control::schema();
    let root = schema.as_object_mut().expect("an object");
    root.remove("anyOf");
    root.insert("$ref".into(), format!("#/$defs/{definition}").into());
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, instance: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .take(5)
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{instance}");
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let fresh = generated();
    if std::env::var_os("MIMI_DS_BLESS").is_some() {
        std::fs::write(schema_path(), &fresh).expect("schema written");
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} differs from control::schema(); rerun with MIMI_DS_BLESS=1 and commit it",
        schema_path().display()
    );
}

#[test]
fn reset_and_capabilities_validate() {
    let id = |s: &str| ServiceProviderId::new(s).expect("an id");
    let reset = Reset {
        me: id("a.example"),
        peers: BTreeMap::from([
            (id("b.example"), "http://127.0.0.1:40123".to_owned()),
            (id("c.example"), "http://127.0.0.1:40124".to_owned()),
        ]),
    };
    let resets = validator("Reset");
    assert_valid(&resets, "reset", &serde_json::to_value(&reset).unwrap());
    assert!(!resets.is_valid(&serde_json::json!({"me": "A.example", "peers": {}})));
    assert!(!resets.is_valid(&serde_json::json!({"me": "a.example"})));

    let capabilities = validator("Capabilities");
    let reference = serde_json::to_value(Capabilities::reference()).unwrap();
    assert_valid(&capabilities, "capabilities", &reference);
    let minimal = serde_json::json!({"roles": ["hub"], "actions": [], "idle": false});
    assert_valid(&capabilities, "capabilities without options", &minimal);
    let parsed: Capabilities = serde_json::from_value(minimal).expect("the runner reads it");
    assert!(!parsed.ohttp && parsed.conventions.is_empty());
    assert!(!capabilities.is_valid(&serde_json::json!({"roles": ["hub"]})));
}

/// Every control action of the checked-in vectors, as the runner sends it, and the canonical
/// answer, as the reference gives it.
#[test]
fn the_control_json_of_every_vector_validates() {
    let actions = validator("ControlAction");
    let answers = validator("ControlAnswer");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/trace");
    let mut kinds = std::collections::BTreeSet::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("trace dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.contains("schema") {
            continue;
        }
        let file: TraceVectorFile =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("trace file");
        for test in &file.tests {
            for step in &test.steps {
                let input: Input = serde_json::from_value(step.input.clone()).expect("an input");
                let Some(kind) = control::action_name(&input) else {
                    continue;
                };
                // Exactly the bytes `runner::Target::control` posts.
                let sent: serde_json::Value =
                    serde_json::from_slice(&serde_json::to_vec(&input).unwrap()).unwrap();
                assert_valid(&actions, &test.tc_id, &sent);
                assert_eq!(
                    control::parse_action(&serde_json::to_vec(&sent).unwrap()).unwrap(),
                    input
                );
                let answer: Response =
                    serde_json::from_value(step.expect.response.clone()).expect("a response");
                assert_valid(
                    &answers,
                    &test.tc_id,
                    &serde_json::to_value(&answer).unwrap(),
                );
                kinds.insert(kind);
                count += 1;
            }
        }
    }
    assert!(count > 100, "only {count} control steps");
    for kind in [
        "create_group",
        "issue_token",
        "local_send",
        "terminate_branch",
    ] {
        assert!(kinds.contains(kind), "no {kind} in the vectors");
    }
    // A federation request is no control action; a control action has its fields.
    assert!(!actions.is_valid(&serde_json::json!({"input": "malformed", "endpoint": "send"})));
    assert!(!actions.is_valid(&serde_json::json!({"input": "mute"})));
    assert!(!answers
        .is_valid(&serde_json::json!({"response": "welcome_init", "body": {"accepted": true}})));
}

#[test]
fn documented_forms_validate() {
    let actions = validator("ControlAction");
    let user = "62656e";
    for (what, json) in [
        (
            "shared token",
            serde_json::json!({"input": "issue_token", "scope": "shared", "token": "aa"}),
        ),
        (
            "per-user token",
            serde_json::json!({"input": "issue_token", "scope": {"user": user}, "token": "aa"}),
        ),
        (
            "rate limit",
            serde_json::json!({"input": "rate_limit", "user": user, "budget": 2}),
        ),
        (
            "self remove",
            serde_json::json!({"input": "self_remove", "group_id": "67"}),
        ),
    ] {
        assert_valid(&actions, what, &json);
        control::parse_action(&serde_json::to_vec(&json).unwrap())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    let answers = validator("ControlAnswer");
    for json in [
        serde_json::json!({"response": "accepted"}),
        serde_json::json!({"response": "error", "body": "unknown_group"}),
        serde_json::json!({"response": "receive", "body": {"epoch": {"messages": []}, "hints": []}}),
    ] {
        assert_valid(&answers, "answer", &json);
        serde_json::from_value::<Response>(json).expect("the runner reads it");
    }
}

/// Every erratum BINDING.md and vectors/README.md cite exists in the record.
#[test]
fn documents_cite_only_recorded_errata() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for doc in ["harness/BINDING.md", "vectors/README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).expect("doc");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("errata/") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| {
                    !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '/')
                })
                .unwrap_or(tail.len());
            let id = tail[..end].trim_end_matches('-');
            assert!(
                id == "errata/" || mimi_ds_model::errata::find(id).is_some(),
                "{doc} cites {id}, which is not in the errata record"
            );
            rest = &tail[end..];
        }
    }
}

/// The schema's rule for a provider id is the codec's: they agree on every name tried.
#[test]
fn the_schema_takes_exactly_the_provider_ids_the_codec_takes() {
    let ids = validator("ServiceProviderId");
    let longest_label = "a".repeat(63);
    let longest = "a.".repeat(126) + "a";
    let names = [
        "b.example".to_owned(),
        "a1.example".into(),
        "123.example".into(),
        "x".into(),
        "a-b.c-d".into(),
        "1-2".into(),
        format!("{longest_label}.example"),
        format!("{longest_label}a.example"),
        longest.clone(),
        longest + "b",
        "1.2.3.4".into(),
        "a.123".into(),
        "7".into(),
        "B.example".into(),
        "a..example".into(),
        "-a.example".into(),
        "a-.example".into(),
        ".a".into(),
        "a.".into(),
        "a_b.example".into(),
        String::new(),
    ];
    for name in &names {
        assert_eq!(
            ids.is_valid(&serde_json::json!(name)),
            ServiceProviderId::new(name).is_ok(),
            "{name:?}"
        );
    }
}
