//! `loopql shell`: the interactive SQL shell (rustyline), and its non-interactive modes (`-c`,
//! `-f`, statements piped on standard input). Statements are checked by the SQL parser before
//! they are sent; Ctrl-C cancels a running query and keeps the session; a query running longer
//! than a second shows its progress; tall or wide results go through `$PAGER` on a terminal.

mod annotate;
mod complete;
mod describe;
mod helper;
mod meta;
mod pager;
mod render;
mod statements;
mod suggest;
mod validate;

use complete::Catalog;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::StreamExt;
use loopql_core::{Engine, EngineBuilder, FrontEnd, QueryOptions};
use meta::{Format, Meta};
use statements::Unit;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How the shell was started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Scope to one client from the start.
    pub client: Option<String>,
    /// `-c SQL`, in order.
    pub commands: Vec<String>,
    /// `-f FILE`.
    pub file: Option<PathBuf>,
}

/// What running one unit led to.
enum Outcome {
    Ok,
    Failed,
    Quit,
}

struct Shell {
    /// Opens the session's engines (the project and its read mode); `\client` reopens.
    engines: EngineBuilder,
    engine: Engine,
    client: Option<String>,
    catalog: Arc<RwLock<Catalog>>,
    format: Format,
    expanded: bool,
    timing: bool,
    output: Option<(PathBuf, std::fs::File)>,
    interactive: bool,
}

/// Where the shell keeps its history: `$XDG_DATA_HOME/loopql`, else `~/.local/share/loopql`.
pub fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("loopql").join("history"))
}

async fn open(engines: &EngineBuilder, client: Option<&str>) -> Result<Engine, String> {
    match engines.clone().client(client) {
        Ok(scoped) => scoped.open().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the shell; returns the process exit code (0, or 1 after the first error when not
/// interactive).
pub async fn run(engines: EngineBuilder, options: Options) -> i32 {
    let engine = match open(&engines, options.client.as_deref()).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let scripted = !options.commands.is_empty() || options.file.is_some();
    let interactive = !scripted && std::io::stdin().is_terminal();
    let mut shell = Shell {
        engines,
        engine,
        client: options.client.clone(),
        catalog: Arc::new(RwLock::new(Catalog::default())),
        format: Format::Table,
        expanded: false,
        timing: false,
        output: None,
        interactive,
    };
    if scripted {
        for sql in &options.commands {
            let units = statements::all(sql);
            if !shell.run_units(units).await {
                return 1;
            }
        }
        if let Some(file) = &options.file {
            match shell.run_file(file).await {
                Outcome::Failed => return 1,
                Outcome::Ok | Outcome::Quit => {}
            }
        }
        return 0;
    }
    if !interactive {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: reading standard input: {e}");
            return 1;
        }
        let units = statements::all(&text);
        return if shell.run_units(units).await { 0 } else { 1 };
    }
    shell.interactive_loop().await
}

impl Shell {
    async fn refresh_catalog(&self) {
        match describe::catalog(&self.engine).await {
            Ok(c) => {
                if let Ok(mut slot) = self.catalog.write() {
                    *slot = c;
                }
            }
            Err(e) => eprintln!("warning: completion catalog not refreshed: {e}"),
        }
    }

    /// Runs units in order; false at the first failure (the rest is not run).
    async fn run_units(&mut self, units: Vec<Unit>) -> bool {
        for u in units {
            match self.run_unit(u).await {
                Outcome::Ok => {}
                Outcome::Failed => return false,
                Outcome::Quit => return true,
            }
        }
        true
    }

    async fn run_file(&mut self, path: &Path) -> Outcome {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let units = statements::all(&text);
                if Box::pin(self.run_units(units)).await {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                }
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                Outcome::Failed
            }
        }
    }

    async fn run_unit(&mut self, unit: Unit) -> Outcome {
        match unit {
            Unit::Meta(line) => match meta::parse(&line) {
                Ok(m) => self.run_meta(m).await,
                Err(e) => {
                    eprintln!("error: {e}");
                    Outcome::Failed
                }
            },
            Unit::Sql(sql) => self.run_sql(&sql).await,
        }
    }

    /// Prints a result to the output file or the terminal (through the pager when it is too
    /// big for the screen).
    fn emit(&mut self, text: &str) {
        match &mut self.output {
            Some((path, file)) => {
                if let Err(e) = writeln!(file, "{text}") {
                    eprintln!("error: {}: {e}", path.display());
                }
            }
            None => {
                if self.interactive && std::io::stdout().is_terminal() && pager::needed(text) {
                    pager::show(text);
                } else {
                    println!("{text}");
                }
            }
        }
    }

    fn show(&mut self, schema: &SchemaRef, batches: &[RecordBatch]) -> bool {
        match render::render(schema, batches, self.format, self.expanded) {
            Ok(text) => {
                self.emit(&text);
                true
            }
            Err(e) => {
                eprintln!("error: {e}");
                false
            }
        }
    }

    async fn run_meta(&mut self, m: Meta) -> Outcome {
        match m {
            Meta::Quit => Outcome::Quit,
            Meta::Help => {
                self.emit(&meta::help());
                Outcome::Ok
            }
            Meta::Timing(v) => {
                self.timing = v.unwrap_or(!self.timing);
                println!("Timing is {}.", if self.timing { "on" } else { "off" });
                Outcome::Ok
            }
            Meta::Expanded(v) => {
                self.expanded = v.unwrap_or(!self.expanded);
                println!(
                    "Expanded display is {}.",
                    if self.expanded { "on" } else { "off" }
                );
                Outcome::Ok
            }
            Meta::Format(f) => {
                self.format = f;
                println!("Output format is {f:?}.");
                Outcome::Ok
            }
            Meta::Output(path) => self.output_to(path),
            Meta::Include(path) => Box::pin(self.run_file(&path)).await,
            Meta::Client(id) => self.scope_to(id).await,
            Meta::Annotate(args) => self.annotate(&args).await,
            Meta::ListTables => {
                let listed = describe::list_tables(&self.engine).await;
                self.show_listing(listed)
            }
            Meta::Describe(name) => self.describe(&name).await,
            Meta::Functions(pattern) => {
                let listed = describe::functions(&self.engine, pattern.as_deref()).await;
                self.show_listing(listed)
            }
            Meta::Connectors => {
                let listed = describe::connectors(&self.engine);
                self.show_listing(listed)
            }
        }
    }

    /// Shows a meta-command's table, or its error.
    fn show_listing(
        &mut self,
        listed: datafusion::error::Result<(SchemaRef, RecordBatch)>,
    ) -> Outcome {
        match listed {
            Ok((s, b)) => {
                if self.show(&s, &[b]) {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Failed
            }
        }
    }

    /// `\o [FILE]`: results to a file, or back to the terminal.
    fn output_to(&mut self, path: Option<PathBuf>) -> Outcome {
        self.output = None;
        if let Some(path) = path {
            match std::fs::File::create(&path) {
                Ok(f) => self.output = Some((path, f)),
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return Outcome::Failed;
                }
            }
        }
        Outcome::Ok
    }

    /// `\client [ID]`: reopens the engine scoped to one client (or to all).
    async fn scope_to(&mut self, id: Option<String>) -> Outcome {
        match open(&self.engines, id.as_deref()).await {
            Ok(engine) => {
                self.engine = engine;
                self.client = id;
                self.refresh_catalog().await;
                match &self.client {
                    Some(c) => println!("Scoped to client {c}: every table shows its rows only."),
                    None => println!("All clients."),
                }
                Outcome::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Failed
            }
        }
    }

    /// `\annotate ...`: appends a note to the project's annotations.
    async fn annotate(&mut self, args: &str) -> Outcome {
        let author = std::env::var("USER").ok().filter(|u| !u.is_empty());
        let project = self.engines.project();
        let noted = annotate::parse_command(args, self.client.as_deref(), author).and_then(|a| {
            if project.client(&a.client_id).is_none() {
                return Err(loopql_core::EngineError::UnknownClient {
                    id: a.client_id.clone(),
                    known: project.clients.iter().map(|c| c.id.clone()).collect(),
                }
                .to_string());
            }
            loopql_core::annotations::append(project, &a)
                .map(|path| (a, path))
                .map_err(|e| e.to_string())
        });
        match noted {
            Ok((a, path)) => {
                // Reopen so the `annotations` table shows the new note.
                if let Ok(engine) = open(&self.engines, self.client.as_deref()).await {
                    self.engine = engine;
                }
                println!(
                    "Noted for {} on {} ({}).",
                    a.client_id,
                    a.date,
                    path.display()
                );
                Outcome::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Failed
            }
        }
    }

    /// `\d NAME`: columns, and a shipped view's description; "did you mean" when unknown.
    async fn describe(&mut self, name: &str) -> Outcome {
        match describe::describe(&self.engine, name).await {
            Ok(Some((s, b, description))) => {
                let ok = self.show(&s, &[b]);
                if !description.is_empty() {
                    self.emit(&description);
                }
                if ok { Outcome::Ok } else { Outcome::Failed }
            }
            Ok(None) => {
                eprintln!("error: no table or view `{name}`");
                if self.catalog.read().is_ok_and(|c| c.tables.is_empty()) {
                    self.refresh_catalog().await;
                }
                let catalog = self.catalog.read().map(|c| c.clone()).unwrap_or_default();
                if let Some(hint) =
                    suggest::did_you_mean(&format!("table '{name}' not found"), &catalog)
                {
                    eprintln!("{hint}");
                }
                Outcome::Failed
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Failed
            }
        }
    }

    /// Runs one statement: parse check, execution (cancellable with Ctrl-C), progress after a
    /// second, the result, and "did you mean" on an unknown name.
    async fn run_sql(&mut self, sql: &str) -> Outcome {
        if let Err(e) = validate::check(sql) {
            eprintln!("{}", e.render(sql));
            return Outcome::Failed;
        }
        let started = Instant::now();
        let interactive = self.interactive;
        let engine = &self.engine;
        let work = async {
            let mut stream = engine
                .plan(sql, &QueryOptions::new(FrontEnd::Shell))
                .await
                .map_err(|e| e.to_string())?
                .stream()
                .await
                .map_err(|e| e.to_string())?;
            let schema = datafusion::execution::RecordBatchStream::schema(&stream);
            let mut batches = Vec::new();
            let mut rows = 0usize;
            let mut shown = false;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    next = stream.next() => match next {
                        Some(Ok(b)) => {
                            rows += b.num_rows();
                            batches.push(b);
                        }
                        Some(Err(e)) => return Err(e.to_string()),
                        None => break,
                    },
                    _ = tick.tick() => {
                        if interactive && started.elapsed() > Duration::from_secs(1) {
                            eprint!("\r… {:.1} s, {rows} rows so far", started.elapsed().as_secs_f64());
                            shown = true;
                        }
                    }
                }
            }
            if shown {
                eprint!("\r\x1b[K");
            }
            Ok::<_, String>((schema, batches))
        };
        let result = if interactive {
            tokio::select! {
                r = work => Some(r),
                _ = tokio::signal::ctrl_c() => None,
            }
        } else {
            Some(work.await)
        };
        let outcome = match result {
            None => {
                eprintln!(
                    "\r\x1b[Kcancelled after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                Outcome::Failed
            }
            Some(Err(e)) => {
                eprintln!("error: {e}");
                if self.catalog.read().is_ok_and(|c| c.tables.is_empty()) {
                    self.refresh_catalog().await;
                }
                let catalog = self.catalog.read().map(|c| c.clone()).unwrap_or_default();
                if let Some(hint) = suggest::did_you_mean(&e, &catalog) {
                    eprintln!("{hint}");
                }
                Outcome::Failed
            }
            Some(Ok((schema, batches))) => {
                if self.show(&schema, &batches) {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                }
            }
        };
        if self.timing {
            println!("Time: {:.3} s", started.elapsed().as_secs_f64());
        }
        let first = sql
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if self.interactive && matches!(first.as_str(), "CREATE" | "DROP" | "ALTER") {
            self.refresh_catalog().await;
        }
        outcome
    }

    async fn interactive_loop(&mut self) -> i32 {
        use rustyline::error::ReadlineError;
        self.refresh_catalog().await;
        let config = rustyline::Config::builder()
            .auto_add_history(false)
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut editor: rustyline::Editor<helper::ShellHelper, rustyline::history::DefaultHistory> =
            match rustyline::Editor::with_config(config) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: cannot start the line editor: {e}");
                    return 1;
                }
            };
        let color = std::env::var_os("NO_COLOR").is_none()
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        editor.set_helper(Some(helper::ShellHelper {
            catalog: self.catalog.clone(),
            color,
        }));
        let history = history_path();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        println!("loopql shell — \\? for help, Ctrl-D to quit.");
        let code = loop {
            let prompt = match &self.client {
                Some(c) => format!("loopql[{c}]> "),
                None => "loopql> ".to_string(),
            };
            match editor.readline(&prompt) {
                Ok(input) => {
                    if input.trim().is_empty() {
                        continue;
                    }
                    let _ = editor.add_history_entry(input.as_str());
                    let units = statements::all(&input);
                    let mut quit = false;
                    for u in units {
                        if let Outcome::Quit = self.run_unit(u).await {
                            quit = true;
                            break;
                        }
                    }
                    if quit {
                        break 0;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break 0,
                Err(e) => {
                    eprintln!("error: {e}");
                    break 1;
                }
            }
        };
        if let Some(h) = &history {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = editor.save_history(h) {
                eprintln!("warning: history not saved to {}: {e}", h.display());
            }
        }
        code
    }
}
