#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The RFC 4475 and RFC 5118 torture messages, each with the outcome its RFC section
//! expects, one test per message.
//!
//! Outcomes are asserted at the wire layer:
//!
//! - *accepted*: the datagram parses (RFC 3261 §18.3 rules) and passes
//!   `validate_request` / `validate_response`; the fields the section is about decode to
//!   the values it names.
//! - *refused*: the parse or the validation fails with the error whose
//!   [`ParseError::status`] is the answer the RFC asks for (400, 416, 505, ...). A
//!   response is never answered; for those the test only asserts it is dropped.
//! - *a higher layer's call*: where the RFC leaves the answer to the registrar, proxy or
//!   UAS (415, 420, 483, 401, ...), the message is accepted here and the test asserts the
//!   signal that layer acts on (`unsupported_option_tags`, `max_forwards`, ...).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use sipwarden_wire::edit::{EditError, Editor};
use sipwarden_wire::headers::Contacts;
use sipwarden_wire::uri::Scheme;
use sipwarden_wire::{HeaderName, Host, Limits, Message, Method, ParseError, Transport, Uri};

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// Every fixture with its length and FNV-1a 64 hash, so a line-ending conversion or a
/// stray edit fails loudly instead of testing some other message.
const FIXTURES: &[(&str, usize, u64)] = &[
    ("rfc4475/badaspec", 346, 0x7e1cfaecb78547af),
    ("rfc4475/badbranch", 262, 0x6c8e3cc392912213),
    ("rfc4475/baddate", 532, 0x265f9e6d86b5ba08),
    ("rfc4475/baddn", 331, 0xf268e8fe9ff92bc4),
    ("rfc4475/badinv01", 472, 0xabaf1cddce2ea338),
    ("rfc4475/badvers", 291, 0x283ed8cfdeccee32),
    ("rfc4475/bcast", 516, 0x686484117d5dd3b5),
    ("rfc4475/bext01", 381, 0xcf32cb299e3b2855),
    ("rfc4475/bigcode", 332, 0x0fe11f07c50aa700),
    ("rfc4475/clerr", 498, 0x048fd6b0ed5a1a75),
    ("rfc4475/cparam01", 321, 0x9bd8d4c02b2b48c5),
    ("rfc4475/cparam02", 311, 0x90bfd4f71bb46b30),
    ("rfc4475/dblreq", 750, 0x08d59c7b17b51898),
    ("rfc4475/esc01", 543, 0xec3a89e6cfc7f7d3),
    ("rfc4475/esc02", 439, 0x62cb87491c374bac),
    ("rfc4475/escnull", 359, 0xb56d30c764dfda07),
    ("rfc4475/escruri", 550, 0x070537f84f57dd85),
    ("rfc4475/insuf", 304, 0xaa9a527d3841118a),
    ("rfc4475/intmeth", 641, 0xefc5a6639689c901),
    ("rfc4475/inv2543", 445, 0xa64bd28b9502694a),
    ("rfc4475/invut", 391, 0x3a270866ea0c1a10),
    ("rfc4475/longreq", 3515, 0x826a0e847279a9cf),
    ("rfc4475/ltgtruri", 452, 0x2ceeb62f11694e71),
    ("rfc4475/lwsdisp", 255, 0xfddf345468a3c69e),
    ("rfc4475/lwsruri", 541, 0xc1c1ec17518ccf31),
    ("rfc4475/lwsstart", 506, 0xdf4b31726f402355),
    ("rfc4475/mcl01", 382, 0x1b8671ee4a6565dc),
    ("rfc4475/mismatch01", 236, 0x124ddd18f0b9a13f),
    ("rfc4475/mismatch02", 449, 0x641642bf6e8fb847),
    ("rfc4475/mpart01", 1290, 0x79c7ba2da508b7cc),
    ("rfc4475/multi01", 643, 0xcace3d3fc5ebec32),
    ("rfc4475/ncl", 486, 0x1f9bbbde223cb2c6),
    ("rfc4475/noreason", 274, 0xc7dd437a2330c017),
    ("rfc4475/novelsc", 277, 0x8606552427ad773c),
    ("rfc4475/quotbal", 485, 0x62a5577280c50f2f),
    ("rfc4475/regaut01", 304, 0x917fc9d7d8cbb377),
    ("rfc4475/regbadct", 307, 0xa0dab8bfdaebd906),
    ("rfc4475/regescrt", 302, 0x4c9af98d7f224310),
    ("rfc4475/scalar02", 476, 0xc23f618a952b0e96),
    ("rfc4475/scalarlg", 385, 0x5e9dbcfa9e8e388a),
    ("rfc4475/sdp01", 494, 0xe25f6ed406510a4a),
    ("rfc4475/semiuri", 380, 0xa56af3bfc9984ba8),
    ("rfc4475/transports", 503, 0xb5ee333f37864986),
    ("rfc4475/trws", 327, 0x5a81eef6f34f1cb2),
    ("rfc4475/unkscm", 291, 0x1d6f622055559894),
    ("rfc4475/unksm2", 282, 0xbc48aaa6ed289a4e),
    ("rfc4475/unreason", 526, 0xc247cf6222f366e8),
    ("rfc4475/wsinv", 1001, 0xc7051bc60630dd66),
    ("rfc4475/zeromf", 272, 0x68b5a926f0d5a7ce),
    ("rfc5118/ipv4-mapped-ipv6", 636, 0x7f6a6e410d342403),
    ("rfc5118/ipv6-bad", 291, 0x91baf0a8909bbc51),
    ("rfc5118/ipv6-bug-abnf-3-colons", 272, 0xb83d768907b56cfc),
    (
        "rfc5118/ipv6-correct-abnf-2-colons",
        270,
        0x3fa0d2b4cee4c6ca,
    ),
    ("rfc5118/ipv6-good", 293, 0x4a8deb351f7abd99),
    ("rfc5118/ipv6-in-sdp", 570, 0x0e9cae19eb166aef),
    ("rfc5118/mult-ip-in-header", 386, 0xec3c5a4796b79367),
    ("rfc5118/mult-ip-in-sdp", 510, 0xce2e33afce55127c),
    ("rfc5118/port-ambiguous", 298, 0x573582616395ef6f),
    ("rfc5118/port-unambiguous", 298, 0xf465e54b44ed7059),
    (
        "rfc5118/via-received-param-no-delim",
        307,
        0x831679b4ba79280c,
    ),
    (
        "rfc5118/via-received-param-with-delim",
        274,
        0xb58b45014b4db250,
    ),
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn raw(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An RFC 4475 message exactly as archived.
fn rfc4475(name: &str) -> Vec<u8> {
    raw(&format!("rfc4475/{name}"))
}

/// An RFC 5118 message as it travels: the archive's bare LF line ends become CRLF, a
/// missing blank line is added, and Content-Length is counted from the body (three of the
/// archived values disagree with their bodies, which is not what §4 tests).
fn rfc5118(name: &str) -> Vec<u8> {
    let archived = String::from_utf8(raw(&format!("rfc5118/{name}"))).unwrap();
    let (head, body) = archived.split_once("\n\n").unwrap_or((&archived, ""));
    let body: String = body.lines().flat_map(|l| [l, "\r\n"]).collect();
    let mut out = String::new();
    for line in head.lines().filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

fn datagram(bytes: Vec<u8>) -> Result<Message, ParseError> {
    Message::parse_datagram(Bytes::from(bytes), &Limits::default())
}

/// A request the RFC calls valid: parses and validates.
fn accepted_request(bytes: Vec<u8>) -> Message {
    let msg = datagram(bytes).expect("parses as a datagram");
    assert!(msg.is_request());
    msg.validate_request().expect("validates");
    msg
}

/// A response the RFC calls valid: parses and validates.
fn accepted_response(bytes: Vec<u8>) -> Message {
    let msg = datagram(bytes).expect("parses as a datagram");
    assert!(!msg.is_request());
    msg.validate_response().expect("validates");
    msg
}

/// A request refused while parsing; returns the error (its status is the answer).
fn refused_at_parse(bytes: Vec<u8>) -> ParseError {
    match datagram(bytes) {
        Ok(m) => panic!("accepted: {:?}", m.start_line()),
        Err(e) => e,
    }
}

/// A request that parses but fails validation; returns the error.
fn refused_by_validation(bytes: Vec<u8>) -> ParseError {
    let msg = datagram(bytes).expect("parses as a datagram");
    msg.validate_request().expect_err("refused by validation")
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn contacts(msg: &Message) -> Vec<sipwarden_wire::headers::Contact<'_>> {
    match msg.contacts().expect("Contact decodes") {
        Contacts::List(list) => list.into_iter().collect(),
        Contacts::Wildcard => panic!("a wildcard"),
    }
}

#[test]
fn fixtures_are_the_archived_bytes() {
    for &(name, len, hash) in FIXTURES {
        let bytes = raw(name);
        assert_eq!((bytes.len(), fnv1a(&bytes)), (len, hash), "{name} changed");
    }
}

#[test]
fn every_fixture_has_a_test() {
    // One #[test] per message below; this keeps the directory and the list in step.
    for dir in ["rfc4475", "rfc5118"] {
        let path = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|f| f.strip_suffix(".dat").map(|s| format!("{dir}/{s}")))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = FIXTURES
            .iter()
            .filter(|(n, ..)| n.starts_with(dir))
            .map(|(n, ..)| (*n).to_owned())
            .collect();
        assert_eq!(on_disk, listed);
    }
    assert_eq!(
        FIXTURES
            .iter()
            .filter(|f| f.0.starts_with("rfc4475"))
            .count(),
        49
    );
    assert_eq!(
        FIXTURES
            .iter()
            .filter(|f| f.0.starts_with("rfc5118"))
            .count(),
        12
    );
}

// ---------------------------------------------------------------------------------------
// RFC 4475 §3.1.1: valid messages. All must be accepted.
// ---------------------------------------------------------------------------------------

/// §3.1.1.1 A Short Tortuous INVITE: folding, odd case, compact forms, LWS everywhere.
#[test]
fn rfc4475_wsinv_short_tortuous_invite() {
    let m = accepted_request(rfc4475("wsinv"));
    assert_eq!(m.method(), Some(Method::Invite));
    let ruri = m.request_uri().unwrap();
    assert!(ruri.as_sip().unwrap().params.contains("unknownparam"));
    assert_eq!(m.to().unwrap().tag, Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.tag, Some("98asjd8"));
    assert_eq!(from.display_name.unwrap().text(), "J Rosenberg \\\"");
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    assert_eq!(m.call_id().unwrap(), "wsinv.ndaksdj@192.0.2.1");
    let vias: Vec<_> = m.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport, Transport::Udp);
    assert_eq!(vias[0].host.ip(), Some(v4("192.0.2.2")));
    assert_eq!(vias[0].branch, Some("390skdjuw"));
    assert_eq!(vias[1].transport, Transport::Tcp);
    assert_eq!(vias[1].branch, Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch, Some("z9hG4bK30239"));
    let c = contacts(&m);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].addr.display_name.as_ref().unwrap().text(),
        "Quoted string \"\""
    );
    assert_eq!(c[0].q, Some(330));
    assert!(c[0].addr.params.get("secondparam").is_some());
    assert_eq!(m.header(HeaderName::Subject), Some(&b""[..]));
    let unusual: Vec<_> = m
        .other_header_values("UnknownHeaderWithUnusualValue")
        .collect();
    assert_eq!(unusual, [&b";;,,;;,;"[..]]);
    let route = m.routes().next().unwrap().unwrap();
    assert!(route.uri.as_sip().unwrap().lr);
    assert_eq!(m.body().len(), 150);
}

/// §3.1.1.2 Wide Range of Valid Characters: every token character, escaped controls in a
/// quoted display name (NUL included), UTF-8 in a quoted parameter and a header value.
#[test]
fn rfc4475_intmeth_wide_range_of_valid_characters() {
    let m = accepted_request(rfc4475("intmeth"));
    assert_eq!(m.method(), Some(Method::Extension));
    assert_eq!(
        m.method_bytes(),
        b"!interesting-Method0123456789_*+`.%indeed'~"
    );
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.host().unwrap().domain(), Some("example.com"));
    let to = m.to().unwrap();
    assert_eq!(
        to.display_name.unwrap().text(),
        "BEL:\u{7} NUL:\u{0} DEL:\u{7f}"
    );
    let from = m.from().unwrap();
    assert_eq!(from.tag, Some("_token~1'+`*%!-."));
    assert_eq!(
        from.params
            .get("fromParam''~+*_!.-%")
            .unwrap()
            .value
            .unwrap()
            .text(),
        "работающий"
    );
    assert_eq!(
        m.call_id().unwrap(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    assert_eq!(m.cseq().unwrap().method_raw.as_bytes(), m.method_bytes());
}

/// §3.1.1.3 Valid Use of the % Escaping Mechanism.
#[test]
fn rfc4475_esc01_valid_percent_escapes() {
    let m = accepted_request(rfc4475("esc01"));
    let ruri = m.request_uri().unwrap();
    assert_eq!(
        ruri.as_sip().unwrap().user_decoded().unwrap().as_ref(),
        b"sips:user@example.com"
    );
    let to = m.to().unwrap();
    assert_eq!(
        to.uri.as_sip().unwrap().user_decoded().unwrap().as_ref(),
        b"user"
    );
    // The escaped and unescaped forms of the same URI are equivalent (§19.1.4).
    let plain = Uri::parse("sip:user@example.com").unwrap();
    assert!(to.uri.equivalent(&plain));
    let from = m.from().unwrap();
    assert_eq!(
        from.uri.as_sip().unwrap().user_decoded().unwrap().as_ref(),
        b"I have spaces"
    );
    assert_eq!(contacts(&m).len(), 1);
}

/// §3.1.1.4 Escaped Nulls in URIs: `%00` is a valid escape; the two Contacts differ.
#[test]
fn rfc4475_escnull_escaped_nulls_in_uris() {
    let m = accepted_request(rfc4475("escnull"));
    let to = m.to().unwrap();
    assert_eq!(
        to.uri.as_sip().unwrap().user_decoded().unwrap().as_ref(),
        b"null-\0-null"
    );
    let c = contacts(&m);
    assert_eq!(c.len(), 2);
    assert!(!c[0].addr.uri.equivalent(&c[1].addr.uri));
}

/// §3.1.1.5 Use of % When It Is Not an Escape: an unknown method, not REGISTER; two
/// Contacts, not three (`C%6Fntact` is another header).
#[test]
fn rfc4475_esc02_percent_not_an_escape() {
    let m = accepted_request(rfc4475("esc02"));
    assert_eq!(m.method(), Some(Method::Extension));
    assert_eq!(m.method_bytes(), b"RE%47IST%45R");
    assert_eq!(m.to().unwrap().display_name.unwrap().text(), "%Z%45");
    assert_eq!(contacts(&m).len(), 2);
    assert_eq!(m.other_header_values("C%6Fntact").count(), 1);
}

/// §3.1.1.6 Message with No LWS between Display Name and <.
#[test]
fn rfc4475_lwsdisp_no_lws_before_laquot() {
    let m = accepted_request(rfc4475("lwsdisp"));
    let from = m.from().unwrap();
    assert_eq!(from.display_name.unwrap().text(), "caller");
    assert_eq!(from.tag, Some("323"));
}

/// §3.1.1.7 Long Values in Header Fields: 34 Via entries, kilobyte-long values.
#[test]
fn rfc4475_longreq_long_values() {
    let m = accepted_request(rfc4475("longreq"));
    assert_eq!(m.vias().count(), 34);
    assert_eq!(m.to().unwrap().uri.port(), Some(6000));
    assert_eq!(m.from().unwrap().tag.unwrap().len(), 155);
    assert_eq!(m.body().len(), 150);
}

/// §3.1.1.8 Extra Trailing Octets in a UDP Datagram: a REGISTER with Content-Length 0;
/// the INVITE after it is noise and is discarded.
#[test]
fn rfc4475_dblreq_extra_trailing_octets() {
    let bytes = rfc4475("dblreq");
    let total = bytes.len();
    let m = accepted_request(bytes);
    assert_eq!(m.method(), Some(Method::Register));
    assert!(m.body().is_empty());
    assert!(m.as_bytes().len() < total);
    assert!(!m.as_bytes().windows(6).any(|w| w == b"INVITE"));
}

/// §3.1.1.9 Semicolon-Separated Parameters in URI User Part.
#[test]
fn rfc4475_semiuri_semicolon_in_user_part() {
    let m = accepted_request(rfc4475("semiuri"));
    let ruri = m.request_uri().unwrap();
    let sip = ruri.as_sip().unwrap();
    assert_eq!(sip.user, Some("user;par=u%40example.net"));
    assert_eq!(sip.host.domain(), Some("example.com"));
    assert!(sip.params.is_empty());
}

/// §3.1.1.10 Varied and Unknown Transport Types.
#[test]
fn rfc4475_transports_varied_and_unknown() {
    let m = accepted_request(rfc4475("transports"));
    let names: Vec<String> = m
        .vias()
        .map(|v| v.unwrap().transport_raw.to_owned())
        .collect();
    assert_eq!(names, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

/// §3.1.1.11 Multipart MIME Message: the binary body part (with NUL bytes) is framed by
/// Content-Length and kept byte-exact.
#[test]
fn rfc4475_mpart01_multipart_mime() {
    let bytes = rfc4475("mpart01");
    let m = accepted_request(bytes.clone());
    assert_eq!(m.body().len(), 553);
    assert!(m.body().contains(&0));
    let start = m.body_span().start as usize;
    assert_eq!(m.body(), &bytes[start..start + 553]);
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.param("boundary").unwrap().text(), "7a9cbec02ceef655");
    assert_eq!(m.identities().count(), 1);
}

/// §3.1.1.12 Unusual Reason Phrase: UTF-8 in the reason phrase.
#[test]
fn rfc4475_unreason_unusual_reason_phrase() {
    let m = accepted_response(rfc4475("unreason"));
    assert_eq!(m.status_code(), Some(200));
    assert_eq!(
        std::str::from_utf8(m.reason_phrase()).unwrap(),
        "= 2**3 * 5**2 но сто девяносто девять - простое"
    );
    assert_eq!(m.body().len(), 154);
}

/// §3.1.1.13 Empty Reason Phrase.
#[test]
fn rfc4475_noreason_empty_reason_phrase() {
    let m = accepted_response(rfc4475("noreason"));
    assert_eq!(m.status_code(), Some(100));
    assert_eq!(m.reason_phrase(), b"");
}

// ---------------------------------------------------------------------------------------
// RFC 4475 §3.1.2: invalid messages. Requests are answered 400 (505 for the version);
// responses are dropped.
// ---------------------------------------------------------------------------------------

/// §3.1.2.1 Extraneous Header Field Separators: 400.
#[test]
fn rfc4475_badinv01_extraneous_separators() {
    let e = refused_by_validation(rfc4475("badinv01"));
    assert_eq!(e.status().0, 400);
    assert!(matches!(e, ParseError::BadHeader { header: "Via", .. }));
    let m = datagram(rfc4475("badinv01")).unwrap();
    assert!(m.contacts().is_err());
}

/// §3.1.2.2 Content Length Larger Than Message: 400 on UDP.
#[test]
fn rfc4475_clerr_content_length_larger_than_message() {
    let e = refused_at_parse(rfc4475("clerr"));
    assert_eq!(e, ParseError::ContentLengthTooLarge);
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.3 Negative Content-Length: an error, never a negative length.
#[test]
fn rfc4475_ncl_negative_content_length() {
    let e = refused_at_parse(rfc4475("ncl"));
    assert_eq!(e, ParseError::BadContentLength);
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.4 Request Scalar Fields with Overlarge Values: 400 for the CSeq.
#[test]
fn rfc4475_scalar02_overlarge_request_scalars() {
    let e = refused_by_validation(rfc4475("scalar02"));
    assert_eq!(e, ParseError::NumberOutOfRange("CSeq"));
    assert_eq!(e.status().0, 400);
    let m = datagram(rfc4475("scalar02")).unwrap();
    assert!(m.max_forwards().is_err(), "Max-Forwards 300");
    assert!(m.expires().is_err(), "Expires 10^100");
    assert!(m.contacts().is_err(), "expires=280297596632815");
}

/// §3.1.2.5 Response Scalar Fields with Overlarge Values: the response is dropped.
#[test]
fn rfc4475_scalarlg_overlarge_response_scalars() {
    let m = datagram(rfc4475("scalarlg")).unwrap();
    assert_eq!(
        m.validate_response(),
        Err(ParseError::NumberOutOfRange("CSeq"))
    );
}

/// §3.1.2.6 Unterminated Quoted String in Display Name: 400.
#[test]
fn rfc4475_quotbal_unterminated_quote() {
    let e = refused_by_validation(rfc4475("quotbal"));
    assert!(matches!(e, ParseError::BadHeader { header: "To", .. }));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.7 <> Enclosing Request-URI: 400.
#[test]
fn rfc4475_ltgtruri_bracketed_request_uri() {
    let e = refused_at_parse(rfc4475("ltgtruri"));
    assert!(matches!(e, ParseError::BadRequestUri(_)));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.8 Malformed SIP Request-URI (embedded LWS): 400.
#[test]
fn rfc4475_lwsruri_lws_in_request_uri() {
    let e = refused_at_parse(rfc4475("lwsruri"));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.9 Multiple SP Separating Request-Line Elements: 400.
#[test]
fn rfc4475_lwsstart_multiple_sp_in_request_line() {
    let e = refused_at_parse(rfc4475("lwsstart"));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.10 SP Characters at End of Request-Line: 400.
#[test]
fn rfc4475_trws_trailing_sp_in_request_line() {
    let e = refused_at_parse(rfc4475("trws"));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.11 Escaped Headers in SIP Request-URI: 400 (headers are not allowed there).
#[test]
fn rfc4475_escruri_escaped_headers_in_request_uri() {
    let e = refused_by_validation(rfc4475("escruri"));
    assert!(matches!(e, ParseError::BadRequestUri(_)));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.12 Invalid Time Zone in Date Header Field: the RFC allows ignoring Date, which
/// this crate has no typed view of; the message is accepted and Date kept byte-exact.
#[test]
fn rfc4475_baddate_invalid_time_zone() {
    let m = accepted_request(rfc4475("baddate"));
    assert_eq!(
        m.header(HeaderName::Date),
        Some(&b"Fri, 01 Jan 2010 16:00:00 EST"[..])
    );
}

/// §3.1.2.13 Failure to Enclose name-addr URI in <>: the registrar answers 400; the
/// signal it acts on is that the Contact does not decode.
#[test]
fn rfc4475_regbadct_unbracketed_uri_with_headers() {
    let m = accepted_request(rfc4475("regbadct"));
    let e = m.contacts().expect_err("Contact refused");
    assert!(matches!(
        e,
        ParseError::BadHeader {
            header: "Contact",
            ..
        }
    ));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.14 Spaces within addr-spec: 400.
#[test]
fn rfc4475_badaspec_spaces_in_addr_spec() {
    let e = refused_by_validation(rfc4475("badaspec"));
    assert!(matches!(e, ParseError::BadHeader { header: "To", .. }));
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.15 Non-token Characters in Display Name: 400. The archived message also
/// stops without the blank line that ends the head, which alone makes it a 400; with
/// the blank line added, From and To are what is refused.
#[test]
fn rfc4475_baddn_non_token_display_name() {
    let e = refused_at_parse(rfc4475("baddn"));
    assert_eq!(e.status().0, 400);
    let mut closed = rfc4475("baddn");
    closed.extend_from_slice(b"\r\n");
    let e = refused_by_validation(closed.clone());
    assert!(matches!(e, ParseError::BadHeader { header: "From", .. }));
    assert_eq!(e.status().0, 400);
    let m = datagram(closed).unwrap();
    assert!(m.to().is_err());
}

/// §3.1.2.16 Unknown Protocol Version: 505.
#[test]
fn rfc4475_badvers_unknown_protocol_version() {
    let e = refused_at_parse(rfc4475("badvers"));
    assert_eq!(e, ParseError::UnsupportedVersion);
    assert_eq!(e.status().0, 505);
}

/// §3.1.2.17 Start Line and CSeq Method Mismatch: 400.
#[test]
fn rfc4475_mismatch01_cseq_method_mismatch() {
    let e = refused_by_validation(rfc4475("mismatch01"));
    assert_eq!(e, ParseError::CSeqMethodMismatch);
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.18 Unknown Method with CSeq Method Mismatch: 400.
#[test]
fn rfc4475_mismatch02_unknown_method_cseq_mismatch() {
    let e = refused_by_validation(rfc4475("mismatch02"));
    assert_eq!(e, ParseError::CSeqMethodMismatch);
    assert_eq!(e.status().0, 400);
}

/// §3.1.2.19 Overlarge Response Code: the response is dropped.
#[test]
fn rfc4475_bigcode_overlarge_response_code() {
    assert_eq!(
        refused_at_parse(rfc4475("bigcode")),
        ParseError::BadStatusCode
    );
}

// ---------------------------------------------------------------------------------------
// RFC 4475 §3.2: transaction layer.
// ---------------------------------------------------------------------------------------

/// §3.2.1 Missing Transaction Identifier: a branch that is only the magic cookie carries
/// no identifier. The transaction layer falls back to RFC 2543 matching (or answers
/// 400); the signal is that the branch is not an RFC 3261 branch.
#[test]
fn rfc4475_badbranch_missing_transaction_identifier() {
    let m = accepted_request(rfc4475("badbranch"));
    let via = m.top_via().unwrap();
    assert_eq!(via.branch, Some("z9hG4bK"));
    assert!(!via.has_rfc3261_branch());
}

// ---------------------------------------------------------------------------------------
// RFC 4475 §3.3: application layer.
// ---------------------------------------------------------------------------------------

/// §3.3.1 Missing Required Header Fields: 400.
#[test]
fn rfc4475_insuf_missing_required_headers() {
    let e = refused_by_validation(rfc4475("insuf"));
    assert!(matches!(e, ParseError::MissingHeader(_)));
    assert_eq!(e.status().0, 400);
}

/// §3.3.2 Request-URI with Unknown Scheme: 416.
#[test]
fn rfc4475_unkscm_unknown_request_uri_scheme() {
    let e = refused_by_validation(rfc4475("unkscm"));
    assert_eq!(e, ParseError::UnsupportedUriScheme);
    assert_eq!(e.status().0, 416);
}

/// §3.3.3 Request-URI with Known but Atypical Scheme: 416 from an element that does not
/// serve it, which is every sipwarden element.
#[test]
fn rfc4475_novelsc_atypical_request_uri_scheme() {
    let m = datagram(rfc4475("novelsc")).unwrap();
    assert_eq!(m.request_uri().unwrap().scheme(), Scheme::Other);
    let e = m.validate_request().unwrap_err();
    assert_eq!(e.status().0, 416);
}

/// §3.3.4 Unknown URI Schemes in Header Fields: well formed; the registrar decides.
#[test]
fn rfc4475_unksm2_unknown_schemes_in_headers() {
    let m = accepted_request(rfc4475("unksm2"));
    assert_eq!(m.to().unwrap().uri.scheme(), Scheme::Other);
    assert_eq!(m.from().unwrap().uri.scheme(), Scheme::Other);
    assert_eq!(contacts(&m)[0].addr.uri.scheme(), Scheme::Other);
}

/// §3.3.5 Proxy-Require and Require: a UAS answers 420 listing both Require tags, a
/// proxy answers 420 for both Proxy-Require tags.
#[test]
fn rfc4475_bext01_unknown_require_and_proxy_require() {
    let m = accepted_request(rfc4475("bext01"));
    let uas = m.unsupported_option_tags(&["replaces", "timer"]).unwrap();
    assert_eq!(
        uas.as_slice(),
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    let proxy = m.unsupported_proxy_require(&[]).unwrap();
    assert_eq!(
        proxy.as_slice(),
        ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );
}

/// §3.3.6 Unknown Content-Type: a UAS answers 415; the signal is the decoded type.
#[test]
fn rfc4475_invut_unknown_content_type() {
    let m = accepted_request(rfc4475("invut"));
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("application", "unknownformat"));
    assert_eq!(m.body().len(), 40);
}

/// §3.3.7 Unknown Authorization Scheme: the registrar challenges (401); the credentials
/// decode and are not Digest.
#[test]
fn rfc4475_regaut01_unknown_authorization_scheme() {
    let m = accepted_request(rfc4475("regaut01"));
    let creds: Vec<_> = m.authorizations().map(Result::unwrap).collect();
    assert_eq!(creds.len(), 1);
    assert!(!creds[0].is_digest());
}

/// §3.3.8 Multiple Values in Single Value Required Fields: 400.
#[test]
fn rfc4475_multi01_multiple_single_value_fields() {
    let e = datagram(rfc4475("multi01"))
        .and_then(|m| m.validate_request())
        .unwrap_err();
    assert!(matches!(e, ParseError::DuplicateHeader(_)));
    assert_eq!(e.status().0, 400);
}

/// §3.3.9 Multiple Content-Length Values: an error (and a closed stream).
#[test]
fn rfc4475_mcl01_multiple_content_lengths() {
    let e = refused_at_parse(rfc4475("mcl01"));
    assert_eq!(e, ParseError::ConflictingContentLength);
    assert_eq!(e.status().0, 400);
}

/// §3.3.10 200 OK Response with Broadcast Via Header Field Value: well formed; the
/// element that did not send the top Via drops it. The broadcast address decodes.
#[test]
fn rfc4475_bcast_broadcast_via() {
    let m = accepted_response(rfc4475("bcast"));
    let vias: Vec<_> = m.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].host.ip(), Some(v4("255.255.255.255")));
}

/// §3.3.11 Max-Forwards of Zero: a proxy answers 483 and must not forward; a UAS
/// answers the OPTIONS normally.
#[test]
fn rfc4475_zeromf_max_forwards_zero() {
    let m = accepted_request(rfc4475("zeromf"));
    assert_eq!(m.max_forwards().unwrap(), Some(0));
    let mut ed = Editor::new(&m);
    assert_eq!(
        ed.decrement_max_forwards(),
        Err(EditError::MaxForwardsExhausted)
    );
}

/// §3.3.12 REGISTER with a Contact Header Parameter: without <>, `unknownparam` belongs
/// to the header, not the URI.
#[test]
fn rfc4475_cparam01_contact_header_parameter() {
    let m = accepted_request(rfc4475("cparam01"));
    let c = contacts(&m);
    assert!(!c[0].addr.bracketed);
    assert!(c[0].addr.params.get("unknownparam").is_some());
    assert!(c[0].addr.uri.as_sip().unwrap().params.is_empty());
}

/// §3.3.13 REGISTER with a url-parameter: inside <>, `unknownparam` belongs to the URI.
#[test]
fn rfc4475_cparam02_contact_uri_parameter() {
    let m = accepted_request(rfc4475("cparam02"));
    let c = contacts(&m);
    assert!(c[0].addr.bracketed);
    assert!(c[0].addr.params.get("unknownparam").is_none());
    assert!(c[0]
        .addr
        .uri
        .as_sip()
        .unwrap()
        .params
        .contains("unknownparam"));
}

/// §3.3.14 REGISTER with a URL Escaped Header: valid; the registrar keeps the URI with
/// its header.
#[test]
fn rfc4475_regescrt_escaped_header_in_contact() {
    let m = accepted_request(rfc4475("regescrt"));
    let c = contacts(&m);
    let sip = c[0].addr.uri.as_sip().unwrap();
    assert_eq!(sip.headers.get("Route"), Some("%3Csip:sip.example.com%3E"));
}

/// §3.3.15 Unacceptable Accept Offering: a UAS answers 406; the signal is the Accept
/// value, kept as written.
#[test]
fn rfc4475_sdp01_unacceptable_accept() {
    let m = accepted_request(rfc4475("sdp01"));
    assert_eq!(
        m.header(HeaderName::Accept),
        Some(&b"text/nobodyKnowsThis"[..])
    );
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
}

// ---------------------------------------------------------------------------------------
// RFC 4475 §3.4: backward compatibility.
// ---------------------------------------------------------------------------------------

/// §3.4.1 INVITE with RFC 2543 Syntax: accepted; no branch cookie, no Max-Forwards, no
/// Content-Length (the body runs to the end of the datagram).
#[test]
fn rfc4475_inv2543_rfc2543_syntax() {
    let m = accepted_request(rfc4475("inv2543"));
    let via = m.top_via().unwrap();
    assert_eq!(via.branch, None);
    assert!(!via.has_rfc3261_branch());
    assert_eq!(m.max_forwards().unwrap(), None);
    assert_eq!(m.content_length(), None);
    assert!(m.body().starts_with(b"v=0\r\n"));
    assert!(m.body().ends_with(b"m=audio 49217 RTP/AVP 0\r\n"));
}

// ---------------------------------------------------------------------------------------
// RFC 5118: IPv6.
// ---------------------------------------------------------------------------------------

fn ruri_host(m: &Message) -> (Host<'_>, Option<u16>) {
    let ruri = m.request_uri().unwrap();
    let sip = ruri.as_sip().unwrap().clone();
    (sip.host, sip.port)
}

/// §4.1 Valid SIP Message with an IPv6 Reference.
#[test]
fn rfc5118_ipv6_good() {
    let m = accepted_request(rfc5118("ipv6-good"));
    let (host, port) = ruri_host(&m);
    assert_eq!(host.ip(), Some(IpAddr::V6(v6("2001:db8::10"))));
    assert_eq!(port, None);
    assert_eq!(
        m.top_via().unwrap().host.ip(),
        Some(IpAddr::V6(v6("2001:db8::9:1")))
    );
    assert_eq!(
        contacts(&m)[0].addr.uri.host().unwrap().ip(),
        Some(IpAddr::V6(v6("2001:db8::1")))
    );
}

/// §4.2 Invalid SIP Message with an IPv6 Reference (no brackets): 400.
#[test]
fn rfc5118_ipv6_bad() {
    let e = refused_by_validation(rfc5118("ipv6-bad"));
    assert!(matches!(e, ParseError::BadRequestUri(_)));
    assert_eq!(e.status().0, 400);
}

/// §4.3 Port Ambiguous in a SIP URI: the brackets make it one address and no port.
#[test]
fn rfc5118_port_ambiguous() {
    let m = accepted_request(rfc5118("port-ambiguous"));
    let (host, port) = ruri_host(&m);
    assert_eq!(host.ip(), Some(IpAddr::V6(v6("2001:db8::10:5070"))));
    assert_eq!(port, None);
}

/// §4.4 Port Unambiguous in a SIP URI.
#[test]
fn rfc5118_port_unambiguous() {
    let m = accepted_request(rfc5118("port-unambiguous"));
    let (host, port) = ruri_host(&m);
    assert_eq!(host.ip(), Some(IpAddr::V6(v6("2001:db8::10"))));
    assert_eq!(port, Some(5070));
}

/// §4.5 IPv6 Reference Delimiters in Via Header: `received` with brackets.
#[test]
fn rfc5118_via_received_param_with_delim() {
    let m = accepted_request(rfc5118("via-received-param-with-delim"));
    let via = m.top_via().unwrap();
    assert_eq!(via.received, Some(IpAddr::V6(v6("2001:db8::9:255"))));
}

/// §4.5 IPv6 Reference Delimiters in Via Header: `received` without brackets, and the
/// parameter after it still read.
#[test]
fn rfc5118_via_received_param_no_delim() {
    let m = accepted_request(rfc5118("via-received-param-no-delim"));
    let via = m.top_via().unwrap();
    assert_eq!(via.received, Some(IpAddr::V6(v6("2001:db8::9:255"))));
    assert_eq!(via.branch, Some("z9hG4bKas3"));
}

/// §4.6 SIP Request with IPv6 Addresses in SDP Body: accepted; the body is kept.
#[test]
fn rfc5118_ipv6_in_sdp() {
    let m = accepted_request(rfc5118("ipv6-in-sdp"));
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
    assert!(m
        .body()
        .windows(b"c=IN IP6 2001:db8::20".len())
        .any(|w| w == b"c=IN IP6 2001:db8::20"));
}

/// §4.7 Multiple IP Addresses in SIP Headers.
#[test]
fn rfc5118_mult_ip_in_header() {
    let m = accepted_request(rfc5118("mult-ip-in-header"));
    let vias: Vec<_> = m.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host.ip(), Some(IpAddr::V6(v6("2001:db8::9:1"))));
    assert_eq!(vias[0].port, Some(6050));
    assert_eq!(vias[1].host.ip(), Some(v4("192.0.2.1")));
    assert_eq!(vias[2].transport, Transport::Tcp);
    assert_eq!(vias[2].received, Some(v4("192.0.2.200")));
}

/// §4.8 Multiple IP Addresses in SDP.
#[test]
fn rfc5118_mult_ip_in_sdp() {
    let m = accepted_request(rfc5118("mult-ip-in-sdp"));
    assert!(m.body().windows(8).any(|w| w == b"c=IN IP6"));
    assert!(m.body().windows(8).any(|w| w == b"c=IN IP4"));
}

/// §4.9 IPv4-Mapped IPv6 Addresses.
#[test]
fn rfc5118_ipv4_mapped_ipv6() {
    let m = accepted_request(rfc5118("ipv4-mapped-ipv6"));
    let vias: Vec<_> = m.vias().map(Result::unwrap).collect();
    assert_eq!(vias[0].host.ip(), Some(IpAddr::V6(v6("::ffff:192.0.2.10"))));
    assert_eq!(vias[0].port, Some(19823));
    assert_eq!(vias[1].host.ip(), Some(IpAddr::V6(v6("::ffff:192.0.2.2"))));
    assert_eq!(
        contacts(&m)[0].addr.uri.host().unwrap().ip(),
        Some(IpAddr::V6(v6("::ffff:192.0.2.2")))
    );
}

/// §4.10 IPv6 Reference Bug in RFC 3261 ABNF: the three-colon form the RFC 3261 grammar
/// admits is to be tolerated and read as the two-colon address.
#[test]
fn rfc5118_ipv6_bug_abnf_3_colons() {
    let m = accepted_request(rfc5118("ipv6-bug-abnf-3-colons"));
    let (host, _) = ruri_host(&m);
    assert_eq!(host.ip(), Some(IpAddr::V6(v6("2001:db8::192.0.2.1"))));
}

/// §4.10 IPv6 Reference Bug in RFC 3261 ABNF: the correct two-colon form.
#[test]
fn rfc5118_ipv6_correct_abnf_2_colons() {
    let m = accepted_request(rfc5118("ipv6-correct-abnf-2-colons"));
    let (host, _) = ruri_host(&m);
    assert_eq!(host.ip(), Some(IpAddr::V6(v6("2001:db8::192.0.2.1"))));
    assert_eq!(
        m.to().unwrap().uri.host().unwrap().ip(),
        Some(IpAddr::V6(v6("2001:db8::192.0.2.1")))
    );
}
