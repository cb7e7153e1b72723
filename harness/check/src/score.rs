//! The suite proving itself against the reference DS's mutants: which case killed each, naming
//! which rule, and which rules no mutant breaks.

use crate::runner::{Case, CaseResult, Grade};
use crate::suite::{self, Options, Summary};
use crate::transport::Tls;
use crate::{cases, Error, Result};
use mimi_ds_binding::tls::{HttpVersions, Pki};
use mimi_ds_reference::mutants::{self, Mutant, MutantInfo, Rule, MUTANTS};
use std::path::Path;
use std::sync::Arc;

/// Whether a grade counts against a mutant: a MUST broken, or a SHOULD not met.
fn counts(result: &CaseResult) -> bool {
    matches!(result.grade, Grade::Fail | Grade::NonStrict)
}

/// Whether a run caught `mutant`: a case that failed (or, for a SHOULD, was non-strict)
/// naming one of the requirements the mutant breaks, or one of the errata decisions it
/// breaks. Returns the catching case.
pub fn caught_by(summary: &Summary, mutant: Mutant) -> Option<&CaseResult> {
    let info = mutants::info(mutant);
    summary.results.iter().filter(|r| counts(r)).find(|r| {
        r.violated.iter().any(|v| info.requirements.contains(v))
            || r.violated_errata.iter().any(|e| info.errata.contains(e))
    })
}

/// A case that failed against a mutant, and the rules its grade names.
pub struct Kill {
    pub case: String,
    pub named: Vec<Rule>,
}

/// What the vectors alone did to each mutant: every case that counted against it.
pub struct Score {
    pub runs: Vec<(&'static MutantInfo, Vec<Kill>)>,
}

impl Score {
    /// Runs every vector against every mutant the vectors must kill (all but
    /// `mutants::NOT_BY_VECTORS`); the mutants of the certificate check over mutual TLS,
    /// with the certificate cases.
    pub fn run(vectors: &Path) -> Result<Score> {
        let loaded = cases::load(vectors)?;
        let plain: Vec<Case> = suite::select(loaded.clone(), &Options::default())?;
        let pki = Pki::generate().map_err(|e| Error::Reference(std::io::Error::other(e)))?;
        let tls = Options {
            tls: Some(Tls {
                pki: Arc::new(pki),
                versions: HttpVersions::Any,
            }),
            ..Options::default()
        };
        let over_tls: Vec<Case> = suite::select(loaded, &tls)?;
        let mut runs = Vec::new();
        for m in by_vectors() {
            let (options, cases) = match mutants::OVER_TLS.contains(&m.kind) {
                true => (&tls, &over_tls),
                false => (&Options::default(), &plain),
            };
            let options = Options {
                mutant: Some(m.kind),
                ..options.clone()
            };
            let summary = suite::run(cases, &options, &|_, _| {})?;
            let kills = summary
                .results
                .iter()
                .filter(|r| counts(r))
                .map(|r| Kill {
                    case: r.id.clone(),
                    named: r
                        .violated
                        .iter()
                        .map(|v| Rule::Requirement(*v))
                        .chain(r.violated_errata.iter().map(|e| Rule::Erratum(*e)))
                        .collect(),
                })
                .collect();
            runs.push((m, kills));
        }
        Ok(Score { runs })
    }

    /// The first case that killed `mutant` naming `rule`.
    pub fn killer(&self, mutant: Mutant, rule: Rule) -> Option<&Kill> {
        self.runs
            .iter()
            .filter(|(m, _)| m.kind == mutant)
            .flat_map(|(_, kills)| kills)
            .find(|k| k.named.contains(&rule))
    }

    /// Mutants no case kills naming a rule they break.
    pub fn survivors(&self) -> Vec<&'static str> {
        self.runs
            .iter()
            .filter(|(m, _)| !rules_of(m).any(|r| self.killer(m.kind, r).is_some()))
            .map(|(m, _)| m.name)
            .collect()
    }

    /// (rule, mutant) pairs where the mutant breaks the rule but no case killing it names it
    /// (for the mutants the vectors must kill).
    pub fn unnamed(&self) -> Vec<(Rule, &'static str)> {
        mutants::rules()
            .into_iter()
            .flat_map(|rule| mutants::mutants_of(rule).map(move |m| (rule, m)))
            .filter(|(_, m)| mutants::not_by_vectors(m.kind).is_none())
            .filter(|(rule, m)| self.killer(m.kind, *rule).is_none())
            .map(|(rule, m)| (rule, m.name))
            .collect()
    }

    /// Wire rules with neither a mutant nor a reason for having none.
    pub fn uncovered() -> Vec<Rule> {
        mutants::rules()
            .into_iter()
            .filter(|r| mutants::mutants_of(*r).next().is_none())
            .filter(|r| mutants::why_without_mutant(*r).is_none())
            .collect()
    }
}

/// The mutants the vectors must kill.
pub fn by_vectors() -> impl Iterator<Item = &'static MutantInfo> {
    MUTANTS
        .iter()
        .filter(|m| mutants::not_by_vectors(m.kind).is_none())
}

fn rules_of(m: &MutantInfo) -> impl Iterator<Item = Rule> + '_ {
    m.requirements
        .iter()
        .map(|r| Rule::Requirement(*r))
        .chain(m.errata.iter().map(|e| Rule::Erratum(*e)))
}
