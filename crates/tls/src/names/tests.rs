//! Unit tests of RFC 5922 name extraction and matching.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{CertificateParams, DistinguishedName, DnType, Ia5String, KeyPair, SanType};
use rustls_pki_types::CertificateDer;

use super::*;

fn cert(cn: Option<&str>, sans: Vec<SanType>) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    params.subject_alt_names = sans;
    params.self_signed(&key).unwrap().der().clone()
}

fn uri(s: &str) -> SanType {
    SanType::URI(Ia5String::try_from(s).unwrap())
}

fn dns(s: &str) -> SanType {
    SanType::DnsName(Ia5String::try_from(s).unwrap())
}

fn domain(s: &str) -> ReferenceName {
    ReferenceName::parse(s).unwrap()
}

#[test]
fn sip_uri_host_extraction() {
    assert_eq!(
        sip_domain_of_uri("sip:example.com"),
        Some("example.com".into())
    );
    assert_eq!(
        sip_domain_of_uri("SIPS:Example.COM."),
        Some("example.com".into())
    );
    assert_eq!(
        sip_domain_of_uri("sip:example.com:5061;transport=tls"),
        Some("example.com".into())
    );
    assert_eq!(
        sip_domain_of_uri("sip:[2001:db8::1]:5061"),
        Some("2001:db8::1".into())
    );
    assert_eq!(
        sip_domain_of_uri("sip:example.com?subject=x"),
        Some("example.com".into())
    );
    // A user part names a user, not a domain (RFC 5922 §7.1).
    assert_eq!(sip_domain_of_uri("sip:alice@example.com"), None);
    assert_eq!(sip_domain_of_uri("https://example.com"), None);
    assert_eq!(sip_domain_of_uri("tel:+15551234"), None);
    assert_eq!(sip_domain_of_uri("sip:"), None);
    assert_eq!(sip_domain_of_uri("nocolon"), None);
}

#[test]
fn wildcard_rules() {
    assert!(domain_matches("*.example.com", "a.example.com", true));
    assert!(!domain_matches("*.example.com", "a.example.com", false));
    assert!(!domain_matches("*.example.com", "example.com", true));
    assert!(!domain_matches("*.example.com", "a.b.example.com", true));
    assert!(!domain_matches("*.com", "example.com", true));
    assert!(!domain_matches("f*.example.com", "foo.example.com", true));
    assert!(!domain_matches("*.*.example.com", "a.b.example.com", true));
    assert!(domain_matches("Example.Com", "example.com", false));
}

#[test]
fn reference_name_parsing() {
    assert_eq!(
        domain("Example.COM."),
        ReferenceName::Domain("example.com".into())
    );
    assert_eq!(
        ReferenceName::parse("192.0.2.1").unwrap(),
        ReferenceName::Ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    assert_eq!(
        ReferenceName::parse("[2001:db8::1]").unwrap(),
        ReferenceName::Ip(IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()))
    );
    assert!(ReferenceName::parse("").is_err());
    assert!(ReferenceName::parse("*.example.com").is_err());
    assert!(ReferenceName::parse("[example.com]").is_err());
    assert!(ReferenceName::parse("exa mple.com").is_err());
    assert_eq!(domain("example.com").to_string(), "example.com");
    assert!(matches!(
        domain("example.com").to_server_name().unwrap(),
        ServerName::DnsName(_)
    ));
    assert!(matches!(
        ReferenceName::parse("::1")
            .unwrap()
            .to_server_name()
            .unwrap(),
        ServerName::IpAddress(_)
    ));
}

#[test]
fn sip_uri_takes_precedence_over_dns() {
    let der = cert(
        Some("ignored.example"),
        vec![uri("sip:example.com"), dns("proxy.provider.net")],
    );
    let names = PresentedNames::from_der(&der).unwrap();
    assert_eq!(names.sip_identities(), ["example.com".to_owned()]);
    assert!(names.matches(&domain("example.com"), false));
    // With a sip: URI present, dNSName entries are not SIP identities.
    assert!(!names.matches(&domain("proxy.provider.net"), false));
    assert!(!names.matches(&domain("ignored.example"), false));
}

#[test]
fn dns_used_without_sip_uri_and_user_uris_ignored() {
    let der = cert(
        Some("cn.example"),
        vec![
            uri("sip:alice@example.com"),
            uri("https://example.com"),
            dns("Proxy.Example.COM"),
        ],
    );
    let names = PresentedNames::from_der(&der).unwrap();
    assert_eq!(names.sip_identities(), ["proxy.example.com".to_owned()]);
    assert!(names.matches(&domain("proxy.example.com"), false));
    assert!(!names.matches(&domain("example.com"), false));
    // The CN is never used when there are naming SANs.
    assert!(!names.matches(&domain("cn.example"), false));
    let described = names.describe();
    assert!(
        described.contains(&"URI:sip:alice@example.com".to_owned()),
        "{described:?}"
    );
    assert!(
        described.contains(&"CN:cn.example".to_owned()),
        "{described:?}"
    );
}

#[test]
fn cn_only_when_no_naming_san() {
    let der = cert(Some("Example.COM"), vec![]);
    let names = PresentedNames::from_der(&der).unwrap();
    assert!(names.matches(&domain("example.com"), false));

    let email_only = cert(
        Some("example.com"),
        vec![SanType::Rfc822Name(
            Ia5String::try_from("ops@example.com").unwrap(),
        )],
    );
    let names = PresentedNames::from_der(&email_only).unwrap();
    assert!(names.matches(&domain("example.com"), false));

    let with_ip = cert(
        Some("example.com"),
        vec![SanType::IpAddress([192, 0, 2, 1].into())],
    );
    let names = PresentedNames::from_der(&with_ip).unwrap();
    assert!(!names.matches(&domain("example.com"), false));
}

#[test]
fn ip_references_match_ip_sans_only() {
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let v6: IpAddr = "2001:db8::10".parse().unwrap();
    let der = cert(
        None,
        vec![
            SanType::IpAddress(v4),
            SanType::IpAddress(v6),
            dns("192.0.2.11"),
        ],
    );
    let names = PresentedNames::from_der(&der).unwrap();
    assert!(names.matches(&ReferenceName::Ip(v4), false));
    assert!(names.matches(&ReferenceName::Ip(v6), false));
    // An address written as a dNSName does not count for an IP target.
    assert!(!names.matches(&ReferenceName::parse("192.0.2.11").unwrap(), false));

    let uri_ip = cert(None, vec![uri("sip:192.0.2.12")]);
    let names = PresentedNames::from_der(&uri_ip).unwrap();
    assert!(names.matches(&ReferenceName::parse("192.0.2.12").unwrap(), false));
}

#[test]
fn wildcards_never_in_sip_uris() {
    let der = cert(None, vec![uri("sip:*.example.com")]);
    let names = PresentedNames::from_der(&der).unwrap();
    assert!(!names.matches(&domain("a.example.com"), true));
    let der = cert(None, vec![dns("*.example.com")]);
    let names = PresentedNames::from_der(&der).unwrap();
    assert!(names.matches(&domain("a.example.com"), true));
    assert!(!names.matches(&domain("a.example.com"), false));
}

#[test]
fn peer_identity_of_certificate() {
    let der = cert(
        Some("x"),
        vec![uri("sip:Example.com"), dns("proxy.example.com")],
    );
    let id = PeerIdentity::from_certificate(&der).unwrap();
    assert_eq!(id.domains, vec!["example.com".to_owned()]);
    assert!(id.has_domain("EXAMPLE.com."));
    assert!(!id.has_domain("proxy.example.com"));
    assert_eq!(id.fingerprint_hex().len(), 32 * 3 - 1);
    assert!(PeerIdentity::from_certificate(&CertificateDer::from(vec![1, 2, 3])).is_err());
}
