//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, §20.1; RFC 7616):
//! Authorization / Proxy-Authorization credentials, WWW-Authenticate /
//! Proxy-Authenticate challenges and Authentication-Info.
//!
//! These headers are never comma-combined across fields (RFC 3261 §7.3.1): one field
//! holds one scheme and its comma-separated parameters. What each Digest parameter must
//! look like (quoted or not) is left to the Digest implementation; this layer records
//! which form was used.

use smallvec::SmallVec;

use super::single;
use crate::error::ParseError;
use crate::lex::{Cursor, LexError, ParamValue};
use crate::name::HeaderName;

/// Most parameters one authentication header may carry.
pub const MAX_AUTH_PARAMS: usize = 32;

/// A validated, comma-separated list of `name=value` authentication parameters, each
/// name at most once (case-insensitive). Values are tokens or quoted strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthParams<'a> {
    raw: &'a str,
}

impl<'a> AuthParams<'a> {
    /// The parameters as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Every `(name, value)` in order.
    pub fn iter(&self) -> AuthParamsIter<'a> {
        AuthParamsIter {
            cur: Cursor::new(self.raw),
            first: true,
        }
    }

    /// The value of the parameter with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<ParamValue<'a>> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for AuthParams<'a> {
    type Item = (&'a str, ParamValue<'a>);
    type IntoIter = AuthParamsIter<'a>;
    fn into_iter(self) -> AuthParamsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`AuthParams`].
#[derive(Debug, Clone)]
pub struct AuthParamsIter<'a> {
    cur: Cursor<'a>,
    first: bool,
}

impl<'a> Iterator for AuthParamsIter<'a> {
    type Item = (&'a str, ParamValue<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.cur.is_end() || (!self.first && !self.cur.eat_sep(b',')) {
            return None;
        }
        self.first = false;
        // Validated on construction; an error here would just end the iteration.
        lex_auth_param(&mut self.cur).ok()
    }
}

fn lex_auth_param<'a>(cur: &mut Cursor<'a>) -> Result<(&'a str, ParamValue<'a>), LexError> {
    let name = cur
        .token()
        .ok_or(LexError("expected authentication parameter"))?;
    if !cur.eat_sep(b'=') {
        return Err(LexError("authentication parameter without '='"));
    }
    let value = if cur.peek() == Some(b'"') {
        ParamValue::Quoted(cur.quoted_string()?)
    } else {
        ParamValue::Token(
            cur.token()
                .ok_or(LexError("malformed authentication parameter value"))?,
        )
    };
    Ok((name, value))
}

fn lex_auth_params<'a>(cur: &mut Cursor<'a>) -> Result<AuthParams<'a>, LexError> {
    let start = cur.pos();
    let mut names: SmallVec<[&str; 16]> = SmallVec::new();
    loop {
        let (name, _) = lex_auth_param(cur)?;
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(LexError("duplicate authentication parameter"));
        }
        if names.len() >= MAX_AUTH_PARAMS {
            return Err(LexError("too many authentication parameters"));
        }
        names.push(name);
        if !cur.eat_sep(b',') {
            break;
        }
    }
    Ok(AuthParams {
        raw: cur.slice(start, cur.pos()),
    })
}

/// `scheme LWS param=value *(COMMA param=value)`.
fn lex_scheme_and_params<'a>(cur: &mut Cursor<'a>) -> Result<(&'a str, AuthParams<'a>), LexError> {
    let scheme = cur.token().ok_or(LexError("missing scheme"))?;
    if !cur.skip_lws() || cur.is_end() {
        return Err(LexError("missing authentication parameters"));
    }
    Ok((scheme, lex_auth_params(cur)?))
}

fn header_str(header: HeaderName, fallback: &'static str) -> &'static str {
    match header.as_str() {
        "" => fallback,
        s => s,
    }
}

/// Credentials from Authorization or Proxy-Authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials<'a> {
    /// The scheme as written (`Digest`).
    pub scheme: &'a str,
    /// The parameters.
    pub params: AuthParams<'a>,
}

impl<'a> Credentials<'a> {
    /// Decodes one Authorization / Proxy-Authorization value; `header` names which.
    pub fn parse(header: HeaderName, value: &'a [u8]) -> Result<Credentials<'a>, ParseError> {
        single(header_str(header, "Authorization"), value, |cur| {
            let (scheme, params) = lex_scheme_and_params(cur)?;
            Ok(Credentials { scheme, params })
        })
    }

    /// True for the Digest scheme.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The value of a parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<ParamValue<'a>> {
        self.params.get(name)
    }
}

/// A challenge from WWW-Authenticate or Proxy-Authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge<'a> {
    /// The scheme as written (`Digest`).
    pub scheme: &'a str,
    /// The parameters.
    pub params: AuthParams<'a>,
}

impl<'a> Challenge<'a> {
    /// Decodes one WWW-Authenticate / Proxy-Authenticate value; `header` names which.
    pub fn parse(header: HeaderName, value: &'a [u8]) -> Result<Challenge<'a>, ParseError> {
        single(header_str(header, "WWW-Authenticate"), value, |cur| {
            let (scheme, params) = lex_scheme_and_params(cur)?;
            Ok(Challenge { scheme, params })
        })
    }

    /// True for the Digest scheme.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The value of a parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<ParamValue<'a>> {
        self.params.get(name)
    }
}

/// Authentication-Info / Proxy-Authentication-Info: parameters only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthInfo<'a> {
    /// The parameters (`nextnonce`, `qop`, `rspauth`, `cnonce`, `nc`).
    pub params: AuthParams<'a>,
}

impl<'a> AuthInfo<'a> {
    /// Decodes an Authentication-Info value.
    pub fn parse(value: &'a [u8]) -> Result<AuthInfo<'a>, ParseError> {
        single("Authentication-Info", value, |cur| {
            Ok(AuthInfo {
                params: lex_auth_params(cur)?,
            })
        })
    }

    /// The value of a parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<ParamValue<'a>> {
        self.params.get(name)
    }
}
