#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Splice edits: unit tests and the property that untouched bytes stay identical.

use bytes::Bytes;
use sipwarden_wire::edit::{EditError, Editor};
use sipwarden_wire::{HeaderName, Message};

fn parse(s: &str) -> Message {
    Message::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

fn text(b: &Bytes) -> &str {
    std::str::from_utf8(b).unwrap()
}

const REQ: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\n\
v: SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n\
Max-Forwards: 10\r\n\
Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
Route: <sip:p3.example.com;lr>\r\n\
From: Alice <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: c1\r\n\
CSeq: 1 INVITE\r\n\
X-Odd:   kept   exactly \r\n\
Subject: folded\r\n\tcontinuation\r\n\
Content-Type: text/plain\r\n\
l: 5\r\n\
\r\n\
hello";

#[test]
fn no_edits_is_identity() {
    let m = parse(REQ);
    let ed = Editor::new(&m);
    assert_eq!(ed.len(), REQ.len());
    assert_eq!(ed.finish(), REQ.as_bytes());
}

#[test]
fn insert_via_goes_on_top() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.insert_via(b"SIP/2.0/TLS proxy.example.com;branch=z9hG4bKp")
        .unwrap();
    let out = ed.finish();
    let expected = REQ.replace(
        "SIP/2.0\r\nVia:",
        "SIP/2.0\r\nVia: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKp\r\nVia:",
    );
    assert_eq!(text(&out), expected);
    let m2 = Message::parse(out).unwrap();
    assert_eq!(m2.count(HeaderName::Via), 3);
}

#[test]
fn insert_via_without_any_via() {
    let m = parse("OPTIONS sip:x@example.com SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n");
    let mut ed = Editor::new(&m);
    ed.insert_via(b"SIP/2.0/UDP h;branch=z9hG4bK1").unwrap();
    assert_eq!(
        text(&ed.finish()),
        "OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn remove_top_via_whole_line() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.remove_top_via().unwrap();
    let out = ed.finish();
    assert_eq!(
        text(&out),
        REQ.replace("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\n", "")
    );
}

#[test]
fn remove_top_via_first_of_several_values() {
    let msg = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP a;x=\"q,uoted\";branch=z9hG4bKa ,\r\n  SIP/2.0/UDP b;branch=z9hG4bKb\r\n\
Via: SIP/2.0/UDP c;branch=z9hG4bKc\r\n\
Content-Length: 0\r\n\r\n";
    let m = parse(msg);
    let mut ed = Editor::new(&m);
    ed.remove_top_via().unwrap();
    let out = ed.finish();
    assert_eq!(
        text(&out),
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP b;branch=z9hG4bKb\r\nVia: SIP/2.0/UDP c;branch=z9hG4bKc\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn remove_top_via_missing() {
    let m = parse("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        Editor::new(&m).remove_top_via(),
        Err(EditError::Missing("Via"))
    );
}

#[test]
fn decrement_max_forwards_rewrites_only_the_value() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    assert_eq!(ed.decrement_max_forwards(), Ok(9));
    assert_eq!(
        text(&ed.finish()),
        REQ.replace("Max-Forwards: 10", "Max-Forwards: 9")
    );
}

#[test]
fn decrement_max_forwards_zero_and_bad() {
    for (mf, want) in [
        ("0", EditError::MaxForwardsExhausted),
        ("abc", EditError::BadMaxForwards),
        ("256", EditError::BadMaxForwards),
        ("1000", EditError::BadMaxForwards),
    ] {
        let m = parse(&REQ.replace("Max-Forwards: 10", &format!("Max-Forwards: {mf}")));
        assert_eq!(Editor::new(&m).decrement_max_forwards(), Err(want), "{mf}");
    }
}

#[test]
fn decrement_max_forwards_absent_inserts_70() {
    let m = parse(&REQ.replace("Max-Forwards: 10\r\n", ""));
    let mut ed = Editor::new(&m);
    assert_eq!(ed.decrement_max_forwards(), Ok(70));
    let out = ed.finish();
    assert_eq!(
        text(&out),
        REQ.replace("Max-Forwards: 10\r\n", "")
            .replace("l: 5\r\n", "l: 5\r\nMax-Forwards: 70\r\n")
    );
}

#[test]
fn pop_route_first_value_only() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    assert_eq!(&ed.pop_route().unwrap()[..], b"<sip:p1.example.com;lr>");
    assert_eq!(
        text(&ed.finish()),
        REQ.replace("<sip:p1.example.com;lr>, ", "")
    );
}

#[test]
fn pop_route_respects_commas_in_brackets_and_quotes() {
    let msg = REQ.replace(
        "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
        "Route: \"A, B\" <sip:a,b@p1.example.com;lr>,<sip:p2.example.com;lr>",
    );
    let m = parse(&msg);
    let mut ed = Editor::new(&m);
    assert_eq!(
        &ed.pop_route().unwrap()[..],
        b"\"A, B\" <sip:a,b@p1.example.com;lr>"
    );
    assert_eq!(
        text(&ed.finish()),
        msg.replace("\"A, B\" <sip:a,b@p1.example.com;lr>,", "")
    );
}

#[test]
fn pop_route_single_value_removes_line() {
    let msg = REQ.replace(
        "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n",
        "",
    );
    let m = parse(&msg);
    let mut ed = Editor::new(&m);
    assert_eq!(&ed.pop_route().unwrap()[..], b"<sip:p3.example.com;lr>");
    assert_eq!(
        text(&ed.finish()),
        msg.replace("Route: <sip:p3.example.com;lr>\r\n", "")
    );
}

#[test]
fn pop_route_twice_is_an_overlap() {
    // Every edit is against the original message.
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.pop_route().unwrap();
    assert_eq!(ed.pop_route(), Err(EditError::Overlap));
}

#[test]
fn record_route_and_path_on_top_of_their_kind() {
    let msg = REQ.replace(
        "Call-ID: c1\r\n",
        "Call-ID: c1\r\nRecord-Route: <sip:old;lr>\r\n",
    );
    let m = parse(&msg);
    let mut ed = Editor::new(&m);
    ed.add_record_route(b"<sip:new.example.com;lr>").unwrap();
    ed.add_path(b"<sip:edge.example.com;lr>").unwrap();
    let out = ed.finish();
    assert_eq!(
        text(&out),
        msg.replace(
            "Record-Route: <sip:old;lr>",
            "Record-Route: <sip:new.example.com;lr>\r\nRecord-Route: <sip:old;lr>"
        )
        .replace("l: 5\r\n", "l: 5\r\nPath: <sip:edge.example.com;lr>\r\n")
    );
}

#[test]
fn rewrite_request_uri() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.set_request_uri(b"sip:bob@192.0.2.7:5062;transport=tcp")
        .unwrap();
    assert_eq!(
        text(&ed.finish()),
        REQ.replace(
            "INVITE sip:bob@example.com ",
            "INVITE sip:bob@192.0.2.7:5062;transport=tcp "
        )
    );
    for bad in [
        &b""[..],
        b"sip:a b",
        b"nocolon",
        b"sip:",
        b"sip:a\r\nX: y",
        b"1sip:x",
    ] {
        assert_eq!(Editor::new(&m).set_request_uri(bad), Err(EditError::BadUri));
    }
    let resp = parse("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        Editor::new(&resp).set_request_uri(b"sip:x"),
        Err(EditError::NotARequest)
    );
}

#[test]
fn add_header_before_blank_line() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.add_header("X-First", b"1").unwrap();
    ed.add_header("X-Second", b"").unwrap();
    assert_eq!(
        text(&ed.finish()),
        REQ.replace("l: 5\r\n", "l: 5\r\nX-First: 1\r\nX-Second: \r\n")
    );
}

#[test]
fn injection_is_refused() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    for v in [&b"a\r\nVia: evil"[..], b"a\nb", b"a\rb", b"a\0b", b"a\x7fb"] {
        assert_eq!(ed.add_header("X", v), Err(EditError::BadValue));
        assert_eq!(ed.insert_via(v), Err(EditError::BadValue));
        assert_eq!(ed.replace_value(0, v), Err(EditError::BadValue));
    }
    assert_eq!(ed.insert_via(b"  "), Err(EditError::BadValue));
    assert_eq!(ed.add_header("Bad Name", b"x"), Err(EditError::BadName));
    assert_eq!(ed.add_header("X:", b"x"), Err(EditError::BadName));
    assert_eq!(
        ed.add_header("l", b"1"),
        Err(EditError::ContentLengthManaged)
    );
    // Refused edits change nothing.
    assert_eq!(ed.finish(), REQ.as_bytes());
}

#[test]
fn remove_and_replace_fields() {
    let m = parse(REQ);
    let odd = m
        .headers()
        .iter()
        .position(|h| m.slice(h.name_span) == b"X-Odd")
        .unwrap();
    let subject = m
        .headers()
        .iter()
        .position(|h| h.name == HeaderName::Subject)
        .unwrap();
    let cl = m
        .headers()
        .iter()
        .position(|h| h.name == HeaderName::ContentLength)
        .unwrap();
    let mut ed = Editor::new(&m);
    ed.replace_value(odd, b"new").unwrap();
    ed.remove_field(subject).unwrap();
    assert_eq!(ed.remove_field(subject), Err(EditError::Overlap));
    assert_eq!(ed.replace_value(subject, b"x"), Err(EditError::Overlap));
    assert_eq!(ed.remove_field(cl), Err(EditError::ContentLengthManaged));
    assert_eq!(ed.remove_field(999), Err(EditError::NoSuchField(999)));
    assert_eq!(
        text(&ed.finish()),
        REQ.replace("X-Odd:   kept   exactly ", "X-Odd:   new ")
            .replace("Subject: folded\r\n\tcontinuation\r\n", "")
    );
}

#[test]
fn remove_header_by_name() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    assert_eq!(ed.remove_header(HeaderName::Route), Ok(2));
    assert_eq!(ed.remove_header(HeaderName::Path), Ok(0));
    assert_eq!(
        ed.remove_header(HeaderName::ContentLength),
        Err(EditError::ContentLengthManaged)
    );
    assert_eq!(
        text(&ed.finish()),
        REQ.replace(
            "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n",
            ""
        )
        .replace("Route: <sip:p3.example.com;lr>\r\n", "")
    );
}

#[test]
fn set_body_fixes_content_length_and_type() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.set_body(Some(b"application/sdp"), Bytes::from_static(b"v=0\r\n"))
        .unwrap();
    assert_eq!(
        ed.set_body(None, Bytes::new()),
        Err(EditError::Overlap),
        "one body per editor"
    );
    let len = ed.len();
    let out = ed.finish();
    assert_eq!(out.len(), len);
    assert_eq!(
        text(&out),
        REQ.replace("text/plain", "application/sdp")
            .replace("l: 5\r\n\r\nhello", "l: 5\r\n\r\nv=0\r\n")
    );
    let mut ed = Editor::new(&m);
    ed.set_body(None, Bytes::from_static(b"a longer body"))
        .unwrap();
    let out = ed.finish();
    assert_eq!(
        text(&out),
        REQ.replace("l: 5\r\n\r\nhello", "l: 13\r\n\r\na longer body")
    );
    let m2 = Message::parse(out).unwrap();
    assert_eq!(m2.body(), b"a longer body");
}

#[test]
fn set_body_adds_content_type_when_absent() {
    let msg = REQ.replace("Content-Type: text/plain\r\n", "");
    let m = parse(&msg);
    let mut ed = Editor::new(&m);
    ed.set_body(Some(b"text/html"), Bytes::from_static(b"<p>"))
        .unwrap();
    assert_eq!(
        text(&ed.finish()),
        msg.replace(
            "l: 5\r\n\r\nhello",
            "l: 3\r\nContent-Type: text/html\r\n\r\n<p>"
        )
    );
}

#[test]
fn content_length_added_when_absent() {
    // A datagram may omit Content-Length; a stream hop needs it.
    let msg = "OPTIONS sip:x@example.com SIP/2.0\r\nCall-ID: 1\r\n\r\nabc";
    let m = parse(msg);
    let ed = Editor::new(&m);
    assert_eq!(ed.len(), msg.len() + "Content-Length: 3\r\n".len());
    assert_eq!(
        text(&ed.finish()),
        "OPTIONS sip:x@example.com SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 3\r\n\r\nabc"
    );
}

#[test]
fn proxy_request_path() {
    // What a proxy does to a request: Via on top, Max-Forwards down, a Route popped,
    // Record-Route added, Request-URI retargeted.
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.insert_via(b"SIP/2.0/TLS p.example.com;branch=z9hG4bKx")
        .unwrap();
    ed.decrement_max_forwards().unwrap();
    ed.pop_route().unwrap();
    ed.add_record_route(b"<sip:p.example.com;lr>").unwrap();
    ed.set_request_uri(b"sip:bob@192.0.2.9").unwrap();
    let len = ed.len();
    let out = ed.finish();
    assert_eq!(out.len(), len);
    let m2 = Message::parse(out.clone()).unwrap();
    assert_eq!(m2.request_uri_bytes(), b"sip:bob@192.0.2.9");
    assert_eq!(m2.header(HeaderName::MaxForwards), Some(&b"9"[..]));
    assert_eq!(m2.body(), b"hello");
}

#[test]
fn insert_and_remove_at_the_same_place() {
    let m = parse(REQ);
    let mut ed = Editor::new(&m);
    ed.remove_top_via().unwrap();
    ed.insert_via(b"SIP/2.0/UDP new;branch=z9hG4bKn").unwrap();
    assert_eq!(
        text(&ed.finish()),
        REQ.replace(
            "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa",
            "Via: SIP/2.0/UDP new;branch=z9hG4bKn"
        )
    );
}

#[test]
fn malformed_lists_are_not_guessed_at() {
    for via in [
        "Via: SIP/2.0/UDP a;branch=z9hG4bKa,\r\n",
        "Via: SIP/2.0/UDP a;x=\"open;branch=z9hG4bKa\r\n",
        "Via: SIP/2.0/UDP a;branch=z9hG4bKa,,SIP/2.0/UDP b\r\n",
    ] {
        let m = parse(&format!("SIP/2.0 200 OK\r\n{via}Content-Length: 0\r\n\r\n"));
        assert_eq!(
            Editor::new(&m).remove_top_via(),
            Err(EditError::Malformed("Via")),
            "{via:?}"
        );
    }
}
