//! `decode` and `encode`: hex ⇄ JSON for every structure, one input per line.

use crate::AlreadyReported;
use anyhow::{anyhow, bail, Context, Result};
use mimi_ds_model::codec::{find_structure, structures, Structure};
use std::io::{BufRead, Write};

fn structure(name: &str) -> Result<Structure> {
    find_structure(name).ok_or_else(|| {
        let names: Vec<&str> = structures().iter().map(|s| s.name).collect();
        anyhow!("unknown structure {name:?}; one of: {}", names.join(", "))
    })
}

/// Inputs from the argument, or else one per non-empty line of stdin, with their line numbers.
fn inputs(arg: Option<String>) -> Result<Vec<(Option<usize>, String)>> {
    if let Some(a) = arg {
        return Ok(vec![(None, a)]);
    }
    let mut out = Vec::new();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.with_context(|| format!("reading stdin line {}", i + 1))?;
        if !line.trim().is_empty() {
            out.push((Some(i + 1), line));
        }
    }
    if out.is_empty() {
        bail!("no input: give it as an argument or on stdin, one per line");
    }
    Ok(out)
}

fn place(line: Option<usize>) -> String {
    line.map(|n| format!("line {n}: ")).unwrap_or_default()
}

/// Runs `each` on every input; prints its output or a one-line error. Fails if any failed.
fn for_each_input(
    arg: Option<String>,
    each: impl Fn(&str) -> Result<String, String>,
) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    let all = inputs(arg)?;
    for (line, text) in &all {
        match each(text.trim()) {
            Ok(out) => writeln!(stdout, "{out}").context("writing stdout")?,
            Err(e) => {
                failed += 1;
                eprintln!("mimi-ds-check: {}{e}", place(*line));
            }
        }
    }
    match failed {
        0 => Ok(()),
        // Each failure already has its own line; the exit status carries the rest.
        _ if all.len() == 1 => Err(AlreadyReported.into()),
        n => bail!("{n} of {} inputs failed", all.len()),
    }
}

pub fn decode(name: &str, hex_arg: Option<String>) -> Result<()> {
    let s = structure(name)?;
    for_each_input(hex_arg, |text| {
        let bytes = hex::decode(text).map_err(|e| format!("{name}: input is not hex: {e}"))?;
        let json = (s.decode)(&bytes).map_err(|e| format!("{name}: {e}"))?;
        Ok(json.to_string())
    })
}

pub fn encode(name: &str, json_arg: Option<String>) -> Result<()> {
    let s = structure(name)?;
    for_each_input(json_arg, |text| {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{name}: input is not JSON: {e}"))?;
        if name == "mls-message" && json.get("hex").is_none() {
            return Err("mls-message: a DS view cannot be encoded (its bytes are signed); give {\"hex\": \"…\"}".into());
        }
        (s.encode)(json).map(hex::encode)
    })
}
