//! Digest authentication for sipwarden (RFC 3261 §22, RFC 7616, RFC 8760, RFC 2617).
//!
//! Owns: HA1 computation and the per-algorithm [`Ha1Set`] a user store persists (never a
//! password), challenge header values for `WWW-Authenticate` / `Proxy-Authenticate`,
//! stateless HMAC nonces bound to time, realm and source address ([`NonceKeys`]), the
//! nonce-count replay window ([`NonceCountStore`], [`NonceCounts`]), verification of
//! `Authorization` / `Proxy-Authorization` credentials ([`DigestAuth::verify`]) including
//! `auth-int` body hashes, `Authentication-Info`, and the client side ([`DigestClient`]).
//!
//! Refuses: any I/O, clocks, randomness, threads or async runtime. The caller passes the
//! current time ([`Timestamp`]), the key material and every salt or cnonce. It does not
//! tokenise headers: credentials and challenges come from the wire layer's decoded
//! authentication headers (or any `(name, value)` pairs). It never sees or stores a
//! password on the server side, and it never tells a caller whether a user exists.

mod algorithm;
mod client;
mod credentials;
mod encoding;
mod error;
mod ha1;
mod nc;
mod nonce;
mod server;

#[cfg(test)]
mod tests;

pub use algorithm::{compute_response, userhash, Algorithm, HexHash, Qop, ResponseInput};
pub use client::{ClientSecret, DigestChallenge, DigestClient, QopPreference};
pub use credentials::{DigestCredentials, NonceCount};
pub use error::{ChallengeError, ClientError, ConfigError, CredentialsError, Ha1Error, KeyError};
pub use ha1::{Ha1, Ha1Set};
pub use nc::{NcVerdict, NonceCountStore, NonceCounts, NC_WINDOW};
pub use nonce::{NonceError, NonceId, NonceInfo, NonceKeys, Timestamp, MIN_KEY_LEN};
pub use server::{
    Challenge, ChallengeKind, ChallengeRequest, Deferred, DigestAuth, DigestConfig, FailReason,
    NcClaim, Outcome, RequestContext,
};
