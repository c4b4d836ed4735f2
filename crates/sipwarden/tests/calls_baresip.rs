//! Two baresip instances call each other over TLS through the real binary, with SDES
//! (`srtp-mand`) and with DTLS-SRTP, using the shared interop recipe; the assessment of
//! each call must say what the media keying means, and no SDES key may reach the
//! server's output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const CONFIG: &str = "[policy]\nallow_cidrs = [\"127.0.0.0/8\"]\n";

/// The shared interop recipes beside the repository, if present.
fn interop_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop");
    if dir.join("baresip.sh").is_file() {
        return Some(dir);
    }
    if std::env::var("SIPWARDEN_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("the shared interop folder is missing and SIPWARDEN_REQUIRE_PEERS=1");
    }
    println!("SKIP: the shared interop folder is not beside the repository");
    None
}

fn add_user(data: &Path, user: &str, password: &str) {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(["user", "add", user, "--password-stdin", "--data-dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// Runs the recipe (a copy, since the shared folder is read-only) with `menc`; returns
/// whether it passed and its output.
fn baresip(recipes: &Path, server: &Server, menc: &str, base: u16) -> (bool, String) {
    let udp = server.udp.unwrap();
    let tls = server.tls.unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("150")
        .arg(recipes.join("baresip.sh"))
        .current_dir(recipes)
        .env("SIP_HOST", "127.0.0.1")
        .env("SIP_PORT", udp.port().to_string())
        .env("SIP_TLS_PORT", tls.port().to_string())
        .env("SIP_DOMAIN", "localhost")
        .env("SIP_TLS_NAME", "localhost")
        .env("SIP_CA", server.ca())
        .env("SIP_USER1", "alice")
        .env("SIP_PASS1", "alice-baresip-1")
        .env("SIP_USER2", "bob")
        .env("SIP_PASS2", "bob-baresip-1")
        .env("PROBE_VERIFY", "0")
        .env("CALL_SECS", "2")
        .env("BS_BASE", base.to_string())
        .env("MENC", menc);
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The last call-ended line the server wrote, waiting for it a little.
fn last_call(data: &Path, count: usize) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(data.join("calls.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        if lines.len() >= count {
            return serde_json::from_str(lines[count - 1]).unwrap();
        }
        assert!(Instant::now() < deadline, "no call-ended line {count}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `inline:` key material the recipe printed from the SDP it saw.
fn keys_in(output: &str) -> Vec<String> {
    output
        .split("inline:")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| c == '|' || c.is_whitespace()).next())
        .filter(|k| k.len() >= 30)
        .map(str::to_owned)
        .collect()
}

#[test]
fn baresip_over_tls_with_sdes_and_with_dtls_srtp_is_assessed_correctly() {
    if !peer_available("baresip") {
        return;
    }
    let Some(shared) = interop_dir() else { return };
    let work = tempfile::tempdir().unwrap();
    let recipes = work.path().join("interop");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&shared)
        .arg(&recipes)
        .status()
        .unwrap();
    assert!(status.success());

    let server = Server::start(&["udp", "tcp", "tls"], Some(CONFIG), &[]);
    let data = server.dir.path().join("data");
    add_user(&data, "alice", "alice-baresip-1");
    add_user(&data, "bob", "bob-baresip-1");

    let base = 23060;
    let (ok, sdes_out) = baresip(&recipes, &server, "srtp-mand", base);
    assert!(ok, "baresip srtp-mand:\n{sdes_out}");
    let call = last_call(&data, 1);
    assert_eq!(call["ended_by"], "bye");
    let a = &call["assessment"];
    assert_eq!(a["level"], "hop-by-hop", "{a}");
    assert_eq!(a["media"]["offer"], "sdes");
    assert_eq!(a["media"]["answer"], "sdes");
    for hop in a["signalling"].as_array().unwrap() {
        assert_eq!(hop["transport"], "tls", "{a}");
    }

    let (ok, dtls_out) = baresip(&recipes, &server, "dtls_srtp", base + 100);
    assert!(ok, "baresip dtls_srtp:\n{dtls_out}");
    let call = last_call(&data, 2);
    let a = &call["assessment"];
    assert_eq!(a["level"], "end-to-end-media", "{a}");
    assert_eq!(a["media"]["offer"], "dtls-srtp");
    assert_eq!(a["media"]["level"], "end-to-end");

    // The SDES keys of the first call appear nowhere in the server's output.
    let keys = keys_in(&sdes_out);
    assert!(
        !keys.is_empty(),
        "the recipe printed no SDP keys:\n{sdes_out}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut outputs = vec![server.stderr()];
    for name in ["calls.log", "calls.json", "security-events.jsonl"] {
        outputs.push(std::fs::read_to_string(data.join(name)).unwrap_or_default());
    }
    let view = Command::new(bin())
        .args(["calls", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(view.status.success());
    let view = String::from_utf8_lossy(&view.stdout).into_owned();
    assert!(
        view.contains("end-to-end-media") && view.contains("hop-by-hop"),
        "{view}"
    );
    outputs.push(view);
    for key in &keys {
        for text in &outputs {
            assert!(
                !text.contains(key.as_str()),
                "an SDES key reached the server output"
            );
        }
    }
}
