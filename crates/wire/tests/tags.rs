#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `tag_of` (the matching fast path) agrees with the full From/To decoder.

use sipwarden_wire::headers::{tag_of, NameAddr};
use sipwarden_wire::HeaderName;

#[test]
fn tag_of_agrees_with_the_full_decoder() {
    for value in [
        "<sip:alice@atlanta.com>;tag=1928301774",
        "\"Alice \\\"A\\\" <x>\" <sip:alice@atlanta.com>;tag=abc",
        "Alice Liddell <sip:alice@atlanta.com;transport=tcp>;x=\"a;tag=no\";tag=yes",
        "sip:alice@atlanta.com;tag=bare",
        "<sip:alice@atlanta.com>",
        "<sip:alice@[2001:db8::10]:5070>;TAG=upper",
        "<tel:+1-201-555-0123> ; tag = spaced",
        "sip:bob@biloxi.com",
    ] {
        let full = NameAddr::parse(HeaderName::From, value.as_bytes()).unwrap();
        let fast = tag_of(HeaderName::From, value.as_bytes()).unwrap();
        assert_eq!(fast, full.tag, "{value}");
    }
}

#[test]
fn tag_of_refuses_broken_structure() {
    for value in [
        "",
        "<sip:alice@atlanta.com",
        "\"unterminated <sip:a@b>;tag=1",
        "<sip:a@b>;tag=1;tag=2",
        "<sip:a@b>;tag=\"quoted\"",
        "<sip:a@b> trailing",
        "<>;tag=1",
    ] {
        assert!(
            tag_of(HeaderName::To, value.as_bytes()).is_err(),
            "{value:?}"
        );
    }
}
