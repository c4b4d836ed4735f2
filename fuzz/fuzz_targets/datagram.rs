//! Any bytes as a UDP datagram: parsing never panics, a parsed message passes every
//! span and decoder check, and its own bytes re-parse to the same index.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sipwarden_wire::framing::{classify_datagram, Datagram};
use sipwarden_wire::{Limits, Message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let buf = Bytes::copy_from_slice(data);
    let _ = Message::index_for_error_reply(buf.clone(), &limits).map(|m| {
        // The lenient index still keeps every span inside the buffer.
        assert!(m.as_bytes().len() <= data.len());
    });
    if let Ok(Datagram::Message(msg)) = classify_datagram(buf, &limits) {
        sipwarden_fuzz::check_message(&msg);
        assert!(
            data.starts_with(msg.as_bytes()),
            "kept bytes are not a prefix of the datagram"
        );
        let again = Message::parse_datagram(msg.buffer().clone(), &limits)
            .expect("a parsed message must parse again from its own bytes");
        assert_eq!(again.headers(), msg.headers());
        assert_eq!(again.body(), msg.body());
    }
});
