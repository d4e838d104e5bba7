//! Progress of a sync on the terminal: one line per source (and one for the harmonized tables)
//! with the table being read, rows read and bytes written. Drawn only on a terminal.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

#[derive(Debug)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// `enabled` false (tests, `--quiet`) draws nothing.
    pub fn new(enabled: bool) -> Self {
        let multi = enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi }
    }

    /// A line for one source or step.
    pub fn line(&self, label: &str) -> Line {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("{spinner} {prefix:<28} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Line {
            bar,
            table: String::new(),
            rows: 0,
            bytes: 0,
        }
    }
}

#[derive(Debug)]
pub struct Line {
    bar: Option<ProgressBar>,
    table: String,
    pub rows: u64,
    pub bytes: u64,
}

impl Line {
    pub fn table(&mut self, name: &str) {
        self.table = name.to_string();
        self.draw();
    }

    pub fn rows(&mut self, n: u64) {
        self.rows += n;
        self.draw();
    }

    pub fn bytes(&mut self, n: u64) {
        self.bytes += n;
        self.draw();
    }

    fn draw(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{}: {} rows read, {} written",
                self.table,
                self.rows,
                HumanBytes(self.bytes)
            ));
        }
    }

    pub fn finish(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(message.to_string());
        }
    }
}
