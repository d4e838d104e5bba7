//! `cargo xtask tidy` (the first step of `cargo xtask test`): the rules of ARCHITECTURE.md a
//! program can check.
//!
//! - every Rust file opens with a `//!` line saying why it exists;
//! - `unsafe` appears only in the rooms ARCHITECTURE.md's `unsafe` invariant names;
//! - crates depend on crates of lower floors only (read from `cargo metadata`), so the core
//!   depends on no front end.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The floor of each workspace crate: a crate may depend (normal dependencies) only on crates
/// of a lower floor. ARCHITECTURE.md's "Layers" section says the same in words.
const FLOORS: &[(&str, u8)] = &[
    ("loopql-connector-sdk", 0),
    ("loopql-core", 1),
    ("loopql-warehouse", 2),
    ("loopql-flight", 2),
    ("loopql-reports", 2),
    ("loopql-cluster", 3),
    ("loopql-demo", 3),
    ("loopql", 4),
];

pub fn run(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let files = rust_files(root)?;
    let architecture =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).context("reading ARCHITECTURE.md")?;
    let rooms = unsafe_rooms(&architecture)?;
    for file in &files {
        let text =
            std::fs::read_to_string(root.join(file)).with_context(|| format!("reading {file}"))?;
        if !text.starts_with("//!") {
            problems.push(format!(
                "{file}:1: does not open with a `//!` line saying why the module exists"
            ));
        }
        if let Some(line) = unsafe_line(&text)
            && !rooms.iter().any(|r| file.starts_with(r.as_str()))
        {
            problems.push(format!(
                "{file}:{line}: `unsafe` outside the rooms ARCHITECTURE.md names ({})",
                rooms.join(", ")
            ));
        }
    }
    problems.extend(dependency_problems(&metadata(root)?)?);
    if !problems.is_empty() {
        bail!(
            "tidy: {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    eprintln!(
        "    tidy: {} Rust files documented, unsafe only in {}, crate layers respected",
        files.len(),
        rooms.join(", ")
    );
    Ok(())
}

/// The Rust files git knows (tracked, or new and not ignored), relative to `root`.
fn rust_files(root: &Path) -> Result<Vec<String>> {
    let out = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.rs",
        ])
        .output()
        .context("running git ls-files")?;
    if !out.status.success() {
        bail!("git ls-files: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|f| root.join(f).exists())
        .map(str::to_string)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The folders and files ARCHITECTURE.md allows `unsafe` in: the backticked paths on its
/// `**Invariant:** `unsafe` ...` line.
fn unsafe_rooms(architecture: &str) -> Result<Vec<String>> {
    let line = architecture
        .lines()
        .find(|l| l.starts_with("**Invariant:** `unsafe`"))
        .context("ARCHITECTURE.md has no line starting \"**Invariant:** `unsafe`\" naming where unsafe code may live")?;
    let rooms: Vec<String> = line
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|p| p.contains('/'))
        .map(str::to_string)
        .collect();
    if rooms.is_empty() {
        bail!("ARCHITECTURE.md's unsafe invariant names no folder or file");
    }
    Ok(rooms)
}

/// The first line (1-based) using the `unsafe` keyword, outside comments and string literals.
fn unsafe_line(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| has_word(&code_of(l), "unsafe"))
        .map(|i| i + 1)
}

/// A line without its `//` comment and the contents of its string literals.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => {
                in_string = !in_string;
                out.push('"');
            }
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            c if !in_string => out.push(c),
            _ => {}
        }
    }
    out
}

fn has_word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

fn metadata(root: &Path) -> Result<serde_json::Value> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("reading cargo metadata")
}

/// Dependencies between workspace crates that point sideways or up.
fn dependency_problems(metadata: &serde_json::Value) -> Result<Vec<String>> {
    let floor = |name: &str| FLOORS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?;
    let members: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut problems = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        let deps = p["dependencies"].as_array().cloned().unwrap_or_default();
        for d in deps {
            let dep = d["name"].as_str().unwrap_or_default();
            let normal = d["kind"].is_null();
            if !normal || !members.contains(&dep) || !dep.starts_with("loopql") {
                continue;
            }
            match (floor(name), floor(dep)) {
                (Some(a), Some(b)) if b < a => {}
                (Some(a), Some(b)) => problems.push(format!(
                    "{name} (floor {a}) depends on {dep} (floor {b}): arrows point down only"
                )),
                (None, _)
                    if name.starts_with("loopql-connector-")
                        || name.starts_with("loopql-testkit-") =>
                {
                    if dep != "loopql-connector-sdk" {
                        problems.push(format!(
                            "connector {name} depends on {dep}: connectors depend on the SDK only"
                        ));
                    }
                }
                (None, _) if name == "loopql-test-support" || name == "loopql-benches" => {}
                (None, _) => problems.push(format!(
                    "{name} depends on {dep} but has no floor in xtask/src/tidy.rs: place it"
                )),
                (Some(_), None) => problems.push(format!(
                    "{name} depends on {dep}, which has no floor in xtask/src/tidy.rs: place it"
                )),
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_is_found_in_code_only() {
        assert_eq!(
            unsafe_line("//! x\nfn f() {\n    unsafe { g() }\n}"),
            Some(3)
        );
        assert_eq!(unsafe_line("#[unsafe(no_mangle)]\nfn f() {}"), Some(1));
        assert_eq!(
            unsafe_line("// unsafe here is a comment\nlet s = \"unsafe\";"),
            None
        );
        assert_eq!(
            unsafe_line("let unsafe_count = 1; // not the keyword"),
            None
        );
        assert_eq!(unsafe_line("let s = \"a \\\" unsafe\"; x"), None);
    }

    #[test]
    fn rooms_come_from_the_invariant_line() {
        let text = "# x\n**Invariant:** `unsafe` lives only in `a/b/`, `c/sys.rs` and `connectors/sdk/`.\n";
        assert_eq!(
            unsafe_rooms(text).unwrap(),
            ["a/b/", "c/sys.rs", "connectors/sdk/"]
        );
        assert!(unsafe_rooms("no such line").is_err());
    }

    #[test]
    fn upward_and_sideways_dependencies_are_refused() {
        let meta = |deps: &[(&str, &str, Option<&str>)]| {
            let mut packages = Vec::new();
            for name in [
                "loopql-core",
                "loopql-reports",
                "loopql-flight",
                "loopql",
                "loopql-connector-ga4",
                "loopql-connector-sdk",
            ] {
                let d: Vec<serde_json::Value> = deps
                    .iter()
                    .filter(|(from, _, _)| *from == name)
                    .map(|(_, to, kind)| serde_json::json!({"name": to, "kind": kind}))
                    .collect();
                packages.push(serde_json::json!({"name": name, "dependencies": d}));
            }
            serde_json::json!({ "packages": packages })
        };
        let fine = meta(&[
            ("loopql-reports", "loopql-core", None),
            ("loopql", "loopql-reports", None),
            ("loopql-core", "loopql-connector-sdk", None),
            ("loopql-connector-ga4", "loopql-connector-sdk", None),
            // Dev-dependencies may point anywhere.
            ("loopql-core", "loopql-reports", Some("dev")),
        ]);
        assert!(dependency_problems(&fine).unwrap().is_empty());
        let up = meta(&[("loopql-core", "loopql-reports", None)]);
        let problems = dependency_problems(&up).unwrap();
        assert!(
            problems[0].contains("loopql-core (floor 1) depends on loopql-reports"),
            "{problems:?}"
        );
        let sideways = meta(&[("loopql-flight", "loopql-reports", None)]);
        assert_eq!(dependency_problems(&sideways).unwrap().len(), 1);
        let connector = meta(&[("loopql-connector-ga4", "loopql-core", None)]);
        assert!(dependency_problems(&connector).unwrap()[0].contains("SDK only"));
    }
}
