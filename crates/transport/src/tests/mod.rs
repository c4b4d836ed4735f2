//! Unit tests of the transport's pure decisions, and of the stream loop in virtual time.

mod basic;
mod client_txn;
mod deadline;
mod flow;
mod inbound;
mod outbound;
mod reply;
mod spec;
mod stream;
mod udp;
mod via;
mod ws;
mod ws_stream;

use bytes::Bytes;
use sipwarden_wire::Message;

/// Parses a test message written with `\n` line ends.
pub(crate) fn msg(text: &str) -> Message {
    Message::parse(Bytes::from(crlf(text))).unwrap()
}

/// `\n` → `\r\n`.
pub(crate) fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

pub(crate) fn options(via: &str) -> Message {
    msg(&format!(
        "OPTIONS sip:example.com SIP/2.0\nVia: {via}\nFrom: <sip:a@example.com>;tag=1\nTo: <sip:example.com>\nCall-ID: c1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"
    ))
}
