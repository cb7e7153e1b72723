//! Where the runner's cases come from: the trace vectors under `<vectors>/trace/`, read with
//! the model's own types so an input replays exactly as the vector records it; and, over TLS,
//! the certificate cases derived from them.

use crate::runner::{Case, CaseStep, RawRequest};
use crate::transport::Credential;
use crate::{Error, Result};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::Input;
use mimi_ds_model::errata;
use mimi_ds_model::vectors::trace::{self, TraceCase, TraceTest};
use mimi_ds_vectors::read_trace_files;
use std::path::Path;

/// Why a trace vector makes no case (steps count from 1, as the vector's are read).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("step {step}: input: {source}")]
    Input {
        step: usize,
        source: serde_json::Error,
    },
    #[error("step {step}: a raw request without its body")]
    RawWithoutBody { step: usize },
    #[error("target provider {provider:?}: {why}")]
    TargetProvider { provider: String, why: &'static str },
    #[error("{id:?} is neither a requirement of the catalogue nor an erratum: {source}")]
    UnknownId {
        id: String,
        source: serde_json::Error,
    },
}

pub fn load(dir: &Path) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (path, file) in read_trace_files(dir)? {
        for test in &file.tests {
            let case = case_of(test).map_err(|source| Error::Case {
                path: path.clone(),
                id: test.tc_id.clone(),
                source,
            })?;
            cases.push(case);
        }
    }
    Ok(cases)
}

/// The certificate cases (`errata/tls-caller`): over TLS, every case whose request carries no
/// provider identity is run again presenting each wrong [`Credential`] instead. Each must be
/// refused as `unauthorized_provider`, with a DsError or in the TLS handshake, and change
/// nothing, as the case it derives from says.
pub fn certificate_cases(cases: &[Case]) -> Vec<Case> {
    let anonymous = |step: &CaseStep| {
        matches!(step.input, Input::Unidentified { claimed: None, .. })
            && step.raw.as_ref().is_some_and(|raw| raw.provider.is_none())
    };
    cases
        .iter()
        .filter(|case| case.steps.iter().any(anonymous))
        .flat_map(|case| {
            Credential::ALL.map(|credential| {
                let mut derived = case.clone();
                let stem = case
                    .id
                    .rsplit_once('/')
                    .map_or(case.id.as_str(), |(s, _)| s);
                derived.id = format!("{stem}/{}", credential.name());
                derived.comment = format!(
                    "{} Over TLS, presenting {} instead of no identity.",
                    case.comment,
                    credential.describe()
                );
                derived.errata.push(errata::TLS_CALLER);
                for step in derived.steps.iter_mut().filter(|s| anonymous(s)) {
                    if let Some(raw) = &mut step.raw {
                        raw.credential = Some(credential);
                    }
                }
                derived
            })
        })
        .collect()
}

pub fn case_of(test: &TraceTest) -> Result<Case, CaseError> {
    let steps = test
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let step = i + 1;
            let input: Input = serde_json::from_value(s.input.clone())
                .map_err(|source| CaseError::Input { step, source })?;
            let body = s.body.as_ref().map(|b| b.hex.as_slice());
            case_step(input, &s.actor, body, step)
        })
        .collect::<Result<Vec<_>, CaseError>>()?;
    Ok(Case {
        id: test.tc_id.clone(),
        comment: test.comment.clone(),
        requirements: ids(&test.requirements)?,
        errata: ids(&test.errata)?,
        role: test.target.role,
        target: target_provider(&test.target)?,
        steps,
    })
}

/// The case a generated trace makes: the one [`case_of`] makes of the vector
/// `trace::build` writes for it, without the JSON in between. Random traces make thousands
/// and write at most one.
pub fn case_of_trace(case: &TraceCase) -> Result<Case, String> {
    let grounds = trace::grounds(case)?;
    let steps = case
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let body = s.malformed_body.as_ref().map(|b| b.as_slice());
            case_step(s.input.clone(), &trace::actor(&s.input), body, i + 1)
        })
        .collect::<Result<Vec<_>, CaseError>>()
        .map_err(|e| e.to_string())?;
    Ok(Case {
        id: case.id.clone(),
        comment: case.comment.clone(),
        requirements: grounds.requirements.into_iter().collect(),
        errata: grounds.errata.into_iter().collect(),
        role: case.target.role,
        target: target_provider(&case.target).map_err(|e| e.to_string())?,
        steps,
    })
}

/// One input of a case, with the raw request of a malformed or unidentified one: its
/// `body`, sent as `actor` (the vector's actor of the step).
fn case_step(
    input: Input,
    actor: &str,
    body: Option<&[u8]>,
    step: usize,
) -> Result<CaseStep, CaseError> {
    let raw = match (&input, body) {
        (Input::Malformed { .. }, Some(body)) => Some(RawRequest {
            provider: ServiceProviderId::new(actor).ok().map(String::from),
            credential: None,
            body: body.to_vec(),
        }),
        (Input::Unidentified { claimed, .. }, Some(body)) => Some(RawRequest {
            provider: claimed.clone(),
            credential: None,
            body: body.to_vec(),
        }),
        (Input::Malformed { .. } | Input::Unidentified { .. }, None) => {
            return Err(CaseError::RawWithoutBody { step })
        }
        _ => None,
    };
    Ok(CaseStep { input, raw })
}

fn target_provider(target: &trace::Target) -> Result<ServiceProviderId, CaseError> {
    ServiceProviderId::new(&target.provider).map_err(|why| CaseError::TargetProvider {
        provider: target.provider.clone(),
        why,
    })
}

/// Ids resolved against the catalogue or the errata record (an unknown one is an error).
fn ids<T: serde::de::DeserializeOwned>(names: &[String]) -> Result<Vec<T>, CaseError> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value(serde_json::Value::String(n.clone())).map_err(|source| {
                CaseError::UnknownId {
                    id: n.clone(),
                    source,
                }
            })
        })
        .collect()
}
