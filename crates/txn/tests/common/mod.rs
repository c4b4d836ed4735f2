//! Shared test support: messages and a virtual clock.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwarden_txn::{Action, State, Timer};
use sipwarden_wire::{HeaderName, Message};

/// A virtual clock: an arbitrary origin plus offsets in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub origin: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        // Any instant works: every assertion is relative to it.
        Clock {
            origin: Instant::now(),
        }
    }

    pub fn at(&self, ms: u64) -> Instant {
        self.origin + Duration::from_millis(ms)
    }

    pub fn ms(&self, t: Instant) -> u64 {
        u64::try_from(t.duration_since(self.origin).as_millis()).unwrap()
    }

    pub fn ms_opt(&self, t: Option<Instant>) -> Option<u64> {
        t.map(|t| self.ms(t))
    }
}

pub fn request(method: &str, branch: &str) -> Message {
    request_with(method, branch, "pc33.example.com:5060", 314159, "")
}

/// A request; `branch` empty means no branch parameter at all.
pub fn request_with(method: &str, branch: &str, sent_by: &str, cseq: u32, to_tag: &str) -> Message {
    let branch = if branch.is_empty() {
        String::new()
    } else {
        format!(";branch={branch}")
    };
    let to_tag = if to_tag.is_empty() {
        String::new()
    } else {
        format!(";tag={to_tag}")
    };
    let text = format!(
        "{method} sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP {sent_by}{branch}\r\n\
         Via: SIP/2.0/UDP origin.example.com;branch=z9hG4bKorigin\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:proxy.example.com;lr>\r\n\
         To: Bob <sip:bob@example.com>{to_tag}\r\n\
         From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710@pc33.example.com\r\n\
         CSeq: {cseq} {method}\r\n\
         Timestamp: 54\r\n\
         Contact: <sip:alice@pc33.example.com>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text)).unwrap()
}

/// A response to `req` written the RFC 3261 §8.2.6 way.
pub fn response_bytes(req: &Message, code: u16, to_tag: &str) -> Bytes {
    let mut text = format!("SIP/2.0 {code} Reason\r\n");
    for via in req.header_values(HeaderName::Via) {
        text.push_str(&format!("Via: {}\r\n", std::str::from_utf8(via).unwrap()));
    }
    let hv = |n| {
        std::str::from_utf8(req.header(n).unwrap())
            .unwrap()
            .to_owned()
    };
    let mut to = hv(HeaderName::To);
    if !to_tag.is_empty() && !to.contains(";tag=") {
        to.push_str(&format!(";tag={to_tag}"));
    }
    text.push_str(&format!("From: {}\r\n", hv(HeaderName::From)));
    text.push_str(&format!("To: {to}\r\n"));
    text.push_str(&format!("Call-ID: {}\r\n", hv(HeaderName::CallId)));
    text.push_str(&format!("CSeq: {}\r\n", hv(HeaderName::CSeq)));
    text.push_str("Content-Length: 0\r\n\r\n");
    Bytes::from(text)
}

pub fn response(req: &Message, code: u16, to_tag: &str) -> Message {
    Message::parse(response_bytes(req, code, to_tag)).unwrap()
}

pub fn start_line(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).unwrap();
    text.split("\r\n").next().unwrap().to_owned()
}

/// A compact view of actions for exact assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum A {
    Tx(String),
    Resp(u16),
    Timeout(Timer),
    TransportError,
    Terminated,
}

pub fn view(actions: &mut Vec<Action>) -> Vec<A> {
    actions
        .drain(..)
        .map(|a| match a {
            Action::Transmit(b) => A::Tx(start_line(&b)),
            Action::Response(r) => A::Resp(r.status_code().unwrap()),
            Action::Timeout(t) => A::Timeout(t),
            Action::TransportError => A::TransportError,
            Action::Terminated => A::Terminated,
        })
        .collect()
}

pub fn tx(line: &str) -> A {
    A::Tx(line.to_owned())
}

pub const INVITE_LINE: &str = "INVITE sip:bob@example.com SIP/2.0";
pub const ACK_LINE: &str = "ACK sip:bob@example.com SIP/2.0";
pub const OPTIONS_LINE: &str = "OPTIONS sip:bob@example.com SIP/2.0";

pub fn assert_state(actual: State, expected: State) {
    assert_eq!(actual, expected);
}
