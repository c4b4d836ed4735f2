//! Splice edits on any message that parses: each edit is refused or applied, the result
//! always re-parses, and the fields no edit touched keep their bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sipwarden_wire::edit::Editor;
use sipwarden_wire::{HeaderName, Limits, Message, ParseError};

fuzz_target!(|data: &[u8]| {
    let Some((&ops, data)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let Ok(msg) = Message::parse_datagram(Bytes::copy_from_slice(data), &limits) else {
        return;
    };
    let mut ed = Editor::new(&msg);
    if ops & 1 != 0 {
        let _ = ed.insert_via(b"SIP/2.0/TLS proxy.example.com;branch=z9hG4bKfuzz");
    }
    if ops & 2 != 0 {
        let _ = ed.decrement_max_forwards();
    }
    if ops & 4 != 0 {
        let _ = ed.pop_route();
    }
    if ops & 8 != 0 {
        let _ = ed.add_record_route(b"<sip:proxy.example.com;lr>");
    }
    if ops & 16 != 0 {
        let _ = ed.set_request_uri(b"sip:edited@example.com");
    }
    if ops & 32 != 0 {
        let _ = ed.remove_top_via();
    }
    if ops & 64 != 0 {
        let _ = ed.add_header("X-Fuzz", b"1");
    }
    let expected_len = ed.len();
    let out = ed.finish();
    assert_eq!(out.len(), expected_len, "Editor::len disagrees with finish");
    let edited = match Message::parse_datagram(out, &limits) {
        Ok(m) => m,
        // An edit may push a message that sat at a limit over it (a 33rd Via, a 129th
        // field, 64 KiB); the editor does not check limits, the next parse does.
        Err(
            ParseError::TooManyVias
            | ParseError::TooManyHeaders
            | ParseError::MessageTooLarge
            | ParseError::LineTooLong,
        ) => return,
        Err(e) => panic!("an edited message must re-parse: {e}"),
    };
    sipwarden_fuzz::check_message(&edited);
    // Call-ID is never edited: its bytes are unchanged.
    assert_eq!(
        edited.header(HeaderName::CallId),
        msg.header(HeaderName::CallId)
    );
    assert_eq!(edited.body(), msg.body());
});
