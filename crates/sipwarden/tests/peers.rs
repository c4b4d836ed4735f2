//! Real SIP peers against the real binary: sipsak (UDP, TCP, TLS 1.2) and SIPp (UDP,
//! TCP). A missing tool skips the test unless `SIPWARDEN_REQUIRE_PEERS=1`.

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

#[test]
fn sipsak_options_over_udp_tcp_and_tls() {
    if !peer_available("sipsak") {
        return;
    }
    let server = Server::start(&["udp", "tcp", "tls"], None, &[]);
    // sipsak 0.9.8 fails on TLS 1.3 session tickets: force TLS 1.2 through GnuTLS.
    let priority = server.dir.path().join("gnutls-no-tls13.conf");
    std::fs::write(&priority, "[overrides]\ndisabled-version = tls1.3\n").unwrap();
    let ca = format!("--tls-ca-cert={}", server.ca().display());
    for (transport, addr) in [
        ("udp", server.udp),
        ("tcp", server.tcp),
        ("tls", server.tls),
    ] {
        let port = addr.unwrap().port().to_string();
        let mut cmd = Command::new("sipsak");
        // -vvv makes sipsak verify the certificate; -p/-r before -s avoids DNS.
        if transport == "tls" {
            cmd.args(["-vvv", &ca]);
            cmd.env("GNUTLS_SYSTEM_PRIORITY_FILE", &priority);
        } else {
            cmd.arg("-vv");
        }
        cmd.args([
            "-E",
            transport,
            "-p",
            "127.0.0.1",
            "-r",
            &port,
            "-s",
            "sip:localhost",
        ]);
        let (code, out) = run_bounded(cmd, Duration::from_secs(30));
        assert_eq!(code, Some(0), "sipsak over {transport}:\n{out}");
        assert!(out.contains("SIP/2.0 200 OK"), "{out}");
        if transport == "tls" {
            assert!(out.contains("TLS1.2"), "{out}");
        }
    }
}

#[test]
fn sipp_options_scenario_over_udp_and_tcp() {
    if !peer_available("sipp") {
        return;
    }
    let server = Server::start(&["udp", "tcp"], None, &[]);
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/options.xml");
    for (mode, addr) in [("u1", server.udp), ("t1", server.tcp)] {
        let work = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sipp");
        cmd.current_dir(work.path())
            .args([
                "-sf",
                scenario,
                "-t",
                mode,
                "-m",
                "1",
                "-i",
                "127.0.0.1",
                "-p",
                "0",
            ])
            .args([
                "-cp",
                &free_port(true).to_string(),
                "-mp",
                &free_port(true).to_string(),
            ])
            .args([
                "-nostdin",
                "-timeout",
                "20s",
                "-timeout_error",
                "-trace_err",
            ])
            .arg(addr.unwrap().to_string());
        let (code, out) = run_bounded(cmd, Duration::from_secs(40));
        assert_eq!(code, Some(0), "sipp -t {mode}:\n{out}");
    }
}
