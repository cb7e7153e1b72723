//! Reports of a run, in `--report-dir`: `report.json` (every case with its requirements,
//! grade, expectation, observation, because-chain and wire log), `junit.xml` (one
//! testsuite per draft section, written by quick-junit) and `index.html` (a matrix per
//! section, each case with its wire log; a maud template, so every text it shows is escaped
//! by construction).

use crate::runner::{CaseResult, Grade};
use crate::suite::Summary;
use crate::{Error, Result};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use mimi_ds_binding::wire::Exchange;
use mimi_ds_model::requirements::ReqId;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// One line per case that did not pass: grade, id, what broke.
pub fn describe(result: &CaseResult) -> String {
    let what = match ids(&result.violated) {
        ids if ids.is_empty() => String::new(),
        ids => format!(" [{}]", ids.join(", ")),
    };
    format!(
        "{:<13} {}{what}: {}",
        result.grade.name(),
        result.id,
        first_reason(result)
    )
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
    write("junit.xml", junit(summary, strict)?)?;
    write("index.html", html(summary))?;
    Ok(())
}

pub fn json(summary: &Summary) -> String {
    let report = JsonReport {
        tool: concat!("mimi-ds-check ", env!("CARGO_PKG_VERSION")),
        target: &summary.target,
        summary: Grade::ALL
            .iter()
            .map(|g| (g.name(), summary.count(*g)))
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

/// The explanation of a non-passing case, as plain text.
fn explanation(r: &CaseResult) -> String {
    let mut text = String::new();
    if !r.violated.is_empty() {
        let _ = writeln!(text, "violates {}", ids(&r.violated).join(", "));
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

/// The first reason given for a case's grade (empty for a pass).
fn first_reason(r: &CaseResult) -> &str {
    r.because.first().map_or("", String::as_str)
}

fn ids(requirements: &[ReqId]) -> Vec<&'static str> {
    requirements.iter().map(|i| i.0).collect()
}

/// How a grade shows in JUnit: fail (and, under `--strict`, non-strict) as `<failure>`,
/// indeterminate as `<error>`, skipped as `<skipped>`; pass, non-strict and informational as
/// passing testcases, non-strict and informational with their note in `<system-out>`.
fn junit_status(r: &CaseResult, strict: bool) -> TestCaseStatus {
    let non_success = |kind| {
        let mut status = TestCaseStatus::non_success(kind);
        status
            .set_message(format!("{}: {}", r.grade.name(), first_reason(r)))
            .set_description(explanation(r));
        status
    };
    match r.grade {
        Grade::Fail => non_success(NonSuccessKind::Failure),
        Grade::NonStrict if strict => non_success(NonSuccessKind::Failure),
        Grade::Indeterminate => non_success(NonSuccessKind::Error),
        Grade::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(first_reason(r));
            status
        }
        Grade::Pass | Grade::NonStrict | Grade::Informational => TestCaseStatus::success(),
    }
}

fn seconds(millis: f64) -> Duration {
    Duration::from_secs_f64(millis.max(0.0) / 1000.0)
}

pub fn junit(summary: &Summary, strict: bool) -> Result<String> {
    let mut report = Report::new("mimi-ds-check");
    report.set_time(summary.wall);
    for (section, cases) in by_section(summary) {
        let mut suite = TestSuite::new(section);
        suite.set_time(seconds(cases.iter().map(|c| c.millis).sum()));
        for c in &cases {
            let status = junit_status(c, strict);
            let passing_with_note = matches!(status, TestCaseStatus::Success { .. })
                && matches!(c.grade, Grade::NonStrict | Grade::Informational);
            let mut case = TestCase::new(c.id.as_str(), status);
            case.set_classname(section)
                .set_time(seconds(c.millis))
                .add_property(Property::new(
                    "requirements",
                    ids(&c.requirements).join(" "),
                ));
            if passing_with_note {
                case.set_system_out(format!("{}: {}", c.grade.name(), explanation(c)));
            }
            suite.add_test_case(case);
        }
        // quick-junit counts skipped cases as `disabled`; `skipped` is the attribute most
        // readers of JUnit (Jenkins, GitLab, the Ant schema) look for.
        let skipped = suite.disabled.to_string();
        suite.extra.insert("skipped".into(), skipped.into());
        report.add_test_suite(suite);
    }
    report.to_string().map_err(Error::Junit)
}

fn colour(g: Grade) -> &'static str {
    match g {
        Grade::Pass => "#2e7d32",
        Grade::Fail => "#c62828",
        Grade::NonStrict => "#ef6c00",
        Grade::Informational => "#1565c0",
        Grade::Indeterminate => "#6a1b9a",
        Grade::Skipped => "#757575",
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}h2{margin-top:1.6em}\
.cell{display:inline-block;width:1.1em;height:1.1em;margin:1px;border-radius:2px}\
table{border-collapse:collapse;width:100%;table-layout:fixed}col.case{width:26%}col.grade{width:8%}col.reqs{width:22%}\
td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
.v{color:#fff;padding:.1em .4em;border-radius:3px;font-size:.85em}\
pre{background:#f6f6f6;padding:.5em;font-size:.8em;white-space:pre-wrap;word-break:break-all}code{word-break:break-all}\
details summary{cursor:pointer}";

/// A grade as a coloured label.
fn label(g: Grade, text: &str) -> Markup {
    html! { span.v style={ "background:" (colour(g)) } { (text) } }
}

/// One exchange of the wire log: who called whom, where, the status, both bodies.
fn exchange(e: &Exchange) -> String {
    let error = e
        .error
        .as_ref()
        .map(|x| format!("\n  error: {x}"))
        .unwrap_or_default();
    format!(
        "{} → {} POST {} [{}]\n  request:  {}\n  response: {}{error}\n",
        e.from, e.to, e.path, e.status, e.request, e.response
    )
}

pub fn html(summary: &Summary) -> String {
    let not_passed: Vec<&CaseResult> = summary
        .results
        .iter()
        .filter(|r| r.grade != Grade::Pass)
        .collect();
    // Line breaks between blocks keep the file readable and its diffs small.
    let page = html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "mimi-ds-check report" }
                style { (PreEscaped(STYLE)) }
            } "\n"
            body {
                h1 { "mimi-ds-check report" } "\n"
                p { (summary.line()) } "\n"
                p {
                    @for g in Grade::ALL {
                        (label(g, &format!("{} {}", summary.count(g), g.name()))) " "
                    }
                } "\n"
                @if !not_passed.is_empty() {
                    h2 { "Not passed" } "\n"
                    ul {
                        "\n"
                        @for c in &not_passed {
                            li {
                                (label(c.grade, c.grade.name())) " "
                                a href={ "#" (c.id) } { code { (c.id) } } " "
                                small { (ids(&c.violated).join(", ")) }
                            } "\n"
                        }
                    } "\n"
                }
                @for (section, cases) in by_section(summary) {
                    h2 id=(section) { (section) } "\n"
                    div {
                        @for c in &cases {
                            a href={ "#" (c.id) } title={ (c.id) ": " (c.grade.name()) } {
                                span.cell style={ "background:" (colour(c.grade)) } {}
                            }
                        }
                    } "\n"
                    table {
                        colgroup { col.case; col.grade; col.reqs; col; }
                        tr { th { "case" } th { "verdict" } th { "requirements" } th { "details" } } "\n"
                        @for c in &cases {
                            tr id=(c.id) {
                                td { code { (c.id) } br; small { (c.comment) } }
                                td { (label(c.grade, c.grade.name())) }
                                td { small { (ids(&c.requirements).join(", ")) } }
                                td {
                                    @if c.grade != Grade::Pass {
                                        pre { (explanation(c)) }
                                    }
                                    details {
                                        summary { "wire log (" (c.wire.len()) " exchanges)" }
                                        pre { @for e in &c.wire { (exchange(e)) } }
                                    }
                                }
                            } "\n"
                        }
                    } "\n"
                }
            }
        }
    };
    let mut text = page.into_string();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Case, Role};
    use mimi_ds_model::codec::ServiceProviderId;

    /// Text a target controls (its answers, hence the because-chain and the wire log) or a
    /// vector file carries (ids, comments), made to break markup if it were not escaped.
    const HOSTILE: &str = "</pre><script>alert(\"x\")</script> & 'quoted' \u{1b}[31m";

    fn result(grade: Grade) -> CaseResult {
        let case = Case {
            id: format!("receive/{}<i>", grade.name()),
            comment: HOSTILE.into(),
            requirements: vec![ReqId("receive/counter")],
            errata: Vec::new(),
            role: Role::Hub,
            target: ServiceProviderId::new("hub.example").expect("a valid id"),
            steps: Vec::new(),
        };
        let mut result = CaseResult::new(&case, grade);
        if grade != Grade::Pass {
            result.because = vec![HOSTILE.into()];
            result.observed = Some(HOSTILE.into());
        }
        result.wire = vec![Exchange::outbound(
            "control",
            "target",
            "/x",
            HOSTILE.as_bytes(),
            Err(HOSTILE),
        )];
        result
    }

    fn summary() -> Summary {
        Summary {
            target: HOSTILE.into(),
            results: Grade::ALL.into_iter().map(result).collect(),
            wall: Duration::from_millis(5),
            exchanges: 6,
            floor: Duration::from_micros(20),
        }
    }

    #[test]
    fn html_escapes_every_text_it_shows() {
        let page = html(&summary());
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<i>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;"));
        // Every case of every grade is in the matrix and the table.
        for g in Grade::ALL {
            let id = format!("receive/{}&lt;i&gt;", g.name());
            assert!(page.contains(&format!("href=\"#{id}\"")), "{id}");
            assert!(page.contains(&format!("<tr id=\"{id}\">")), "{id}");
        }
    }

    /// The JUnit elements of each grade, with and without `--strict`.
    #[test]
    fn junit_maps_each_grade_and_keeps_the_xml_well_formed() {
        for strict in [false, true] {
            let xml = junit(&summary(), strict).expect("junit serializes");
            assert!(
                !xml.contains("<script>") && !xml.contains('\u{1b}'),
                "{xml}"
            );
            let element = |grade: Grade| {
                let id = format!("name=\"receive/{}&lt;i&gt;\"", grade.name());
                let start = xml.find(&id).unwrap_or_else(|| panic!("{id} in {xml}"));
                let end = start + xml[start..].find("</testcase>").expect("closed");
                xml[start..end].to_owned()
            };
            assert!(element(Grade::Fail).contains("<failure message=\"fail: "));
            assert!(element(Grade::Indeterminate).contains("<error message=\"indeterminate: "));
            assert!(element(Grade::Skipped).contains("<skipped message="));
            let non_strict = element(Grade::NonStrict);
            assert_eq!(non_strict.contains("<failure "), strict, "{non_strict}");
            assert_eq!(
                non_strict.contains("<system-out>non-strict: "),
                !strict,
                "{non_strict}"
            );
            let informational = element(Grade::Informational);
            assert!(informational.contains("<system-out>informational: "));
            assert!(!informational.contains("<failure "));
            let pass = element(Grade::Pass);
            assert!(!pass.contains("<failure ") && !pass.contains("<system-out>"));
            assert!(xml.contains(&format!(
                "failures=\"{}\" errors=\"1\"",
                if strict { 2 } else { 1 }
            )));
        }
    }
}
