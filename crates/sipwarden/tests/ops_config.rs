//! `sipwarden config check`: one bad file per kind of error, each message naming the key;
//! the documented example passes; `serve` refuses a bad file with the same message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check(body: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sipwarden.toml");
    std::fs::write(&path, body).unwrap();
    let out = Command::new(common::bin())
        .args(["config", "check"])
        .arg(&path)
        .output()
        .unwrap();
    (dir, out)
}

/// Asserts `body` is refused with exit 1 and a message naming `key` (and `also`).
fn refused(body: &str, key: &str, also: &str) {
    let (_dir, out) = check(body);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "accepted:\n{body}\n{err}");
    assert!(err.contains(key), "message does not name {key:?}: {err}");
    assert!(err.contains(also), "message lacks {also:?}: {err}");
}

#[test]
fn an_unknown_key_is_named() {
    refused(
        "[limits]\nmax_mesage_size = 4096\n",
        "max_mesage_size",
        "unknown field",
    );
}

#[test]
fn an_unknown_section_is_named() {
    refused(
        "[registar]\nmin_expires = 60\n",
        "registar",
        "unknown field",
    );
}

#[test]
fn a_wrong_type_is_named() {
    refused(
        "[limits]\nmax_message_size = \"big\"\n",
        "max_message_size",
        "invalid type",
    );
}

#[test]
fn a_bad_value_is_named() {
    refused(
        "[limits]\nmax_message_size = 10\n",
        "limits.max_message_size",
        "between",
    );
    refused("[timers]\nt1_ms = 0\n", "timers.t1_ms", "between");
    refused(
        "[registrar]\nmin_expires = 3600\nmax_expires = 60\n",
        "registrar.",
        "min_expires",
    );
    refused(
        "[auth]\nalgorithms = [\"SHA-1\"]\n",
        "auth.algorithms",
        "SHA-1",
    );
    refused(
        "[auth]\nnonce_lifetime_secs = 5\n",
        "auth.nonce_lifetime_secs",
        "between",
    );
    refused(
        "[limits]\nmax_connections = 0\n",
        "limits.max_connections",
        "at least 1",
    );
}

#[test]
fn a_bad_listen_spec_is_named() {
    refused("listen = [\"udp:nowhere\"]\n", "listen", "udp:nowhere");
    refused("listen = [\"smtp:127.0.0.1:25\"]\n", "listen", "smtp");
}

#[test]
fn an_unreadable_cert_file_is_named() {
    refused(
        "[tls]\ncert = \"/nonexistent/server.crt\"\nkey = \"/nonexistent/server.key\"\n",
        "tls.cert",
        "/nonexistent/server.crt",
    );
    refused("[tls]\ncert = \"/etc/hostname\"\n", "tls.key", "missing");
}

#[test]
fn bad_admin_and_log_settings_are_named() {
    refused(
        "[admin]\nlisten = \"localhost\"\n",
        "admin.listen",
        "address:port",
    );
    refused(
        "[log]\nevents = \"/nonexistent/dir/events.jsonl\"\n",
        "log.events",
        "does not exist",
    );
    let (dir, _) = check("");
    let token = dir.path().join("short.token");
    std::fs::write(&token, "abc\n").unwrap();
    refused(
        &format!("[admin]\ntoken_file = {:?}\n", token.display().to_string()),
        "admin.token_file",
        "at least 16",
    );
}

#[test]
fn a_bad_domain_is_named() {
    refused(
        "[domain]\ndefault = \"exa mple.com\"\n",
        "domain.default",
        "host",
    );
}

#[test]
fn an_empty_file_and_a_good_file_pass() {
    let (_dir, out) = check("");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_dir, out) = check(
        "listen = [\"udp:127.0.0.1:5060\", \"tls:[::1]:5061\"]\n[admin]\nlisten = \"[::1]:9060\"\n[log]\nevents = \"stdout\"\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok "));
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sipwarden.example.toml")
}

#[test]
fn the_documented_example_passes() {
    let body = std::fs::read_to_string(example()).unwrap();
    let (_dir, out) = check(&body);
    assert!(
        out.status.success(),
        "docs/sipwarden.example.toml is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_key_of_the_example_is_commented() {
    // Keys are `key = value`, or `#key = value` when left at a default that cannot be
    // written literally; prose comments are `# ...`. Every key has prose right above it.
    let body = std::fs::read_to_string(example()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    let is_key = |l: &str| {
        let l = l.strip_prefix('#').unwrap_or(l);
        l.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
    };
    let mut keys = 0;
    for (i, line) in lines.iter().enumerate() {
        if is_key(line) {
            keys += 1;
            let above = lines[..i].last().copied().unwrap_or("");
            assert!(
                above.starts_with("# "),
                "line {}: {line:?} has no comment right above it",
                i + 1
            );
        }
    }
    assert!(keys > 30, "only {keys} keys documented");
}

#[test]
fn serve_refuses_a_bad_file_with_the_same_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[admin]\nlisten = \"nowhere\"\n").unwrap();
    let out = Command::new(common::bin())
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen", "udp:127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin.listen"));
}
