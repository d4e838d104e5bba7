//! The `loopql` binary: the command line (`commands/`) and the interactive shell (`shell/`). The
//! only crate of loopql that prints to a terminal; the work is done by the library crates.

mod commands;
mod shell;
mod sys;

fn main() -> std::process::ExitCode {
    commands::main()
}
