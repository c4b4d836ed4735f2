//! The bearer token that guards the API.

use core::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::TokenError;

/// Shortest token accepted, in characters (16 base64 characters carry 96 bits).
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured admin token. Only its SHA-256 is kept; a presented token is hashed and
/// the two digests compared in constant time, so neither the content nor the length of
/// the real token leaks through timing.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken([redacted])")
    }
}

impl ApiToken {
    /// Accepts `token` if it is at least [`MIN_TOKEN_LEN`] characters of the RFC 6750
    /// `b64token` alphabet.
    pub fn new(token: &str) -> Result<Self, TokenError> {
        if token.len() < MIN_TOKEN_LEN {
            return Err(TokenError::TooShort {
                min: MIN_TOKEN_LEN,
                got: token.len(),
            });
        }
        if !token.bytes().all(is_b64token_byte) {
            return Err(TokenError::BadCharacter);
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether `presented` is the token.
    pub fn verify(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&self.digest).into()
    }
}

fn is_b64token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// What an `Authorization` header holds, as far as bearer authentication goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented<'a> {
    /// No usable `Authorization: Bearer` header.
    Missing,
    /// A bearer token.
    Bearer(&'a [u8]),
}

/// Reads `Bearer <token>` (scheme case-insensitive, RFC 7235) from a header value.
pub(crate) fn bearer(value: &[u8]) -> Presented<'_> {
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        return Presented::Missing;
    };
    let (scheme, rest) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Presented::Missing;
    }
    let token = rest.trim_ascii();
    if token.is_empty() {
        Presented::Missing
    } else {
        Presented::Bearer(token)
    }
}
