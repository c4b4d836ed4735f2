//! Identity (RFC 8224 §4.1): the signed identity digest (a compact PASSporT, RFC 8225)
//! with its `info`, `alg` and `ppt` parameters.

use super::single;
use crate::error::ParseError;
use crate::lex::{class, gen_value, is_token, Cursor, LexError, ParamValue};
use crate::uri::Uri;

/// One Identity header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity<'a> {
    /// The value exactly as written.
    pub raw: &'a str,
    /// The signed identity digest: `header.payload.signature` in base64url.
    pub digest: &'a str,
    /// The `info` URI (between its angle brackets), where the certificate is.
    pub info: &'a str,
    /// The `alg` parameter.
    pub alg: Option<&'a str>,
    /// The `ppt` parameter (PASSporT extension type, e.g. `shaken`), unquoted.
    pub ppt: Option<&'a str>,
    /// Every parameter as written, from the first `;`.
    pub params: &'a str,
}

impl<'a> Identity<'a> {
    /// Decodes an Identity value. The `info` parameter is required by RFC 8224's grammar.
    pub fn parse(value: &'a [u8]) -> Result<Identity<'a>, ParseError> {
        single("Identity", value, lex_identity)
    }
}

fn lex_identity<'a>(cur: &mut Cursor<'a>) -> Result<Identity<'a>, LexError> {
    const DUP: LexError = LexError("duplicate Identity parameter");
    let start = cur.pos();
    let digest = cur.take_class(class::B64);
    if digest.is_empty() {
        return Err(LexError("missing signed identity digest"));
    }
    let params_start = cur.pos();
    let mut params_end = params_start;
    let mut info = None;
    let mut alg = None;
    let mut ppt = None;
    while cur.eat_sep(b';') {
        let name = cur.token().ok_or(LexError("empty parameter name"))?;
        let has_value = cur.eat_sep(b'=');
        if name.eq_ignore_ascii_case("info") {
            if !has_value || !cur.eat(b'<') {
                return Err(LexError("info needs a <URI> value"));
            }
            let rest = cur.rest();
            let close = memchr::memchr(b'>', rest.as_bytes()).ok_or(LexError("unbalanced '<'"))?;
            let uri = rest.get(..close).unwrap_or("");
            Uri::lex(uri)?;
            cur.set_pos(cur.pos() + close + 1);
            if info.replace(uri).is_some() {
                return Err(DUP);
            }
        } else if has_value {
            let v = gen_value(cur)?;
            let text = match v {
                ParamValue::Token(t) if is_token(t) => t,
                ParamValue::Quoted(q) if is_token(q.raw()) => q.raw(),
                _ if name.eq_ignore_ascii_case("alg") || name.eq_ignore_ascii_case("ppt") => {
                    return Err(LexError("malformed Identity parameter"))
                }
                _ => "",
            };
            let slot = if name.eq_ignore_ascii_case("alg") {
                Some(&mut alg)
            } else if name.eq_ignore_ascii_case("ppt") {
                Some(&mut ppt)
            } else {
                None
            };
            if let Some(slot) = slot {
                if slot.replace(text).is_some() {
                    return Err(DUP);
                }
            }
        } else if name.eq_ignore_ascii_case("alg") || name.eq_ignore_ascii_case("ppt") {
            return Err(LexError("Identity parameter needs a value"));
        }
        params_end = cur.pos();
    }
    cur.set_pos(params_end.max(params_start));
    let info = info.ok_or(LexError("missing info parameter"))?;
    Ok(Identity {
        raw: cur.slice(start, cur.pos()),
        digest,
        info,
        alg,
        ppt,
        params: cur.slice(params_start, params_end),
    })
}
