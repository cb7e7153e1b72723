//! The HTTP binding of `BINDING.md` (errata `errata/transport`): which path each endpoint has,
//! which structure its request and response carry, and how status codes and error bodies map
//! to the model's `Response`. Both sides use it: the reference DS to serve, the runner and its
//! peers to call and to read answers, so the two can never disagree on the wire.
//!
//! Beside the endpoints: `control` (the test-control JSON), `oblivious` (both halves of OHTTP),
//! `tls` (mutual TLS: the test PKI and who a certificate says is calling) and `wire` (the log
//! of every exchange, for reports).

pub mod control;
pub mod oblivious;
pub mod tls;
pub mod wire;

use mimi_ds_model::codec::{
    DsError, ErrorCode, ExternalJoinRequest, GroupInfoRequest, GroupInfoResponse,
    KeyPackageBundleRequest, KeyPackageBundleResponse, KeyPackageRequest, KeyPackageResponse,
    MlsMessage, ReceiveRequest, ReceiveResponse, SendRequest, ServiceProviderId,
    WelcomeInitRequest, WelcomeInitResponse, Wire,
};
use mimi_ds_model::ds::{Endpoint, Input, Outbound, Response};
use mimi_ds_model::errata::{self, ErratumId};

/// Prefix of every federation endpoint.
pub const PREFIX: &str = "/mimi-ds/v1/";
/// Prefix of the test-control contract.
pub const CONTROL_PREFIX: &str = "/mimi-ds-test/v1/";
pub const MEDIA_TYPE: &str = "application/mimi-ds";
/// Plain-HTTP test mode: names the calling provider where mutual TLS would.
pub const PROVIDER_HEADER: &str = "mimi-ds-provider";
/// Test mode, on any answer of a target that offers `idle` (BINDING.md §6.1): `true` says
/// the target was idle when it answered, as `GET idle` would, so the runner skips asking.
pub const IDLE_HEADER: &str = "mimi-ds-idle";
/// The longest body, request or answer, the binding allows (BINDING.md §1,
/// `errata/transport`): 16 MiB, far above any body the draft's structures need.
pub const MAX_BODY: usize = 16 << 20;

pub const ENDPOINTS: [Endpoint; 9] = [
    Endpoint::KeyPackage,
    Endpoint::KeyPackageBundle,
    Endpoint::Send,
    Endpoint::Receive,
    Endpoint::ExternalJoin,
    Endpoint::GroupInfo,
    Endpoint::WelcomeInit,
    Endpoint::Welcome,
    Endpoint::Notify,
];

pub fn name(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::KeyPackage => "key-package",
        Endpoint::KeyPackageBundle => "key-package-bundle",
        Endpoint::Send => "send",
        Endpoint::Receive => "receive",
        Endpoint::ExternalJoin => "external-join",
        Endpoint::GroupInfo => "group-info",
        Endpoint::WelcomeInit => "welcome-init",
        Endpoint::Welcome => "welcome",
        Endpoint::Notify => "notify",
    }
}

pub fn path(endpoint: Endpoint) -> String {
    format!("{PREFIX}{}", name(endpoint))
}

pub fn endpoint_of_path(path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix(PREFIX)?;
    ENDPOINTS.into_iter().find(|e| name(*e) == rest)
}

/// KeyPackage requests travel over OHTTP: the RSP never learns the caller.
pub fn needs_provider(endpoint: Endpoint) -> bool {
    !matches!(endpoint, Endpoint::KeyPackage | Endpoint::KeyPackageBundle)
}

/// The status of a successful answer: 201 where something was delivered to the provider.
pub fn success_status(endpoint: Endpoint) -> u16 {
    match endpoint {
        Endpoint::Welcome | Endpoint::Notify => 201,
        _ => 200,
    }
}

pub fn error_status(code: ErrorCode) -> u16 {
    use ErrorCode::*;
    match code {
        Malformed | UnsupportedParameters => 400,
        PolicyRejected | InvalidBearerToken | WelcomeRefused | UnauthorizedProvider => 403,
        UnknownGroup | UnknownUser | UnknownPartition => 404,
        BranchTerminated | RatchetTreeRequired | KeyPackageExhausted => 409,
    }
}

/// A request body as the model sees it; an undecodable one is `Input::Malformed`.
pub fn input_of(endpoint: Endpoint, from: &ServiceProviderId, body: &[u8]) -> Input {
    decode(endpoint, from, body).unwrap_or_else(|_| Input::malformed(endpoint))
}

/// A request body as the model sees it, or why the strict decoder refuses it.
pub fn decode(
    endpoint: Endpoint,
    from: &ServiceProviderId,
    body: &[u8],
) -> Result<Input, mimi_ds_model::codec::DecodeError> {
    let from = from.clone();
    match endpoint {
        Endpoint::KeyPackage => {
            KeyPackageRequest::from_bytes(body).map(|request| Input::KeyPackage { request })
        }
        Endpoint::KeyPackageBundle => KeyPackageBundleRequest::from_bytes(body)
            .map(|request| Input::KeyPackageBundle { request }),
        Endpoint::Send => {
            SendRequest::from_bytes(body).map(|request| Input::Send { from, request })
        }
        Endpoint::Receive => {
            ReceiveRequest::from_bytes(body).map(|request| Input::Receive { from, request })
        }
        Endpoint::ExternalJoin => ExternalJoinRequest::from_bytes(body)
            .map(|request| Input::ExternalJoin { from, request }),
        Endpoint::GroupInfo => {
            GroupInfoRequest::from_bytes(body).map(|request| Input::GroupInfo { from, request })
        }
        Endpoint::WelcomeInit => {
            WelcomeInitRequest::from_bytes(body).map(|request| Input::WelcomeInit { from, request })
        }
        Endpoint::Welcome => {
            MlsMessage::from_bytes(body).map(|welcome| Input::WelcomePush { from, welcome })
        }
        Endpoint::Notify => {
            ReceiveResponse::from_bytes(body).map(|response| Input::Push { from, response })
        }
    }
}

/// The endpoint and body of a federation request the model describes (None for control
/// actions and answers, which do not travel as federation requests).
pub fn request_of(input: &Input) -> Option<(Endpoint, Option<&ServiceProviderId>, Vec<u8>)> {
    Some(match input {
        Input::Send { from, request } => (Endpoint::Send, Some(from), request.to_bytes()),
        Input::Receive { from, request } => (Endpoint::Receive, Some(from), request.to_bytes()),
        Input::ExternalJoin { from, request } => {
            (Endpoint::ExternalJoin, Some(from), request.to_bytes())
        }
        Input::GroupInfo { from, request } => (Endpoint::GroupInfo, Some(from), request.to_bytes()),
        Input::KeyPackage { request } => (Endpoint::KeyPackage, None, request.to_bytes()),
        Input::KeyPackageBundle { request } => {
            (Endpoint::KeyPackageBundle, None, request.to_bytes())
        }
        Input::WelcomeInit { from, request } => {
            (Endpoint::WelcomeInit, Some(from), request.to_bytes())
        }
        Input::WelcomePush { from, welcome } => (Endpoint::Welcome, Some(from), welcome.to_bytes()),
        Input::Push { from, response } => (Endpoint::Notify, Some(from), response.to_bytes()),
        _ => return None,
    })
}

/// The endpoint and body of a call a DS makes to another provider.
pub fn outbound_request(call: &Outbound) -> (Endpoint, Vec<u8>) {
    match call {
        Outbound::WelcomeInit { request, .. } => (Endpoint::WelcomeInit, request.to_bytes()),
        Outbound::WelcomePush { welcome, .. } => (Endpoint::Welcome, welcome.to_bytes()),
        Outbound::Send { request, .. } => (Endpoint::Send, request.to_bytes()),
        Outbound::Receive { request, .. } => (Endpoint::Receive, request.to_bytes()),
        Outbound::Push { response, .. } => (Endpoint::Notify, response.to_bytes()),
    }
}

/// A call a peer received, as the model's `Outbound` (None when the body does not decode).
pub fn outbound_of(
    endpoint: Endpoint,
    to: &ServiceProviderId,
    body: &[u8],
) -> Result<Outbound, String> {
    let to = to.clone();
    let fail = |e: mimi_ds_model::codec::DecodeError| format!("{} body: {e}", name(endpoint));
    match endpoint {
        Endpoint::WelcomeInit => WelcomeInitRequest::from_bytes(body)
            .map(|request| Outbound::WelcomeInit { to, request }),
        Endpoint::Welcome => {
            MlsMessage::from_bytes(body).map(|welcome| Outbound::WelcomePush { to, welcome })
        }
        Endpoint::Send => {
            SendRequest::from_bytes(body).map(|request| Outbound::Send { to, request })
        }
        Endpoint::Receive => {
            ReceiveRequest::from_bytes(body).map(|request| Outbound::Receive { to, request })
        }
        Endpoint::Notify => {
            ReceiveResponse::from_bytes(body).map(|response| Outbound::Push { to, response })
        }
        other => {
            return Err(format!(
                "{} is not an endpoint a DS calls on another provider",
                name(other)
            ))
        }
    }
    .map_err(fail)
}

/// Status and body of a response.
pub fn encode_response(endpoint: Endpoint, response: &Response) -> (u16, Vec<u8>) {
    match response {
        Response::Error(code) => {
            let error = DsError {
                code: *code,
                message: format!("{code:?}"),
            };
            (error_status(*code), error.to_bytes())
        }
        Response::Accepted => (success_status(endpoint), Vec::new()),
        Response::Receive(r) => (200, r.to_bytes()),
        Response::GroupInfo(g) => (200, g.to_bytes()),
        Response::KeyPackage(k) => (200, k.to_bytes()),
        Response::KeyPackageBundle(b) => (200, b.to_bytes()),
        Response::WelcomeInit(w) => (200, w.to_bytes()),
    }
}

/// How an answer broke the binding itself (not the model), and the decisions it breaks:
/// `errata/transport`, and the one that fixes the structure or status it got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingError {
    pub why: String,
    pub errata: Vec<ErratumId>,
}

impl BindingError {
    fn at(endpoint: Endpoint, why: String) -> Self {
        let mut errata = vec![errata::TRANSPORT];
        if endpoint == Endpoint::WelcomeInit {
            errata.push(errata::WELCOME_INIT_RESPONSE);
        }
        BindingError { why, errata }
    }
}

/// A target's answer as the model reads it, with what it did otherwise than BINDING.md says
/// but the binding accepts: graded informationally (`errata/transport`'s alternative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub response: Response,
    pub notes: Vec<String>,
}

/// Reads a target's answer (BINDING.md §2): a 2xx body by endpoint, a 4xx as a DsError; a
/// 5xx or any other status breaks the binding. Another 2xx or 4xx status than the binding's,
/// or another media type (`content_type`; `None` when there is no header to check, as inside
/// OHTTP), is noted, not failed.
pub fn decode_response(
    endpoint: Endpoint,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Answer, BindingError> {
    let mut notes = Vec::new();
    if let Some(given) = content_type.filter(|_| !body.is_empty()) {
        let essence = given.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case(MEDIA_TYPE) {
            notes.push(format!(
                "{} answered with media type {given:?}, not {MEDIA_TYPE}",
                name(endpoint)
            ));
        }
    }
    if endpoint == Endpoint::Notify && (200..300).contains(&status) && status != 201 {
        return Err(BindingError {
            why: format!("notify answered {status}: a hub pushes again until it gets 201, so the push would be repeated forever"),
            errata: vec![errata::TRANSPORT, errata::PUSH_AND_PULL],
        });
    }
    let response = match status {
        200..=299 => decode_success(endpoint, status, body)?,
        400..=499 => {
            let error = DsError::from_bytes(body).map_err(|e| {
                BindingError::at(endpoint, format!(
                    "{} answered {status} with a body that is not a DsError: {e}",
                    name(endpoint)
                ))
            })?;
            Response::Error(error.code)
        }
        500..=599 => {
            return Err(BindingError::at(endpoint, format!(
                "{} answered {status}: a server error is never an answer the binding allows (a refusal is a DsError under a 4xx status)",
                name(endpoint)
            )))
        }
        _ => {
            return Err(BindingError::at(endpoint, format!(
                "{} answered {status}, which is neither a success nor a 4xx refusal",
                name(endpoint)
            )))
        }
    };
    let expected_status = match &response {
        Response::Error(code) => error_status(*code),
        _ => success_status(endpoint),
    };
    if status != expected_status {
        notes.push(format!(
            "{} answered {} under status {status}, where the binding gives {expected_status}",
            name(endpoint),
            response.summary()
        ));
    }
    Ok(Answer { response, notes })
}

/// The body of a 2xx answer, by endpoint.
fn decode_success(endpoint: Endpoint, status: u16, body: &[u8]) -> Result<Response, BindingError> {
    let bad = |what: &str, e: mimi_ds_model::codec::DecodeError| {
        BindingError::at(
            endpoint,
            format!(
                "{} answered {status} with a body that is not {what}: {e}",
                name(endpoint)
            ),
        )
    };
    let empty = |body: &[u8]| {
        if body.is_empty() {
            Ok(Response::Accepted)
        } else {
            Err(BindingError::at(
                endpoint,
                format!(
                    "{} answered {status} with {} unexpected body bytes",
                    name(endpoint),
                    body.len()
                ),
            ))
        }
    };
    match endpoint {
        Endpoint::Send | Endpoint::ExternalJoin | Endpoint::Welcome | Endpoint::Notify => {
            empty(body)
        }
        Endpoint::Receive => ReceiveResponse::from_bytes(body)
            .map(Response::Receive)
            .map_err(|e| bad("a ReceiveResponse", e)),
        Endpoint::GroupInfo => GroupInfoResponse::from_bytes(body)
            .map(Response::GroupInfo)
            .map_err(|e| bad("a GroupInfoResponse", e)),
        Endpoint::KeyPackage => KeyPackageResponse::from_bytes(body)
            .map(Response::KeyPackage)
            .map_err(|e| bad("a KeyPackageResponse", e)),
        Endpoint::KeyPackageBundle => KeyPackageBundleResponse::from_bytes(body)
            .map(Response::KeyPackageBundle)
            .map_err(|e| bad("a KeyPackageBundleResponse", e)),
        Endpoint::WelcomeInit => WelcomeInitResponse::from_bytes(body)
            .map(Response::WelcomeInit)
            .map_err(|e| bad("a WelcomeInitResponse", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::MAX_BODY;

    /// The erratum and BINDING.md state the limit in words; they must say this one.
    #[test]
    fn the_transport_erratum_and_binding_state_max_body() {
        let limit = format!("{} MiB", MAX_BODY >> 20);
        let erratum = mimi_ds_model::errata::find("errata/transport").expect("the erratum");
        assert!(erratum.decision.contains(&limit), "{}", erratum.decision);
        let binding = include_str!("../../BINDING.md");
        assert!(binding.contains(&format!("**{limit}**")));
    }
}
