//! Digest algorithms, qop values and the response computation (RFC 7616 §3.4.1–§3.4.3).

use core::fmt;

use md5::Md5;
use sha2::digest::Digest;
use sha2::{Sha256, Sha512_256};

use crate::encoding::hex_nibble;

/// A Digest hash algorithm. The `-sess` variants are not supported (never offered, refused
/// in credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617): only for compatibility with old clients.
    Md5,
    /// `SHA-256` (RFC 7616).
    Sha256,
    /// `SHA-512-256` (RFC 7616), the strongest and offered first by default.
    Sha512_256,
}

impl Algorithm {
    /// Every supported algorithm, strongest first.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha512_256, Algorithm::Sha256, Algorithm::Md5];

    /// The token used in the `algorithm=` parameter.
    pub const fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }

    /// Parses an `algorithm=` token (ASCII case-insensitive). `-sess` variants and unknown
    /// tokens give `None`.
    pub fn from_token(token: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.token().eq_ignore_ascii_case(token))
    }

    /// Relative strength used by the client to choose among several challenges (higher is
    /// stronger).
    pub const fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512_256 => 3,
        }
    }

    /// Length in bytes of the hex form of a hash (32 for MD5, 64 otherwise).
    pub const fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 | Algorithm::Sha512_256 => 64,
        }
    }

    /// `H(p1 ":" p2 ":" ... )`: hashes the parts joined by colons, hex-encoded lowercase.
    pub(crate) fn hash_joined(self, parts: &[&[u8]]) -> HexHash {
        match self {
            Algorithm::Md5 => joined::<Md5>(parts),
            Algorithm::Sha256 => joined::<Sha256>(parts),
            Algorithm::Sha512_256 => joined::<Sha512_256>(parts),
        }
    }

    /// `H(data)` hex-encoded lowercase.
    pub(crate) fn hash(self, data: &[u8]) -> HexHash {
        self.hash_joined(&[data])
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// The one generic hashing path over the RustCrypto `Digest` trait.
fn joined<D: Digest>(parts: &[&[u8]]) -> HexHash {
    let mut hasher = D::new();
    let mut first = true;
    for part in parts {
        if !first {
            hasher.update(b":");
        }
        first = false;
        hasher.update(part);
    }
    HexHash::from_digest(&hasher.finalize())
}

/// Quality of protection (`qop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: method and Request-URI are covered.
    Auth,
    /// `auth-int`: the message body is covered too.
    AuthInt,
}

impl Qop {
    /// The token used in `qop=`.
    pub const fn token(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }

    /// Parses a qop token (ASCII case-insensitive).
    pub fn from_token(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("auth") {
            Some(Qop::Auth)
        } else if token.eq_ignore_ascii_case("auth-int") {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// A hash in lowercase hex, held inline (no allocation): 32 or 64 characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexHash {
    buf: [u8; 64],
    len: u8,
}

impl HexHash {
    /// Hex-encodes a digest output of at most 32 bytes (longer input is truncated).
    pub(crate) fn from_digest(bytes: &[u8]) -> Self {
        let mut buf = [0u8; 64];
        let mut len = 0u8;
        for (pair, byte) in buf.chunks_exact_mut(2).zip(bytes) {
            if let [hi, lo] = pair {
                *hi = hex_nibble(byte >> 4);
                *lo = hex_nibble(byte & 0x0f);
                len += 2;
            }
        }
        Self { buf, len }
    }

    /// Builds from hex text, lowercasing it. `None` unless the text is 1..=64 hex digits.
    pub(crate) fn from_hex(text: &[u8]) -> Option<Self> {
        if text.is_empty() || text.len() > 64 {
            return None;
        }
        let mut buf = [0u8; 64];
        for (out, c) in buf.iter_mut().zip(text) {
            if !c.is_ascii_hexdigit() {
                return None;
            }
            *out = c.to_ascii_lowercase();
        }
        let len = u8::try_from(text.len()).ok()?;
        Some(Self { buf, len })
    }

    /// The hex digits as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The hex digits as text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Debug for HexHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexHash({})", self.as_str())
    }
}

impl fmt::Display for HexHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the `response` (or `rspauth`) value depends on.
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// HA1 in hex, for the same algorithm.
    pub ha1: &'a str,
    /// Server nonce, as sent.
    pub nonce: &'a str,
    /// Nonce count, as sent (8 hex digits); ignored without qop.
    pub nc: &'a str,
    /// Client nonce; ignored without qop.
    pub cnonce: &'a str,
    /// Quality of protection; `None` is the RFC 2069 form.
    pub qop: Option<Qop>,
    /// Request method; empty for `rspauth`.
    pub method: &'a str,
    /// The `uri` parameter.
    pub uri: &'a str,
    /// Message body, hashed only for `auth-int`.
    pub body: &'a [u8],
}

/// Computes a Digest `response` (RFC 7616 §3.4.1): `KD(HA1, nonce:nc:cnonce:qop:HA2)`, or
/// `KD(HA1, nonce:HA2)` without qop, where `HA2 = H(method:uri)` or, for `auth-int`,
/// `H(method:uri:H(body))`.
pub fn compute_response(input: &ResponseInput<'_>) -> HexHash {
    let alg = input.algorithm;
    let ha2 = match input.qop {
        Some(Qop::AuthInt) => {
            let body_hash = alg.hash(input.body);
            alg.hash_joined(&[
                input.method.as_bytes(),
                input.uri.as_bytes(),
                body_hash.as_bytes(),
            ])
        }
        Some(Qop::Auth) | None => alg.hash_joined(&[input.method.as_bytes(), input.uri.as_bytes()]),
    };
    match input.qop {
        Some(qop) => alg.hash_joined(&[
            input.ha1.as_bytes(),
            input.nonce.as_bytes(),
            input.nc.as_bytes(),
            input.cnonce.as_bytes(),
            qop.token().as_bytes(),
            ha2.as_bytes(),
        ]),
        None => alg.hash_joined(&[input.ha1.as_bytes(), input.nonce.as_bytes(), ha2.as_bytes()]),
    }
}

/// The RFC 7616 §3.4.4 `userhash`: `H(username:realm)`, what a store indexes users by when
/// clients hide the username.
pub fn userhash(algorithm: Algorithm, username: &str, realm: &str) -> HexHash {
    algorithm.hash_joined(&[username.as_bytes(), realm.as_bytes()])
}
