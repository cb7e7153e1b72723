//! The test-control contract of `BINDING.md` §6: how the runner sets a target up. A target
//! advertises what it supports; a case needing something it lacks is `skipped`, never passed.
//! [`schema`] is the JSON Schema of every control body (`harness/binding/control.schema.json`).

use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::{Input, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /mimi-ds-test/v1/reset`: forget everything, become `me`, reach peers at `peers`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    pub me: ServiceProviderId,
    /// Base URLs (`http://127.0.0.1:port`) of the providers this DS will call.
    pub peers: BTreeMap<ServiceProviderId, String>,
}

/// `GET /mimi-ds-test/v1/capabilities`. Keys this runner does not know are ignored, so a
/// target may advertise more than it is asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Capabilities {
    /// `hub`, `follower`, `rsp`.
    pub roles: Vec<String>,
    /// The control actions `POST /mimi-ds-test/v1/control` accepts (the `input` tag).
    pub actions: Vec<String>,
    /// Whether `GET /mimi-ds-test/v1/idle` waits until no call is in progress.
    pub idle: bool,
    /// Whether KeyPackage requests may (and will) come through the OHTTP gateway of
    /// BINDING.md §5; without it they are sent directly, as in test mode.
    #[serde(default)]
    pub ohttp: bool,
    /// Optional conventions the target enforces beyond the draft: `ban-extension`
    /// (errata/ban-list-extension). Cases resting on one it does not list are skipped.
    #[serde(default)]
    pub conventions: Vec<String>,
}

/// The ban convention of `errata/ban-list-extension`: a target that enforces it says so.
pub const BAN_EXTENSION: &str = "ban-extension";

/// Every control action, by the `input` tag of its JSON.
pub const ACTIONS: &[&str] = &[
    "create_group",
    "upload_key_packages",
    "issue_token",
    "revoke_token",
    "mute",
    "rate_limit",
    "terminate_branch",
    "follow_group",
    "self_remove",
    "local_send",
    "local_receive",
];

impl Capabilities {
    pub fn reference() -> Self {
        Capabilities {
            roles: vec!["hub".into(), "follower".into(), "rsp".into()],
            actions: ACTIONS.iter().map(|a| a.to_string()).collect(),
            idle: true,
            ohttp: true,
            conventions: vec![BAN_EXTENSION.into()],
        }
    }

    pub fn has_convention(&self, name: &str) -> bool {
        self.conventions.iter().any(|c| c == name)
    }
}

/// The `input` tag of a control action, or None for federation requests and answers.
pub fn action_name(input: &Input) -> Option<&'static str> {
    Some(match input {
        Input::CreateGroup { .. } => "create_group",
        Input::UploadKeyPackages { .. } => "upload_key_packages",
        Input::IssueToken(_) => "issue_token",
        Input::RevokeToken { .. } => "revoke_token",
        Input::Mute { .. } => "mute",
        Input::RateLimit { .. } => "rate_limit",
        Input::TerminateBranch { .. } => "terminate_branch",
        Input::FollowGroup { .. } => "follow_group",
        Input::SelfRemove { .. } => "self_remove",
        Input::LocalSend { .. } => "local_send",
        Input::LocalReceive { .. } => "local_receive",
        _ => return None,
    })
}

/// A control body: the model's JSON of one control action.
pub fn parse_action(body: &[u8]) -> Result<Input, String> {
    let input: Input = serde_json::from_slice(body).map_err(|e| format!("control body: {e}"))?;
    match action_name(&input) {
        Some(_) => Ok(input),
        None => Err("control body: not a control action (see BINDING.md)".into()),
    }
}

/// Where the control schema is kept, relative to the harness crate.
pub const SCHEMA_FILE: &str = "control.schema.json";

/// What a control action may answer: the model's `accepted`, `error` and `receive`.
const ANSWERS: &[&str] = &["accepted", "error", "receive"];

/// The JSON Schema of the test-control bodies (BINDING.md §6), one definition each:
/// `Reset` (the reset body), `Capabilities` (the capabilities answer), `ControlAction` (a
/// control body: the model's `Input`, control actions only) and `ControlAnswer` (the model's
/// `Response`, the kinds a control action gives). Generated from the types the runner and
/// the reference DS use, so it cannot say anything else than they do.
pub fn schema() -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    for root in [
        generator.subschema_for::<Reset>(),
        generator.subschema_for::<Capabilities>(),
        generator.subschema_for::<Input>(),
        generator.subschema_for::<Response>(),
    ] {
        assert!(
            root.get("$ref").is_some(),
            "control bodies are named definitions"
        );
    }
    let mut defs = generator.take_definitions(true);
    // The model describes a provider id in words; here it gets the codec's exact rule.
    defs["ServiceProviderId"]["pattern"] = json!(PROVIDER_ID_LABELS);
    defs["ServiceProviderId"]["maxLength"] = json!(253);
    defs["ServiceProviderId"]["not"] = json!({ "pattern": PROVIDER_ID_NUMERIC_TOP });
    defs["Reset"]["properties"]["peers"]["propertyNames"] =
        json!({"$ref": "#/$defs/ServiceProviderId"});
    let mut action = defs.remove("Input").expect("Input is defined");
    keep_variants(&mut action, "input", ACTIONS);
    let mut answer = defs.remove("Response").expect("Response is defined");
    keep_variants(&mut answer, "response", ANSWERS);
    defs.insert("ControlAction".into(), action);
    defs.insert("ControlAnswer".into(), answer);
    // Only what the four bodies use.
    let roots = ["Reset", "Capabilities", "ControlAction", "ControlAnswer"];
    let mut used: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
    let mut i = 0;
    while i < used.len() {
        let mut refs = Vec::new();
        collect_refs(&defs[&used[i]], &mut refs);
        for r in refs {
            if !used.contains(&r) {
                used.push(r);
            }
        }
        i += 1;
    }
    let defs: Map<String, Value> = defs
        .into_iter()
        .filter(|(name, _)| used.contains(name))
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "MIMI DS test-control contract (harness/BINDING.md §6)",
        "description": "Validate a reset body against #/$defs/Reset, a capabilities answer against #/$defs/Capabilities, a control body against #/$defs/ControlAction and a control answer against #/$defs/ControlAnswer. Byte strings are lowercase hex; an embedded MLSMessage is {\"hex\": ...}. Generated by mimi_ds_binding::control::schema.",
        "anyOf": roots.iter().map(|r| json!({"$ref": format!("#/$defs/{r}")})).collect::<Vec<_>>(),
        "$defs": defs,
    })
}

/// What `ServiceProviderId::new` accepts (errata/service-provider-id), with a length of at
/// most 253 and a last label that is not all digits: dot-separated labels of 1–63 lowercase
/// letters, digits and inner hyphens.
const PROVIDER_ID_LABELS: &str =
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$";
/// A last label of digits only: an address, not a DNS name.
const PROVIDER_ID_NUMERIC_TOP: &str = r"(^|\.)[0-9]+$";

/// Keeps the variants of a tagged enum's `oneOf` whose tag is one of `names`.
fn keep_variants(schema: &mut serde_json::Value, tag: &str, names: &[&str]) {
    let variants = schema
        .get_mut("oneOf")
        .and_then(|v| v.as_array_mut())
        .expect("a tagged enum is a oneOf");
    variants.retain(|variant| {
        let tag = &variant["properties"][tag];
        let name = tag
            .get("const")
            .or_else(|| tag.get("enum").and_then(|e| e.get(0)))
            .and_then(|n| n.as_str());
        name.is_some_and(|n| names.contains(&n))
    });
    assert_eq!(
        variants.len(),
        names.len(),
        "every {tag} kind has its variant"
    );
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => {
                        if let Some(name) = r.strip_prefix("#/$defs/") {
                            out.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
