//! What the CLI's integration tests share: running the binary the way a user would, with
//! a private HOME and no credentials from the environment, and reading its output.

use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_crowsnest");

/// Runs `crowsnest ARGS…` to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CROWSNEST_CREDS")
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("crowsnest runs")
}

/// Standard output and standard error as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
