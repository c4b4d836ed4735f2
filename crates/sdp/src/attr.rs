//! Attributes (`a=` lines), and typed readings of the ones that decide media keying.
//!
//! Only names are matched case-insensitively; a peer that reads `A=CRYPTO`-style spellings
//! leniently must not be able to slip keys past the classification.

use core::fmt;

use memchr::memchr;
use smallvec::SmallVec;

use crate::error::SdpError;
use crate::lex::{fields, is_hex, is_token, parse_u32, split_field, to_str, trim_end};
use crate::redact::REDACTED;

/// One `a=` line: `name` or `name:value`.
///
/// `value` is the raw bytes after the colon. For `a=crypto` and `a=key-mgmt` it holds key
/// material: never log it (the `Debug` output of this type hides it; use
/// [`crate::redact_keys`] for text that must be shown).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute name, a token.
    pub name: &'a str,
    /// The raw value, if the line has a colon.
    pub value: Option<&'a [u8]>,
}

impl Attribute<'_> {
    /// Whether this attribute carries key material (`a=crypto`, `a=key-mgmt`).
    pub fn carries_keys(&self) -> bool {
        self.name.eq_ignore_ascii_case("crypto") || self.name.eq_ignore_ascii_case("key-mgmt")
    }
}

impl fmt::Debug for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Attribute");
        d.field("name", &self.name);
        match self.value {
            None => d.field("value", &None::<&str>),
            Some(_) if self.carries_keys() => d.field("value", &REDACTED),
            Some(v) => d.field("value", &String::from_utf8_lossy(v)),
        };
        d.finish()
    }
}

/// Iterator over the `a=` lines of an already validated section.
#[derive(Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Attributes<'a> {
    pub(crate) fn new(section: &'a [u8]) -> Self {
        Attributes { rest: section }
    }
}

impl fmt::Debug for Attributes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attributes").finish_non_exhaustive()
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        while !self.rest.is_empty() {
            let (line, rest) = match memchr(b'\n', self.rest) {
                Some(i) => (
                    self.rest.get(..i).unwrap_or_default(),
                    self.rest.get(i + 1..).unwrap_or_default(),
                ),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let line = trim_end(line.strip_suffix(b"\r").unwrap_or(line));
            if let Some(value) = line.strip_prefix(b"a=") {
                if let Some(attr) = split_attribute(value) {
                    return Some(attr);
                }
            }
        }
        None
    }
}

/// Splits `name[:value]`; `None` when the name is not a token.
pub(crate) fn split_attribute(value: &[u8]) -> Option<Attribute<'_>> {
    let (name, val) = match memchr(b':', value) {
        Some(i) => (value.get(..i)?, Some(value.get(i + 1..)?)),
        None => (value, None),
    };
    if !is_token(name) {
        return None;
    }
    Some(Attribute {
        name: to_str(name)?,
        value: val,
    })
}

/// Media direction (RFC 8866 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`: no media flows.
    Inactive,
}

impl Direction {
    /// Whether the side that wrote this description sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the side that wrote this description receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn from_name(name: &[u8]) -> Option<Self> {
        [
            (&b"sendrecv"[..], Direction::SendRecv),
            (b"sendonly", Direction::SendOnly),
            (b"recvonly", Direction::RecvOnly),
            (b"inactive", Direction::Inactive),
        ]
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map(|(_, d)| d)
    }
}

/// DTLS role from `a=setup` (RFC 4145, RFC 5763).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this side opens the DTLS handshake.
    Active,
    /// `passive`: this side waits for it.
    Passive,
    /// `actpass`: either (offers only).
    ActPass,
    /// `holdconn`: no connection now.
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

/// SRTP crypto suite named in an `a=crypto` line (RFC 4568, RFC 6188, RFC 7714).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80`.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`.
    AesCm128HmacSha1_32,
    /// `F8_128_HMAC_SHA1_80`.
    F8_128HmacSha1_80,
    /// `AES_192_CM_HMAC_SHA1_80`.
    Aes192CmHmacSha1_80,
    /// `AES_192_CM_HMAC_SHA1_32`.
    Aes192CmHmacSha1_32,
    /// `AES_256_CM_HMAC_SHA1_80`.
    Aes256CmHmacSha1_80,
    /// `AES_256_CM_HMAC_SHA1_32`.
    Aes256CmHmacSha1_32,
    /// `AEAD_AES_128_GCM`.
    AeadAes128Gcm,
    /// `AEAD_AES_256_GCM`.
    AeadAes256Gcm,
    /// Any other name; the name itself is not kept (it is peer-controlled text).
    Unknown,
}

const SUITES: [(&str, CryptoSuite); 9] = [
    ("AES_CM_128_HMAC_SHA1_80", CryptoSuite::AesCm128HmacSha1_80),
    ("AES_CM_128_HMAC_SHA1_32", CryptoSuite::AesCm128HmacSha1_32),
    ("F8_128_HMAC_SHA1_80", CryptoSuite::F8_128HmacSha1_80),
    ("AES_192_CM_HMAC_SHA1_80", CryptoSuite::Aes192CmHmacSha1_80),
    ("AES_192_CM_HMAC_SHA1_32", CryptoSuite::Aes192CmHmacSha1_32),
    ("AES_256_CM_HMAC_SHA1_80", CryptoSuite::Aes256CmHmacSha1_80),
    ("AES_256_CM_HMAC_SHA1_32", CryptoSuite::Aes256CmHmacSha1_32),
    ("AEAD_AES_128_GCM", CryptoSuite::AeadAes128Gcm),
    ("AEAD_AES_256_GCM", CryptoSuite::AeadAes256Gcm),
];

impl CryptoSuite {
    /// Reads a suite name (case-insensitive).
    pub fn from_name(name: &str) -> Self {
        SUITES
            .iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n))
            .map_or(CryptoSuite::Unknown, |(_, s)| *s)
    }

    /// The registered name, or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        SUITES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("unknown", |(n, _)| n)
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hash function of an `a=fingerprint` (RFC 8122 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// `md2` (RFC 8122: must not be used).
    Md2,
    /// `md5` (RFC 8122: must not be used).
    Md5,
    /// `sha-1`.
    Sha1,
    /// `sha-224`.
    Sha224,
    /// `sha-256`.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
    /// Any other name; the name itself is not kept.
    Unknown,
}

const HASHES: [(&str, HashFunction); 7] = [
    ("md2", HashFunction::Md2),
    ("md5", HashFunction::Md5),
    ("sha-1", HashFunction::Sha1),
    ("sha-224", HashFunction::Sha224),
    ("sha-256", HashFunction::Sha256),
    ("sha-384", HashFunction::Sha384),
    ("sha-512", HashFunction::Sha512),
];

impl HashFunction {
    /// Reads a hash function name (case-insensitive).
    pub fn from_name(name: &str) -> Self {
        HASHES
            .iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n))
            .map_or(HashFunction::Unknown, |(_, h)| *h)
    }

    /// The registered (lower-case) name, or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        HASHES
            .iter()
            .find(|(_, h)| *h == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// MD2, MD5 and SHA-1: too weak to bind a certificate today.
    pub fn is_weak(self) -> bool {
        matches!(
            self,
            HashFunction::Md2 | HashFunction::Md5 | HashFunction::Sha1
        )
    }
}

impl fmt::Display for HashFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `a=crypto` line (RFC 4568 §9.1), without its key.
///
/// The key parameters are deliberately not kept: nothing built from this type can leak them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crypto<'a> {
    /// The tag (1 to 9 digits).
    pub tag: u32,
    /// The suite name as written.
    pub suite_name: &'a str,
    /// The suite, if registered.
    pub suite: CryptoSuite,
    /// `UNENCRYPTED_SRTP`: media would be authenticated but not encrypted.
    pub unencrypted_srtp: bool,
    /// `UNENCRYPTED_SRTCP`.
    pub unencrypted_srtcp: bool,
    /// `UNAUTHENTICATED_SRTP`: media would be encrypted but not authenticated.
    pub unauthenticated_srtp: bool,
}

/// An `a=fingerprint` line (RFC 8122): a certificate hash, public by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// The hash function name as written.
    pub hash_name: &'a str,
    /// The hash function.
    pub hash: HashFunction,
    /// Colon-separated upper- or lower-case hex.
    pub value: &'a str,
}

/// An `a=zrtp-hash` line (RFC 6189 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZrtpHash<'a> {
    /// ZRTP protocol version, e.g. `1.10`.
    pub version: &'a str,
    /// The Hello hash, 64 hex digits.
    pub hash: &'a str,
}

/// The attributes of one section (session level or one `m=`) that decide media keying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyingAttributes<'a> {
    /// `a=sendrecv` / `sendonly` / `recvonly` / `inactive`, if present.
    pub direction: Option<Direction>,
    /// `a=setup`, if present.
    pub setup: Option<Setup>,
    /// `a=crypto` lines (keys not kept).
    pub crypto: SmallVec<[Crypto<'a>; 4]>,
    /// `a=fingerprint` lines.
    pub fingerprints: SmallVec<[Fingerprint<'a>; 1]>,
    /// The first `a=zrtp-hash` line.
    pub zrtp_hash: Option<ZrtpHash<'a>>,
    /// Whether an `a=key-mgmt` line (RFC 4567, MIKEY) is present.
    pub key_mgmt: bool,
}

impl<'a> KeyingAttributes<'a> {
    /// Reads one `a=` value into this section; other attributes are ignored.
    pub(crate) fn add(&mut self, value: &'a [u8], line: usize) -> Result<(), SdpError> {
        let (name, value) = match memchr(b':', value) {
            Some(i) => (value.get(..i).unwrap_or_default(), value.get(i + 1..)),
            None => (value, None),
        };
        if !is_token(name) {
            return Err(malformed("a=", line, "attribute name is not a token"));
        }
        // Dispatch on length first: most attributes (rtpmap, fmtp, ssrc, ...) are then
        // dismissed with one comparison or none.
        match name.len() {
            5 if name.eq_ignore_ascii_case(b"setup") => {
                let setup = parse_setup(value, line)?;
                if self.setup.is_some_and(|old| old != setup) {
                    return Err(SdpError::Conflict {
                        attribute: "setup",
                        line,
                    });
                }
                self.setup = Some(setup);
            }
            6 if name.eq_ignore_ascii_case(b"crypto") => {
                self.crypto.push(parse_crypto(value, line)?);
            }
            8 => {
                if let Some(d) = Direction::from_name(name) {
                    if self.direction.is_some_and(|old| old != d) {
                        return Err(SdpError::Conflict {
                            attribute: "direction",
                            line,
                        });
                    }
                    self.direction = Some(d);
                } else if name.eq_ignore_ascii_case(b"key-mgmt") {
                    self.key_mgmt = true;
                }
            }
            9 if name.eq_ignore_ascii_case(b"zrtp-hash") => {
                let hash = parse_zrtp_hash(value, line)?;
                // One line per supported ZRTP version is allowed; the first is enough here.
                self.zrtp_hash.get_or_insert(hash);
            }
            11 if name.eq_ignore_ascii_case(b"fingerprint") => {
                self.fingerprints.push(parse_fingerprint(value, line)?);
            }
            _ => {}
        }
        Ok(())
    }
}

fn malformed(field: &'static str, line: usize, reason: &'static str) -> SdpError {
    SdpError::Malformed {
        field,
        line,
        reason,
    }
}

fn parse_crypto(value: Option<&[u8]>, line: usize) -> Result<Crypto<'_>, SdpError> {
    const F: &str = "a=crypto";
    let mut it = fields(value.ok_or(malformed(F, line, "missing value"))?);
    let tag = it.next().ok_or(malformed(F, line, "missing tag"))?;
    let tag = parse_u32(tag, 9).ok_or(malformed(F, line, "tag is not 1 to 9 digits"))?;
    let suite = it.next().ok_or(malformed(F, line, "missing suite"))?;
    if !is_token(suite) {
        return Err(malformed(F, line, "suite is not a token"));
    }
    let suite_name = to_str(suite).ok_or(malformed(F, line, "suite is not a token"))?;
    let key_params = it
        .next()
        .ok_or(malformed(F, line, "missing key parameters"))?;
    if !key_params
        .split(|&b| b == b';')
        .all(|p| memchr(b':', p).is_some_and(|i| i > 0 && i + 1 < p.len()))
    {
        return Err(malformed(F, line, "key parameter is not method:info"));
    }
    let mut crypto = Crypto {
        tag,
        suite_name,
        suite: CryptoSuite::from_name(suite_name),
        unencrypted_srtp: false,
        unencrypted_srtcp: false,
        unauthenticated_srtp: false,
    };
    for param in it {
        if param.eq_ignore_ascii_case(b"UNENCRYPTED_SRTP") {
            crypto.unencrypted_srtp = true;
        } else if param.eq_ignore_ascii_case(b"UNENCRYPTED_SRTCP") {
            crypto.unencrypted_srtcp = true;
        } else if param.eq_ignore_ascii_case(b"UNAUTHENTICATED_SRTP") {
            crypto.unauthenticated_srtp = true;
        }
    }
    Ok(crypto)
}

fn parse_fingerprint(value: Option<&[u8]>, line: usize) -> Result<Fingerprint<'_>, SdpError> {
    const F: &str = "a=fingerprint";
    let value = value.ok_or(malformed(F, line, "missing value"))?;
    let (hash, rest) = split_field(value);
    let hash = hash.ok_or(malformed(F, line, "missing hash function"))?;
    let (fp, rest) = split_field(rest);
    let fp = fp.ok_or(malformed(F, line, "missing fingerprint"))?;
    if split_field(rest).0.is_some() {
        return Err(malformed(F, line, "trailing data"));
    }
    if !is_token(hash) {
        return Err(malformed(F, line, "hash function is not a token"));
    }
    // Pairs of hex digits separated by colons.
    let well_formed = fp
        .split(|&b| b == b':')
        .all(|pair| pair.len() == 2 && is_hex(pair));
    if !well_formed {
        return Err(malformed(F, line, "fingerprint is not colon-separated hex"));
    }
    let hash_name = to_str(hash).ok_or(malformed(F, line, "hash function is not a token"))?;
    Ok(Fingerprint {
        hash_name,
        hash: HashFunction::from_name(hash_name),
        value: to_str(fp).ok_or(malformed(F, line, "fingerprint is not hex"))?,
    })
}

fn parse_setup(value: Option<&[u8]>, line: usize) -> Result<Setup, SdpError> {
    let value = value.map(trim_end).unwrap_or_default();
    [
        (&b"active"[..], Setup::Active),
        (b"passive", Setup::Passive),
        (b"actpass", Setup::ActPass),
        (b"holdconn", Setup::HoldConn),
    ]
    .into_iter()
    .find(|(n, _)| value.eq_ignore_ascii_case(n))
    .map(|(_, s)| s)
    .ok_or(malformed("a=setup", line, "unknown role"))
}

fn parse_zrtp_hash(value: Option<&[u8]>, line: usize) -> Result<ZrtpHash<'_>, SdpError> {
    const F: &str = "a=zrtp-hash";
    let value = value.ok_or(malformed(F, line, "missing value"))?;
    let (version, rest) = split_field(value);
    let version = version.ok_or(malformed(F, line, "missing version"))?;
    let (hash, rest) = split_field(rest);
    let hash = hash.ok_or(malformed(F, line, "missing hash"))?;
    if split_field(rest).0.is_some() {
        return Err(malformed(F, line, "trailing data"));
    }
    if !is_token(version) {
        return Err(malformed(F, line, "version is not a token"));
    }
    if hash.len() != 64 || !is_hex(hash) {
        return Err(malformed(F, line, "hash is not 64 hex digits"));
    }
    Ok(ZrtpHash {
        version: to_str(version).ok_or(malformed(F, line, "version is not a token"))?,
        hash: to_str(hash).ok_or(malformed(F, line, "hash is not hex"))?,
    })
}
