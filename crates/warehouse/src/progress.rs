//! What a sync tells as it goes: one line per source (and one for the harmonized tables) with
//! the table being read, rows read and bytes written. The sync only counts; whoever runs it
//! decides how to show it (the `loopql` binary draws the lines on a terminal).

use std::sync::Arc;

/// Shows a sync's progress.
pub trait Progress: Send + Sync {
    /// A line for one source or step, labelled `label`.
    fn line(&self, label: &str) -> Box<dyn ProgressLine>;
}

/// One line of a [`Progress`].
pub trait ProgressLine: Send {
    /// The line's numbers changed.
    fn show(&mut self, table: &str, rows: u64, bytes: u64);
    /// The step ended with `message`.
    fn finish(&mut self, message: &str);
}

/// A sync's progress lines (shown or not) and their counts.
#[derive(Clone, Default)]
pub struct Lines {
    shown: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("shown", &self.shown.is_some())
            .finish()
    }
}

impl Lines {
    /// `None` shows nothing (tests, `--quiet`).
    pub fn new(shown: Option<Arc<dyn Progress>>) -> Self {
        Self { shown }
    }

    pub fn line(&self, label: &str) -> Line {
        Line {
            shown: self.shown.as_ref().map(|p| p.line(label)),
            table: String::new(),
            rows: 0,
            bytes: 0,
        }
    }
}

/// One step's counts, shown as they change.
pub struct Line {
    shown: Option<Box<dyn ProgressLine>>,
    table: String,
    pub rows: u64,
    pub bytes: u64,
}

impl Line {
    pub fn table(&mut self, name: &str) {
        self.table = name.to_string();
        self.show();
    }

    pub fn rows(&mut self, n: u64) {
        self.rows += n;
        self.show();
    }

    pub fn bytes(&mut self, n: u64) {
        self.bytes += n;
        self.show();
    }

    fn show(&mut self) {
        if let Some(line) = &mut self.shown {
            line.show(&self.table, self.rows, self.bytes);
        }
    }

    pub fn finish(&mut self, message: &str) {
        if let Some(line) = &mut self.shown {
            line.finish(message);
        }
    }
}
