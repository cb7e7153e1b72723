//! Where the runner's cases come from: the trace vectors under `<vectors>/trace/`, read with
//! the model's own types so an input replays exactly as the vector records it.

use crate::runner::{Case, CaseStep, RawRequest};
use crate::{CliError, CliResult};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::Input;
use mimi_ds_model::vectors::trace::TraceTest;
use mimi_ds_vectors::read_trace_files;
use std::path::Path;

pub fn load(dir: &Path) -> CliResult<Vec<Case>> {
    let mut cases = Vec::new();
    for (path, file) in read_trace_files(dir)? {
        for test in &file.tests {
            let case = case_of(test)
                .map_err(|e| CliError(format!("{}: {}: {e}", path.display(), test.tc_id)))?;
            cases.push(case);
        }
    }
    Ok(cases)
}

pub fn case_of(test: &TraceTest) -> Result<Case, String> {
    let steps = test
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let input: Input = serde_json::from_value(s.input.clone())
                .map_err(|e| format!("step {}: input: {e}", i + 1))?;
            let raw = match (&input, &s.body) {
                (Input::Malformed { .. }, Some(body)) => Some(RawRequest {
                    provider: ServiceProviderId::new(&s.actor).ok().map(String::from),
                    body: body.hex.0.clone(),
                }),
                (Input::Unidentified { claimed, .. }, Some(body)) => Some(RawRequest {
                    provider: claimed.clone(),
                    body: body.hex.0.clone(),
                }),
                (Input::Malformed { .. } | Input::Unidentified { .. }, None) => {
                    return Err(format!("step {}: a raw request without its body", i + 1))
                }
                _ => None,
            };
            Ok(CaseStep { input, raw })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Case {
        id: test.tc_id.clone(),
        comment: test.comment.clone(),
        requirements: ids(&test.requirements)?,
        errata: ids(&test.errata)?,
        role: test.target.role,
        target: ServiceProviderId::new(&test.target.provider)
            .map_err(|e| format!("target provider: {e}"))?,
        steps,
    })
}

/// Ids resolved against the catalogue or the errata record (an unknown one is an error).
fn ids<T: serde::de::DeserializeOwned>(names: &[String]) -> Result<Vec<T>, String> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value(serde_json::Value::String(n.clone())).map_err(|e| e.to_string())
        })
        .collect()
}
