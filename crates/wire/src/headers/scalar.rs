//! Single-valued headers: Call-ID, CSeq, Max-Forwards, Expires / Min-Expires,
//! Content-Length.

use super::single;
use crate::error::ParseError;
use crate::lex::{class, Cursor, LexError};
use crate::limits::{MAX_CSEQ, MAX_EXPIRES, MAX_MAX_FORWARDS};
use crate::name::{HeaderName, Method};

/// Decodes Call-ID: `word [ "@" word ]` (RFC 3261 §20.8). Case-sensitive; returned as
/// written.
pub fn parse_call_id(value: &[u8]) -> Result<&str, ParseError> {
    // Fast path for the usual `word@word` with nothing around it: one table scan.
    if let Some(id) = plain_call_id(value) {
        return Ok(id);
    }
    single("Call-ID", value, |cur| {
        let start = cur.pos();
        if cur.take_class(class::WORD).is_empty() {
            return Err(LexError("empty Call-ID"));
        }
        if cur.eat(b'@') && cur.take_class(class::WORD).is_empty() {
            return Err(LexError("empty host part in Call-ID"));
        }
        Ok(cur.slice(start, cur.pos()))
    })
}

/// `word [ "@" word ]` with no whitespace: the Call-ID as (nearly) every client writes it.
fn plain_call_id(value: &[u8]) -> Option<&str> {
    // One pass: word characters, at most one `@` with a word on each side.
    let mut at = None;
    for (i, &b) in value.iter().enumerate() {
        if b == b'@' {
            if at.is_some() || i == 0 {
                return None;
            }
            at = Some(i);
        } else if !crate::lex::is(b, class::WORD) {
            return None;
        }
    }
    if value.is_empty() || at.is_some_and(|i| i + 1 == value.len()) {
        return None;
    }
    // Word characters are ASCII, so this cannot fail.
    std::str::from_utf8(value).ok()
}

/// `1*DIGIT SP token` with single spaces and a known method: CSeq as clients write it,
/// decoded without building text (the method's own name is the `&'static str`).
fn plain_cseq(value: &[u8]) -> Option<CSeq<'static>> {
    let sp = value.iter().position(|&b| b == b' ')?;
    let digits = value.get(..sp)?;
    let method_bytes = value.get(sp + 1..)?;
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let seq = digits
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    let seq = u32::try_from(seq).ok().filter(|&n| n <= MAX_CSEQ)?;
    let method = Method::from_bytes(method_bytes);
    if method == Method::Extension {
        return None;
    }
    Some(CSeq {
        seq,
        method,
        method_raw: method.as_str(),
    })
}

/// CSeq: sequence number and method (RFC 3261 §20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CSeq<'a> {
    /// The sequence number, below 2^31.
    pub seq: u32,
    /// The method, recognised.
    pub method: Method,
    /// The method token as written.
    pub method_raw: &'a str,
}

impl<'a> CSeq<'a> {
    /// Decodes `1*DIGIT LWS Method`. A number of 2^31 or more is
    /// [`ParseError::NumberOutOfRange`].
    pub fn parse(value: &'a [u8]) -> Result<CSeq<'a>, ParseError> {
        if let Some(cseq) = plain_cseq(value) {
            return Ok(cseq);
        }
        let mut out_of_range = false;
        let r = single("CSeq", value, |cur| {
            let digits = cur.take_while(|b| b.is_ascii_digit());
            let seq = match crate::lex::decimal(digits) {
                Ok(n) if n <= u64::from(MAX_CSEQ) => n as u32,
                Ok(_) | Err(true) => {
                    out_of_range = true;
                    return Err(LexError("sequence number out of range"));
                }
                Err(false) => return Err(LexError("missing sequence number")),
            };
            if !cur.skip_lws() {
                return Err(LexError("missing method"));
            }
            let method_raw = cur.token().ok_or(LexError("missing method"))?;
            Ok(CSeq {
                seq,
                method: Method::from_bytes(method_raw.as_bytes()),
                method_raw,
            })
        });
        if out_of_range {
            return Err(ParseError::NumberOutOfRange("CSeq"));
        }
        r
    }
}

/// Decodes a whole value as `1*DIGIT` no larger than `max`.
fn bounded_number(header: &'static str, value: &[u8], max: u64) -> Result<u64, ParseError> {
    let mut out_of_range = false;
    let r = single(header, value, |cur: &mut Cursor<'_>| {
        let digits = cur.take_while(|b| b.is_ascii_digit());
        match crate::lex::decimal(digits) {
            Ok(n) if n <= max => Ok(n),
            Ok(_) | Err(true) => {
                out_of_range = true;
                Err(LexError("number out of range"))
            }
            Err(false) => Err(LexError("not a number")),
        }
    });
    if out_of_range {
        return Err(ParseError::NumberOutOfRange(header));
    }
    r
}

/// Decodes Max-Forwards (0..=255).
pub fn parse_max_forwards(value: &[u8]) -> Result<u32, ParseError> {
    bounded_number("Max-Forwards", value, u64::from(MAX_MAX_FORWARDS)).map(|n| n as u32)
}

/// Decodes Expires or Min-Expires (`header` names which): delta-seconds up to 2^32-1.
pub fn parse_expires(header: HeaderName, value: &[u8]) -> Result<u32, ParseError> {
    bounded_number(header.as_str(), value, MAX_EXPIRES).map(|n| n as u32)
}

/// Decodes Content-Length (up to 2^32-1; the message size limits apply separately).
pub fn parse_content_length(value: &[u8]) -> Result<u32, ParseError> {
    bounded_number("Content-Length", value, u64::from(u32::MAX)).map(|n| n as u32)
}
