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

use std::process::Command;
use std::time::Duration;

use common::*;

const CONFIG: &str = "[policy]\nallow_cidrs = [\"127.0.0.0/8\"]\n";

#[test]
fn linphone_over_tls_with_zrtp_is_end_to_end_media() {
    if !peer_available("linphone-daemon") {
        return;
    }
    let Some(shared) = interop_dir("linphone.sh") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let recipes = work.path().join("interop");
    copy_tree(&shared, &recipes);
    let _ = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&recipes)
        .status();

    // The recipe's SIP_PORT is one port for UDP and TCP.
    let port = free_udp_and_tcp_port();
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
