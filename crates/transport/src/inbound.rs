//! Pure decisions of the inbound pipeline: what to answer a message that failed to
//! parse, and how to find the head of an oversized datagram.

use bytes::Bytes;
use sipwarden_wire::{HeaderName, Limits, Message, Method, ParseError};

use crate::reply::{self, TagMaker};

/// The error response for a request refused with `err`, built from `raw` (the bytes
/// received, or the complete head the stream framer kept).
///
/// `None` — drop silently — when the bytes are not a request whose Via, From, To,
/// Call-ID and CSeq can be located, or when the request is an ACK (ACKs are never
/// answered), or when it is a response.
pub fn error_reply(
    raw: Bytes,
    err: &ParseError,
    limits: &Limits,
    tags: &TagMaker,
    server: Option<&str>,
) -> Option<Bytes> {
    let Some(index) = Message::index_for_error_reply(raw.clone(), limits) else {
        // The head itself is broken (start line, a header line): answer from the
        // lines that can still be read.
        return lenient_reply(&raw, err, limits, tags, server);
    };
    if !index.is_request() || index.method() == Some(Method::Ack) {
        return None;
    }
    if index.count(sipwarden_wire::HeaderName::Via) == 0 {
        // Nowhere to route a response to: nothing a client could match.
        return None;
    }
    let (code, phrase) = err.status();
    let tag = tags.tag_for(&index);
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let Some(server) = server {
        extra.push(("Server", server));
    }
    Some(reply::response(&index, code, phrase, Some(&tag), &extra))
}

/// Headers copied into an error reply (RFC 3261 §8.2.6.2).
const COPIED: [HeaderName; 5] = [
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
];

/// The error reply for a request whose head the index refuses (a bad start line or a
/// bad header line): the request line must still begin with a method token and a
/// space, and only well-formed `Name: value` lines of the five copied headers are
/// used, each free of control characters. Folded lines are not joined.
fn lenient_reply(
    raw: &[u8],
    err: &ParseError,
    limits: &Limits,
    tags: &TagMaker,
    server: Option<&str>,
) -> Option<Bytes> {
    let head_len = raw
        .windows(4)
        .take(limits.max_head_size)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len().min(limits.max_head_size));
    let head = raw.get(..head_len)?;
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next()?;
    let method = request_line.split(|&b| b == b' ').next()?;
    if method.is_empty()
        || method.len() == request_line.len()
        || !method.iter().all(|&b| is_token_byte(b))
        || method.eq_ignore_ascii_case(b"SIP/2.0")
        || Method::from_bytes(method) == Method::Ack
    {
        return None;
    }
    let mut fields: Vec<(HeaderName, &[u8])> = Vec::new();
    for line in lines.take(limits.max_headers) {
        if line.len() > limits.max_line_len
            || line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = HeaderName::from_bytes(line.get(..colon).unwrap_or_default().trim_ascii());
        if COPIED.contains(&name) {
            fields.push((name, line.get(colon + 1..).unwrap_or_default().trim_ascii()));
        }
    }
    if !fields.iter().any(|(n, _)| *n == HeaderName::Via) {
        return None;
    }
    let (code, phrase) = err.status();
    let mut key = Vec::new();
    for (_, value) in &fields {
        key.extend_from_slice(value);
    }
    let tag = tags.tag_for_bytes(&key);
    let mut out = format!("SIP/2.0 {code} {phrase}\r\n").into_bytes();
    for name in COPIED {
        for (_, value) in fields.iter().filter(|(n, _)| *n == name) {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            if name == HeaderName::To && !reply::has_tag(value) {
                out.extend_from_slice(b";tag=");
                out.extend_from_slice(tag.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(server) = server {
        out.extend_from_slice(format!("Server: {server}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(Bytes::from(out))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// The head (start line to blank line included) at the front of `buf`, when it ends
/// within `max_head` bytes: enough to answer an oversized datagram with 513.
pub fn head_of(buf: &Bytes, max_head: usize) -> Option<Bytes> {
    let window = buf.get(..buf.len().min(max_head))?;
    let end = memfind(window, b"\r\n\r\n")? + 4;
    Some(buf.slice(..end))
}

fn memfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The status code of a response given as bytes (`SIP/2.0 NNN ...`).
pub fn status_of(response: &[u8]) -> Option<u16> {
    let rest = response.get(..8)?;
    if !rest.eq_ignore_ascii_case(b"SIP/2.0 ") {
        return None;
    }
    let digits = response.get(8..11)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    (100..=699).contains(&code).then_some(code)
}
