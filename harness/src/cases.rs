//! Where the runner's cases come from: the trace vectors under `<vectors>/trace/`, read with
//! the model's own types so an input replays exactly as the vector records it.

use crate::runner::{Case, CaseStep};
use crate::{CliError, CliResult};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::ds::Input;
use mimi_ds_model::vectors::trace::{self, TraceTest, TraceVectorFile};
use std::path::Path;

pub const TRACE_DIR: &str = "trace";

pub fn load(dir: &Path) -> CliResult<Vec<Case>> {
    let trace_dir = dir.join(TRACE_DIR);
    let entries = std::fs::read_dir(&trace_dir).map_err(|e| {
        CliError(format!(
            "no trace vectors at {}: {e} (give --vectors DIR)",
            trace_dir.display()
        ))
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with(trace::SCHEMA_FILE))
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| CliError(format!("reading {name}: {e}")))?;
        let file: TraceVectorFile = serde_json::from_str(&text)
            .map_err(|e| CliError(format!("{name}: not a trace vector file: {e}")))?;
        for test in &file.tests {
            cases
                .push(case_of(test).map_err(|e| CliError(format!("{name}: {}: {e}", test.tc_id)))?);
        }
    }
    Ok(cases)
}

fn case_of(test: &TraceTest) -> Result<Case, String> {
    let steps = test
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let input: Input = serde_json::from_value(s.input.clone())
                .map_err(|e| format!("step {}: input: {e}", i + 1))?;
            let malformed = match (&input, &s.body) {
                (Input::Malformed { .. }, Some(body)) => {
                    Some((ServiceProviderId::new(&s.actor).ok(), body.hex.0.clone()))
                }
                (Input::Malformed { .. }, None) => {
                    return Err(format!("step {}: a malformed step without its body", i + 1))
                }
                _ => None,
            };
            Ok(CaseStep { input, malformed })
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
