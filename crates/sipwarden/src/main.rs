//! The `sipwarden` binary: command line, configuration and wiring of the crates.
//!
//! Owns: argument parsing, reading files, printing, exit codes. Refuses: protocol logic —
//! every decision about a SIP message is made by a library crate.

fn main() {
    println!("sipwarden");
}
