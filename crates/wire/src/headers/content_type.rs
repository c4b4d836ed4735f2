//! Content-Type (RFC 3261 §20.15): `type/subtype *(;param)`.

use super::single;
use crate::error::ParseError;
use crate::lex::{is_token, lex_params, LexError, ParamValue, Params};

/// A media type with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaType<'a> {
    /// The type (`application`), as written.
    pub ty: &'a str,
    /// The subtype (`sdp`), as written.
    pub subtype: &'a str,
    /// The parameters (`charset`, `boundary`, ...).
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// Decodes a Content-Type value.
    pub fn parse(value: &'a [u8]) -> Result<MediaType<'a>, ParseError> {
        single("Content-Type", value, |cur| {
            let ty = cur.token().ok_or(LexError("missing media type"))?;
            if !cur.eat_sep(b'/') {
                return Err(LexError("missing '/' in media type"));
            }
            let subtype = cur.token().ok_or(LexError("missing media subtype"))?;
            let params = lex_params(cur, |p| match p.value {
                Some(ParamValue::Quoted(_)) => Ok(()),
                Some(ParamValue::Token(t)) if is_token(t) => Ok(()),
                Some(ParamValue::Token(_)) => Err(LexError("malformed media type parameter")),
                None => Err(LexError("media type parameter without value")),
            })?;
            Ok(MediaType {
                ty,
                subtype,
                params,
            })
        })
    }

    /// True when this is `ty/subtype` (case-insensitive).
    pub fn is(&self, ty: &str, subtype: &str) -> bool {
        self.ty.eq_ignore_ascii_case(ty) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The value of a parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<ParamValue<'a>> {
        self.params.get(name).and_then(|p| p.value)
    }
}
