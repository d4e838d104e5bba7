//! Meta-commands: psql-style backslash commands, with DuckDB-style dot aliases.

use std::path::PathBuf;

/// Result formats the shell prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
    Markdown,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" | "aligned" | "box" | "duckbox" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "ndjson" | "jsonlines" => Ok(Format::Ndjson),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format `{other}`; use table, csv, json, ndjson or markdown"
            )),
        }
    }
}

/// A parsed meta-command.
#[derive(Debug, Clone, PartialEq)]
pub enum Meta {
    /// `\d`: tables and views with kind and source.
    ListTables,
    /// `\d NAME`: columns, types, and a shipped view's description.
    Describe(String),
    /// `\df [pattern]`
    Functions(Option<String>),
    /// `\dc`: connectors and their status.
    Connectors,
    /// `\timing [on|off]` (no argument toggles).
    Timing(Option<bool>),
    /// `\x [on|off]`: expanded rows.
    Expanded(Option<bool>),
    /// `\pset format F`
    Format(Format),
    /// `\o [FILE]`: results to a file, or back to the terminal.
    Output(Option<PathBuf>),
    /// `\i FILE`: run the statements of a file.
    Include(PathBuf),
    /// `\client [ID]`: scope the session to one client (no id: all clients).
    Client(Option<String>),
    /// `\annotate ...`: add a note to the project's annotations (the rest of the line).
    Annotate(String),
    Help,
    Quit,
}

pub struct Command {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "\\d",
        args: "[NAME]",
        help: "list tables and views; with NAME, its columns and description",
    },
    Command {
        name: "\\df",
        args: "[PATTERN]",
        help: "list functions (loopql's, and DataFusion's matching PATTERN)",
    },
    Command {
        name: "\\dc",
        args: "",
        help: "connectors: loaded, refused, and the sources using them",
    },
    Command {
        name: "\\timing",
        args: "[on|off]",
        help: "show how long each statement takes",
    },
    Command {
        name: "\\x",
        args: "[on|off]",
        help: "expanded rows: one column per line",
    },
    Command {
        name: "\\pset",
        args: "format table|csv|json|ndjson|markdown",
        help: "result format",
    },
    Command {
        name: "\\o",
        args: "[FILE]",
        help: "send results to FILE; no FILE: back to the terminal",
    },
    Command {
        name: "\\i",
        args: "FILE",
        help: "run the statements in FILE",
    },
    Command {
        name: "\\client",
        args: "[ID]",
        help: "scope the session to one client's data; no ID: all clients",
    },
    Command {
        name: "\\annotate",
        args: "[client=ID] DATE[..END] [channel=C] [campaign=C] TEXT",
        help: "note what happened (reports show it on charts)",
    },
    Command {
        name: "\\?",
        args: "",
        help: "this help",
    },
    Command {
        name: "\\q",
        args: "",
        help: "quit (also Ctrl-D)",
    },
    Command {
        name: ".tables",
        args: "",
        help: "as \\d",
    },
    Command {
        name: ".schema",
        args: "[NAME]",
        help: "as \\d [NAME]",
    },
    Command {
        name: ".mode",
        args: "FORMAT",
        help: "as \\pset format FORMAT",
    },
    Command {
        name: ".help",
        args: "",
        help: "as \\?",
    },
    Command {
        name: ".quit",
        args: "",
        help: "as \\q",
    },
];

fn on_off(arg: Option<&str>) -> Result<Option<bool>, String> {
    match arg.map(|a| a.to_ascii_lowercase()) {
        None => Ok(None),
        Some(a) if a == "on" => Ok(Some(true)),
        Some(a) if a == "off" => Ok(Some(false)),
        Some(a) => Err(format!("expected on or off, found `{a}`")),
    }
}

/// Parses one meta-command line.
pub fn parse(line: &str) -> Result<Meta, String> {
    let mut parts = line.split_whitespace();
    let name = parts.next().unwrap_or("");
    let args: Vec<&str> = parts.collect();
    let one = args.first().copied();
    let needs = |what: &str| format!("{name} needs {what}");
    match name {
        "\\d" | "\\dt" | "\\dv" | ".tables" => match one {
            None => Ok(Meta::ListTables),
            Some(n) => Ok(Meta::Describe(n.to_string())),
        },
        ".schema" => Ok(one.map_or(Meta::ListTables, |n| Meta::Describe(n.into()))),
        "\\df" => Ok(Meta::Functions(one.map(str::to_string))),
        "\\dc" => Ok(Meta::Connectors),
        "\\timing" => Ok(Meta::Timing(on_off(one)?)),
        "\\x" => Ok(Meta::Expanded(on_off(one)?)),
        "\\pset" => match args.as_slice() {
            ["format", f] => Ok(Meta::Format(f.parse()?)),
            _ => Err("usage: \\pset format table|csv|json|ndjson|markdown".into()),
        },
        ".mode" => Ok(Meta::Format(one.ok_or_else(|| needs("a format"))?.parse()?)),
        "\\o" => Ok(Meta::Output(one.map(PathBuf::from))),
        "\\i" => Ok(Meta::Include(PathBuf::from(
            one.ok_or_else(|| needs("a file"))?,
        ))),
        "\\client" => Ok(Meta::Client(one.map(str::to_string))),
        "\\annotate" => Ok(Meta::Annotate(
            line.trim_start()[name.len()..].trim().to_string(),
        )),
        "\\?" | "\\h" | "\\help" | ".help" => Ok(Meta::Help),
        "\\q" | "\\quit" | ".quit" | ".exit" => Ok(Meta::Quit),
        other => Err(format!("unknown command `{other}`; \\? lists them")),
    }
}

/// The `\?` text.
pub fn help() -> String {
    let mut out = String::from("Meta-commands:\n");
    for c in COMMANDS {
        let left = format!("{} {}", c.name, c.args);
        out.push_str(&format!("  {left:<44} {}\n", c.help));
    }
    out.push_str(
        "\nSQL statements end with `;` and may span lines. Tab completes; Ctrl-C cancels a running query; Ctrl-D quits.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_aliases() {
        assert_eq!(parse("\\d"), Ok(Meta::ListTables));
        assert_eq!(parse(".tables"), Ok(Meta::ListTables));
        assert_eq!(parse("\\d sessions"), Ok(Meta::Describe("sessions".into())));
        assert_eq!(
            parse(".schema sessions"),
            Ok(Meta::Describe("sessions".into()))
        );
        assert_eq!(parse("\\pset format csv"), Ok(Meta::Format(Format::Csv)));
        assert_eq!(parse(".mode markdown"), Ok(Meta::Format(Format::Markdown)));
        assert_eq!(parse("\\timing"), Ok(Meta::Timing(None)));
        assert_eq!(parse("\\x on"), Ok(Meta::Expanded(Some(true))));
        assert_eq!(
            parse("\\client acme"),
            Ok(Meta::Client(Some("acme".into())))
        );
        assert_eq!(parse("\\q"), Ok(Meta::Quit));
        assert_eq!(
            parse("\\annotate 2024-03-04  Spring  sale"),
            Ok(Meta::Annotate("2024-03-04  Spring  sale".into()))
        );
    }

    #[test]
    fn mistakes_say_what_to_do() {
        assert!(
            parse("\\pset format yaml")
                .unwrap_err()
                .contains("use table, csv")
        );
        assert!(
            parse("\\x maybe")
                .unwrap_err()
                .contains("expected on or off")
        );
        assert!(parse("\\zz").unwrap_err().contains("\\? lists them"));
        assert!(parse("\\i").unwrap_err().contains("needs a file"));
    }
}
