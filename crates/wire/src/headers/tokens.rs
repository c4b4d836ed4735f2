//! Comma-separated token lists: option tags (Require, Proxy-Require, Supported,
//! Unsupported; RFC 3261 §19.2) and methods (Allow).

use super::HeaderList;
use crate::lex::{Cursor, LexError};
use crate::name::HeaderName;

/// Decodes a comma-separated list of tokens. Require and Proxy-Require need at least
/// one; Supported, Unsupported and Allow may be empty. Compare option tags
/// case-insensitively (RFC 3261 §7.3.1); methods are case-sensitive.
pub fn token_list(header: HeaderName, value: &[u8]) -> HeaderList<'_, &str> {
    let allow_empty = !matches!(header, HeaderName::Require | HeaderName::ProxyRequire);
    HeaderList::new(header.as_str(), value, allow_empty, lex_token)
}

fn lex_token<'a>(cur: &mut Cursor<'a>) -> Result<&'a str, LexError> {
    cur.token().ok_or(LexError("expected a token"))
}
