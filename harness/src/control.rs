//! The test-control contract of `BINDING.md`: how the runner sets a target up. A target
//! advertises what it supports; a case needing something it lacks is `skipped`, never passed.

use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::Input;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /mimi-ds-test/v1/reset`: forget everything, become `me`, reach peers at `peers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    pub me: ServiceProviderId,
    /// Base URLs (`http://127.0.0.1:port`) of the providers this DS will call.
    pub peers: BTreeMap<ServiceProviderId, String>,
}

/// `GET /mimi-ds-test/v1/capabilities`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The optional conventions of our errata the target enforces: [`BAN_EXTENSION`].
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
