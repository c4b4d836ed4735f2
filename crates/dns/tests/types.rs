//! Host parsing and transport helpers.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;

use sipwarden_dns::{Host, ResolveError, Transport, TransportSet};

#[test]
fn hosts_parse() {
    assert_eq!(
        Host::parse("Example.COM.").unwrap(),
        Host::Name("example.com".into())
    );
    assert_eq!(
        Host::parse("[2001:db8::1]").unwrap(),
        Host::Ip("2001:db8::1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(
        Host::parse("::1").unwrap(),
        Host::Ip("::1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(
        Host::parse("192.0.2.1").unwrap(),
        Host::Ip("192.0.2.1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(
        Host::parse("a-b.c1.example").unwrap().name(),
        Some("a-b.c1.example")
    );
}

#[test]
fn bad_hosts_are_refused() {
    let long_label = "a".repeat(64);
    let long_name = vec!["abcdefghi"; 26].join(".");
    for bad in [
        "",
        ".",
        "a..b",
        "-a.example",
        "a-.example",
        "a_b.example",
        "1.2.3.999",
        "[192.0.2.1]",
        "[::1",
        "exa mple.com",
        "example.com:5060",
        long_label.as_str(),
        long_name.as_str(),
    ] {
        assert!(
            matches!(Host::parse(bad), Err(ResolveError::InvalidHost(_))),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn invalid_host_error_is_truncated() {
    let huge = "x ".repeat(10_000);
    let Err(ResolveError::InvalidHost(echo)) = Host::parse(&huge) else {
        panic!("accepted");
    };
    assert!(echo.len() <= 64);
}

#[test]
fn host_display_brackets_ipv6() {
    assert_eq!(Host::parse("::1").unwrap().to_string(), "[::1]");
    assert_eq!(Host::parse("192.0.2.1").unwrap().to_string(), "192.0.2.1");
}

#[test]
fn transport_params_and_services() {
    assert_eq!(Transport::from_param("udp"), Some(Transport::Udp));
    assert_eq!(Transport::from_param("TLS"), Some(Transport::Tls));
    assert_eq!(Transport::from_param("Wss"), Some(Transport::Wss));
    assert_eq!(Transport::from_param("sctp"), None);
    assert_eq!(
        Transport::from_naptr_service("sips+d2t"),
        Some(Transport::Tls)
    );
    assert_eq!(
        Transport::from_naptr_service("SIP+D2W"),
        Some(Transport::Ws)
    );
    assert_eq!(Transport::from_naptr_service("SIP+D2S"), None);
    assert_eq!(Transport::from_naptr_service("E2U+sip"), None);
    assert_eq!(Transport::Tls.srv_prefix(), "_sips._tcp");
    assert_eq!(Transport::Wss.srv_prefix(), "_sips._ws");
    assert_eq!(Transport::Udp.default_port(), 5060);
    assert_eq!(Transport::Tls.default_port(), 5061);
}

#[test]
fn transport_sets() {
    let all = TransportSet::all();
    assert!(Transport::ALL.iter().all(|t| all.contains(*t)));
    let secure = all.secure_only();
    assert!(secure.contains(Transport::Tls) && secure.contains(Transport::Wss));
    assert!(!secure.contains(Transport::Udp) && !secure.contains(Transport::Tcp));
    assert!(!secure.contains(Transport::Ws));
    assert!(TransportSet::EMPTY.is_empty());
    assert!(TransportSet::from_slice(&[Transport::Udp])
        .secure_only()
        .is_empty());
}
