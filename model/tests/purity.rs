//! The model stays a reference: its non-test code reads no file, clock, network, environment
//! or randomness and depends on no async runtime or HTTP crate. Checked on the source and the
//! manifest, so a change that breaks it fails here rather than in review.

use std::path::Path;

const ALLOWED_DEPENDENCIES: &[&str] = &[
    "serde",
    "serde_json",
    "hex",
    "sha2",
    "imbl",
    "schemars",
    "arbitrary",
];

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::time",
    "SystemTime",
    "Instant::",
    "std::env",
    "std::thread",
    "std::process",
    "rand::",
    "getrandom",
    "tokio",
    "async fn",
    "reqwest",
    "hyper",
    "axum",
    "stdin()",
    "File::",
    // imbl's hashed collections draw a random seed; its ordered ones are deterministic.
    "imbl::Hash",
];

fn non_test_source(path: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(path).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            non_test_source(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Test modules sit at the end of a file, after `#[cfg(test)]`.
            let code = text.split("#[cfg(test)]").next().unwrap().to_owned();
            out.push((path.display().to_string(), code));
        }
    }
}

#[test]
fn non_test_code_does_no_io_and_reads_no_clock_or_randomness() {
    let mut files = Vec::new();
    non_test_source(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10, "found the model's sources");
    for (name, code) in &files {
        for token in FORBIDDEN {
            assert!(!code.contains(token), "{name} uses {token} outside tests");
        }
    }
}

#[test]
fn the_model_depends_only_on_pure_crates() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    let names: Vec<&str> = dependencies
        .lines()
        .filter_map(|l| l.split(['=', '.']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    assert!(!names.is_empty());
    for name in names {
        assert!(
            ALLOWED_DEPENDENCIES.contains(&name),
            "the model depends on {name}"
        );
    }
}
