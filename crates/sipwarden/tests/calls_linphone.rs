//! Two linphone instances (liblinphone from Debian, which links bzrtp) register over TLS
//! and call each other through the real binary with ZRTP media encryption, using the
//! shared interop recipe: the media must be negotiated as ZRTP, key agreement must
//! finish, RTP must flow both ways, and the call's assessment must say end-to-end media
//! (ZRTP) with each TLS hop naming the version it negotiated (Debian's linphone speaks
//! TLS 1.2 only).

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
    if dir.join("linphone.sh").is_file() {
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

#[test]
fn linphone_over_tls_with_zrtp_is_end_to_end_media() {
    if !peer_available("linphone-daemon") {
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
    let _ = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&recipes)
        .status();

    // The recipe's SIP_PORT is one port for UDP and TCP.
    let port = loop {
        let p = free_port(true);
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            break p;
        }
    };
    let specs = [
        format!("udp:127.0.0.1:{port}"),
        format!("tcp:127.0.0.1:{port}"),
        "tls:127.0.0.1:0".to_owned(),
    ];
    let server = Server::start_specs(tempfile::tempdir().unwrap(), &specs, Some(CONFIG), &[]);
    let data = server.dir.path().join("data");
    add_user(&data, "alice", "alice-linphone-1");
    add_user(&data, "bob", "bob-linphone-1");

    let mut cmd = Command::new("bash");
    cmd.current_dir(&recipes)
        .arg(recipes.join("linphone.sh"))
        .env("SIP_HOST", "127.0.0.1")
        .env("SIP_PORT", port.to_string())
        .env("SIP_TLS_PORT", server.tls.unwrap().port().to_string())
        .env("SIP_DOMAIN", "localhost")
        .env("SIP_TLS_NAME", "localhost")
        .env("SIP_CA", server.ca())
        .env("SIP_USER1", "alice")
        .env("SIP_PASS1", "alice-linphone-1")
        .env("SIP_USER2", "bob")
        .env("SIP_PASS2", "bob-linphone-1")
        .env("TRANSPORT", "tls")
        .env("MENC", "zrtp")
        .env("CALL_SECS", "2")
        .env("CLIENT_CHECKS", "0")
        .env("LP_BASE", "26000");
    let (code, out) = run_bounded(cmd, Duration::from_secs(90));
    println!("{out}");
    for line in [
        "PASS: callee bob registered over tls",
        "PASS: caller alice registered over tls",
        "PASS: caller: LinphoneCallStreamsRunning",
        "PASS: callee: LinphoneCallStreamsRunning (auto-answer)",
        "PASS: caller: negotiated media encryption ZRTP",
        "PASS: callee: negotiated media encryption ZRTP",
        "PASS: caller: ZRTP key agreement done (SAS shown)",
        "PASS: callee: LinphoneCallEnd after caller hangup",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // Media flowed both ways (the recipe counts RTP packets at hang-up).
    for who in ["caller", "callee"] {
        let prefix = format!("PASS: {who} received media packets (");
        assert!(out.contains(&prefix), "no media to the {who}:\n{out}");
    }
    assert_eq!(code, Some(0), "{out}");

    let call = last_call(&data, 1);
    assert_eq!(call["ended_by"], "bye", "{call}");
    let a = &call["assessment"];
    println!("{a:#}");
    assert_eq!(a["level"], "end-to-end-media", "{a}");
    assert_eq!(a["media"]["offer"], "zrtp", "{a}");
    assert_eq!(a["media"]["answer"], "zrtp", "{a}");
    assert_eq!(a["media"]["level"], "end-to-end", "{a}");
    let hops = a["signalling"].as_array().unwrap();
    let roles: Vec<&str> = hops.iter().filter_map(|h| h["role"].as_str()).collect();
    assert_eq!(roles, ["caller-side", "callee-side"], "{a}");
    for hop in hops {
        assert_eq!(hop["transport"], "tls", "{a}");
        // mbedTLS 2.28 in Debian's liblinphone negotiates TLS 1.2 only.
        assert_eq!(hop["tls"]["version"], "TLSv1.2", "{a}");
        assert!(
            hop["tls"]["cipher_suite"]
                .as_str()
                .is_some_and(|c| c.starts_with("TLS_ECDHE_")),
            "{a}"
        );
    }
}
