//! Return-routability tokens: the stateless challenge for callers that cannot
//! authenticate.
//!
//! The first INVITE from such a caller is answered at once with a 3xx whose Contact URI
//! carries a token; only a caller that receives the redirect (so does not spoof its source
//! address) can come back with it. The server keeps no state: the token is a MAC over the
//! request's selected header values, the source address and the time.
//!
//! Layout (34 characters of unpadded base64url over 25 bytes, safe in a URI parameter):
//!
//! ```text
//! token = base64url( version || ts || tag )
//!   version = 1
//!   ts      = 8 bytes, mint time in Unix seconds, big-endian
//!   tag     = first 16 bytes of HMAC-SHA256(key, "sipwarden rr v1" 0x00 || version || ts
//!             || for each of From URI, To URI, Call-ID: length (4 bytes BE) || value
//!             || family || address)
//!   family/address = 4 and the 4 octets of an IPv4 address, or 6 and the 16 octets of an
//!             IPv6 address; an IPv4-mapped IPv6 address counts as the IPv4 address
//! ```
//!
//! Only the IP address is bound, not the port, so a caller that opens a new connection for
//! the redirected request still matches.

use core::fmt;
use std::net::IpAddr;
use std::time::Duration;

use aws_lc_rs::{constant_time, hmac};
use thiserror::Error;

use crate::error::KeyError;
use crate::time::UnixTime;

/// Minimum token secret length in bytes.
pub const MIN_TOKEN_KEY_LEN: usize = 32;

/// The URI parameter that carries a token in the redirect Contact and the returning
/// Request-URI.
pub const TOKEN_PARAM: &str = "sw-rr";

/// How far in the future a token's time may lie (clock skew between cluster members).
pub const MAX_TOKEN_SKEW: Duration = Duration::from_secs(10);

const DOMAIN: &[u8] = b"sipwarden rr v1\0";
const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const RAW_LEN: usize = 1 + 8 + TAG_LEN;
/// Encoded length of a token.
pub const TOKEN_LEN: usize = (RAW_LEN * 8).div_ceil(6);

/// The token MAC key: the current secret mints and verifies, the previous one (after a
/// rotation) only verifies. Every instance sharing the secrets accepts every other's
/// tokens.
#[derive(Clone)]
pub struct TokenKey {
    current: hmac::Key,
    previous: Option<hmac::Key>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from a secret of at least [`MIN_TOKEN_KEY_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        Ok(Self {
            current: make_key(secret)?,
            previous: None,
        })
    }

    /// Also accepts tokens minted under `previous`.
    pub fn with_previous(mut self, previous: &[u8]) -> Result<Self, KeyError> {
        self.previous = Some(make_key(previous)?);
        Ok(self)
    }
}

fn make_key(secret: &[u8]) -> Result<hmac::Key, KeyError> {
    if secret.len() < MIN_TOKEN_KEY_LEN {
        return Err(KeyError::SecretTooShort {
            min: MIN_TOKEN_KEY_LEN,
        });
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
}

/// The header values a token is bound to, as the caller extracted them. Pass the same
/// canonical form when minting and verifying (the addr-spec of From and To without header
/// parameters, so the From tag does not matter; Call-ID as is). RFC 3261 §8.1.3.4 has a
/// redirected request keep To, From and Call-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenFields<'a> {
    /// From URI.
    pub from_uri: &'a [u8],
    /// To URI.
    pub to_uri: &'a [u8],
    /// Call-ID.
    pub call_id: &'a [u8],
}

/// A minted token, ready to be put in a URI parameter ([`TOKEN_PARAM`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RrToken(String);

impl RrToken {
    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RrToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum TokenError {
    /// Wrong length, alphabet or version.
    #[error("token is malformed")]
    Malformed,
    /// The MAC does not verify: forged, tampered, or minted for other header values or
    /// another source address.
    #[error("token MAC does not verify for these headers and source")]
    BadMac,
    /// Authentic but older than the allowed age.
    #[error("token expired")]
    Expired,
    /// Minted further in the future than [`MAX_TOKEN_SKEW`].
    #[error("token minted in the future")]
    FromFuture,
    /// Authentic and fresh, but it already admitted another transaction (a captured
    /// redirected request sent again). Reported by
    /// [`Guard::return_routability`](crate::Guard::return_routability), never by
    /// [`verify`], which keeps no state.
    #[error("token already used for another request")]
    Replayed,
}

impl TokenError {
    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadMac => "bad_mac",
            Self::Expired => "expired",
            Self::FromFuture => "from_future",
            Self::Replayed => "replayed",
        }
    }
}

/// Mints a token for a request with `fields` from `source` at `now`.
pub fn mint(key: &TokenKey, fields: &TokenFields<'_>, source: IpAddr, now: UnixTime) -> RrToken {
    let ts = now.unix_secs().to_be_bytes();
    let tag = mac(&key.current, &ts, fields, source);
    let mut raw = [0u8; RAW_LEN];
    let (v, rest) = raw.split_at_mut(1);
    let (t, g) = rest.split_at_mut(8);
    v.copy_from_slice(&[VERSION]);
    t.copy_from_slice(&ts);
    g.copy_from_slice(tag.as_ref().get(..TAG_LEN).unwrap_or(&[0; TAG_LEN]));
    RrToken(base64url_encode(&raw))
}

/// Checks a presented token against the request's `fields` and `source` at `now`; returns
/// the time it was minted. The MAC is compared in constant time and checked before the
/// age, so an expired answer means the token was authentic.
pub fn verify(
    key: &TokenKey,
    token: &[u8],
    fields: &TokenFields<'_>,
    source: IpAddr,
    now: UnixTime,
    max_age: Duration,
) -> Result<UnixTime, TokenError> {
    if token.len() != TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut raw = [0u8; RAW_LEN];
    if base64url_decode(token, &mut raw) != Some(RAW_LEN) {
        return Err(TokenError::Malformed);
    }
    let (v, rest) = raw.split_at(1);
    let (ts, tag) = rest.split_at(8);
    if v != [VERSION] {
        return Err(TokenError::Malformed);
    }
    let matches = |k: &hmac::Key| {
        let expected = mac(k, ts, fields, source);
        expected
            .as_ref()
            .get(..TAG_LEN)
            .is_some_and(|e| constant_time::verify_slices_are_equal(e, tag).is_ok())
    };
    let ok = matches(&key.current) || key.previous.as_ref().is_some_and(matches);
    if !ok {
        return Err(TokenError::BadMac);
    }
    let secs = u64::from_be_bytes(ts.try_into().map_err(|_| TokenError::Malformed)?);
    let minted = UnixTime::from_unix_secs(secs);
    if minted > now.plus(MAX_TOKEN_SKEW) {
        return Err(TokenError::FromFuture);
    }
    // Whole seconds on both sides, so a token is good for exactly `max_age`.
    let age = now.unix_secs().saturating_sub(secs);
    if age > max_age.as_secs() {
        return Err(TokenError::Expired);
    }
    Ok(minted)
}

fn mac(key: &hmac::Key, ts: &[u8], fields: &TokenFields<'_>, source: IpAddr) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(DOMAIN);
    ctx.update(&[VERSION]);
    ctx.update(ts);
    for value in [fields.from_uri, fields.to_uri, fields.call_id] {
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        ctx.update(&len.to_be_bytes());
        ctx.update(value);
    }
    match source {
        IpAddr::V4(v4) => {
            ctx.update(&[4]);
            ctx.update(&v4.octets());
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                ctx.update(&[4]);
                ctx.update(&v4.octets());
            }
            None => {
                ctx.update(&[6]);
                ctx.update(&v6.octets());
            }
        },
    }
    ctx.sign()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity((input.len() * 8).div_ceil(6));
    let sym = |v: u32| char::from(ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'A'));
    for chunk in input.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        if chunk.len() > 1 {
            out.push(sym(n >> 6));
        }
        if chunk.len() > 2 {
            out.push(sym(n));
        }
    }
    out
}

fn decode_sym(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes unpadded base64url into `out`; returns the byte count, or `None` on a bad
/// symbol, a bad length, non-zero trailing bits or too small an `out`.
fn base64url_decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut n = 0usize;
    for chunk in input.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= decode_sym(*c)? << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        // Canonical encodings only: the bits below the last full byte must be zero.
        let unused_bits = 24 - 8 * bytes;
        if acc & ((1u32 << unused_bits) - 1) != 0 {
            return None;
        }
        for i in 0..bytes {
            let byte = u8::try_from((acc >> (16 - 8 * i)) & 0xff).ok()?;
            *out.get_mut(n)? = byte;
            n += 1;
        }
    }
    Some(n)
}
