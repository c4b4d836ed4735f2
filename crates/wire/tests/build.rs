#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Builders: responses, new requests, ACK and CANCEL.

use bytes::Bytes;
use proptest::prelude::*;
use sipwarden_wire::build::{ack_for_non2xx, cancel_for, response_to, BuildError, RequestBuilder};
use sipwarden_wire::edit::Editor;
use sipwarden_wire::{HeaderName, Message, Method};

fn parse(s: &str) -> Message {
    Message::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP a.example.com;branch=z9hG4bKa , SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n\
Via: SIP/2.0/TCP c.example.com;received=192.0.2.3;branch=z9hG4bKc\r\n\
Max-Forwards: 69\r\n\
Route: <sip:p1.example.com;lr>\r\n\
Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n\
f: \"Alice\"  <sip:alice@example.com>;tag=1928301774\r\n\
To: Bob <sip:bob@example.com;tag=uri-param-not-a-tag>\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq:  314159   INVITE\r\n\
Timestamp: 54.3 0.1\r\n\
Contact: <sip:alice@pc33.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn vals(m: &Message, name: HeaderName) -> Vec<&[u8]> {
    m.header_values(name).collect()
}

#[test]
fn response_copies_fields_byte_exact() {
    let req = parse(INVITE);
    let out = response_to(&req, 486, "Busy Here")
        .to_tag("a6c85cf")
        .header("Retry-After", "60")
        .build()
        .unwrap();
    let resp = Message::parse(out.clone()).unwrap();
    assert_eq!(resp.status_code(), Some(486));
    assert_eq!(resp.reason_phrase(), b"Busy Here");
    assert_eq!(vals(&resp, HeaderName::Via), vals(&req, HeaderName::Via));
    assert_eq!(resp.header(HeaderName::From), req.header(HeaderName::From));
    assert_eq!(
        resp.header(HeaderName::CallId),
        req.header(HeaderName::CallId)
    );
    assert_eq!(resp.header(HeaderName::CSeq), req.header(HeaderName::CSeq));
    assert_eq!(
        resp.header(HeaderName::To),
        Some(&b"Bob <sip:bob@example.com;tag=uri-param-not-a-tag>;tag=a6c85cf"[..])
    );
    assert_eq!(
        resp.header(HeaderName::Timestamp),
        None,
        "only a 100 copies it"
    );
    assert_eq!(resp.header(HeaderName::Route), None);
    assert_eq!(resp.content_length(), Some(0));
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "SIP/2.0 486 Busy Here\r\n\
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa , SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n\
Via: SIP/2.0/TCP c.example.com;received=192.0.2.3;branch=z9hG4bKc\r\n\
From: \"Alice\"  <sip:alice@example.com>;tag=1928301774\r\n\
To: Bob <sip:bob@example.com;tag=uri-param-not-a-tag>;tag=a6c85cf\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159   INVITE\r\n\
Retry-After: 60\r\n\
Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn trying_copies_timestamp_and_adds_no_tag() {
    let req = parse(INVITE);
    let out = response_to(&req, 100, "Trying")
        .to_tag("x")
        .build()
        .unwrap();
    let resp = Message::parse(out).unwrap();
    assert_eq!(resp.header(HeaderName::Timestamp), Some(&b"54.3 0.1"[..]));
    assert_eq!(resp.header(HeaderName::To), req.header(HeaderName::To));
}

#[test]
fn existing_to_tag_is_kept() {
    let req = parse(&INVITE.replace(
        "To: Bob <sip:bob@example.com;tag=uri-param-not-a-tag>",
        "t: sip:bob@example.com;TAG=dialog",
    ));
    let out = response_to(&req, 200, "OK")
        .to_tag("other")
        .build()
        .unwrap();
    let resp = Message::parse(out).unwrap();
    assert_eq!(
        resp.header(HeaderName::To),
        Some(&b"sip:bob@example.com;TAG=dialog"[..])
    );
}

#[test]
fn tag_inside_a_quoted_display_name_is_not_a_tag() {
    let req = parse(&INVITE.replace(
        "To: Bob <sip:bob@example.com;tag=uri-param-not-a-tag>",
        "To: \"x;tag=y\" <sip:bob@example.com>",
    ));
    let out = response_to(&req, 200, "OK").to_tag("t1").build().unwrap();
    let resp = Message::parse(out).unwrap();
    assert_eq!(
        resp.header(HeaderName::To),
        Some(&b"\"x;tag=y\" <sip:bob@example.com>;tag=t1"[..])
    );
}

#[test]
fn response_with_body() {
    let req = parse(INVITE);
    let out = response_to(&req, 200, "OK")
        .to_tag("t")
        .body("application/sdp", &b"v=0\r\n"[..])
        .build()
        .unwrap();
    let resp = Message::parse(out).unwrap();
    assert_eq!(resp.body(), b"v=0\r\n");
    assert_eq!(resp.content_length(), Some(5));
    assert_eq!(
        resp.header(HeaderName::ContentType),
        Some(&b"application/sdp"[..])
    );
}

#[test]
fn response_refusals() {
    let req = parse(INVITE);
    for reason in ["Bad\r\nVia: x", "a\nb", "nul\0", "del\x7f"] {
        assert_eq!(
            response_to(&req, 400, reason).build(),
            Err(BuildError::BadReason),
            "{reason:?}"
        );
    }
    assert!(
        response_to(&req, 400, "").build().is_ok(),
        "empty reason is legal"
    );
    assert!(response_to(&req, 400, "Mauvaise requête\tx")
        .build()
        .is_ok());
    for code in [0, 99, 700, 1000] {
        assert_eq!(
            response_to(&req, code, "x").build(),
            Err(BuildError::BadStatusCode)
        );
    }
    assert_eq!(
        response_to(&req, 200, "OK").to_tag("a b").build(),
        Err(BuildError::BadTag)
    );
    assert_eq!(
        response_to(&req, 200, "OK").header("Via", "x").build(),
        Err(BuildError::ManagedHeader("Via"))
    );
    assert_eq!(
        response_to(&req, 200, "OK").header("l", "3").build(),
        Err(BuildError::ManagedHeader("Content-Length"))
    );
    assert_eq!(
        response_to(&req, 200, "OK")
            .header("X", "a\r\nb: c")
            .build(),
        Err(BuildError::BadValue("header value"))
    );
    assert_eq!(
        response_to(&req, 200, "OK").header("X Y", "a").build(),
        Err(BuildError::BadName)
    );
    let resp = Message::parse(response_to(&req, 200, "OK").build().unwrap()).unwrap();
    assert_eq!(
        response_to(&resp, 200, "OK").build(),
        Err(BuildError::NotARequest)
    );
    let bare =
        parse("OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n");
    assert_eq!(
        response_to(&bare, 200, "OK").build(),
        Err(BuildError::Missing("From"))
    );
}

fn sample_request() -> RequestBuilder {
    RequestBuilder::new("INVITE", "sip:bob@example.com")
        .rport()
        .via("udp", "192.0.2.1:5060", "z9hG4bK776asdhds")
        .via("TCP", "[2001:db8::1]", "z9hG4bKsecond")
        .from("\"Alice\" <sip:alice@example.com>", "1928301774")
        .to("sip:bob@example.com")
        .call_id("a84b4c76e66710@pc33")
        .cseq(314159)
        .contact("sip:alice@192.0.2.1:5060")
        .route("<sip:p1.example.com;lr>")
        .header("Allow", "INVITE, ACK, CANCEL, BYE")
        .body("application/sdp", &b"v=0\r\n"[..])
}

#[test]
fn request_builder_writes_canonical_text() {
    let out = sample_request().build().unwrap();
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK776asdhds\r\n\
Via: SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKsecond\r\n\
Max-Forwards: 70\r\n\
Route: <sip:p1.example.com;lr>\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: a84b4c76e66710@pc33\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.1:5060>\r\n\
Allow: INVITE, ACK, CANCEL, BYE\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 5\r\n\r\nv=0\r\n"
    );
    let m = Message::parse(out.clone()).unwrap();
    assert_eq!(m.method(), Some(Method::Invite));
    // Parse then splice with no edit: a fixpoint.
    assert_eq!(Editor::new(&m).finish(), out);
}

#[test]
fn request_builder_refusals() {
    let ok = || {
        RequestBuilder::new("OPTIONS", "sip:x@example.com")
            .via("UDP", "h", "z9hG4bK1")
            .from("sip:a@example.com", "t")
            .to("sip:x@example.com")
            .call_id("c")
            .cseq(1)
    };
    assert!(ok().build().is_ok());
    assert_eq!(
        ok().via("UDP", "h", "1234").build(),
        Err(BuildError::BadBranch)
    );
    assert_eq!(
        ok().via("UDP", "h", "z9hG4bK;x").build(),
        Err(BuildError::BadBranch)
    );
    assert_eq!(
        ok().via("U DP", "h", "z9hG4bK2").build(),
        Err(BuildError::BadValue("Via"))
    );
    assert_eq!(
        ok().via("UDP", "h;x", "z9hG4bK2").build(),
        Err(BuildError::BadValue("Via"))
    );
    assert_eq!(ok().cseq(1 << 31).build(), Err(BuildError::CSeqOutOfRange));
    assert_eq!(
        ok().call_id("a b").build(),
        Err(BuildError::BadValue("Call-ID"))
    );
    assert_eq!(
        ok().to("<sip:x\r\n>").build(),
        Err(BuildError::BadValue("To"))
    );
    assert_eq!(
        ok().to("not a uri").build(),
        Err(BuildError::BadValue("To"))
    );
    assert_eq!(
        ok().from("sip:a@x", "bad tag").build(),
        Err(BuildError::BadTag)
    );
    assert_eq!(
        ok().header("CSeq", "2 X").build(),
        Err(BuildError::ManagedHeader("CSeq"))
    );
    assert_eq!(
        RequestBuilder::new("IN VITE", "sip:x").build(),
        Err(BuildError::BadMethod)
    );
    assert_eq!(
        RequestBuilder::new("INVITE", "sip x").build(),
        Err(BuildError::BadUri)
    );
    let no_via = RequestBuilder::new("OPTIONS", "sip:x@example.com")
        .from("sip:a@example.com", "t")
        .to("sip:x@example.com")
        .call_id("c")
        .cseq(1);
    assert_eq!(no_via.build(), Err(BuildError::Missing("Via")));
    assert_eq!(
        RequestBuilder::new("OPTIONS", "sip:x").to_tag("t").build(),
        Err(BuildError::Missing("To"))
    );
}

#[test]
fn ack_for_non2xx_follows_17_1_1_3() {
    let invite = parse(INVITE);
    let resp = Message::parse(
        response_to(&invite, 486, "Busy Here")
            .to_tag("uas")
            .build()
            .unwrap(),
    )
    .unwrap();
    let ack = ack_for_non2xx(&invite, &resp).unwrap();
    assert_eq!(
        std::str::from_utf8(&ack).unwrap(),
        "ACK sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\n\
Max-Forwards: 70\r\n\
Route: <sip:p1.example.com;lr>\r\n\
Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n\
From: \"Alice\"  <sip:alice@example.com>;tag=1928301774\r\n\
To: Bob <sip:bob@example.com;tag=uri-param-not-a-tag>;tag=uas\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 ACK\r\n\
Content-Length: 0\r\n\r\n"
    );
    let m = Message::parse(ack).unwrap();
    assert_eq!(m.method(), Some(Method::Ack));
    assert_eq!(m.count(HeaderName::Via), 1);
}

#[test]
fn ack_refusals() {
    let invite = parse(INVITE);
    let ok = Message::parse(response_to(&invite, 200, "OK").to_tag("t").build().unwrap()).unwrap();
    let busy = Message::parse(response_to(&invite, 486, "Busy").build().unwrap()).unwrap();
    assert_eq!(
        ack_for_non2xx(&invite, &ok),
        Err(BuildError::NotNon2xxFinal)
    );
    assert_eq!(
        ack_for_non2xx(&invite, &invite),
        Err(BuildError::NotAResponse)
    );
    assert_eq!(ack_for_non2xx(&busy, &busy), Err(BuildError::NotARequest));
    let options = parse(
        &INVITE
            .replace("INVITE sip", "OPTIONS sip")
            .replace("314159   INVITE", "1 OPTIONS"),
    );
    assert_eq!(
        ack_for_non2xx(&options, &busy),
        Err(BuildError::NotAnInvite)
    );
    let bad_cseq = parse(&INVITE.replace("CSeq:  314159   INVITE", "CSeq: x INVITE"));
    assert_eq!(
        ack_for_non2xx(&bad_cseq, &busy),
        Err(BuildError::BadValue("CSeq"))
    );
}

#[test]
fn cancel_follows_9_1() {
    let invite = parse(INVITE);
    let cancel = cancel_for(&invite).unwrap();
    assert_eq!(
        std::str::from_utf8(&cancel).unwrap(),
        "CANCEL sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\n\
Max-Forwards: 70\r\n\
Route: <sip:p1.example.com;lr>\r\n\
Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n\
From: \"Alice\"  <sip:alice@example.com>;tag=1928301774\r\n\
To: Bob <sip:bob@example.com;tag=uri-param-not-a-tag>\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 CANCEL\r\n\
Content-Length: 0\r\n\r\n"
    );
    let m = Message::parse(cancel.clone()).unwrap();
    assert_eq!(cancel_for(&m), Err(BuildError::NotCancellable));
    let resp = Message::parse(response_to(&invite, 180, "Ringing").build().unwrap()).unwrap();
    assert_eq!(cancel_for(&resp), Err(BuildError::NotARequest));
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~-]{1,16}"
}

proptest! {
    /// Built requests re-parse, their responses copy the identifying fields byte-exact,
    /// and the response itself re-parses.
    #[test]
    fn built_messages_reparse_and_copy_exactly(
        method in "[A-Z]{3,10}",
        user in "[a-z0-9]{1,10}",
        host in "[a-z]{1,10}\\.example\\.(com|org)",
        branch in token(),
        from_tag in token(),
        to_tag in token(),
        call_id in "[A-Za-z0-9.!%*_+`'~()<>:\\\\\"/\\[\\]?{}@-]{1,32}",
        seq in 0u32..(1 << 31),
        code in 100u16..700,
        reason in "[ -~\t]{0,30}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let req = RequestBuilder::new(&method, &format!("sip:{user}@{host}"))
            .via("TLS", &host, &format!("z9hG4bK{branch}"))
            .from(&format!("sip:{user}@{host}"), &from_tag)
            .to(&format!("sip:{user}@{host}"))
            .call_id(&call_id)
            .cseq(seq)
            .body("application/octet-stream", body.clone())
            .build()
            .unwrap();
        let m = Message::parse(req.clone()).unwrap();
        prop_assert_eq!(m.body(), &body[..]);
        prop_assert_eq!(m.header(HeaderName::CallId), Some(call_id.as_bytes()));
        let expected_cseq = format!("{seq} {method}");
        prop_assert_eq!(m.header(HeaderName::CSeq), Some(expected_cseq.as_bytes()));
        prop_assert_eq!(Editor::new(&m).finish(), req);

        let resp = response_to(&m, code, &reason).to_tag(&to_tag).build().unwrap();
        let r = Message::parse(resp).unwrap();
        prop_assert_eq!(r.status_code(), Some(code));
        prop_assert_eq!(r.reason_phrase(), reason.as_bytes());
        for name in [HeaderName::Via, HeaderName::From, HeaderName::CallId, HeaderName::CSeq] {
            prop_assert_eq!(vals(&r, name), vals(&m, name));
        }
        let to = m.header(HeaderName::To).unwrap().to_vec();
        let expected_to = if code > 100 {
            [to, format!(";tag={to_tag}").into_bytes()].concat()
        } else {
            to
        };
        prop_assert_eq!(r.header(HeaderName::To), Some(&expected_to[..]));
    }
}
