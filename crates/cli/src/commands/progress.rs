//! A sync's progress drawn on the terminal (indicatif): one spinner line per source and one for
//! the harmonized tables, with the table being read, rows read and bytes written.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use loopql_warehouse::progress::{Progress, ProgressLine};
use std::time::Duration;

/// Draws on standard error.
pub struct Terminal {
    multi: MultiProgress,
}

impl Terminal {
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }
}

impl Progress for Terminal {
    fn line(&self, label: &str) -> Box<dyn ProgressLine> {
        let bar = self.multi.add(ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{spinner} {prefix:<28} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Box::new(Line(bar))
    }
}

struct Line(ProgressBar);

impl ProgressLine for Line {
    fn show(&mut self, table: &str, rows: u64, bytes: u64) {
        self.0.set_message(format!(
            "{table}: {rows} rows read, {} written",
            HumanBytes(bytes)
        ));
    }

    fn finish(&mut self, message: &str) {
        self.0.finish_with_message(message.to_string());
    }
}
