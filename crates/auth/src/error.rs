//! Typed errors. Messages name parameters, never their values (values may be secrets or
//! attacker-controlled text headed for a log).

use thiserror::Error;

use crate::algorithm::Algorithm;

/// Why `Authorization` / `Proxy-Authorization` parameters do not form Digest credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CredentialsError {
    /// The scheme is not `Digest`.
    #[error("authorization scheme is not Digest")]
    NotDigest,
    /// A parameter appears twice.
    #[error("duplicate parameter `{0}`")]
    Duplicate(&'static str),
    /// A required parameter is absent (or `cnonce`/`nc` absent while `qop` is present).
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    /// A parameter value is malformed.
    #[error("invalid value for parameter `{0}`")]
    Invalid(&'static str),
    /// The `algorithm` is not one this crate implements (including `-sess` variants).
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
    /// The `qop` is neither `auth` nor `auth-int`.
    #[error("unsupported qop")]
    UnsupportedQop,
    /// A parameter form this crate does not implement (`username*`).
    #[error("unsupported parameter `{0}`")]
    Unsupported(&'static str),
}

/// Why `WWW-Authenticate` / `Proxy-Authenticate` parameters do not form a usable challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ChallengeError {
    /// The scheme is not `Digest`.
    #[error("challenge scheme is not Digest")]
    NotDigest,
    /// A parameter appears twice.
    #[error("duplicate parameter `{0}`")]
    Duplicate(&'static str),
    /// A required parameter is absent.
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    /// A parameter value is malformed.
    #[error("invalid value for parameter `{0}`")]
    Invalid(&'static str),
    /// The `algorithm` is not one this crate implements.
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
}

/// A stored HA1 that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Ha1Error {
    /// Not hex, or not the length the algorithm produces.
    #[error("stored HA1 for {0} is not {len} hex digits", len = .0.hex_len())]
    Malformed(Algorithm),
}

/// Unusable nonce key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key is shorter than [`crate::MIN_KEY_LEN`] bytes.
    #[error("nonce key must be at least {min} bytes, got {got}")]
    TooShort {
        /// Required minimum.
        min: usize,
        /// Supplied length.
        got: usize,
    },
}

/// An unusable [`crate::DigestConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// No algorithm is configured.
    #[error("no digest algorithm configured")]
    NoAlgorithms,
    /// An algorithm is listed twice.
    #[error("digest algorithm {0} listed twice")]
    DuplicateAlgorithm(Algorithm),
    /// The nonce lifetime is zero.
    #[error("nonce lifetime must be positive")]
    ZeroLifetime,
    /// The configured opaque value is empty or holds characters a quoted-string cannot carry.
    #[error("opaque must be non-empty printable text without quotes or backslashes")]
    InvalidOpaque,
    /// Bad key material.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Why the client cannot answer a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ClientError {
    /// The secret is a set of HA1 values without one for the challenge's algorithm.
    #[error("no HA1 for algorithm {0}")]
    NoHa1(Algorithm),
    /// The username holds characters a quoted-string cannot carry.
    #[error("username cannot be sent in a quoted-string")]
    InvalidUsername,
    /// The challenge offers no qop and the client was told to refuse RFC 2069 mode.
    #[error("challenge offers no qop")]
    NoQop,
}
