//! A sync's progress drawn on the terminal (indicatif): one spinner line per source and one for
//! the harmonized tables, with the table being read, rows read and bytes written, and for a live
//! API source the pages and records fetched so far.

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
        Box::new(Line {
            bar,
            read: String::new(),
            fetched: String::new(),
        })
    }
}

struct Line {
    bar: ProgressBar,
    read: String,
    /// What a live API source fetched so far ("3 pages, 250 records fetched; ").
    fetched: String,
}

impl Line {
    fn draw(&self) {
        self.bar
            .set_message(format!("{}{}", self.fetched, self.read));
    }
}

impl ProgressLine for Line {
    fn show(&mut self, table: &str, rows: u64, bytes: u64) {
        self.read = format!("{table}: {rows} rows read, {} written", HumanBytes(bytes));
        self.draw();
    }

    fn fetched(&mut self, pages: u64, records: u64) {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        self.fetched = if records > 0 {
            format!(
                "{pages} page{} ({records} record{}) fetched; ",
                s(pages),
                s(records)
            )
        } else {
            format!("{pages} page{} fetched; ", s(pages))
        };
        self.draw();
    }

    fn finish(&mut self, message: &str) {
        self.bar.finish_with_message(message.to_string());
    }
}
