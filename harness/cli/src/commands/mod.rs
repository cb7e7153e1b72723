//! One module per family of commands, each taking parsed options and printing lines; errors
//! go back to `main`, which prints them as one line and sets the exit code.

use anyhow::{bail, Result};
use std::time::Duration;

pub mod catalogue;
pub mod codec;
pub mod fuzz;
pub mod stress;
pub mod suite;
pub mod tls;
pub mod vectors;

/// A progress bar drawn with `template` (of `length` steps, or a spinner) when stderr is a
/// terminal; none in logs, which get a line per finding instead.
pub fn progress_bar(length: Option<u64>, template: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal().then(|| {
        let bar = match length {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::no_length(),
        };
        bar.set_style(indicatif::ProgressStyle::with_template(template).expect("valid template"));
        bar
    })
}

/// A duration flag in seconds, refused outside (0, 3600].
pub fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if value.is_finite() && value > 0.0 && value <= 3600.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        bail!("{flag} {value}: give seconds between 0 and 3600")
    }
}
