//! Stateless nonces: an HMAC token bound to issue time, realm and source address.
//!
//! Layout (43 characters of unpadded base64url over 32 bytes):
//!
//! ```text
//! nonce = base64url( ts || salt || tag )
//!   ts   = 8 bytes, issue time in Unix seconds, big-endian
//!   salt = 8 bytes supplied by the caller (random or a counter), so that two challenges
//!          in the same second to the same address differ
//!   tag  = first 16 bytes of HMAC-SHA256(key, "sipwarden nonce v1" 0x00 || ts || salt
//!          || realm length (4 bytes, big-endian) || realm || family || address)
//!   family/address = 4 and the 4 octets of an IPv4 address, or 6 and the 16 octets of an
//!          IPv6 address; an IPv4-mapped IPv6 address counts as the IPv4 address
//! ```
//!
//! Only the IP address is bound, not the port: a client that reconnects over TCP or whose
//! NAT mapping moves keeps its nonce. The 128-bit truncated tag also identifies the nonce
//! for nonce-count tracking ([`NonceId`]). Verification accepts the current key and the
//! previous one, so keys can rotate without failing challenges in flight; every instance
//! sharing the keys verifies every other instance's nonces.

use core::fmt;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{constant_time, hmac};
use thiserror::Error;

use crate::encoding::{base64url_decode, base64url_encode};
use crate::error::KeyError;

/// Minimum nonce key length in bytes.
pub const MIN_KEY_LEN: usize = 32;

const DOMAIN: &[u8] = b"sipwarden nonce v1\0";
const TAG_LEN: usize = 16;
const RAW_LEN: usize = 8 + 8 + TAG_LEN;

/// Wall-clock time in whole seconds since the Unix epoch, supplied by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// From Unix seconds.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Converts a time value the caller read; times before the epoch map to 0.
    pub fn from_system_time(time: SystemTime) -> Self {
        Self(time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// Unix seconds.
    pub const fn unix_secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating.
    #[must_use]
    pub const fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }
}

/// Identifies one nonce (its MAC tag): the key of nonce-count state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NonceId(pub [u8; TAG_LEN]);

/// A nonce whose MAC, realm and source address check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceInfo {
    /// Identity for nonce-count tracking.
    pub id: NonceId,
    /// When it was issued.
    pub issued: Timestamp,
    /// Last second it is valid (`issued + lifetime`).
    pub expires: Timestamp,
    /// True once `now > expires`: authentic but stale.
    pub expired: bool,
}

/// Why a nonce is not one of ours (for logs; every case is answered as a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NonceError {
    /// Wrong length or alphabet.
    #[error("nonce is malformed")]
    Malformed,
    /// The MAC does not match under the current or previous key: forged, tampered, or
    /// issued for another realm or source address.
    #[error("nonce MAC does not verify for this realm and source")]
    BadMac,
    /// Issued further in the future than the allowed clock skew.
    #[error("nonce issued in the future")]
    FromFuture,
}

/// The server's nonce keys: the current one signs, the current and the previous verify.
#[derive(Clone)]
pub struct NonceKeys {
    current: hmac::Key,
    previous: Option<hmac::Key>,
}

impl fmt::Debug for NonceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKeys")
            .field("current", &"<redacted>")
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn make_key(bytes: &[u8]) -> Result<hmac::Key, KeyError> {
    if bytes.len() < MIN_KEY_LEN {
        return Err(KeyError::TooShort {
            min: MIN_KEY_LEN,
            got: bytes.len(),
        });
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, bytes))
}

impl NonceKeys {
    /// Keys with only a current key.
    ///
    /// # Errors
    /// [`KeyError::TooShort`] if `current` is shorter than [`MIN_KEY_LEN`].
    pub fn new(current: &[u8]) -> Result<Self, KeyError> {
        Ok(Self {
            current: make_key(current)?,
            previous: None,
        })
    }

    /// Adds the previous key, still accepted for verification.
    ///
    /// # Errors
    /// [`KeyError::TooShort`] if `previous` is shorter than [`MIN_KEY_LEN`].
    pub fn with_previous(mut self, previous: &[u8]) -> Result<Self, KeyError> {
        self.previous = Some(make_key(previous)?);
        Ok(self)
    }

    /// Makes `new_current` the signing key; the old current key becomes the previous one and
    /// the old previous key is dropped.
    ///
    /// # Errors
    /// [`KeyError::TooShort`] if `new_current` is shorter than [`MIN_KEY_LEN`]; nothing
    /// changes then.
    pub fn rotate(&mut self, new_current: &[u8]) -> Result<(), KeyError> {
        let key = make_key(new_current)?;
        self.previous = Some(core::mem::replace(&mut self.current, key));
        Ok(())
    }

    /// Issues a nonce for `realm` and `source` at `now`.
    pub fn issue(&self, realm: &str, source: IpAddr, now: Timestamp, salt: [u8; 8]) -> String {
        let ts = now.unix_secs().to_be_bytes();
        let tag = mac(&self.current, &ts, &salt, realm, source);
        let mut raw = [0u8; RAW_LEN];
        for (out, b) in raw
            .iter_mut()
            .zip(ts.iter().chain(salt.iter()).chain(tag.as_ref().iter()))
        {
            *out = *b;
        }
        let mut out = String::with_capacity(44);
        base64url_encode(&raw, &mut out);
        out
    }

    /// Checks a nonce received back from a client.
    ///
    /// `lifetime_secs` is how long a nonce is fresh; `max_skew_secs` how far in the future its
    /// issue time may lie (clock differences between instances sharing the keys).
    ///
    /// # Errors
    /// [`NonceError`] when the nonce is not an authentic, current-enough nonce for this realm
    /// and source. An authentic but old nonce is not an error: see [`NonceInfo::expired`].
    pub fn check(
        &self,
        nonce: &str,
        realm: &str,
        source: IpAddr,
        now: Timestamp,
        lifetime_secs: u64,
        max_skew_secs: u64,
    ) -> Result<NonceInfo, NonceError> {
        let raw: [u8; RAW_LEN] = base64url_decode(nonce.as_bytes()).ok_or(NonceError::Malformed)?;
        let (ts, rest) = raw.split_first_chunk::<8>().ok_or(NonceError::Malformed)?;
        let (salt, tag) = rest.split_first_chunk::<8>().ok_or(NonceError::Malformed)?;

        let matches = |key: &hmac::Key| {
            let expected = mac(key, ts, salt, realm, source);
            expected
                .as_ref()
                .get(..TAG_LEN)
                .is_some_and(|e| constant_time::verify_slices_are_equal(e, tag).is_ok())
        };
        // Both keys are tried only when the current one fails; which key matched is not
        // secret, so the early exit leaks nothing.
        if !matches(&self.current) && !self.previous.as_ref().is_some_and(matches) {
            return Err(NonceError::BadMac);
        }

        let issued = Timestamp::from_unix_secs(u64::from_be_bytes(*ts));
        if issued > now.plus_secs(max_skew_secs) {
            return Err(NonceError::FromFuture);
        }
        let expires = issued.plus_secs(lifetime_secs);
        let mut id = [0u8; TAG_LEN];
        for (out, b) in id.iter_mut().zip(tag) {
            *out = *b;
        }
        Ok(NonceInfo {
            id: NonceId(id),
            issued,
            expires,
            expired: now > expires,
        })
    }

    /// Derives 32 bytes from the current key for a labelled purpose (for the dummy HA1 used
    /// for unknown users).
    pub(crate) fn derive(&self, label: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.current);
        ctx.update(b"sipwarden derive v1\0");
        ctx.update(label);
        ctx.sign()
    }
}

fn mac(key: &hmac::Key, ts: &[u8], salt: &[u8], realm: &str, source: IpAddr) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(DOMAIN);
    ctx.update(ts);
    ctx.update(salt);
    let realm_len = u32::try_from(realm.len()).unwrap_or(u32::MAX);
    ctx.update(&realm_len.to_be_bytes());
    ctx.update(realm.as_bytes());
    match canonical(source) {
        IpAddr::V4(v4) => {
            ctx.update(&[4]);
            ctx.update(&v4.octets());
        }
        IpAddr::V6(v6) => {
            ctx.update(&[6]);
            ctx.update(&v6.octets());
        }
    }
    ctx.sign()
}

/// Dual-stack sockets report IPv4 peers as `::ffff:a.b.c.d`; bind both spellings alike.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}
