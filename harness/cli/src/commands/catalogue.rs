//! `requirements` and `errata`: the model's two catalogues, as a table or as JSON.

use anyhow::{Context, Result};
use mimi_ds_model::errata::ERRATA;
use mimi_ds_model::requirements::CATALOGUE;

/// Every normative statement of the draft: id, level, section (or the catalogue as JSON).
pub fn requirements(json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(CATALOGUE).context("the catalogue as JSON")?;
        outln!("{text}");
        return Ok(());
    }
    for r in CATALOGUE {
        outln!(
            "{:<52} {:<10} {}",
            r.id.0,
            r.level.keyword().unwrap_or("STATEMENT"),
            r.section
        );
    }
    Ok(())
}

/// Every decision on what the draft leaves open, with its reason (or the record as JSON).
pub fn errata(json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(ERRATA).context("the errata as JSON")?;
        outln!("{text}");
        return Ok(());
    }
    for e in ERRATA {
        outln!(
            "{}\n  decision: {}\n  reason:   {}\n",
            e.id.0,
            e.decision,
            e.reason
        );
    }
    Ok(())
}
