//! `sipwarden parse` and `sipwarden options`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::process::Command;

use common::*;

#[test]
fn parse_prints_the_index_of_a_good_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.sip");
    std::fs::write(&file, options("UDP", "192.0.2.1:5060".parse().unwrap())).unwrap();
    let out = Command::new(bin())
        .arg("parse")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("request: method=OPTIONS"), "{text}");
    assert!(text.contains("Call-ID: "), "{text}");
    assert!(
        text.contains("top via: transport=UDP host=192.0.2.1 port=5060"),
        "{text}"
    );
}

#[test]
fn parse_reports_the_error_and_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.sip");
    std::fs::write(
        &file,
        "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h\nContent-Length: x\n\n",
    )
    .unwrap();
    // Bare LF line ends are refused as they are...
    let out = Command::new(bin())
        .arg("parse")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // ...and with --crlf the real problem shows.
    let out = Command::new(bin())
        .arg("parse")
        .arg("--crlf")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error: malformed Content-Length"), "{text}");
    assert!(
        text.contains("status: 400 Bad Request (malformed Content-Length)"),
        "{text}"
    );
}

#[test]
fn the_options_client_reaches_every_transport() {
    let server = Server::start(&["udp", "tcp", "tls", "ws", "wss"], None, &[]);
    let ca = server.ca().display().to_string();
    let runs: Vec<(String, Vec<&str>)> = vec![
        (
            format!("sip:127.0.0.1:{}", server.udp.unwrap().port()),
            vec![],
        ),
        (
            format!("sip:127.0.0.1:{};transport=tcp", server.tcp.unwrap().port()),
            vec![],
        ),
        ("sips:localhost".to_owned(), vec!["--ca", &ca]),
        ("sip:127.0.0.1".to_owned(), vec!["--transport", "ws"]),
        (
            "sips:localhost".to_owned(),
            vec!["--transport", "wss", "--ca", &ca],
        ),
    ];
    let servers = [server.udp, server.tcp, server.tls, server.ws, server.wss];
    for ((uri, extra), addr) in runs.iter().zip(servers) {
        let out = Command::new(bin())
            .args([
                "options",
                uri,
                "--server",
                &addr.unwrap().to_string(),
                "--timeout",
                "10",
            ])
            .args(extra)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{uri}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.starts_with("SIP/2.0 200 OK\n"), "{text}");
    }
}

#[test]
fn the_options_client_refuses_an_unknown_ca() {
    let server = Server::start(&["tls"], None, &[]);
    let dir = tempfile::tempdir().unwrap();
    let other = sipwarden_tls::generate_dev_pki(&["localhost"], &[]).unwrap();
    let ca = dir.path().join("other-ca.pem");
    std::fs::write(&ca, other.ca_cert_pem).unwrap();
    let out = Command::new(bin())
        .args([
            "options",
            "sips:localhost",
            "--server",
            &server.tls.unwrap().to_string(),
            "--ca",
        ])
        .arg(&ca)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
