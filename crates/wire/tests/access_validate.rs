#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Message accessors and request/response validation.

use sipwarden_wire::headers::Contacts;
use sipwarden_wire::uri::Scheme;
use sipwarden_wire::{HeaderName, Host, Message, Method, ParseError, Transport};

/// Joins header lines with CRLF and appends the blank line and body.
fn msg(lines: &[&str], body: &str) -> Message {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.push_str(body);
    Message::parse(s.into_bytes()).unwrap()
}

fn invite(extra: &[&str]) -> Message {
    let mut lines = vec![
        "INVITE sip:bob@biloxi.com SIP/2.0",
        "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
        "Max-Forwards: 70",
        "To: Bob <sip:bob@biloxi.com>",
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        "CSeq: 314159 INVITE",
        "Contact: <sip:alice@pc33.atlanta.com>",
    ];
    lines.extend_from_slice(extra);
    msg(&lines, "")
}

#[test]
fn hot_path_accessors() {
    let m = invite(&[]);
    assert_eq!(m.top_via().unwrap().branch, Some("z9hG4bK776asdhds"));
    assert_eq!(m.from().unwrap().tag, Some("1928301774"));
    assert_eq!(m.to().unwrap().tag, None);
    assert_eq!(m.call_id().unwrap(), "a84b4c76e66710@pc33.atlanta.com");
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (314159, Method::Invite));
    assert_eq!(m.max_forwards().unwrap(), Some(70));
    assert_eq!(m.expires().unwrap(), None);
    assert_eq!(m.min_expires().unwrap(), None);
    assert_eq!(m.content_type().unwrap(), None);
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.scheme(), Scheme::Sip);
    assert_eq!(ruri.host(), Some(&Host::Domain("biloxi.com".into())));
    assert_eq!(m.contacts().unwrap().as_slice().len(), 1);
    m.validate_request().unwrap();
}

#[test]
fn compact_forms() {
    let m = msg(
        &[
            "OPTIONS sip:carol@chicago.com SIP/2.0",
            "v: SIP/2.0/TCP a.example.com;branch=z9hG4bKa, SIP/2.0/UDP b.example.com;branch=z9hG4bKb",
            "v: SIP/2.0/UDP c.example.com;branch=z9hG4bKc",
            "f: sip:alice@atlanta.com;tag=x",
            "t: <sip:carol@chicago.com>",
            "i: abc",
            "CSeq: 1 OPTIONS",
            "m: <sip:alice@a.example.com>",
            "k: path, gruu",
            "c: application/sdp",
            "l: 0",
        ],
        "",
    );
    let vias: Vec<_> = m.vias().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport, Transport::Tcp);
    assert_eq!(vias[2].branch, Some("z9hG4bKc"));
    assert_eq!(m.top_via().unwrap().branch, Some("z9hG4bKa"));
    assert_eq!(m.from().unwrap().tag, Some("x"));
    assert_eq!(m.call_id().unwrap(), "abc");
    let sup: Vec<_> = m.supported().collect::<Result<_, _>>().unwrap();
    assert_eq!(sup, vec!["path", "gruu"]);
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
    m.validate_request().unwrap();
}

#[test]
fn folded_headers() {
    let m = msg(
        &[
            "INVITE sip:vivekg@chair-dnrc.example.com SIP/2.0",
            "TO :",
            " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>",
            "  ;",
            "  tag = 98asjd8",
            "MaX-fOrWaRdS: 0068",
            "Call-ID: wsinv.ndaksdj@192.0.2.1",
            "cseq: 0009",
            "  INVITE",
            "Via  : SIP  /   2.0",
            " /UDP",
            "    192.0.2.2;branch=390skdjuw",
        ],
        "",
    );
    let to = m.to().unwrap();
    assert_eq!(to.tag, Some("1918181833n"));
    assert!(!to.bracketed);
    let from = m.from().unwrap();
    assert_eq!(from.tag, Some("98asjd8"));
    assert_eq!(from.display_name.unwrap().text(), "J Rosenberg \\\"");
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    assert_eq!(m.cseq().unwrap().seq, 9);
    assert_eq!(m.top_via().unwrap().branch, Some("390skdjuw"));
    m.validate_request().unwrap();
}

#[test]
fn route_record_route_path() {
    let m = invite(&[
        "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
        "Route: <sip:p3.example.com;lr>",
        "Record-Route: <sip:rr.example.com;lr>",
        "Path: <sip:edge.example.com;lr;ob>",
    ]);
    let routes: Vec<_> = m.routes().collect::<Result<_, _>>().unwrap();
    let hosts: Vec<_> = routes
        .iter()
        .map(|r| r.uri.as_sip().unwrap().host_raw)
        .collect();
    assert_eq!(
        hosts,
        vec!["p1.example.com", "p2.example.com", "p3.example.com"]
    );
    assert_eq!(m.record_routes().count(), 1);
    assert!(m
        .paths()
        .next()
        .unwrap()
        .unwrap()
        .uri
        .as_sip()
        .unwrap()
        .params
        .contains("ob"));
    let bad = invite(&["Route: sip:p1.example.com;lr"]);
    assert!(bad.routes().next().unwrap().is_err());
}

#[test]
fn contacts_across_fields() {
    let m = msg(
        &[
            "REGISTER sip:registrar.biloxi.com SIP/2.0",
            "Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7",
            "To: Bob <sip:bob@biloxi.com>",
            "From: Bob <sip:bob@biloxi.com>;tag=456248",
            "Call-ID: 843817637684230@998sdasdh09",
            "CSeq: 1826 REGISTER",
            "Contact: <sip:bob@192.0.2.4>;expires=60, <sip:bob@192.0.2.5>;q=0.5",
            "Contact: <sip:bob@192.0.2.6>",
            "Expires: 7200",
        ],
        "",
    );
    let c = m.contacts().unwrap();
    assert_eq!(c.as_slice().len(), 3);
    assert_eq!(c.as_slice()[0].expires, Some(60));
    assert_eq!(c.as_slice()[1].q, Some(500));
    assert_eq!(m.expires().unwrap(), Some(7200));
    m.validate_request().unwrap();

    let star = |contacts: &[&str]| {
        let mut lines = vec![
            "REGISTER sip:registrar.biloxi.com SIP/2.0",
            "Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7",
            "To: <sip:bob@biloxi.com>",
            "From: <sip:bob@biloxi.com>;tag=456248",
            "Call-ID: x",
            "CSeq: 1 REGISTER",
            "Expires: 0",
        ];
        lines.extend_from_slice(contacts);
        // None for `*`, else the number of contacts.
        msg(&lines, "").contacts().map(|c| match c {
            Contacts::Wildcard => None,
            Contacts::List(l) => Some(l.len()),
        })
    };
    assert_eq!(star(&["Contact: *"]), Ok(None));
    assert!(star(&["Contact: *", "Contact: *"]).is_err());
    assert!(star(&["Contact: *", "Contact: <sip:a@b.com>"]).is_err());
    assert_eq!(star(&[]), Ok(Some(0)));
}

#[test]
fn missing_headers() {
    let m = msg(
        &[
            "OPTIONS sip:x.com SIP/2.0",
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
        ],
        "",
    );
    assert_eq!(m.from().unwrap_err(), ParseError::MissingHeader("From"));
    assert_eq!(m.to().unwrap_err(), ParseError::MissingHeader("To"));
    assert_eq!(
        m.call_id().unwrap_err(),
        ParseError::MissingHeader("Call-ID")
    );
    assert_eq!(m.cseq().unwrap_err(), ParseError::MissingHeader("CSeq"));
    assert_eq!(m.max_forwards().unwrap(), None);
    assert_eq!(m.validate_request(), Err(ParseError::MissingHeader("From")));
    let m = msg(&["OPTIONS sip:x.com SIP/2.0", "To: <sip:x.com>"], "");
    assert_eq!(m.top_via().unwrap_err(), ParseError::MissingHeader("Via"));
    assert_eq!(m.vias().count(), 0);
}

#[test]
fn too_many_vias() {
    let mut lines = vec!["OPTIONS sip:x.com SIP/2.0"];
    // Fields of 2 entries each: the index accepts the fields (half the limit), the
    // accessor counts twice as many entries and stops one past the limit.
    let line = "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com";
    let max = sipwarden_wire::limits::MAX_VIAS;
    lines.extend(std::iter::repeat_n(line, max / 2 + 4));
    lines.extend_from_slice(&[
        "To: <sip:x.com>",
        "From: <sip:y.com>;tag=1",
        "Call-ID: c",
        "CSeq: 1 OPTIONS",
    ]);
    let m = msg(&lines, "");
    let results: Vec<_> = m.vias().collect();
    assert_eq!(results.len(), max + 1);
    assert_eq!(results[max], Err(ParseError::TooManyVias));
    assert_eq!(m.validate_request(), Err(ParseError::TooManyVias));
}

fn with_replaced(from: &str, to: &str) -> Message {
    let m = invite(&[]);
    let s = String::from_utf8(m.as_bytes().to_vec())
        .unwrap()
        .replacen(from, to, 1);
    Message::parse(s.into_bytes()).unwrap()
}

#[test]
fn validate_request_failures() {
    // RFC 4475 §3.1.2.? multi01: duplicated single-instance headers.
    let m = invite(&["To: <sip:other@biloxi.com>"]);
    assert_eq!(m.validate_request(), Err(ParseError::DuplicateHeader("To")));
    let m = invite(&["Call-ID: other"]);
    assert_eq!(
        m.validate_request(),
        Err(ParseError::DuplicateHeader("Call-ID"))
    );
    let m = invite(&["Max-Forwards: 69"]);
    assert_eq!(
        m.validate_request(),
        Err(ParseError::DuplicateHeader("Max-Forwards"))
    );
    let m = invite(&["Expires: 1", "Expires: 2"]);
    assert_eq!(
        m.validate_request(),
        Err(ParseError::DuplicateHeader("Expires"))
    );

    // CSeq method mismatch.
    let m = with_replaced("CSeq: 314159 INVITE", "CSeq: 314159 ACK");
    assert_eq!(m.validate_request(), Err(ParseError::CSeqMethodMismatch));
    let m = with_replaced("CSeq: 314159 INVITE", "CSeq: 314159 invite");
    assert_eq!(m.validate_request(), Err(ParseError::CSeqMethodMismatch));

    // Malformed values.
    let m = with_replaced("Max-Forwards: 70", "Max-Forwards: 300");
    assert_eq!(
        m.validate_request(),
        Err(ParseError::NumberOutOfRange("Max-Forwards"))
    );
    let m = with_replaced("CSeq: 314159", "CSeq: 36893488147419103232");
    assert_eq!(
        m.validate_request(),
        Err(ParseError::NumberOutOfRange("CSeq"))
    );
    let m = with_replaced("Call-ID: a84b4c76e66710", "Call-ID: a84b4c76 e66710");
    assert!(matches!(
        m.validate_request(),
        Err(ParseError::BadHeader {
            header: "Call-ID",
            ..
        })
    ));
    let m = with_replaced("From: Alice", "From: Alice, Jr.");
    assert!(matches!(
        m.validate_request(),
        Err(ParseError::BadHeader { header: "From", .. })
    ));
    let m = invite(&["Expires: never"]);
    assert!(matches!(
        m.validate_request(),
        Err(ParseError::BadHeader {
            header: "Expires",
            ..
        })
    ));
    let m = invite(&["Content-Type: application"]);
    assert!(matches!(
        m.validate_request(),
        Err(ParseError::BadHeader {
            header: "Content-Type",
            ..
        })
    ));
}

#[test]
fn validate_request_uri() {
    // RFC 4475 §3.3.? unknown schemes get a 416.
    let m = with_replaced(
        "INVITE sip:bob@biloxi.com",
        "INVITE soap.beep://192.0.2.103:3002",
    );
    assert_eq!(m.validate_request(), Err(ParseError::UnsupportedUriScheme));
    assert_eq!(ParseError::UnsupportedUriScheme.status().0, 416);
    let m = with_replaced("INVITE sip:bob@biloxi.com", "INVITE tel:+1-201-555-0123");
    m.validate_request().unwrap();
    let m = with_replaced(
        "INVITE sip:bob@biloxi.com",
        "INVITE sips:bob@[2001:db8::10]:5061",
    );
    m.validate_request().unwrap();
    let m = with_replaced("INVITE sip:bob@biloxi.com", "INVITE sip:user@2001:db8::10");
    assert!(matches!(
        m.validate_request(),
        Err(ParseError::BadRequestUri(_))
    ));
    let m = with_replaced(
        "INVITE sip:bob@biloxi.com",
        "INVITE sip:user@example.com?Route=%3Csip:example.com%3E",
    );
    assert_eq!(
        m.validate_request(),
        Err(ParseError::BadRequestUri("headers in Request-URI"))
    );
}

#[test]
fn validate_response() {
    let m = msg(
        &[
            "SIP/2.0 180 Ringing",
            "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1",
            "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf",
            "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
            "Call-ID: a84b4c76e66710",
            "CSeq: 314159 INVITE",
            "Content-Length: 0",
        ],
        "",
    );
    m.validate_response().unwrap();
    assert_eq!(
        m.validate_request(),
        Err(ParseError::BadStartLine("not a request"))
    );
    assert!(matches!(m.request_uri(), Err(ParseError::BadRequestUri(_))));
    assert_eq!(m.to().unwrap().tag, Some("a6c85cf"));
    assert!(invite(&[]).validate_response().is_err());

    let m = msg(
        &[
            "SIP/2.0 200 OK",
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
            "From: <sip:a@b.com>;tag=1",
            "Call-ID: x",
            "CSeq: 1 INVITE",
        ],
        "",
    );
    assert_eq!(m.validate_response(), Err(ParseError::MissingHeader("To")));
}

#[test]
fn option_tag_checks() {
    let m = invite(&[
        "Require: 100rel, Timer",
        "Require: foo, foo",
        "Proxy-Require: sec-agree",
    ]);
    let unsupported = m.unsupported_option_tags(&["timer", "path"]).unwrap();
    assert_eq!(unsupported.as_slice(), &["100rel", "foo"]);
    assert!(m
        .unsupported_option_tags(&["100rel", "timer", "foo"])
        .unwrap()
        .is_empty());
    assert_eq!(
        m.unsupported_proxy_require(&[]).unwrap().as_slice(),
        &["sec-agree"]
    );
    let tags: Vec<_> = m.require().collect::<Result<_, _>>().unwrap();
    assert_eq!(tags.len(), 4);

    // ACK and CANCEL are never refused for Require (RFC 3261 §8.2.2.3).
    let ack = msg(
        &[
            "ACK sip:bob@biloxi.com SIP/2.0",
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
            "To: <sip:bob@biloxi.com>;tag=2",
            "From: <sip:a@b.com>;tag=1",
            "Call-ID: x",
            "CSeq: 1 ACK",
            "Require: nothingSupportedHere",
        ],
        "",
    );
    assert!(ack.unsupported_option_tags(&[]).unwrap().is_empty());
    ack.validate_request().unwrap();

    let m = invite(&["Require: a,,b"]);
    assert!(m.unsupported_option_tags(&[]).is_err());

    // However many tags arrive, at most MAX_UNSUPPORTED_TAGS are reported.
    let many: Vec<String> = (0..500).map(|i| format!("t{i}")).collect();
    let line = format!("Require: {}", many.join(", "));
    let m = invite(&[&line]);
    assert_eq!(
        m.unsupported_option_tags(&[]).unwrap().len(),
        sipwarden_wire::validate::MAX_UNSUPPORTED_TAGS
    );
}

#[test]
fn contact_count_is_bounded() {
    use sipwarden_wire::headers::MAX_CONTACTS;
    let one = vec!["<sip:a@b.com>"; MAX_CONTACTS].join(",");
    let line = format!("Contact: {one}");
    let m = invite(&[]);
    let base = String::from_utf8(m.as_bytes().to_vec()).unwrap();
    let with = |extra: &str| {
        let s = base.replacen("Contact: <sip:alice@pc33.atlanta.com>", extra, 1);
        Message::parse(s.into_bytes()).unwrap()
    };
    assert_eq!(
        with(&line).contacts().unwrap().as_slice().len(),
        MAX_CONTACTS
    );
    let over = format!("{line},<sip:c@d.com>");
    assert!(matches!(
        with(&over).contacts(),
        Err(ParseError::BadHeader {
            header: "Contact",
            reason: "too many contacts"
        })
    ));
    // Split across fields, the total still counts.
    let split = format!("{line}\r\nContact: <sip:c@d.com>");
    assert!(with(&split).contacts().is_err());
}

#[test]
fn auth_identity_security_accessors() {
    let m = invite(&[
        "Proxy-Authorization: Digest username=\"alice\", realm=\"atlanta.com\", nonce=\"c60f3082ee1212b402a21831ae\", uri=\"sip:bob@biloxi.com\", response=\"245f23415f11432b3434341c022\"",
        "Authorization: Digest username=\"alice\", realm=\"other.com\", nonce=\"n\", uri=\"sip:bob@biloxi.com\", response=\"r\"",
        "Identity: abc.def.ghi;info=<https://cert.example.org/a.cer>;alg=ES256;ppt=shaken",
        "Security-Client: tls;q=0.2, digest",
        "Allow: INVITE, ACK",
        "Unsupported: foo",
    ]);
    let pa = m.proxy_authorizations().next().unwrap().unwrap();
    assert_eq!(pa.param("realm").unwrap().text(), "atlanta.com");
    let a = m.authorizations().next().unwrap().unwrap();
    assert_eq!(a.param("realm").unwrap().text(), "other.com");
    let id = m.identities().next().unwrap().unwrap();
    assert_eq!(id.ppt, Some("shaken"));
    let sec: Vec<_> = m.security_client().collect::<Result<_, _>>().unwrap();
    assert_eq!(sec.len(), 2);
    assert_eq!(m.allow().count(), 2);
    assert_eq!(m.unsupported().next().unwrap().unwrap(), "foo");
    assert_eq!(m.security_server().count(), 0);
    assert_eq!(m.security_verify().count(), 0);
    m.validate_request().unwrap();

    let r = msg(
        &[
            "SIP/2.0 401 Unauthorized",
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
            "To: <sip:bob@biloxi.com>;tag=2",
            "From: <sip:a@b.com>;tag=1",
            "Call-ID: x",
            "CSeq: 1 REGISTER",
            "WWW-Authenticate: Digest realm=\"b.com\", nonce=\"1\", algorithm=SHA-256, qop=\"auth\"",
            "WWW-Authenticate: Digest realm=\"b.com\", nonce=\"2\", algorithm=MD5, qop=\"auth\"",
            "Proxy-Authenticate: Digest realm=\"p.com\", nonce=\"3\"",
            "Authentication-Info: nextnonce=\"4\"",
            "Min-Expires: 60",
        ],
        "",
    );
    let ch: Vec<_> = r.www_authenticates().collect::<Result<_, _>>().unwrap();
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[1].param("algorithm").unwrap().raw(), "MD5");
    assert_eq!(r.proxy_authenticates().count(), 1);
    assert!(r.authentication_info().unwrap().is_some());
    assert_eq!(r.min_expires().unwrap(), Some(60));
    assert!(r.header(HeaderName::MinExpires).is_some());
}
