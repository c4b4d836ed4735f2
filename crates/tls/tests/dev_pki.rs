//! The development PKI works with our own verifier for every name it covers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::IpAddr;

use common::*;
use sipwarden_tls::{
    generate_dev_pki, peer_identity, ClientTlsConfig, ServerTlsConfig, ServerTlsOptions, TrustRoots,
};

#[test]
fn dev_pki_verifies_for_domain_localhost_and_ips() {
    let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    let pki = generate_dev_pki(&["SIP.Example.test"], &ips).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &pki.cert_pem).unwrap();
    std::fs::write(&key_path, &pki.key_pem).unwrap();
    let server =
        ServerTlsConfig::from_pem_files(&cert_path, &key_path, ServerTlsOptions::default())
            .unwrap();

    // Real clock here: the PKI is generated for "now".
    let roots = TrustRoots::from_pem("dev CA", pki.ca_cert_pem.as_bytes()).unwrap();
    let client = ClientTlsConfig::new(roots);
    for target in ["sip.example.test", "localhost", "127.0.0.1", "[::1]"] {
        let config = client.verifying(&names(&[target])).unwrap();
        let (mut c, mut s, result) = connect(config, server.rustls_config(), target);
        result.unwrap_or_else(|e| panic!("{target}: {e:?}"));
        exchange(&mut c, &mut s, "dev");
        let identity = peer_identity(&c).unwrap().unwrap();
        assert_eq!(
            identity.domains,
            vec!["sip.example.test".to_owned(), "localhost".to_owned()]
        );
        // IPv4 appears as a dNSName too (clients that match IPs that way),
        // IPv6 does not (a colon is not valid in a DNS name).
        assert!(
            identity.presented.contains(&"DNS:127.0.0.1".to_owned()),
            "{:?}",
            identity.presented
        );
        assert!(!identity.presented.contains(&"DNS:::1".to_owned()));
        assert_eq!(identity.ip_addresses, ips);
    }
    let other = client.verifying(&names(&["other.example.test"])).unwrap();
    let (_c, _s, result) = connect(other, server.rustls_config(), "other.example.test");
    assert!(result.is_err());
}

#[test]
fn dev_pki_debug_hides_the_key() {
    let pki = generate_dev_pki::<&str>(&[], &[]).unwrap();
    let shown = format!("{pki:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(pki.key_pem.contains("PRIVATE KEY"));
    assert!(pki.cert_pem.contains("BEGIN CERTIFICATE"));
}
