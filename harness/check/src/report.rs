//! Reports of a run, in `--report-dir`: `report.json` (every case with its requirements,
//! verdict, expectation, observation, because-chain and wire log), `junit.xml` (one
//! testsuite per draft section) and `index.html` (a matrix per section, each case with its
//! wire log).

use crate::runner::{CaseResult, Grade};
use crate::suite::Summary;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One line per case that did not pass: verdict, id, what broke.
pub fn describe(result: &CaseResult) -> String {
    let ids: Vec<&str> = result.violated.iter().map(|r| r.0).collect();
    let what = if ids.is_empty() {
        String::new()
    } else {
        format!(" [{}]", ids.join(", "))
    };
    let first = result.because.first().map(String::as_str).unwrap_or("");
    format!("{:<13} {}{what}: {first}", result.grade.name(), result.id)
}

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: &'static str,
    target: &'a str,
    summary: BTreeMap<&'static str, usize>,
    cases: &'a [CaseResult],
}

/// Writes the three reports; `strict` makes SHOULDs not met JUnit failures.
pub fn write_all(dir: &Path, summary: &Summary, strict: bool) -> Result {
    std::fs::create_dir_all(dir).map_err(|source| Error::Report {
        action: "creating",
        path: dir.to_owned(),
        source,
    })?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| Error::Report {
            action: "writing",
            path,
            source,
        })
    };
    write("report.json", json(summary))?;
    write("junit.xml", junit(summary, strict))?;
    write("index.html", html(summary))?;
    Ok(())
}

pub fn json(summary: &Summary) -> String {
    let report = JsonReport {
        tool: concat!("mimi-ds-check ", env!("CARGO_PKG_VERSION")),
        target: &summary.target,
        summary: Grade::ALL
            .iter()
            .map(|v| (v.name(), summary.count(*v)))
            .collect(),
        cases: &summary.results,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("reports serialize");
    text.push('\n');
    text
}

fn by_section(summary: &Summary) -> BTreeMap<&str, Vec<&CaseResult>> {
    let mut sections: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in &summary.results {
        sections.entry(r.section.as_str()).or_default().push(r);
    }
    sections
}

/// XML and HTML escaping (the same five characters).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The explanation of a non-passing case, as plain text.
fn explanation(r: &CaseResult) -> String {
    let mut text = String::new();
    if !r.violated.is_empty() {
        let ids: Vec<&str> = r.violated.iter().map(|i| i.0).collect();
        let _ = writeln!(text, "violates {}", ids.join(", "));
    }
    if let Some(step) = r.step {
        let _ = writeln!(text, "at step {step}");
    }
    if let Some(e) = &r.expected {
        let _ = writeln!(text, "expected: {e}");
    }
    if let Some(o) = &r.observed {
        let _ = writeln!(text, "observed: {o}");
    }
    for b in &r.because {
        let _ = writeln!(text, "because {b}");
    }
    text
}

/// How a grade shows in JUnit: fail (and, under `--strict`, non-strict) as `<failure>`,
/// indeterminate as `<error>`, skipped as `<skipped>`; pass and informational as passing
/// testcases, informational with its note in `<system-out>`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JunitKind {
    Passed,
    Failure,
    Error,
    Skipped,
}

fn junit_kind(grade: Grade, strict: bool) -> JunitKind {
    match grade {
        Grade::Fail => JunitKind::Failure,
        Grade::NonStrict if strict => JunitKind::Failure,
        Grade::Indeterminate => JunitKind::Error,
        Grade::Skipped => JunitKind::Skipped,
        Grade::Pass | Grade::NonStrict | Grade::Informational => JunitKind::Passed,
    }
}

pub fn junit(summary: &Summary, strict: bool) -> String {
    let count = |cases: &[&CaseResult], kind: JunitKind| {
        cases
            .iter()
            .filter(|c| junit_kind(c.grade, strict) == kind)
            .count()
    };
    let all: Vec<&CaseResult> = summary.results.iter().collect();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"mimi-ds-check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        all.len(),
        count(&all, JunitKind::Failure),
        count(&all, JunitKind::Error),
        count(&all, JunitKind::Skipped)
    );
    for (section, cases) in by_section(summary) {
        let seconds: f64 = cases.iter().map(|c| c.millis / 1000.0).sum();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">",
            escape(section),
            cases.len(),
            count(&cases, JunitKind::Failure),
            count(&cases, JunitKind::Error),
            count(&cases, JunitKind::Skipped)
        );
        for c in cases {
            let ids: Vec<&str> = c.requirements.iter().map(|i| i.0).collect();
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
                escape(section),
                escape(&c.id),
                c.millis / 1000.0
            );
            let message = escape(c.because.first().map_or("", |s| s));
            let element = match junit_kind(c.grade, strict) {
                JunitKind::Failure => Some("failure"),
                JunitKind::Error => Some("error"),
                JunitKind::Skipped => {
                    let _ = write!(x, "<skipped message=\"{message}\"/>");
                    None
                }
                JunitKind::Passed => None,
            };
            if let Some(element) = element {
                let _ = write!(
                    x,
                    "<{element} message=\"{}: {message}\">{}</{element}>",
                    c.grade.name(),
                    escape(&explanation(c))
                );
            } else if matches!(c.grade, Grade::NonStrict | Grade::Informational) {
                let _ = write!(
                    x,
                    "<system-out>{}: {}</system-out>",
                    c.grade.name(),
                    escape(&explanation(c))
                );
            }
            let _ = writeln!(x, "<properties><property name=\"requirements\" value=\"{}\"/></properties></testcase>", escape(&ids.join(" ")));
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn colour(v: Grade) -> &'static str {
    match v {
        Grade::Pass => "#2e7d32",
        Grade::Fail => "#c62828",
        Grade::NonStrict => "#ef6c00",
        Grade::Informational => "#1565c0",
        Grade::Indeterminate => "#6a1b9a",
        Grade::Skipped => "#757575",
    }
}

pub fn html(summary: &Summary) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mimi-ds-check report</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}h2{{margin-top:1.6em}}\
.cell{{display:inline-block;width:1.1em;height:1.1em;margin:1px;border-radius:2px}}\
table{{border-collapse:collapse;width:100%;table-layout:fixed}}col.case{{width:26%}}col.verdict{{width:8%}}col.reqs{{width:22%}}td,th{{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}}\
.v{{color:#fff;padding:.1em .4em;border-radius:3px;font-size:.85em}}pre{{background:#f6f6f6;padding:.5em;font-size:.8em;white-space:pre-wrap;word-break:break-all}}code{{word-break:break-all}}\
details summary{{cursor:pointer}}</style></head><body>\n<h1>mimi-ds-check report</h1>\n<p>{}</p>\n",
        escape(&summary.line())
    );
    h.push_str("<p>");
    for v in Grade::ALL {
        let _ = write!(
            h,
            "<span class=\"v\" style=\"background:{}\">{} {}</span> ",
            colour(v),
            summary.count(v),
            v.name()
        );
    }
    h.push_str("</p>\n");
    let not_passed: Vec<&CaseResult> = summary
        .results
        .iter()
        .filter(|r| r.grade != Grade::Pass)
        .collect();
    if !not_passed.is_empty() {
        h.push_str("<h2>Not passed</h2>\n<ul>\n");
        for c in not_passed {
            let ids: Vec<&str> = c.violated.iter().map(|i| i.0).collect();
            let _ = writeln!(
                h,
                "<li><span class=\"v\" style=\"background:{}\">{}</span> <a href=\"#{}\"><code>{}</code></a> <small>{}</small></li>",
                colour(c.grade),
                c.grade.name(),
                escape(&c.id),
                escape(&c.id),
                escape(&ids.join(", "))
            );
        }
        h.push_str("</ul>\n");
    }
    for (section, cases) in by_section(summary) {
        let _ = writeln!(h, "<h2 id=\"{0}\">{0}</h2>\n<div>", escape(section));
        for c in &cases {
            let _ = write!(h, "<a href=\"#{0}\" title=\"{0}: {1}\"><span class=\"cell\" style=\"background:{2}\"></span></a>", escape(&c.id), c.grade.name(), colour(c.grade));
        }
        h.push_str("</div>\n<table><colgroup><col class=\"case\"><col class=\"verdict\"><col class=\"reqs\"><col></colgroup><tr><th>case</th><th>verdict</th><th>requirements</th><th>details</th></tr>\n");
        for c in &cases {
            let ids: Vec<&str> = c.requirements.iter().map(|i| i.0).collect();
            let _ = write!(
                h,
                "<tr id=\"{}\"><td><code>{}</code><br><small>{}</small></td><td><span class=\"v\" style=\"background:{}\">{}</span></td><td><small>{}</small></td><td>",
                escape(&c.id),
                escape(&c.id),
                escape(&c.comment),
                colour(c.grade),
                c.grade.name(),
                escape(&ids.join(", "))
            );
            if c.grade != Grade::Pass {
                let _ = write!(h, "<pre>{}</pre>", escape(&explanation(c)));
            }
            let _ = write!(
                h,
                "<details><summary>wire log ({} exchanges)</summary><pre>",
                c.wire.len()
            );
            for e in &c.wire {
                let _ = writeln!(
                    h,
                    "{} → {} POST {} [{}]\n  request:  {}\n  response: {}{}",
                    escape(&e.from),
                    escape(&e.to),
                    escape(&e.path),
                    e.status,
                    escape(&e.request),
                    escape(&e.response),
                    e.error
                        .as_ref()
                        .map(|x| format!("\n  error: {}", escape(x)))
                        .unwrap_or_default()
                );
            }
            h.push_str("</pre></details></td></tr>\n");
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}
