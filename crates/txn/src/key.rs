//! Matching keys (RFC 3261 §17.1.3, §17.2.3, §9.2).
//!
//! A key is one byte string that encodes every field a rule compares, each prefixed
//! with its length (so no two field lists encode alike), so the table needs one hash
//! lookup per message and no allocation to look up: keys are built in an inline buffer.

use sipwarden_wire::build::BRANCH_MAGIC_COOKIE;
use sipwarden_wire::{Message, ParseError};
use smallvec::SmallVec;

/// A stored key.
pub(crate) type Key = Box<[u8]>;

/// A key being built or looked up.
#[derive(Debug, Default)]
pub(crate) struct KeyBuf(SmallVec<[u8; 160]>);

impl KeyBuf {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn into_key(self) -> Key {
        self.0.into_vec().into_boxed_slice()
    }

    fn len_prefix(&mut self, len: usize) {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        self.len_prefix(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    /// A fixed-width port: a presence byte and two bytes (absent differs from 5060).
    fn port(&mut self, port: Option<u16>) {
        let [hi, lo] = port.unwrap_or(0).to_be_bytes();
        self.0
            .extend_from_slice(&[u8::from(port.is_some()), hi, lo]);
    }

    fn field_lowercase(&mut self, bytes: &[u8]) {
        self.len_prefix(bytes.len());
        self.0.extend(bytes.iter().map(u8::to_ascii_lowercase));
    }
}

/// A key and which rule produced it.
#[derive(Debug)]
pub(crate) struct Matched {
    pub(crate) key: KeyBuf,
    /// The branch carries the magic cookie (RFC 3261 rules); otherwise the RFC 2543
    /// fallback was used.
    pub(crate) rfc3261: bool,
}

/// True when a branch value starts with the RFC 3261 magic cookie `z9hG4bK`
/// (case-sensitive, §8.1.1.7) and has something after it. A bare cookie cannot be
/// unique, so it is matched the RFC 2543 way.
pub fn has_magic_cookie(branch: &[u8]) -> bool {
    let cookie = BRANCH_MAGIC_COOKIE.as_bytes();
    branch.starts_with(cookie) && branch.len() > cookie.len()
}

/// The client-transaction key of a request we send or of a response we receive
/// (§17.1.3): the top Via branch and the CSeq method.
pub(crate) fn client_key(msg: &Message) -> Result<Matched, ParseError> {
    let via = msg.top_via()?;
    let cseq = msg.cseq()?;
    let branch = via.branch.unwrap_or_default().as_bytes();
    let mut key = KeyBuf::default();
    // Parameter values compare case-insensitively unless a rule says otherwise (§7.3.1).
    key.field_lowercase(branch);
    key.field(cseq.method_raw.as_bytes());
    Ok(Matched {
        key,
        rfc3261: has_magic_cookie(branch),
    })
}

/// The server-transaction key of a received request (§17.2.3). ACK maps to the INVITE it
/// acknowledges.
pub(crate) fn server_key(request: &Message) -> Result<Matched, ParseError> {
    let method = request.method_bytes();
    let class: &[u8] = if method == b"ACK" { b"INVITE" } else { method };
    server_key_as(request, class)
}

/// The key of the INVITE server transaction a CANCEL targets (§9.2): the CANCEL's own
/// key with the method replaced.
pub(crate) fn invite_key_for_cancel(cancel: &Message) -> Result<Matched, ParseError> {
    server_key_as(cancel, b"INVITE")
}

fn server_key_as(request: &Message, method: &[u8]) -> Result<Matched, ParseError> {
    let via = request.top_via()?;
    let mut key = KeyBuf::default();
    match via.branch.map(str::as_bytes) {
        Some(branch) if has_magic_cookie(branch) => {
            key.field(b"3");
            key.field_lowercase(branch);
            key.field_lowercase(via.host_raw.as_bytes());
            key.port(via.port);
            key.field(method);
            Ok(Matched { key, rfc3261: true })
        }
        _ => {
            // RFC 2543: Request-URI, To tag, From tag, Call-ID, CSeq and the top Via.
            // The INVITE's To has no tag yet while its ACK carries the tag of our
            // response, so INVITE-class keys leave the To tag out; the table compares it
            // against the response it sent.
            let cseq = request.cseq()?;
            key.field(b"2");
            key.field(request.request_uri_bytes());
            if method != b"INVITE" {
                key.field(request.to()?.tag.unwrap_or_default().as_bytes());
            }
            key.field(request.from()?.tag.unwrap_or_default().as_bytes());
            key.field(request.call_id()?.as_bytes());
            key.field(&cseq.seq.to_be_bytes());
            key.field(method);
            key.field(via.raw.as_bytes());
            Ok(Matched {
                key,
                rfc3261: false,
            })
        }
    }
}

/// The To tag of a message, owned.
pub(crate) fn to_tag(msg: &Message) -> Option<Box<[u8]>> {
    let tag = msg.to().ok()?.tag?;
    Some(Box::from(tag.as_bytes()))
}

/// The To tag of a response we are about to send (only needed for RFC 2543 peers).
pub(crate) fn to_tag_of_bytes(response: &bytes::Bytes) -> Option<Box<[u8]>> {
    to_tag(&Message::parse(response.clone()).ok()?)
}
