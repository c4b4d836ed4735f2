//! Mutual TLS: client certificates requested, verified and turned into a
//! peer identity.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use common::*;
use sipwarden_tls::{
    peer_identity, CertFailure, ClientAuth, ReloadableCert, ServerTlsOptions, TlsError,
    TlsVersions, TrustRoots,
};

struct Federation {
    server: sipwarden_tls::ServerTlsConfig,
    _server_dir: tempfile::TempDir,
    server_ca: Ca,
}

/// A server for `sip.example.com`, asking for client certificates issued
/// by `client_ca`.
fn federation(client_ca: &Ca, required: bool, versions: TlsVersions) -> Federation {
    let server_ca = Ca::new("Server CA");
    let issued = server_ca.issue(Leaf::new().uri("sip:example.com").dns("sip.example.com"));
    let roots = client_ca.roots();
    let client_auth = if required {
        ClientAuth::Required(roots)
    } else {
        ClientAuth::Optional(roots)
    };
    let options = ServerTlsOptions {
        client_auth,
        versions,
        time_provider: Some(fixed_time()),
        ..ServerTlsOptions::default()
    };
    let (dir, server) = server_with(&issued, options);
    Federation {
        server,
        _server_dir: dir,
        server_ca,
    }
}

fn client_cert(issued: &Issued) -> (tempfile::TempDir, Arc<ReloadableCert>) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = issued.write(dir.path());
    (dir, Arc::new(ReloadableCert::load(cert, key).unwrap()))
}

#[test]
fn client_certificate_verified_and_identity_extracted() {
    for versions in [TlsVersions::Tls13Only, TlsVersions::Tls12Only] {
        let client_ca = Ca::new("Peer CA");
        let fed = federation(&client_ca, true, versions);
        let issued = client_ca.issue(
            Leaf::new()
                .uri("sip:Peer.Example.org")
                .uri("sip:alice@peer.example.org")
                .dns("edge.peer.example.org")
                .ip("192.0.2.7"),
        );
        let (_dir, cert) = client_cert(&issued);
        let config = client_for(&fed.server_ca)
            .versions(versions)
            .client_certificate(cert)
            .verifying(&names(&["example.com"]))
            .unwrap();
        let (mut client, mut server, result) =
            connect(config, fed.server.rustls_config(), "sip.example.com");
        result.unwrap();
        exchange(&mut client, &mut server, "mtls");

        let identity = peer_identity(&server)
            .unwrap()
            .expect("a verified client identity");
        // RFC 5922 §7.1: sip: URI without user part; dNSName ignored when one exists.
        assert_eq!(identity.domains, vec!["peer.example.org".to_owned()]);
        assert!(identity.has_domain("peer.example.org"));
        assert!(!identity.has_domain("edge.peer.example.org"));
        assert_eq!(
            identity.ip_addresses,
            vec!["192.0.2.7".parse::<std::net::IpAddr>().unwrap()]
        );
        assert!(identity
            .presented
            .contains(&"DNS:edge.peer.example.org".to_owned()));
        let expected_fp =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, issued.der.as_ref());
        assert_eq!(identity.fingerprint_sha256.as_slice(), expected_fp.as_ref());
    }
}

#[test]
fn dns_only_client_certificate_identity() {
    let client_ca = Ca::new("Peer CA");
    let fed = federation(&client_ca, true, TlsVersions::default());
    let issued = client_ca.issue(Leaf::new().dns("peer.example.org").cn("ignored.example"));
    let (_dir, cert) = client_cert(&issued);
    let config = client_for(&fed.server_ca)
        .client_certificate(cert)
        .verifying(&names(&["example.com"]))
        .unwrap();
    let (_c, server, result) = connect(config, fed.server.rustls_config(), "sip.example.com");
    result.unwrap();
    let identity = peer_identity(&server).unwrap().unwrap();
    assert_eq!(identity.domains, vec!["peer.example.org".to_owned()]);
}

#[test]
fn required_client_certificate_missing_is_refused() {
    let client_ca = Ca::new("Peer CA");
    let fed = federation(&client_ca, true, TlsVersions::default());
    let config = client_for(&fed.server_ca)
        .verifying(&names(&["example.com"]))
        .unwrap();
    let (_c, _s, result) = connect(config, fed.server.rustls_config(), "sip.example.com");
    let err = result.unwrap_err().server();
    assert_eq!(
        CertFailure::from_rustls(&err),
        Some(CertFailure::NoCertificate),
        "{err}"
    );
}

#[test]
fn optional_client_certificate_may_be_absent() {
    let client_ca = Ca::new("Peer CA");
    let fed = federation(&client_ca, false, TlsVersions::default());
    let config = client_for(&fed.server_ca)
        .verifying(&names(&["example.com"]))
        .unwrap();
    let (mut client, mut server, result) =
        connect(config, fed.server.rustls_config(), "sip.example.com");
    result.unwrap();
    exchange(&mut client, &mut server, "anon");
    assert_eq!(peer_identity(&server).unwrap(), None);
}

#[test]
fn client_certificate_from_unknown_ca_refused_even_when_optional() {
    let client_ca = Ca::new("Peer CA");
    let rogue = Ca::new("Rogue CA");
    let fed = federation(&client_ca, false, TlsVersions::default());
    let (_dir, cert) = client_cert(&rogue.issue(Leaf::new().uri("sip:peer.example.org")));
    let config = client_for(&fed.server_ca)
        .client_certificate(cert)
        .verifying(&names(&["example.com"]))
        .unwrap();
    let (_c, _s, result) = connect(config, fed.server.rustls_config(), "sip.example.com");
    let err = result.unwrap_err().server();
    assert_eq!(
        CertFailure::from_rustls(&err),
        Some(CertFailure::UnknownIssuer),
        "{err}"
    );
}

#[test]
fn expired_client_certificate_refused() {
    let client_ca = Ca::new("Peer CA");
    let fed = federation(&client_ca, true, TlsVersions::default());
    let issued = client_ca.issue(
        Leaf::new()
            .uri("sip:peer.example.org")
            .valid((2024, 1, 1), (2025, 1, 1)),
    );
    let (_dir, cert) = client_cert(&issued);
    let config = client_for(&fed.server_ca)
        .client_certificate(cert)
        .verifying(&names(&["example.com"]))
        .unwrap();
    let (_c, _s, result) = connect(config, fed.server.rustls_config(), "sip.example.com");
    let err = result.unwrap_err().server();
    assert_eq!(
        CertFailure::from_rustls(&err),
        Some(CertFailure::Expired),
        "{err}"
    );
}

#[test]
fn revoked_client_certificate_refused() {
    let client_ca = Ca::new("Peer CA");
    let mut roots = client_ca.roots();
    roots
        .add_crl_pem("peer CRL", client_ca.crl(&[77]).as_bytes())
        .unwrap();
    let server_ca = Ca::new("Server CA");
    let (_sdir, server) = server_with(
        &server_ca.issue(Leaf::new().dns("sip.example.com")),
        ServerTlsOptions {
            client_auth: ClientAuth::Required(roots),
            time_provider: Some(fixed_time()),
            ..ServerTlsOptions::default()
        },
    );
    let (_dir, cert) =
        client_cert(&client_ca.issue(Leaf::new().uri("sip:peer.example.org").serial(77)));
    let config = client_for(&server_ca)
        .client_certificate(cert)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (_c, _s, result) = connect(config, server.rustls_config(), "sip.example.com");
    let err = result.unwrap_err().server();
    assert_eq!(
        CertFailure::from_rustls(&err),
        Some(CertFailure::Revoked),
        "{err}"
    );
}

#[test]
fn client_auth_without_roots_is_a_configuration_error() {
    let ca = Ca::new("CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ca
        .issue(Leaf::new().dns("sip.example.com"))
        .write(dir.path());
    let options = ServerTlsOptions {
        client_auth: ClientAuth::Required(TrustRoots::empty()),
        ..ServerTlsOptions::default()
    };
    let err = sipwarden_tls::ServerTlsConfig::from_pem_files(cert, key, options).unwrap_err();
    assert!(matches!(err, TlsError::NoTrustAnchors), "{err}");
}
