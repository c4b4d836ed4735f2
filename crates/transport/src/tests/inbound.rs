use bytes::Bytes;
use sipwarden_wire::{Limits, Message, ParseError};

use super::crlf;
use crate::inbound::{error_reply, head_of, status_of};
use crate::reply::TagMaker;

fn reply_to(text: &str, err: ParseError) -> Option<String> {
    error_reply(
        Bytes::from(crlf(text)),
        &err,
        &Limits::default(),
        &TagMaker::new(),
        Some("sw"),
    )
    .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

const BAD_CL: &str = "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:x>\nCall-ID: c\nCSeq: 1 OPTIONS\nContent-Length: abc\n\n";

#[test]
fn malformed_requests_get_the_mapped_status_and_reason() {
    let err = Message::parse(Bytes::from(crlf(BAD_CL))).unwrap_err();
    assert_eq!(err, ParseError::BadContentLength);
    let reply = reply_to(BAD_CL, err).unwrap();
    assert!(
        reply.starts_with("SIP/2.0 400 Bad Request (malformed Content-Length)\r\n"),
        "{reply}"
    );
    assert!(reply.contains("\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"));
    assert!(reply.contains("\r\nTo: <sip:x>;tag="));
    assert!(reply.contains("\r\nServer: sw\r\n"));
    assert!(reply.ends_with("Content-Length: 0\r\n\r\n"));
    let parsed = Message::parse(Bytes::from(reply)).unwrap();
    assert_eq!(parsed.status_code(), Some(400));
}

#[test]
fn the_same_request_gets_the_same_tag() {
    let tags = TagMaker::new();
    let m = Message::index_for_error_reply(Bytes::from(crlf(BAD_CL)), &Limits::default()).unwrap();
    assert_eq!(tags.tag_for(&m), tags.tag_for(&m));
    assert_ne!(
        tags.tag_for(&m),
        TagMaker::new().tag_for(&m),
        "keyed per process"
    );
}

#[test]
fn acks_responses_and_via_less_requests_are_not_answered() {
    let ack = BAD_CL
        .replace("OPTIONS sip", "ACK sip")
        .replace("1 OPTIONS", "1 ACK");
    assert_eq!(reply_to(&ack, ParseError::BadContentLength), None);
    let response = "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: x\n\n";
    assert_eq!(reply_to(response, ParseError::BadContentLength), None);
    let no_via = "OPTIONS sip:x SIP/2.0\nCall-ID: c\nContent-Length: x\n\n";
    assert_eq!(reply_to(no_via, ParseError::BadContentLength), None);
    assert_eq!(reply_to("garbage\n\n", ParseError::BadStartLine("x")), None);
}

#[test]
fn head_of_an_oversized_datagram() {
    let mut big =
        crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 5000\n\n");
    let head_len = big.len();
    big.push_str(&"x".repeat(5000));
    let buf = Bytes::from(big);
    assert_eq!(head_of(&buf, 1024).map(|h| h.len()), Some(head_len));
    assert_eq!(head_of(&buf, 20), None);
}

#[test]
fn status_codes_of_response_bytes() {
    assert_eq!(status_of(b"SIP/2.0 200 OK\r\n"), Some(200));
    assert_eq!(status_of(b"SIP/2.0 099 x"), None);
    assert_eq!(status_of(b"OPTIONS sip:x SIP/2.0"), None);
    assert_eq!(status_of(b"SIP/2.0 2"), None);
}

#[test]
fn requests_with_a_broken_head_are_still_answered() {
    let version = "OPTIONS sip:x SIP/3.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:x>\nCall-ID: c\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n";
    let err = Message::parse(Bytes::from(crlf(version))).unwrap_err();
    assert_eq!(err, ParseError::UnsupportedVersion);
    let reply = reply_to(version, err).unwrap();
    assert!(reply.starts_with("SIP/2.0 505 Version Not Supported\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x>;tag="), "{reply}");
    assert!(Message::parse(Bytes::from(reply)).is_ok());

    let bad_line = "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\nno colon\nCall-ID: c\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n";
    let err = Message::parse(Bytes::from(crlf(bad_line))).unwrap_err();
    let reply = reply_to(bad_line, err).unwrap();
    assert!(
        reply.starts_with("SIP/2.0 400 Bad Request (malformed header line)\r\n"),
        "{reply}"
    );

    // Lines with control characters are never copied.
    let nul = "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nCall-ID: a\0b\nCSeq: 1 OPTIONS\n\n";
    let reply = reply_to(nul, ParseError::ControlCharacter).unwrap();
    assert!(!reply.contains("Call-ID"), "{reply}");
    // Still never an answer to ACK or to a response.
    assert_eq!(
        reply_to(
            &version.replace("OPTIONS sip", "ACK sip"),
            ParseError::UnsupportedVersion
        ),
        None
    );
    assert_eq!(
        reply_to(
            "SIP/3.0 200 OK\nVia: SIP/2.0/UDP h\n\n",
            ParseError::UnsupportedVersion
        ),
        None
    );
}
