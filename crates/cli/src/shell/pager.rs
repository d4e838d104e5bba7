//! Results taller or wider than the terminal go through `$PAGER` (default `less -FRX`).

use std::io::Write;
use std::process::{Command, Stdio};

/// The terminal's (rows, columns): `LINES` / `COLUMNS` when set, else the controlling terminal's
/// size, else 24 x 80.
fn size() -> (usize, usize) {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    if let (Some(r), Some(c)) = (env("LINES"), env("COLUMNS")) {
        return (r, c);
    }
    crate::sys::terminal_size().unwrap_or((24, 80))
}

/// Whether `text` does not fit on the screen.
pub fn needed(text: &str) -> bool {
    let (rows, cols) = size();
    let lines = text.lines().count();
    let width = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    lines + 1 >= rows || width > cols
}

/// Shows `text` through the pager; prints it when the pager cannot start.
pub fn show(text: &str) {
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -FRX".to_string());
    let mut parts = pager.split_whitespace();
    let Some(program) = parts.next() else {
        println!("{text}");
        return;
    };
    match Command::new(program)
        .args(parts)
        .stdin(Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                // A pager quit early closes the pipe: not an error.
                let _ = writeln!(stdin, "{text}");
            }
            let _ = child.wait();
        }
        Err(_) => println!("{text}"),
    }
}
