//! The checked-in trace vectors: they verify, every file validates against the JSON Schema
//! beside it, coverage holds, generation twice gives the same bytes (which verify), the
//! manifest and `check` name every file that is not as generated, and tampering with any
//! result, expectation, outbound call or input makes verify fail.

use mimi_ds_model::vectors::trace::{self, TraceTest, TraceVectorFile};
use mimi_ds_model::vectors::Verdict;
use mimi_ds_vectors as vector_files;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    PathBuf::from(vector_files::BUNDLED)
}

fn trace_file(section: &str) -> TraceVectorFile {
    let path = vectors_dir().join(format!("trace/{section}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a trace vector file")
}

#[test]
fn checked_in_vectors_verify() {
    let found = vector_files::verify(&vectors_dir()).expect("the vectors directory reads");
    assert!(found.problems.is_empty(), "{:#?}", found.problems);
    let traces: usize = [
        "flows",
        "key-packages",
        "send",
        "welcome",
        "receive",
        "external-join",
        "fork-termination",
        "policy",
    ]
    .iter()
    .map(|s| trace_file(s).tests.len())
    .sum();
    assert!(traces >= 150, "only {traces} trace vectors");
}

#[test]
fn every_trace_file_validates_against_the_schema() {
    let dir = vectors_dir().join("trace");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(trace::SCHEMA_FILE)).expect("schema file"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("trace dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "json") || path.ends_with(trace::SCHEMA_FILE) {
            continue;
        }
        let instance: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{e} at {}", e.instance_path))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 8, "one file per section");
    let broken = serde_json::json!({"schema": 1});
    assert!(
        !validator.is_valid(&broken),
        "the schema rejects a file without its keys"
    );
    // The steps' contents are typed too: an MLSMessage without its hex, or an input of an
    // unknown kind, does not validate.
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("send.json")).expect("send vectors"),
    )
    .expect("JSON");
    let mut no_hex = file.clone();
    let step = no_hex["tests"][0]["steps"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["input"]["input"] == "local_send")
        .expect("a local send step");
    step["input"]["request"]["message"]
        .as_object_mut()
        .unwrap()
        .remove("hex");
    assert!(!validator.is_valid(&no_hex), "an MLSMessage needs its hex");
    let mut unknown = file;
    unknown["tests"][0]["steps"][0]["input"]["input"] = "teleport".into();
    assert!(!validator.is_valid(&unknown), "an input names a known kind");
}

#[test]
fn coverage_holds() {
    let rows = vector_files::coverage(&vectors_dir()).expect("coverage reads");
    let gaps: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| r.gap().map(|g| (r.id, g)))
        .collect();
    assert!(gaps.is_empty(), "{gaps:#?}");
}

/// A fresh generation in a temporary directory named after `run`.
fn generated(run: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mimi-ds-gen-{run}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    mimi_ds_generate::generate(&dir).expect("generation");
    dir
}

#[test]
fn generation_is_reproducible_and_verifies() {
    let (first, second) = (generated("first"), generated("second"));
    let found = vector_files::verify(&first).expect("the new directory reads");
    assert!(found.problems.is_empty(), "{:#?}", found.problems);
    let a = vector_files::read_tree(&first).expect("the first run reads");
    let b = vector_files::read_tree(&second).expect("the second run reads");
    assert!(a.len() > 20, "only {} files generated", a.len());
    assert!(a.contains_key(vector_files::MANIFEST_FILE), "a manifest");
    let differences = vector_files::differences(&second, &a, &b);
    assert!(differences.is_empty(), "{differences:#?}");
    std::fs::remove_dir_all(&first).ok();
    std::fs::remove_dir_all(&second).ok();
}

/// One byte of `file` under `dir` changed inside its first comment, where only the
/// manifest can notice it.
fn change_a_comment_byte(dir: &Path, file: &str) {
    let path = dir.join(file);
    let mut bytes = std::fs::read(&path).expect("the file");
    let at = String::from_utf8_lossy(&bytes)
        .find("\"comment\": \"")
        .expect("a comment")
        + "\"comment\": \"".len();
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&path, bytes).expect("written");
}

#[test]
fn verify_names_a_file_the_manifest_does_not_vouch_for() {
    let dir = generated("manifest");
    change_a_comment_byte(&dir, "trace/flows.json");
    let problems = vector_files::verify(&dir).expect("reads").problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("trace/flows.json") && problems[0].contains("SHA-256"),
        "{problems:#?}"
    );
    std::fs::remove_file(dir.join("trace/policy.json")).expect("removed");
    std::fs::write(dir.join("codec/extra.json"), "{}\n").expect("written");
    let problems = vector_files::verify(&dir).expect("reads").problems;
    for (file, says) in [
        ("trace/policy.json", "listed in MANIFEST.json but absent"),
        ("codec/extra.json", "not listed in MANIFEST.json"),
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.contains(file) && p.contains(says)),
            "{file}: {problems:#?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_lists_every_file_unlike_a_fresh_generation() {
    let dir = generated("check");
    let clean = mimi_ds_generate::check(&dir).expect("check runs");
    assert!(clean.is_empty(), "{clean:#?}");
    change_a_comment_byte(&dir, "trace/send.json");
    std::fs::remove_file(dir.join("trace/welcome.json")).expect("removed");
    std::fs::write(dir.join("trace/extra.json"), "{}\n").expect("written");
    let found = mimi_ds_generate::check(&dir).expect("check runs");
    let expected: Vec<String> = [
        ("trace/extra.json", "not written by a fresh generation"),
        ("trace/send.json", "differs from a fresh generation"),
        (
            "trace/welcome.json",
            "missing (a fresh generation writes it)",
        ),
    ]
    .iter()
    .map(|(file, says)| format!("{}: {says}", dir.join(file).display()))
    .collect();
    assert_eq!(found, expected);
    std::fs::remove_dir_all(&dir).ok();
}

/// Applies `tamper` to the first test of `section` it changes and expects verify to object.
fn assert_caught(section: &str, what: &str, tamper: impl Fn(&mut TraceTest) -> bool) {
    let mut file = trace_file(section);
    assert!(
        trace::verify(&file).is_empty(),
        "{section} verifies before tampering"
    );
    let index = (0..file.tests.len())
        .find(|&i| tamper(&mut file.tests[i]))
        .unwrap_or_else(|| panic!("{section}: nothing to tamper for {what}"));
    let id = file.tests[index].tc_id.clone();
    let problems = trace::verify(&file);
    assert!(
        problems.iter().any(|p| p.starts_with(&id)),
        "{what} in {id} went unnoticed"
    );
}

#[test]
fn tampering_with_a_result_is_caught() {
    assert_caught("policy", "an invalid result flipped to valid", |t| {
        let was = t.result == Verdict::Invalid;
        t.result = Verdict::Valid;
        was
    });
    assert_caught("receive", "an acceptable result flipped to invalid", |t| {
        let was = t.result == Verdict::Acceptable;
        t.result = Verdict::Invalid;
        was
    });
}

#[test]
fn tampering_with_an_expectation_is_caught() {
    assert_caught("send", "a refusal turned into acceptance", |t| {
        t.steps.iter_mut().any(|s| {
            let refused = s.expect.response["response"] == "error";
            if refused {
                s.expect.response = serde_json::json!({"response": "accepted"});
            }
            refused
        })
    });
    assert_caught("key-packages", "an error code changed", |t| {
        t.steps.iter_mut().any(|s| {
            let refused = s.expect.response["response"] == "error";
            if refused {
                s.expect.response["body"] = serde_json::json!("unknown_group");
            }
            refused
        })
    });
    assert_caught("receive", "an alternative reading dropped", |t| {
        t.steps.iter_mut().any(|s| s.expect.also.pop().is_some())
    });
    assert_caught("flows", "a requirement id dropped from a step", |t| {
        t.steps
            .iter_mut()
            .any(|s| s.expect.requirements.pop().is_some())
    });
    assert_caught(
        "welcome",
        "a requirement id unknown to the catalogue",
        |t| {
            t.requirements.push("welcome/no-such-requirement".into());
            true
        },
    );
}

#[test]
fn dropping_an_outbound_call_is_caught() {
    assert_caught("flows", "a Welcome push dropped", |t| {
        t.steps.iter_mut().any(|s| s.outbound.pop().is_some())
    });
}

#[test]
fn changing_a_counter_in_an_input_is_caught() {
    assert_caught("receive", "a counter changed", |t| {
        t.steps.iter_mut().rev().any(|s| {
            let counter = s.input.pointer_mut("/request/counter");
            match counter.and_then(|c| c.as_u64().map(|n| (c, n))) {
                Some((c, n)) => {
                    *c = serde_json::json!(n + 1);
                    true
                }
                None => false,
            }
        })
    });
}

#[test]
fn a_body_that_disagrees_with_its_input_is_caught() {
    assert_caught("send", "a request body byte flipped", |t| {
        t.steps.iter_mut().any(|s| match &mut s.body {
            Some(body) if !body.hex.0.is_empty() && s.input["input"] == "send" => {
                body.hex.0[0] ^= 1;
                true
            }
            _ => false,
        })
    });
}
