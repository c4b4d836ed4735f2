#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Typed header decoders, one section per header family.

use std::net::{IpAddr, Ipv4Addr};

use sipwarden_wire::headers::{
    parse_call_id, parse_content_length, parse_expires, parse_max_forwards, token_list, AuthInfo,
    CSeq, Challenge, Contact, Contacts, Credentials, DisplayName, Identity, MediaType, NameAddr,
    Rport, SecurityMechanism, Via,
};
use sipwarden_wire::lex::ParamValue;
use sipwarden_wire::{HeaderName, Host, Method, ParseError, Transport, Uri};

fn bad(header: &'static str, reason: &'static str) -> ParseError {
    ParseError::BadHeader { header, reason }
}

// ---------------------------------------------------------------- Via

#[test]
fn via_basic() {
    let v = Via::parse(b"SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds").unwrap();
    assert_eq!(v.protocol, "SIP");
    assert_eq!(v.version, "2.0");
    assert_eq!(v.transport, Transport::Udp);
    assert_eq!(v.transport_raw, "UDP");
    assert_eq!(v.host, Host::Domain("pc33.atlanta.com".into()));
    assert_eq!(v.port, None);
    assert_eq!(v.port_or_default(), 5060);
    assert_eq!(v.branch, Some("z9hG4bK776asdhds"));
    assert!(v.has_rfc3261_branch());
    assert_eq!(
        v.raw,
        "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"
    );
}

#[test]
fn via_all_known_params() {
    let v = Via::parse(
        b"SIP/2.0/TLS 192.0.2.1:5061;received=198.51.100.7;rport=40000;maddr=224.0.1.75;ttl=16;branch=z9hG4bKx;ext=\"q\"",
    )
    .unwrap();
    assert_eq!(v.transport, Transport::Tls);
    assert_eq!(v.host, Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.received, Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))));
    assert_eq!(v.rport, Some(Rport::Port(40000)));
    assert_eq!(v.maddr, Some(Host::Ipv4(Ipv4Addr::new(224, 0, 1, 75))));
    assert_eq!(v.ttl, Some(16));
    assert_eq!(v.params.get("ext").unwrap().value.unwrap().text(), "q");
    let v = Via::parse(b"SIP/2.0/TCP h.example.com;rport;branch=z9hG4bKy").unwrap();
    assert_eq!(v.rport, Some(Rport::Requested));
    assert_eq!(v.port_or_default(), 5060);
    // RFC 4475 §3.2.1: a bare magic cookie is not a transaction identifier.
    let v = Via::parse(b"SIP/2.0/UDP h.example.com;branch=z9hG4bK").unwrap();
    assert!(!v.has_rfc3261_branch());
    let v = Via::parse(b"SIP/2.0/TLS h.example.com;branch=abc").unwrap();
    assert_eq!(v.port_or_default(), 5061);
    assert!(!v.has_rfc3261_branch());
}

#[test]
fn via_lws_and_folding() {
    // RFC 4475 §3.1.1.1 (wsinv) style spacing.
    let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;rport;branch=390skdjuw").unwrap();
    assert_eq!(v.transport, Transport::Udp);
    assert_eq!(v.branch, Some("390skdjuw"));
    let v = Via::parse(b"SIP/2.0/TCP spindle.example.com   ;branch  =   z9hG4bK9ikj8  ").unwrap();
    assert_eq!(v.branch, Some("z9hG4bK9ikj8"));
    let v = Via::parse(b"SIP/2.0/UDP host : 5070 ;branch=x").unwrap();
    assert_eq!(v.port, Some(5070));
}

#[test]
fn via_list() {
    let list: Vec<_> = Via::parse_list(
        b"SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8 ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239",
    )
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].transport, Transport::Tcp);
    assert_eq!(list[1].branch, Some("z9hG4bK30239"));
    assert_eq!(list[1].host, Host::Ipv4(Ipv4Addr::new(192, 168, 255, 111)));

    // RFC 4475 §3.1.1.? transports: unknown transports are kept.
    let list: Vec<_> = Via::parse_list(
        b"SIP/2.0/SCTP t2.example.com;branch=a, SIP/2.0/UNKNOWN t4.example.com;branch=b",
    )
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(list[0].transport, Transport::Sctp);
    assert_eq!(list[1].transport, Transport::Other);
    assert_eq!(list[1].transport_raw, "UNKNOWN");
}

#[test]
fn via_ipv6_rfc5118() {
    // §4.4/§4.5: IPv6 sent-by, received with and without brackets.
    let v =
        Via::parse(b"SIP/2.0/UDP [2001:db8::9:1]:5070;received=2001:db8::9:255;branch=z9hG4bKas3")
            .unwrap();
    assert_eq!(v.host, Host::Ipv6("2001:db8::9:1".parse().unwrap()));
    assert_eq!(v.port, Some(5070));
    assert_eq!(v.received, Some("2001:db8::9:255".parse().unwrap()));
    let v = Via::parse(b"SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3")
        .unwrap();
    assert_eq!(v.received, Some("2001:db8::9:255".parse().unwrap()));
    assert_eq!(v.host_raw, "[2001:db8::9:1]");
}

#[test]
fn via_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty value"),
        (b"SIP/2.0/UDP", "missing whitespace before sent-by"),
        (b"SIP/2.0 host", "malformed sent-protocol"),
        (b"SIP/2.0/UDPhost", "missing whitespace before sent-by"),
        (
            b"SIP/2.0/UDP host;branch=a;branch=b",
            "duplicate Via parameter",
        ),
        (b"SIP/2.0/UDP host;branch", "branch needs a token value"),
        (
            b"SIP/2.0/UDP host;branch=\"q\"",
            "branch needs a token value",
        ),
        (
            b"SIP/2.0/UDP host;received=example.com",
            "received is not an IP address",
        ),
        (b"SIP/2.0/UDP host;ttl=300", "ttl out of range"),
        (b"SIP/2.0/UDP host;rport=70000", "port out of range"),
        (b"SIP/2.0/UDP host:70000", "port out of range"),
        (
            b"SIP/2.0/UDP host garbage",
            "unexpected characters after value",
        ),
        (b"SIP/2.0/UDP host, ", "unexpected characters after value"),
        (b"SIP/2.0/UDP 2001:db8::1", "malformed IPv4 address"),
    ];
    for (value, reason) in cases {
        assert_eq!(
            Via::parse(value),
            Err(bad("Via", reason)),
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    assert!(Via::parse(b"SIP/2.0/UDP a, SIP/2.0/UDP b").is_err());
    // In a list, a trailing comma is an empty element; it fails the element before it,
    // so garbage after the top entry can never go unnoticed.
    assert_eq!(
        Via::parse_list(b"SIP/2.0/UDP host, ").next(),
        Some(Err(bad("Via", "empty list element")))
    );
    assert!(Via::parse(b"SIP/2.0/UDP h\xff").is_err());
    // A list ends at its first error.
    let mut list = Via::parse_list(b"SIP/2.0/UDP a;branch=1, junk, SIP/2.0/UDP c");
    assert!(list.next().unwrap().is_ok());
    assert!(list.next().unwrap().is_err());
    assert!(list.next().is_none());
}

// ---------------------------------------------------------------- addresses

#[test]
fn name_addr_forms() {
    let a = NameAddr::parse(
        HeaderName::From,
        b"\"Bob \\\"B\\\" Smith\" <sips:bob@biloxi.com;transport=tls>;tag=a73kszlfl",
    )
    .unwrap();
    assert!(matches!(a.display_name, Some(DisplayName::Quoted(_))));
    assert_eq!(a.display_name.unwrap().text(), "Bob \"B\" Smith");
    assert!(a.bracketed);
    assert!(a.uri.is_sips());
    assert_eq!(a.uri.as_sip().unwrap().transport, Some("tls"));
    assert_eq!(a.tag, Some("a73kszlfl"));

    let a = NameAddr::parse(HeaderName::To, b"Bob  Smith<sip:bob@biloxi.com>").unwrap();
    assert_eq!(a.display_name, Some(DisplayName::Tokens("Bob  Smith")));
    assert_eq!(a.tag, None);

    let a = NameAddr::parse(HeaderName::To, b"<sip:bob@biloxi.com>").unwrap();
    assert_eq!(a.display_name, None);

    let a = NameAddr::parse(HeaderName::From, b"caller<sip:caller@example.com>;tag=323").unwrap();
    assert_eq!(a.display_name.unwrap().raw(), "caller");
    assert_eq!(a.tag, Some("323"));
}

#[test]
fn addr_spec_params_belong_to_the_header() {
    // RFC 3261 §20.10.
    let a = NameAddr::parse(
        HeaderName::From,
        b"sip:alice@atlanta.com;tag=88sja8x;user=phone",
    )
    .unwrap();
    assert!(!a.bracketed);
    assert_eq!(a.uri.as_str(), "sip:alice@atlanta.com");
    assert_eq!(a.uri.as_sip().unwrap().user_param, None);
    assert_eq!(a.tag, Some("88sja8x"));
    assert!(a.params.contains("user"));

    let a = NameAddr::parse(
        HeaderName::From,
        b"<sip:alice@atlanta.com;user=phone>;tag=1",
    )
    .unwrap();
    assert_eq!(a.uri.as_sip().unwrap().user_param, Some("phone"));
    assert!(!a.params.contains("user"));

    let a = NameAddr::parse(HeaderName::To, b"tel:+1-555-0100;tag=9").unwrap();
    assert!(matches!(a.uri, Uri::Tel(_)));
    assert_eq!(a.tag, Some("9"));
}

#[test]
fn name_addr_errors() {
    let cases: &[(&[u8], &str)] = &[
        // RFC 4475 §3.1.2.? baddn: an unquoted display name with a comma.
        (
            b"Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43",
            "expected '<' after display name",
        ),
        // quotbal: unbalanced quote.
        (
            b"\"Mr. J. User <sip:j.user@example.com>",
            "unterminated quoted string",
        ),
        (b"<sip:j.user@example.com", "unbalanced '<'"),
        (b"<sip:j.user@example.com>;tag=a;tag=b", "duplicate tag"),
        (b"<sip:j.user@example.com>;tag", "tag needs a token value"),
        (
            b"<sip:j.user@example.com>;tag=\"x\"",
            "tag needs a token value",
        ),
        (b"< sip:j.user@example.com >", "malformed scheme"),
        (b"\"x\" sip:x@y", "expected '<' after display name"),
        (b"Bob sip:x@y", "expected '<' after display name"),
        (b"sip:x@y?subject=z", "unexpected characters after value"),
        (b"sip:x@y, sip:z@w", "unexpected characters after value"),
        (b"<sip:x@y> junk", "unexpected characters after value"),
        (b"", "empty value"),
        (b"<>", "no scheme"),
    ];
    for (value, reason) in cases {
        assert_eq!(
            NameAddr::parse(HeaderName::To, value),
            Err(bad("To", reason)),
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    assert!(NameAddr::parse(HeaderName::From, b"<sip:user@2001:db8::10>").is_err());
}

#[test]
fn routes_require_angle_brackets() {
    let routes: Vec<_> = NameAddr::parse_list(
        HeaderName::Route,
        b"<sip:p1.example.com;lr>,\r\n <sip:[2001:db8::1]:5061;transport=tls;lr> , \"named\" <sip:p3.example.com;lr>",
    )
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(routes.len(), 3);
    assert!(routes.iter().all(|r| r.uri.as_sip().unwrap().lr));
    assert_eq!(routes[1].uri.port(), Some(5061));
    assert_eq!(
        NameAddr::parse_list(HeaderName::Route, b"sip:p1.example.com;lr").next(),
        Some(Err(bad("Route", "URI must be in angle brackets")))
    );
    assert_eq!(
        NameAddr::parse_list(HeaderName::RecordRoute, b"<sip:a>,,<sip:b>").next(),
        Some(Err(bad("Record-Route", "empty list element")))
    );
    assert!(NameAddr::parse_list(HeaderName::Path, b"<sip:a.com>").all(|r| r.is_ok()));
}

#[test]
fn contacts() {
    let c: Vec<_> = Contact::parse_list(
        b"\"Mr. Watson\" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600,\r\n \"Mr. Watson\" <mailto:watson@bell-telephone.com> ;q=0.1",
    )
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].q, Some(700));
    assert_eq!(c[0].expires, Some(3600));
    assert_eq!(c[1].q, Some(100));
    assert!(matches!(c[1].addr.uri, Uri::Other(_)));

    let c = Contacts::parse(
        b"<sip:line1@192.0.2.2;transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"",
    )
    .unwrap();
    let first = &c.as_slice()[0];
    assert_eq!(first.reg_id, Some(1));
    assert_eq!(
        first.instance,
        Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>")
    );
    assert_eq!(c.iter().count(), 1);

    assert_eq!(Contacts::parse(b"*").unwrap(), Contacts::Wildcard);
    assert!(Contacts::parse(b" * ").unwrap().is_wildcard());
    assert_eq!(Contacts::parse(b"*").unwrap().as_slice().len(), 0);
    // `*` is a token character, so it may start a display name.
    assert!(!Contacts::parse(b"*star <sip:a@b.com>")
        .unwrap()
        .is_wildcard());
}

#[test]
fn contact_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"<sip:a@b.com>;q=1.5", "malformed q value"),
        (b"<sip:a@b.com>;q=0.1234", "malformed q value"),
        (b"<sip:a@b.com>;q", "malformed q value"),
        (b"<sip:a@b.com>;q=0.1;q=0.2", "duplicate contact parameter"),
        (b"<sip:a@b.com>;expires=4294967296", "expires out of range"),
        (b"<sip:a@b.com>;expires=soon", "malformed expires"),
        (b"<sip:a@b.com>;reg-id=0", "reg-id out of range"),
        (
            b"<sip:a@b.com>;+sip.instance=urn",
            "+sip.instance needs a quoted value",
        ),
        (b"*, <sip:a@b.com>", "expected '<' after display name"),
        (b"*;expires=0", "expected '<' after display name"),
    ];
    for (value, reason) in cases {
        assert_eq!(
            Contacts::parse(value),
            Err(bad("Contact", reason)),
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    assert_eq!(
        Contacts::parse(b"<sip:a@b.com>;expires=4294967295")
            .unwrap()
            .as_slice()[0]
            .expires,
        Some(u32::MAX)
    );
}

// ---------------------------------------------------------------- scalars

#[test]
fn call_id() {
    assert_eq!(
        parse_call_id(b"a84b4c76e66710@pc33.atlanta.com"),
        Ok("a84b4c76e66710@pc33.atlanta.com")
    );
    assert_eq!(
        parse_call_id(b"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
        Ok("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    );
    assert_eq!(
        parse_call_id(b"w<o>r\"d\\:[]{}?/@h"),
        Ok("w<o>r\"d\\:[]{}?/@h")
    );
    for bad_value in [&b""[..], b"a b", b"a@", b"@b", b"a@b@c", b"a;b", b"a,b"] {
        assert!(
            parse_call_id(bad_value).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad_value)
        );
    }
}

#[test]
fn cseq() {
    let c = CSeq::parse(b"314159 INVITE").unwrap();
    assert_eq!(c.seq, 314159);
    assert_eq!(c.method, Method::Invite);
    let c = CSeq::parse(b"  0\r\n  NEWMETHOD ").unwrap();
    assert_eq!(c.seq, 0);
    assert_eq!(c.method, Method::Extension);
    assert_eq!(c.method_raw, "NEWMETHOD");
    assert_eq!(CSeq::parse(b"2147483647 ACK").unwrap().seq, 2147483647);
    assert_eq!(
        CSeq::parse(b"2147483648 ACK"),
        Err(ParseError::NumberOutOfRange("CSeq"))
    );
    // RFC 4475 §3.1.2.? scalar02.
    assert_eq!(
        CSeq::parse(b"36893488147419103232 INVITE"),
        Err(ParseError::NumberOutOfRange("CSeq"))
    );
    assert_eq!(
        CSeq::parse(b"INVITE"),
        Err(bad("CSeq", "missing sequence number"))
    );
    assert_eq!(CSeq::parse(b"1INVITE"), Err(bad("CSeq", "missing method")));
    assert_eq!(CSeq::parse(b"1 "), Err(bad("CSeq", "missing method")));
    assert_eq!(
        CSeq::parse(b"-1 INVITE"),
        Err(bad("CSeq", "missing sequence number"))
    );
    assert!(CSeq::parse(b"1 INVITE x").is_err());
}

#[test]
fn numbers() {
    assert_eq!(parse_max_forwards(b"70"), Ok(70));
    assert_eq!(parse_max_forwards(b"0"), Ok(0));
    assert_eq!(parse_max_forwards(b"255"), Ok(255));
    assert_eq!(
        parse_max_forwards(b"256"),
        Err(ParseError::NumberOutOfRange("Max-Forwards"))
    );
    assert_eq!(
        parse_max_forwards(b"300"),
        Err(ParseError::NumberOutOfRange("Max-Forwards"))
    );
    assert_eq!(
        parse_max_forwards(b"7 0"),
        Err(bad("Max-Forwards", "unexpected characters after value"))
    );
    assert_eq!(
        parse_max_forwards(b"-1"),
        Err(bad("Max-Forwards", "not a number"))
    );
    assert_eq!(
        parse_max_forwards(b""),
        Err(bad("Max-Forwards", "empty value"))
    );

    assert_eq!(parse_expires(HeaderName::Expires, b"3600"), Ok(3600));
    assert_eq!(
        parse_expires(HeaderName::Expires, b"4294967295"),
        Ok(u32::MAX)
    );
    assert_eq!(
        parse_expires(HeaderName::Expires, b"4294967296"),
        Err(ParseError::NumberOutOfRange("Expires"))
    );
    assert_eq!(
        parse_expires(HeaderName::MinExpires, b"10000000000000000000000"),
        Err(ParseError::NumberOutOfRange("Min-Expires"))
    );
    assert_eq!(
        parse_expires(HeaderName::Expires, b"Thu, 01 Dec 1994 16:00:00 GMT"),
        Err(bad("Expires", "not a number"))
    );
    assert_eq!(parse_content_length(b"349"), Ok(349));
    assert_eq!(parse_content_length(b"0"), Ok(0));
    assert!(parse_content_length(b"-3").is_err());
    assert!(parse_content_length(b"99999999999").is_err());
}

#[test]
fn content_type() {
    let m = MediaType::parse(b"multipart/signed;protocol=\"application/pkcs7-signature\"; micalg=sha1;boundary=boundary42").unwrap();
    assert!(m.is("Multipart", "SIGNED"));
    assert_eq!(m.param("boundary").unwrap().raw(), "boundary42");
    assert_eq!(
        m.param("protocol").unwrap().text(),
        "application/pkcs7-signature"
    );
    let m = MediaType::parse(b"application / sdp").unwrap();
    assert_eq!((m.ty, m.subtype), ("application", "sdp"));
    for v in [
        &b"application"[..],
        b"application/",
        b"/sdp",
        b"text/plain;charset",
        b"text/plain;a=b:c",
        b"text/plain garbage",
    ] {
        assert!(
            MediaType::parse(v).is_err(),
            "{}",
            String::from_utf8_lossy(v)
        );
    }
}

// ---------------------------------------------------------------- authentication

#[test]
fn digest_credentials() {
    let c = Credentials::parse(
        HeaderName::Authorization,
        b"Digest username=\"bob\",\r\n realm=\"biloxi.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .unwrap();
    assert!(c.is_digest());
    assert_eq!(c.param("USERNAME").unwrap().text(), "bob");
    assert_eq!(c.param("qop"), Some(ParamValue::Token("auth")));
    assert_eq!(c.param("nc").unwrap().raw(), "00000001");
    assert!(c.param("uri").unwrap().is_quoted());
    assert_eq!(c.params.iter().count(), 9);
    assert!(c.param("stale").is_none());
}

#[test]
fn challenges_and_info() {
    let c = Challenge::parse(
        HeaderName::ProxyAuthenticate,
        b"Digest realm=\"atlanta.com\", domain=\"sip:ss1.carrier.com\", qop=\"auth,auth-int\", nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", stale=FALSE, algorithm=SHA-256",
    )
    .unwrap();
    assert_eq!(c.scheme, "Digest");
    assert_eq!(c.param("qop").unwrap().text(), "auth,auth-int");
    assert_eq!(c.param("opaque").unwrap().text(), "");
    assert_eq!(c.param("algorithm").unwrap().raw(), "SHA-256");

    let i =
        AuthInfo::parse(b"nextnonce=\"47364c23432d2e131a5fb210812c\", qop=auth, rspauth=\"abc\"")
            .unwrap();
    assert_eq!(
        i.param("nextnonce").unwrap().text(),
        "47364c23432d2e131a5fb210812c"
    );
}

#[test]
fn auth_errors() {
    let h = HeaderName::Authorization;
    let cases: &[(&[u8], &str)] = &[
        (b"Digest", "missing authentication parameters"),
        (b"Digest ", "missing authentication parameters"),
        (
            b"Digest realm=\"a\", realm=\"b\"",
            "duplicate authentication parameter",
        ),
        (
            b"Digest realm=\"a\", REALM=\"b\"",
            "duplicate authentication parameter",
        ),
        (b"Digest realm=\"a\",", "expected authentication parameter"),
        (b"Digest realm", "authentication parameter without '='"),
        (b"Digest realm=\"open", "unterminated quoted string"),
        (b"Digest realm=a b", "unexpected characters after value"),
        (b"Digest uri=sip:x", "unexpected characters after value"),
        (b"Digest realm=", "malformed authentication parameter value"),
        (b"=x", "missing scheme"),
    ];
    for (value, reason) in cases {
        assert_eq!(
            Credentials::parse(h, value),
            Err(bad("Authorization", reason)),
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    let many: String = (0..33)
        .map(|i| format!("p{i}=x"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        Challenge::parse(
            HeaderName::WwwAuthenticate,
            format!("Digest {many}").as_bytes()
        ),
        Err(bad(
            "WWW-Authenticate",
            "too many authentication parameters"
        ))
    );
}

// ---------------------------------------------------------------- token lists

#[test]
fn option_tags_and_allow() {
    let tags: Vec<_> = token_list(HeaderName::Require, b"100rel,\r\n timer ,  sec-agree")
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tags, vec!["100rel", "timer", "sec-agree"]);
    assert_eq!(token_list(HeaderName::Supported, b"").count(), 0);
    assert_eq!(
        token_list(HeaderName::Require, b"").next(),
        Some(Err(bad("Require", "empty value")))
    );
    assert_eq!(
        token_list(HeaderName::ProxyRequire, b"a,,b").next(),
        Some(Err(bad("Proxy-Require", "empty list element")))
    );
    assert_eq!(
        token_list(HeaderName::Supported, b"a b").next(),
        Some(Err(bad("Supported", "unexpected characters after value")))
    );
    let methods: Vec<_> = token_list(HeaderName::Allow, b"INVITE, ACK, OPTIONS, CANCEL, BYE")
        .map(|m| Method::from_bytes(m.unwrap().as_bytes()))
        .collect();
    assert_eq!(methods[0], Method::Invite);
    assert_eq!(methods.len(), 5);
}

// ---------------------------------------------------------------- Identity

const PASSPORT: &str = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjE1NTU1MTIxMyJdfX0.rq3pjT1hoRwakEGjHCnWSwUnshd0-zJ6F1VOgFWSjHBr8Qjpjlk-cpFYpFYsojNCpTzO3QfPOlckGaS6hEck7w";

#[test]
fn identity() {
    let v =
        format!("{PASSPORT};info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=\"shaken\"");
    let id = Identity::parse(v.as_bytes()).unwrap();
    assert_eq!(id.digest, PASSPORT);
    assert_eq!(id.info, "https://cert.example.org/passport.cer");
    assert_eq!(id.alg, Some("ES256"));
    assert_eq!(id.ppt, Some("shaken"));
    assert!(id.params.starts_with(";info="));

    let v = format!("{PASSPORT}\r\n ;info=<https://x.example/c.pem>;ppt=shaken;x-ext=1;flag");
    let id = Identity::parse(v.as_bytes()).unwrap();
    assert_eq!(id.ppt, Some("shaken"));
    assert_eq!(id.alg, None);
}

#[test]
fn identity_errors() {
    let cases = [
        (PASSPORT.to_string(), "missing info parameter"),
        (format!("{PASSPORT};alg=ES256"), "missing info parameter"),
        (
            format!("{PASSPORT};info=https://x"),
            "info needs a <URI> value",
        ),
        (format!("{PASSPORT};info=<https://x"), "unbalanced '<'"),
        (format!("{PASSPORT};info=<not a uri>"), "no scheme"),
        (
            format!("{PASSPORT};info=<https://x>;info=<https://y>"),
            "duplicate Identity parameter",
        ),
        (
            format!("{PASSPORT};info=<https://x>;alg"),
            "Identity parameter needs a value",
        ),
        (
            format!("{PASSPORT};info=<https://x> junk"),
            "unexpected characters after value",
        ),
        (
            ";info=<https://x>".to_string(),
            "missing signed identity digest",
        ),
    ];
    for (value, reason) in cases {
        assert_eq!(
            Identity::parse(value.as_bytes()),
            Err(bad("Identity", reason)),
            "{value}"
        );
    }
}

// ---------------------------------------------------------------- RFC 3329

#[test]
fn security_mechanisms() {
    let m: Vec<_> = SecurityMechanism::parse_list(
        HeaderName::SecurityServer,
        b"ipsec-ike;q=0.1, tls;q=0.2, digest;d-alg=md5;d-qop=auth-int;d-ver=\"0123456789abcdef0123456789abcdef\"",
    )
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!((m[0].name, m[0].q), ("ipsec-ike", Some(100)));
    assert_eq!(m[1].q, Some(200));
    assert_eq!(m[2].d_alg, Some("md5"));
    assert_eq!(m[2].d_qop, Some("auth-int"));
    assert_eq!(m[2].d_ver, Some("0123456789abcdef0123456789abcdef"));

    for v in [
        &b"tls;q=2"[..],
        b"digest;d-ver=abc",
        b"digest;d-ver=\"ABC\"",
        b"tls;q=0.1;q=0.2",
        b"",
        b"tls,",
    ] {
        let r: Result<Vec<_>, _> =
            SecurityMechanism::parse_list(HeaderName::SecurityClient, v).collect();
        assert!(r.is_err(), "{}", String::from_utf8_lossy(v));
    }
}
