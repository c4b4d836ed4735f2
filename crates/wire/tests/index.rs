#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The message index's byte-level screening: line ends, control bytes and folding, at
//! every position relative to the 8-byte words the scanner reads.

use sipwarden_wire::{HeaderName, Message, ParseError};

fn with_header(value: &[u8]) -> Vec<u8> {
    let mut m =
        b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Test: "
            .to_vec();
    m.extend_from_slice(value);
    m.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    m
}

#[test]
fn control_bytes_are_refused_at_every_offset() {
    for bad in [0u8, 1, 0x0b, 0x1f, 0x7f, b'\r'] {
        for at in 0..20 {
            let mut v = vec![b'a'; 20];
            v[at] = bad;
            let err = Message::parse(with_header(&v)).unwrap_err();
            assert_eq!(err, ParseError::ControlCharacter, "byte {bad:#x} at {at}");
        }
    }
}

#[test]
fn a_bare_lf_is_refused() {
    let mut m = with_header(b"abc");
    let at = m.windows(2).position(|w| w == b"\r\n").unwrap();
    m.remove(at); // the start line now ends in a bare LF
    assert_eq!(Message::parse(m).unwrap_err(), ParseError::ControlCharacter);
}

#[test]
fn tabs_utf8_and_quoted_pairs_are_fine() {
    for value in [
        &b"a\tb"[..],
        "caf\u{e9} \u{1f600}".as_bytes(),
        b"\"quoted \\\x01 pair\"",
        b"\x7e\x20\x21",
    ] {
        for pad in 0..9 {
            let mut v = vec![b'x'; pad];
            v.extend_from_slice(value);
            let m = Message::parse(with_header(&v)).unwrap();
            assert_eq!(m.other_header_values("X-Test").next().unwrap(), &v[..]);
        }
    }
}

#[test]
fn a_control_byte_outside_the_quotes_is_refused_even_near_a_quoted_pair() {
    let m = with_header(b"\"a\\\x01\" \x01");
    assert_eq!(Message::parse(m).unwrap_err(), ParseError::ControlCharacter);
}

#[test]
fn folded_values_keep_their_continuations() {
    let m = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: one\r\n  two\r\n\tthree\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(m.to_vec()).unwrap();
    assert_eq!(
        m.header(HeaderName::Subject).unwrap(),
        &b"one\r\n  two\r\n\tthree"[..]
    );
}

#[test]
fn a_whitespace_only_continuation_adds_nothing() {
    let m = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n \r\n\r\n";
    let m = Message::parse(m.to_vec()).unwrap();
    assert_eq!(m.content_length(), Some(0));
}

#[test]
fn every_length_of_line_finds_its_end() {
    for len in 0..40 {
        let v = vec![b'y'; len];
        let m = Message::parse(with_header(&v)).unwrap();
        assert_eq!(m.other_header_values("X-Test").next().unwrap().len(), len);
    }
}
