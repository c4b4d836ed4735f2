//! Certificate rotation on disk, reload semantics and session tickets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use rustls::HandshakeKind;
use sipwarden_tls::{ReloadOutcome, ServerTlsConfig, ServerTlsOptions, TlsError, TlsVersions};

fn leaf_der(conn: &rustls::CommonState) -> Vec<u8> {
    conn.peer_certificates().unwrap()[0].as_ref().to_vec()
}

#[test]
fn rotated_certificate_served_to_new_connections_old_connection_keeps_working() {
    let ca = Ca::new("Test CA");
    let first = ca.issue(Leaf::new().dns("sip.example.com").serial(1));
    let second = ca.issue(Leaf::new().dns("sip.example.com").serial(2));
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = first.write(dir.path());
    let server =
        ServerTlsConfig::from_pem_files(&cert_path, &key_path, ServerTlsOptions::default())
            .unwrap();
    let client_config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();

    let (mut old_client, mut old_server, result) = connect(
        client_config.clone(),
        server.rustls_config(),
        "sip.example.com",
    );
    result.unwrap();
    assert_eq!(leaf_der(&old_client), first.der.as_ref());
    exchange(&mut old_client, &mut old_server, "before");

    let resolver = server.certificate();
    assert!(!resolver.files_changed().unwrap());
    assert_eq!(resolver.reload().unwrap(), ReloadOutcome::Unchanged);

    second.write(dir.path());
    assert!(resolver.files_changed().unwrap());
    assert_eq!(resolver.reload().unwrap(), ReloadOutcome::Replaced);
    assert!(!resolver.files_changed().unwrap());

    // The same ServerConfig (no rebuild): a new handshake sees the new certificate.
    let (mut new_client, mut new_server, result) =
        connect(client_config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(leaf_der(&new_client), second.der.as_ref());
    exchange(&mut new_client, &mut new_server, "after");

    // The established connection is untouched and still carries traffic.
    assert_eq!(leaf_der(&old_client), first.der.as_ref());
    exchange(&mut old_client, &mut old_server, "still-alive");
}

#[test]
fn invalid_new_files_keep_the_old_certificate() {
    let ca = Ca::new("Test CA");
    let first = ca.issue(Leaf::new().dns("sip.example.com").serial(1));
    let second = ca.issue(Leaf::new().dns("sip.example.com").serial(2));
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = first.write(dir.path());
    let server =
        ServerTlsConfig::from_pem_files(&cert_path, &key_path, ServerTlsOptions::default())
            .unwrap();
    let resolver = server.certificate();
    let client_config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();

    // Mid-rotation: new certificate, old key.
    write_atomic(&cert_path, second.cert_pem.as_bytes());
    match resolver.reload() {
        Err(TlsError::KeyMismatch { cert, key }) => {
            assert_eq!(cert, cert_path);
            assert_eq!(key, key_path);
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
    // Still changed, so a poller tries again.
    assert!(resolver.files_changed().unwrap());

    // Garbage key file.
    write_atomic(&key_path, b"not a key\n");
    match resolver.reload() {
        Err(TlsError::NoPrivateKey { path }) => assert_eq!(path, key_path),
        other => panic!("expected NoPrivateKey, got {other:?}"),
    }
    // Broken PEM in the certificate file.
    write_atomic(&cert_path, b"-----BEGIN CERTIFICATE-----\nAAAA\n");
    match resolver.reload() {
        Err(e @ TlsError::Pem { .. }) => assert!(e.to_string().contains("cert.pem"), "{e}"),
        other => panic!("expected Pem, got {other:?}"),
    }
    // A vanished file.
    std::fs::remove_file(&key_path).unwrap();
    assert!(matches!(resolver.reload(), Err(TlsError::Read { .. })));
    assert!(matches!(
        resolver.files_changed(),
        Err(TlsError::Read { .. })
    ));

    // Throughout, the first certificate is served.
    let (client, _s, result) = connect(
        client_config.clone(),
        server.rustls_config(),
        "sip.example.com",
    );
    result.unwrap();
    assert_eq!(leaf_der(&client), first.der.as_ref());

    // Once the pair is consistent again, the reload goes through.
    second.write(dir.path());
    assert_eq!(resolver.reload().unwrap(), ReloadOutcome::Replaced);
    let (client, _s, result) = connect(client_config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(leaf_der(&client), second.der.as_ref());
}

#[test]
fn load_errors_name_the_file() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = issued.write(dir.path());
    let missing = dir.path().join("missing.pem");

    let err = ServerTlsConfig::from_pem_files(&missing, &key_path, ServerTlsOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, TlsError::Read { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains("missing.pem"));

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, b"").unwrap();
    let err = ServerTlsConfig::from_pem_files(&empty, &key_path, ServerTlsOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, TlsError::NoCertificate { path } if *path == empty),
        "{err}"
    );

    // Key and certificate swapped.
    let err = ServerTlsConfig::from_pem_files(&key_path, &cert_path, ServerTlsOptions::default())
        .unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
}

#[test]
fn no_session_tickets_by_default() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let client_config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    for _ in 0..2 {
        let (client, _s, result) = connect(
            client_config.clone(),
            server.rustls_config(),
            "sip.example.com",
        );
        result.unwrap();
        // Without tickets a TLS 1.3 client never has anything to resume with.
        assert_eq!(client.handshake_kind(), Some(HandshakeKind::Full));
    }
}

#[test]
fn session_tickets_when_enabled() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let options = ServerTlsOptions {
        send_session_tickets: true,
        ..ServerTlsOptions::default()
    };
    let (_dir, server) = server_with(&issued, options);
    let client_config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (first, _s, result) = connect(
        client_config.clone(),
        server.rustls_config(),
        "sip.example.com",
    );
    result.unwrap();
    assert_eq!(first.handshake_kind(), Some(HandshakeKind::Full));
    let (second, _s, result) = connect(client_config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(second.handshake_kind(), Some(HandshakeKind::Resumed));
}

#[test]
fn tls12_resumes_by_session_id_without_tickets() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let client_config = client_for(&ca)
        .versions(TlsVersions::Tls12Only)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (_first, _s, result) = connect(
        client_config.clone(),
        server.rustls_config(),
        "sip.example.com",
    );
    result.unwrap();
    let (second, _s, result) = connect(client_config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(second.handshake_kind(), Some(HandshakeKind::Resumed));
}
