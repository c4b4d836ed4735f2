#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! URIs: SIP/SIPS/tel/other parsing, RFC 5118 IPv6 references, RFC 3261 §19.1.4
//! comparison.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use sipwarden_wire::uri::{Scheme, Transport};
use sipwarden_wire::{Host, ParseError, Uri};

fn sip(s: &str) -> sipwarden_wire::uri::SipUri<'_> {
    match Uri::parse(s).unwrap() {
        Uri::Sip(u) => u,
        other => panic!("not a SIP URI: {other:?}"),
    }
}

#[test]
fn full_sip_uri() {
    let u = sip("sip:alice:secret@Atlanta.com:5070;transport=TCP;user=phone;method=INVITE;ttl=15;maddr=239.255.255.1;lr;x=y?subject=project%20x&priority=urgent");
    assert!(!u.secure);
    assert_eq!(u.user, Some("alice"));
    assert_eq!(u.password, Some("secret"));
    assert_eq!(u.host, Host::Domain("atlanta.com".into()));
    assert_eq!(u.host_raw, "Atlanta.com");
    assert_eq!(u.port, Some(5070));
    assert_eq!(u.transport, Some("TCP"));
    assert_eq!(u.transport(), Some(Transport::Tcp));
    assert_eq!(u.user_param, Some("phone"));
    assert_eq!(u.method, Some("INVITE"));
    assert_eq!(u.ttl, Some(15));
    assert_eq!(u.maddr, Some("239.255.255.1"));
    assert_eq!(
        u.maddr_host(),
        Some(Host::Ipv4(Ipv4Addr::new(239, 255, 255, 1)))
    );
    assert!(u.lr);
    assert_eq!(u.params.get("X").unwrap().value, Some("y"));
    assert_eq!(u.params.iter().count(), 7);
    assert_eq!(u.headers.get("Subject"), Some("project%20x"));
    assert_eq!(u.headers.iter().count(), 2);
}

#[test]
fn minimal_and_scheme_case() {
    let u = Uri::parse("SIPS:example.com").unwrap();
    assert_eq!(u.scheme(), Scheme::Sips);
    assert!(u.is_sips());
    assert_eq!(u.user(), None);
    assert_eq!(u.port(), None);
    assert_eq!(u.as_str(), "SIPS:example.com");
    assert_eq!(u.to_string(), "SIPS:example.com");
}

#[test]
fn user_part_may_hold_semicolons_and_escapes() {
    // RFC 4475 §3.1.1.10 (semiuri) and §3.1.1.8 (escnull).
    let u = sip("sip:user;par=u%40example.net@example.com");
    assert_eq!(u.user, Some("user;par=u%40example.net"));
    assert_eq!(u.host, Host::Domain("example.com".into()));
    assert!(u.params.is_empty());
    let u = sip("sip:null-%00-null@example.com");
    assert_eq!(u.user_decoded().unwrap().as_ref(), b"null-\0-null");
    let u = sip("sip:sips%3Auser%40example.com@example.net");
    assert_eq!(u.user_decoded().unwrap().as_ref(), b"sips:user@example.com");
    // Telephone-subscriber style users.
    let u = sip("sip:+1-212-555-1212:1234@gateway.com;user=phone");
    assert_eq!(u.user, Some("+1-212-555-1212"));
    assert_eq!(u.password, Some("1234"));
}

#[test]
fn escaped_param_names_are_recognised() {
    // RFC 4475 §3.1.1.4 (esc02) writes `lr` as `%6C%72`.
    let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
    assert!(u.lr);
    assert_eq!(
        u.params.get("name").unwrap().value,
        Some("v%61lue%25%34%31")
    );
}

#[test]
fn ipv6_references_rfc5118() {
    // §4.2 with a user, §4.3 port ambiguity, §4.6/4.7 IPv4-mapped.
    let u = sip("sip:user@[2001:db8::10]");
    assert_eq!(u.host, Host::Ipv6("2001:db8::10".parse().unwrap()));
    assert_eq!(u.port, None);
    let u = sip("sip:[2001:db8::10:5070]");
    assert_eq!(u.host, Host::Ipv6("2001:db8::10:5070".parse().unwrap()));
    assert_eq!(u.port, None);
    let u = sip("sip:[2001:db8::10]:5070");
    assert_eq!(u.port, Some(5070));
    assert_eq!(u.host_raw, "[2001:db8::10]");
    let u = sip("sip:user@[::ffff:192.0.2.10]:5060;transport=udp");
    assert_eq!(
        u.host,
        Host::Ipv6(Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped())
    );
    // IPv6 compares by value.
    assert_eq!(
        Host::parse("[2001:DB8:0::10]").unwrap(),
        Host::parse("[2001:db8::10]").unwrap()
    );
}

#[test]
fn ipv6_three_colon_form_is_tolerated() {
    // RFC 5118 §4.10: RFC 3261's ABNF allowed `:::` before an embedded IPv4 address.
    let u = sip("sip:[2001:db8:::192.0.2.1]");
    assert_eq!(u.host, Host::Ipv6("2001:db8::192.0.2.1".parse().unwrap()));
    assert_eq!(u.host_raw, "[2001:db8:::192.0.2.1]");
    assert!(Uri::parse("sip:[:::192.0.2.1]").is_ok());
    for bad in [
        "sip:[2001:db8:::1]",
        "sip:[2001::db8:::1.2.3.4]",
        "sip:[2001:db8::::1.2.3.4]",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn ipv6_without_brackets_is_refused() {
    // RFC 5118 §4.1 and §4.3's invalid forms.
    for bad in [
        "sip:user@2001:db8::10",
        "sip:[2001:db8::10",
        "sip:2001:db8::10]",
        "sip:[::ffff:192.0.2.10.5]",
        "sip:[2001:db8::10]5070",
        "sip:[fe80::1%eth0]",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn hosts_and_ports() {
    assert_eq!(
        sip("sip:192.0.2.4:0").host,
        Host::Ipv4(Ipv4Addr::new(192, 0, 2, 4))
    );
    assert_eq!(sip("sip:a.b-c.example.com.").host_raw, "a.b-c.example.com.");
    assert_eq!(sip("sip:x:65535").port, Some(65535));
    assert_eq!(
        Uri::parse("sip:x:65536"),
        Err(ParseError::BadUri("port out of range"))
    );
    assert_eq!(
        Uri::parse("sip:x:99999999999999999999999"),
        Err(ParseError::BadUri("port out of range"))
    );
    for bad in [
        "sip:x:",
        "sip:x:5o6o",
        "sip:",
        "sip:@host",
        "sip:user@",
        "sip:-bad.com",
        "sip:bad-.com",
        "sip:a..b",
        "sip:1.2.3.256",
        "sip:1.2.3",
        "sip:01.2.3.4",
        "sip:example.123",
        "sip:under_score.com",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn malformed_sip_uris() {
    for bad in [
        "sip:user name@host",
        "sip:user@host name",
        "sip:user@host;",
        "sip:user@host;=x",
        "sip:user@host;x=",
        "sip:user@host;transport=",
        "sip:user@host;ttl=256",
        "sip:user@host;ttl=1x",
        "sip:user@host;maddr=not_a_host",
        "sip:user@host;transport=udp;transport=tcp",
        "sip:user@host;lr;lr",
        "sip:user@host?",
        "sip:user@host?x",
        "sip:user@host?=v",
        "sip:us%zzer@host",
        "sip:user@host>",
        "<sip:user@host>",
        "sip:user@host@other",
        "sip:us\"er@host",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn too_many_params_and_long_uris() {
    let many = format!("sip:h{}", ";p".repeat(65));
    assert!(Uri::parse(&many).is_err());
    let ok = format!("sip:h{}", ";p".repeat(64));
    assert!(Uri::parse(&ok).is_ok());
    let long = format!("sip:{}.com", "a".repeat(5000));
    assert_eq!(Uri::parse(&long), Err(ParseError::UriTooLong));
}

#[test]
fn tel_uris() {
    let u = Uri::parse("tel:+1-201-555-0123;ext=1234").unwrap();
    assert_eq!(u.scheme(), Scheme::Tel);
    let t = u.as_tel().unwrap();
    assert!(t.global);
    assert_eq!(t.number, "+1-201-555-0123");
    assert_eq!(t.ext, Some("1234"));
    assert_eq!(t.digits().collect::<Vec<_>>(), b"12015550123".to_vec());

    let t = Uri::parse("tel:7042;phone-context=example.com").unwrap();
    let t = t.as_tel().unwrap();
    assert!(!t.global);
    assert_eq!(t.phone_context, Some("example.com"));

    let t = Uri::parse("tel:*67#A;phone-context=+1-555").unwrap();
    assert_eq!(t.as_tel().unwrap().number, "*67#A");

    for bad in [
        "tel:",
        "tel:+",
        "tel:+-.",
        "tel:7042",
        "tel:+1 555",
        "tel:+1;ext=",
        "tel:+1;ext=12a",
        "tel:+1;=x",
        "tel:+1?x=y",
        "tel:+1;phone-context=a;phone-context=b",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn tel_equivalence() {
    let eq = |a: &str, b: &str| Uri::parse(a).unwrap().equivalent(&Uri::parse(b).unwrap());
    assert!(eq("tel:+1-201-555-0123", "tel:+1.201.555.0123"));
    assert!(eq("tel:+1(201)5550123", "tel:+12015550123"));
    assert!(eq(
        "tel:7042;phone-context=EXAMPLE.com",
        "tel:7042;phone-context=example.com"
    ));
    assert!(eq("tel:+1;a=1;b=2", "tel:+1;b=2;a=1"));
    assert!(!eq("tel:+1;a=1", "tel:+1"));
    assert!(!eq("tel:+12015550123", "tel:+12015550124"));
    assert!(!eq(
        "tel:+7042;phone-context=x.com",
        "tel:7042;phone-context=x.com"
    ));
    assert!(!eq("tel:+1", "sip:+1@x.com"));
}

#[test]
fn other_schemes_kept_raw() {
    let u = Uri::parse("https://cert.example.org/passport.cer?x=1#frag").unwrap();
    assert_eq!(u.scheme(), Scheme::Other);
    match &u {
        Uri::Other(o) => {
            assert_eq!(o.scheme, "https");
            assert_eq!(o.rest, "//cert.example.org/passport.cer?x=1#frag");
        }
        _ => panic!(),
    }
    assert!(Uri::parse("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").is_ok());
    assert!(Uri::parse("soap.beep://192.0.2.103:3002").is_ok());
    for bad in [
        "1http://x",
        "http:",
        "http://a b",
        "ht_tp://x",
        "http://x<y",
        "nocolon",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should fail");
    }
    assert!(Uri::parse("HTTP://x")
        .unwrap()
        .equivalent(&Uri::parse("http://x").unwrap()));
}

fn equivalent(a: &str, b: &str) -> bool {
    let a = Uri::parse(a).unwrap();
    let b = Uri::parse(b).unwrap();
    let ab = a.equivalent(&b);
    assert_eq!(ab, b.equivalent(&a), "comparison must be symmetric");
    ab
}

#[test]
fn rfc3261_19_1_4_equivalent_examples() {
    assert!(equivalent(
        "sip:%61lice@atlanta.com;transport=TCP",
        "sip:alice@AtLanTa.CoM;Transport=tcp"
    ));
    assert!(equivalent(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;newparam=5"
    ));
    assert!(equivalent(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;security=on"
    ));
    assert!(equivalent(
        "sip:carol@chicago.com;newparam=5",
        "sip:carol@chicago.com;security=on"
    ));
    assert!(equivalent(
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
    ));
    assert!(equivalent(
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
    ));
}

#[test]
fn rfc3261_19_1_4_not_equivalent_examples() {
    assert!(!equivalent(
        "SIP:ALICE@AtLanTa.CoM;Transport=udp",
        "sip:alice@AtLanTa.CoM;Transport=UDP"
    ));
    assert!(!equivalent("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert!(!equivalent(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com;transport=udp"
    ));
    assert!(!equivalent(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com:6000;transport=tcp"
    ));
    assert!(!equivalent(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com?Subject=next%20meeting"
    ));
    assert!(!equivalent(
        "sip:bob@phone21.boxesbybob.com",
        "sip:bob@192.0.2.4"
    ));
    assert!(!equivalent(
        "sip:carol@chicago.com;security=on",
        "sip:carol@chicago.com;security=off"
    ));
}

#[test]
fn further_comparison_rules() {
    // sip and sips are never equivalent.
    assert!(!equivalent("sip:a@b.com", "sips:a@b.com"));
    // Passwords are case-sensitive; absent differs from present.
    assert!(!equivalent("sip:a:pw@b.com", "sip:a:PW@b.com"));
    assert!(!equivalent("sip:a:pw@b.com", "sip:a@b.com"));
    // maddr, ttl, user, method must match when in either.
    assert!(!equivalent("sip:b.com;maddr=1.2.3.4", "sip:b.com"));
    assert!(!equivalent("sip:b.com;ttl=1", "sip:b.com"));
    assert!(!equivalent("sip:b.com;user=phone", "sip:b.com"));
    assert!(!equivalent("sip:b.com;method=INVITE", "sip:b.com"));
    assert!(equivalent("sip:b.com;user=Phone", "sip:b.com;user=phone"));
    // An escaped reserved character is not the character itself.
    assert!(!equivalent("sip:a%3Bb@x.com", "sip:a;b@x.com"));
    // lr is compared like any other parameter.
    assert!(equivalent("sip:x.com;lr", "sip:x.com"));
    assert!(!equivalent("sip:x.com;lr", "sip:x.com;lr=on"));
    // Headers must match in both directions.
    assert!(!equivalent("sip:x.com?a=1", "sip:x.com?a=1&b=2"));
    assert!(equivalent("sip:x.com?A=%31", "sip:x.com?a=1"));
    // Different kinds never match.
    assert!(!equivalent("sip:x.com", "tel:+1"));
}

#[test]
fn host_is_a_case_insensitive_key() {
    let mut set = HashSet::new();
    set.insert(Host::parse("Example.COM").unwrap().into_owned());
    assert!(set.contains(&Host::parse("example.com").unwrap()));
    assert!(!set.contains(&Host::parse("example.org").unwrap()));
    set.insert(Host::Ipv6(Ipv6Addr::LOCALHOST));
    assert!(set.contains(&Host::parse("[::1]").unwrap()));
    assert_eq!(Host::parse("[::1]").unwrap().to_string(), "[::1]");
    assert_eq!(
        Host::parse("10.0.0.1").unwrap().ip(),
        Some("10.0.0.1".parse().unwrap())
    );
    assert_eq!(Host::parse("x.org").unwrap().domain(), Some("x.org"));
    assert!(Host::parse("x.org:5060").is_err());
}

#[test]
fn transports() {
    assert_eq!(Transport::from_name("udp"), Transport::Udp);
    assert_eq!(Transport::from_name("TLS-SCTP"), Transport::TlsSctp);
    assert_eq!(Transport::from_name("wss"), Transport::Wss);
    assert_eq!(Transport::from_name("UNKNOWN"), Transport::Other);
    assert_eq!(Transport::Tls.default_port(), 5061);
    assert_eq!(Transport::Ws.default_port(), 5060);
    assert!(!Transport::Udp.is_reliable());
}

#[test]
fn parse_bytes_requires_utf8() {
    assert_eq!(
        Uri::parse_bytes(b"sip:\xffhost"),
        Err(ParseError::BadUri("not valid UTF-8"))
    );
    assert!(Uri::parse_bytes(b"sip:host").is_ok());
}
