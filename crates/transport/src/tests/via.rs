use std::net::SocketAddr;

use sipwarden_wire::HeaderName;

use super::options;
use crate::spec::Transport;
use crate::via::{Rport, Stamp, TopVia, ViaError};

fn via(value: &str) -> Result<TopVia, ViaError> {
    TopVia::parse(&options(value))
}

fn src(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn reads_the_parts_of_a_plain_via() {
    let v = via("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport").unwrap();
    assert_eq!(v.transport, Some(Transport::Udp));
    assert_eq!(v.host, "192.0.2.1");
    assert_eq!(v.port, Some(5070));
    assert_eq!(v.rport, Rport::Requested);
    assert_eq!(v.branch.as_deref(), Some("z9hG4bKabc"));
    assert_eq!(v.received, None);
}

#[test]
fn reads_ipv6_whitespace_and_only_the_first_via_parm() {
    let v = via("SIP / 2.0 / tcp [2001:db8::1]:5061 ; branch=z9hG4bKx ; received=192.0.2.9, SIP/2.0/UDP other").unwrap();
    assert_eq!(v.transport, Some(Transport::Tcp));
    assert_eq!(v.transport_token, "TCP");
    assert_eq!(v.host, "[2001:db8::1]");
    assert_eq!(v.host_ip, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(v.received, Some("192.0.2.9".parse().unwrap()));
    let v = via("SIP/2.0/SCTP host.example.com;x=\"a,b\";branch=z9hG4bK1").unwrap();
    assert_eq!(v.transport, None);
    assert_eq!(v.port, None);
    assert_eq!(v.branch.as_deref(), Some("z9hG4bK1"));
}

#[test]
fn malformed_vias_are_refused() {
    for bad in [
        "SIP/2.0/UDP",
        "SIP/3.0/UDP h",
        "SIP/2.0 h",
        "SIP/2.0/UDP h:70000",
        "SIP/2.0/UDP h:",
        "SIP/2.0/UDP [::1:5060",
        "SIP/2.0/UDP h;branch=",
        "SIP/2.0/UDP h junk",
        "SIP/2.0/UDP h;rport=x",
        "SIP/2.0/UDP h;x=\"open",
    ] {
        assert!(matches!(via(bad), Err(ViaError::Malformed(_))), "{bad}");
    }
}

#[test]
fn stamp_follows_rfc3261_and_rfc3581() {
    let source = src("203.0.113.5:40000");
    // Host differs from the source: received only.
    let s = via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1")
        .unwrap()
        .stamp_for(source);
    assert_eq!(
        s,
        Stamp {
            received: Some(source.ip()),
            rport: None
        }
    );
    // Same host, no rport: nothing.
    let s = via("SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK1")
        .unwrap()
        .stamp_for(source);
    assert_eq!(s, Stamp::default());
    // rport requested: both, even when the host matches.
    let s = via("SIP/2.0/UDP 203.0.113.5:5060;rport;branch=z9hG4bK1")
        .unwrap()
        .stamp_for(source);
    assert_eq!(
        s,
        Stamp {
            received: Some(source.ip()),
            rport: Some(40000)
        }
    );
    // Host names always differ from the source.
    let s = via("SIP/2.0/TCP client.invalid;branch=z9hG4bK1")
        .unwrap()
        .stamp_for(source);
    assert_eq!(s.received, Some(source.ip()));
}

#[test]
fn a_client_cannot_choose_where_responses_go() {
    let source = src("203.0.113.5:40000");
    let m = options("SIP/2.0/UDP 203.0.113.5:5060;received=198.51.100.7;rport=9;branch=z9hG4bK1");
    let v = TopVia::parse(&m).unwrap();
    let stamp = v.stamp_for(source);
    assert_eq!(
        stamp,
        Stamp {
            received: Some(source.ip()),
            rport: Some(40000)
        }
    );
    let out = v.apply_stamp(&m, &stamp).unwrap();
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(text.contains("Via: SIP/2.0/UDP 203.0.113.5:5060;received=203.0.113.5;rport=40000;branch=z9hG4bK1\r\n"), "{text}");
    assert_eq!(
        v.with_stamp(&stamp).udp_response_target(),
        Some(source),
        "maddr/received/rport from the client are overridden"
    );
}

#[test]
fn apply_stamp_changes_only_the_top_via_parm() {
    let m = options("SIP/2.0/UDP 192.0.2.1:5070 ;rport ;branch=z9hG4bKabc, SIP/2.0/UDP 192.0.2.2");
    let v = TopVia::parse(&m).unwrap();
    let stamp = v.stamp_for(src("203.0.113.5:1234"));
    let out = v.apply_stamp(&m, &stamp).unwrap();
    let before = String::from_utf8(m.as_bytes().to_vec()).unwrap();
    let after = String::from_utf8(out.to_vec()).unwrap();
    assert_eq!(
        after,
        before.replace(
            "SIP/2.0/UDP 192.0.2.1:5070 ;rport ;branch=z9hG4bKabc,",
            "SIP/2.0/UDP 192.0.2.1:5070;rport=1234;branch=z9hG4bKabc;received=203.0.113.5,"
        )
    );
    // The result is a valid message whose top Via now routes to the source.
    let parsed = sipwarden_wire::Message::parse(out).unwrap();
    assert_eq!(parsed.count(HeaderName::Via), 1);
    let again = TopVia::parse(&parsed).unwrap();
    assert_eq!(again.rport, Rport::Value(1234));
    assert_eq!(again.udp_response_target(), Some(src("203.0.113.5:1234")));
    assert_eq!(v.apply_stamp(&m, &Stamp::default()), None);
}

#[test]
fn ipv6_received_has_no_brackets() {
    let m = options("SIP/2.0/UDP host.invalid;branch=z9hG4bK1");
    let v = TopVia::parse(&m).unwrap();
    let stamp = v.stamp_for(src("[2001:db8::5]:5060"));
    let out = String::from_utf8(v.apply_stamp(&m, &stamp).unwrap().to_vec()).unwrap();
    assert!(out.contains(";received=2001:db8::5\r\n"), "{out}");
}

#[test]
fn udp_response_targets() {
    let t = |v: &str| via(v).unwrap().udp_response_target();
    assert_eq!(
        t("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"),
        Some(src("192.0.2.1:5060"))
    );
    assert_eq!(
        t("SIP/2.0/UDP 192.0.2.1:5099;branch=z9hG4bK1"),
        Some(src("192.0.2.1:5099"))
    );
    assert_eq!(
        t("SIP/2.0/UDP host.example;received=192.0.2.7;branch=z9hG4bK1"),
        Some(src("192.0.2.7:5060"))
    );
    assert_eq!(
        t("SIP/2.0/UDP 192.0.2.1:5099;received=192.0.2.7;rport=4444;branch=z9hG4bK1"),
        Some(src("192.0.2.7:4444"))
    );
    assert_eq!(t("SIP/2.0/UDP host.example;branch=z9hG4bK1"), None);
    let v = via("SIP/2.0/TLS 192.0.2.1;alias;branch=z9hG4bK1").unwrap();
    assert!(v.alias);
    assert_eq!(v.sent_by_addr(), Some(src("192.0.2.1:5061")));
}

#[test]
fn missing_via() {
    let m = super::msg("OPTIONS sip:x SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:x>\nCall-ID: c\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n");
    assert_eq!(TopVia::parse(&m), Err(ViaError::Missing));
}
