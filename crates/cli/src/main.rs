//! The `crowsnest` binary: parses the command line, runs the command, and reports
//! errors once, with an exit code per class. The work is done by the library crates.

mod args;
mod commands;
mod exit;
mod output;
mod progress;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    // The service logs for machines: JSON lines at info by default (a collector reads
    // them); interactive commands log warnings as text unless asked.
    let service = matches!(
        cli.command,
        args::Command::Serve(_) | args::Command::Worker(_)
    );
    exit::init_logging(cli.global.verbose, cli.global.log_json || service, service);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    };
    std::process::exit(code);
}
