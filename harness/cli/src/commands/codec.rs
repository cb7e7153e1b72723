//! `decode` and `encode`: hex ⇄ JSON for every structure, one input per line.

use crate::AlreadyReported;
use anyhow::{anyhow, bail, Context, Result};
use mimi_ds_model::codec::{find_structure, structures, Structure};
use std::io::{BufRead, Read};

fn structure(name: &str) -> Result<Structure> {
    find_structure(name).ok_or_else(|| {
        let names: Vec<&str> = structures().iter().map(|s| s.name).collect();
        anyhow!("unknown structure {name:?}; one of: {}", names.join(", "))
    })
}

/// The longest input line read: the hex of a 16 MiB structure, the runner's body cap.
const MAX_LINE: usize = 32 << 20;

fn place(line: Option<usize>) -> String {
    line.map(|n| format!("line {n}: ")).unwrap_or_default()
}

/// One line of `input` without its newline, at most `MAX_LINE` bytes kept: `Ok(None)` at the
/// end, `Err` naming the line when it is longer (the rest of it is read and dropped, so the
/// next line is read as usual) or not UTF-8.
fn next_line(input: &mut impl BufRead, number: usize) -> Result<Option<Result<String, String>>> {
    let mut line = Vec::new();
    let read = input
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .with_context(|| format!("reading stdin line {number}"))?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && line.len() > MAX_LINE {
        let mut dropped = Vec::new();
        loop {
            dropped.clear();
            let n = input
                .by_ref()
                .take(64 << 10)
                .read_until(b'\n', &mut dropped)
                .with_context(|| format!("reading stdin line {number}"))?;
            if n == 0 || dropped.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(Err(format!(
            "longer than the {} MiB cap on a line",
            MAX_LINE >> 20
        ))));
    }
    Ok(Some(
        String::from_utf8(line).map_err(|_| "not UTF-8".to_string()),
    ))
}

/// Runs `each` on the argument, or else on every non-empty line of stdin as it arrives (each
/// answered before the next is read, so memory stays bounded by the longest line); prints
/// its output or a one-line error naming the line. Fails if any failed.
fn for_each_input(
    arg: Option<String>,
    each: impl Fn(&str) -> Result<String, String>,
) -> Result<()> {
    if let Some(text) = arg {
        return match each(text.trim()) {
            Ok(out) => {
                outln!("{out}");
                Ok(())
            }
            Err(e) => {
                eprintln!("mimi-ds-check: {e}");
                // The line above says it all; the exit status carries the rest.
                Err(AlreadyReported.into())
            }
        };
    }
    let mut stdin = std::io::stdin().lock();
    let (mut inputs, mut failed) = (0usize, 0usize);
    let mut number = 0;
    while let Some(line) = next_line(&mut stdin, number + 1)? {
        number += 1;
        let answer = match line {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => each(text.trim()),
            Err(e) => Err(e),
        };
        inputs += 1;
        match answer {
            Ok(out) => outln!("{out}"),
            Err(e) => {
                failed += 1;
                eprintln!("mimi-ds-check: {}{e}", place(Some(number)));
            }
        }
    }
    match (inputs, failed) {
        (0, _) => bail!("no input: give it as an argument or on stdin, one per line"),
        (_, 0) => Ok(()),
        (1, _) => Err(AlreadyReported.into()),
        (all, n) => bail!("{n} of {all} inputs failed"),
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
