//! The `crowsnest` binary: parses the command line and reports errors; the work is done
//! by the library crates.

fn main() {
    println!("crowsnest {}", env!("CARGO_PKG_VERSION"));
}
