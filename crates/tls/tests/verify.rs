//! Outbound verification (RFC 5922) driven through real in-memory
//! handshakes: each certificate is accepted or refused with the right reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use common::*;
use rustls::ProtocolVersion;
use sipwarden_tls::{
    peer_identity, CertFailure, ClientTlsConfig, ServerTlsOptions, TlsError, TlsVersions,
    TrustRoots,
};

/// Serves `leaf` (issued by `ca`) and connects a verifying client that
/// accepts `expected`, dialling the first of them.
fn attempt(
    ca: &Ca,
    leaf: Leaf,
    client: ClientTlsConfig,
    expected: &[&str],
) -> Result<(), CertFailure> {
    let issued = ca.issue(leaf);
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let config = client.verifying(&names(expected)).unwrap();
    let (_c, _s, result) = connect(config, server.rustls_config(), expected[0]);
    match result {
        Ok(()) => Ok(()),
        Err(failed) => {
            let err = failed.client();
            Err(CertFailure::from_rustls(&err)
                .unwrap_or_else(|| panic!("not a certificate error: {err}")))
        }
    }
}

#[test]
fn good_certificate_tls13() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (mut client, mut server_conn, result) =
        connect(config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    exchange(&mut client, &mut server_conn, "a");
    let identity = peer_identity(&client).unwrap().unwrap();
    assert_eq!(identity.domains, vec!["sip.example.com".to_owned()]);
}

#[test]
fn good_certificate_forced_tls12() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let config = client_for(&ca)
        .versions(TlsVersions::Tls12Only)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (mut client, mut server_conn, result) =
        connect(config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    assert_eq!(
        server_conn.protocol_version(),
        Some(ProtocolVersion::TLSv1_2)
    );
    exchange(&mut client, &mut server_conn, "b");
}

#[test]
fn tls12_only_server_accepts_default_client() {
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let options = ServerTlsOptions {
        versions: TlsVersions::Tls12Only,
        ..ServerTlsOptions::default()
    };
    let (_dir, server) = server_with(&issued, options);
    let config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (client, _s, result) = connect(config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_2));
}

#[test]
fn expired_refused() {
    let ca = Ca::new("Test CA");
    let leaf = Leaf::new()
        .dns("sip.example.com")
        .valid((2024, 1, 1), (2025, 1, 1));
    assert_eq!(
        attempt(&ca, leaf, client_for(&ca), &["sip.example.com"]),
        Err(CertFailure::Expired)
    );
}

#[test]
fn expired_refused_over_tls12_too() {
    let ca = Ca::new("Test CA");
    let leaf = Leaf::new()
        .dns("sip.example.com")
        .valid((2024, 1, 1), (2025, 1, 1));
    let client = client_for(&ca).versions(TlsVersions::Tls12Only);
    assert_eq!(
        attempt(&ca, leaf, client, &["sip.example.com"]),
        Err(CertFailure::Expired)
    );
}

#[test]
fn not_yet_valid_refused() {
    let ca = Ca::new("Test CA");
    let leaf = Leaf::new()
        .dns("sip.example.com")
        .valid((2027, 1, 1), (2028, 1, 1));
    assert_eq!(
        attempt(&ca, leaf, client_for(&ca), &["sip.example.com"]),
        Err(CertFailure::NotYetValid)
    );
}

#[test]
fn wrong_name_refused_with_both_sides_named() {
    let ca = Ca::new("Test CA");
    let leaf = Leaf::new().dns("other.example.net");
    let failure = attempt(&ca, leaf, client_for(&ca), &["sip.example.com"]).unwrap_err();
    assert_eq!(
        failure,
        CertFailure::NameMismatch {
            expected: vec!["sip.example.com".into()],
            presented: vec!["DNS:other.example.net".into()],
        }
    );
    let text = failure.to_string();
    assert!(
        text.contains("sip.example.com") && text.contains("other.example.net"),
        "{text}"
    );
}

#[test]
fn unknown_ca_refused() {
    let trusted = Ca::new("Trusted CA");
    let rogue = Ca::new("Rogue CA");
    let leaf = Leaf::new().dns("sip.example.com");
    assert_eq!(
        attempt(&rogue, leaf, client_for(&trusted), &["sip.example.com"]),
        Err(CertFailure::UnknownIssuer)
    );
}

#[test]
fn self_signed_leaf_refused() {
    let ca = Ca::new("Test CA");
    // The "CA" itself presented as a server certificate: not an end entity
    // of a trusted chain.
    let other = Ca::new("sip.example.com");
    let issued = Issued {
        der: other.cert.der().clone(),
        cert_pem: other.cert.pem(),
        key_pem: other.key.serialize_pem(),
    };
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let config = client_for(&ca)
        .verifying(&names(&["sip.example.com"]))
        .unwrap();
    let (_c, _s, result) = connect(config, server.rustls_config(), "sip.example.com");
    let err = result.unwrap_err().client();
    assert!(CertFailure::from_rustls(&err).is_some(), "{err}");
}

#[test]
fn wildcard_refused_by_default_accepted_when_configured() {
    let ca = Ca::new("Test CA");
    let leaf = || Leaf::new().dns("*.example.com");
    let refused = attempt(&ca, leaf(), client_for(&ca), &["sip.example.com"]).unwrap_err();
    assert!(
        matches!(refused, CertFailure::NameMismatch { .. }),
        "{refused:?}"
    );

    let permissive = client_for(&ca).allow_wildcards(true);
    assert_eq!(
        attempt(&ca, leaf(), permissive.clone(), &["sip.example.com"]),
        Ok(())
    );
    // Even when allowed, a wildcard covers exactly one label.
    let deeper = attempt(&ca, leaf(), permissive.clone(), &["a.sip.example.com"]).unwrap_err();
    assert!(matches!(deeper, CertFailure::NameMismatch { .. }));
    let apex = attempt(&ca, leaf(), permissive, &["example.com"]).unwrap_err();
    assert!(matches!(apex, CertFailure::NameMismatch { .. }));
}

#[test]
fn san_sip_uri_accepted_and_takes_precedence() {
    let ca = Ca::new("Test CA");
    // A hosting provider's certificate naming the SIP domain it serves by
    // URI, and its own host by dNSName.
    let leaf = || Leaf::new().uri("sip:example.com").dns("edge1.provider.net");
    assert_eq!(
        attempt(&ca, leaf(), client_for(&ca), &["example.com"]),
        Ok(())
    );
    // RFC 5922 §7.1: with a sip: URI present, dNSName is not an identity.
    let failure = attempt(&ca, leaf(), client_for(&ca), &["edge1.provider.net"]).unwrap_err();
    assert_eq!(
        failure,
        CertFailure::NameMismatch {
            expected: vec!["edge1.provider.net".into()],
            presented: vec![
                "URI:sip:example.com".into(),
                "DNS:edge1.provider.net".into()
            ],
        }
    );
}

#[test]
fn sip_uri_with_user_part_is_not_a_domain() {
    let ca = Ca::new("Test CA");
    let leaf = Leaf::new().uri("sip:alice@example.com");
    let failure = attempt(&ca, leaf, client_for(&ca), &["example.com"]).unwrap_err();
    assert!(
        matches!(failure, CertFailure::NameMismatch { .. }),
        "{failure:?}"
    );
}

#[test]
fn srv_target_accepted_when_caller_allows_it() {
    let ca = Ca::new("Test CA");
    let leaf = || Leaf::new().dns("sip1.example.com");
    // Reached via SRV of example.com: the caller accepts the domain or the target.
    assert_eq!(
        attempt(
            &ca,
            leaf(),
            client_for(&ca),
            &["sip1.example.com", "example.com"]
        ),
        Ok(())
    );
    // Only the domain acceptable: refused.
    let failure = attempt(&ca, leaf(), client_for(&ca), &["example.com"]).unwrap_err();
    assert!(matches!(failure, CertFailure::NameMismatch { .. }));
}

#[test]
fn cn_only_certificate() {
    let ca = Ca::new("Test CA");
    assert_eq!(
        attempt(
            &ca,
            Leaf::new().cn("sip.example.com"),
            client_for(&ca),
            &["sip.example.com"]
        ),
        Ok(())
    );
    // The CN is ignored as soon as there is a dNSName.
    let leaf = Leaf::new().cn("sip.example.com").dns("other.example.com");
    let failure = attempt(&ca, leaf, client_for(&ca), &["sip.example.com"]).unwrap_err();
    assert!(matches!(failure, CertFailure::NameMismatch { .. }));
    // Wildcard CNs follow the wildcard setting.
    let leaf = || Leaf::new().cn("*.example.com");
    assert!(attempt(&ca, leaf(), client_for(&ca), &["sip.example.com"]).is_err());
    let permissive = client_for(&ca).allow_wildcards(true);
    assert_eq!(
        attempt(&ca, leaf(), permissive, &["sip.example.com"]),
        Ok(())
    );
}

#[test]
fn ip_literal_targets() {
    let ca = Ca::new("Test CA");
    assert_eq!(
        attempt(
            &ca,
            Leaf::new().ip("127.0.0.1"),
            client_for(&ca),
            &["127.0.0.1"]
        ),
        Ok(())
    );
    assert_eq!(
        attempt(&ca, Leaf::new().ip("::1"), client_for(&ca), &["[::1]"]),
        Ok(())
    );
    // The address as a dNSName does not satisfy an IP target.
    let failure = attempt(
        &ca,
        Leaf::new().dns("127.0.0.1"),
        client_for(&ca),
        &["127.0.0.1"],
    )
    .unwrap_err();
    assert!(
        matches!(failure, CertFailure::NameMismatch { .. }),
        "{failure:?}"
    );
    // Nor does a different address.
    let failure = attempt(
        &ca,
        Leaf::new().ip("127.0.0.2"),
        client_for(&ca),
        &["127.0.0.1"],
    )
    .unwrap_err();
    assert_eq!(
        failure,
        CertFailure::NameMismatch {
            expected: vec!["127.0.0.1".into()],
            presented: vec!["IP:127.0.0.2".into()],
        }
    );
}

#[test]
fn revoked_certificate_refused_with_crl() {
    let ca = Ca::new("Test CA");
    let mut roots = ca.roots();
    roots
        .add_crl_pem("test CRL", ca.crl(&[4242]).as_bytes())
        .unwrap();
    assert_eq!(roots.crl_count(), 1);
    let client = || ClientTlsConfig::new(roots.clone()).time_provider(fixed_time());
    let revoked = Leaf::new().dns("sip.example.com").serial(4242);
    assert_eq!(
        attempt(&ca, revoked, client(), &["sip.example.com"]),
        Err(CertFailure::Revoked)
    );
    let fine = Leaf::new().dns("sip.example.com").serial(4243);
    assert_eq!(attempt(&ca, fine, client(), &["sip.example.com"]), Ok(()));
}

#[test]
fn chain_checked_before_name() {
    // Both wrong: the issuer is reported, as it is the more fundamental fault.
    let trusted = Ca::new("Trusted CA");
    let rogue = Ca::new("Rogue CA");
    let leaf = Leaf::new().dns("evil.example.net");
    assert_eq!(
        attempt(&rogue, leaf, client_for(&trusted), &["sip.example.com"]),
        Err(CertFailure::UnknownIssuer)
    );
}

#[test]
fn insecure_skip_verify_is_explicit_and_works() {
    let trusted = Ca::new("Trusted CA");
    let rogue = Ca::new("Rogue CA");
    let issued = rogue.issue(
        Leaf::new()
            .dns("wrong.example.net")
            .valid((2020, 1, 1), (2021, 1, 1)),
    );
    let (_dir, server) = server_with(&issued, ServerTlsOptions::default());
    let config = client_for(&trusted)
        .insecure_skip_verify_for_interop("legacy-pbx")
        .unwrap();
    let (mut client, mut server_conn, result) =
        connect(config, server.rustls_config(), "sip.example.com");
    result.unwrap();
    exchange(&mut client, &mut server_conn, "insecure");
}

#[test]
fn configuration_errors() {
    let ca = Ca::new("Test CA");
    assert!(matches!(
        client_for(&ca).verifying(&[]),
        Err(TlsError::NoReferenceNames)
    ));
    let empty = ClientTlsConfig::new(TrustRoots::empty());
    assert!(matches!(
        empty.verifying(&names(&["example.com"])),
        Err(TlsError::NoTrustAnchors)
    ));
}

#[test]
fn failure_round_trips_through_rustls_errors() {
    let cases = [
        CertFailure::Expired,
        CertFailure::NotYetValid,
        CertFailure::UnknownIssuer,
        CertFailure::Revoked,
        CertFailure::BadSignature,
        CertFailure::NoCertificate,
        CertFailure::NameMismatch {
            expected: vec!["a.example".into()],
            presented: vec!["DNS:b.example".into()],
        },
        CertFailure::Other("something".into()),
    ];
    for case in cases {
        let err = case.to_rustls();
        assert_eq!(CertFailure::from_rustls(&err), Some(case.clone()));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err);
        assert_eq!(CertFailure::from_io(&io), Some(case));
    }
    assert_eq!(CertFailure::from_rustls(&rustls::Error::DecryptError), None);
}

#[test]
fn server_name_used_when_it_is_the_only_reference() {
    // The verifier itself falls back to the dialled name when built without
    // explicit names (as used directly, e.g. by a DANE layer).
    let ca = Ca::new("Test CA");
    let issued = ca.issue(Leaf::new().dns("sip.example.com"));
    let verifier = sipwarden_tls::SipServerVerifier::new(
        ca.roots(),
        Vec::new(),
        false,
        sipwarden_tls::crypto_provider(),
    );
    let now = rustls::time_provider::TimeProvider::current_time(&FixedTime).unwrap();
    let good = rustls_pki_types::ServerName::try_from("sip.example.com").unwrap();
    let bad = rustls_pki_types::ServerName::try_from("other.example.com").unwrap();
    assert_eq!(verifier.check(&issued.der, &[], &good, now), Ok(()));
    assert!(matches!(
        verifier.check(&issued.der, &[], &bad, now),
        Err(CertFailure::NameMismatch { .. })
    ));
    let _ = Arc::new(verifier);
}
