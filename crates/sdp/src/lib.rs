//! SDP inspection for sipwarden: how the media of a call is keyed, and who can read the
//! keys.
//!
//! Owns: a strict-but-tolerant, zero-copy reader of session descriptions (RFC 8866 /
//! RFC 4566) with bounded work ([`Sdp::parse`], [`Limits`], typed [`SdpError`]); the
//! classification of every offer and answer — no SRTP, SDES (`a=crypto`, keys readable by
//! every signalling hop), DTLS-SRTP (`a=fingerprint`/`a=setup`), ZRTP (`a=zrtp-hash`),
//! per media line and overall ([`SdpSecurity`]); redaction of key material from anything
//! that is logged or shown ([`redact_keys`]); the media key policy deciding whether an SDP
//! may cross a hop ([`MediaPolicy`]); and the media part of a call's security assessment
//! ([`assess()`]).
//!
//! Refuses: any I/O, clocks or global state; rewriting SDP (bodies pass through
//! byte-exact, only copies made for display are redacted); keeping key material in any
//! parsed value; judging signalling hops, identities or certificates, which belong to the
//! caller.

pub mod assess;
pub mod attr;
pub mod error;
mod lex;
pub mod limits;
pub mod parse;
pub mod policy;
pub mod redact;
pub mod security;

pub use assess::{
    assess, Finding, MediaAssessment, MediaLevel, MediaNote, Protection, StreamAssessment,
};
pub use attr::{
    Attribute, Attributes, Crypto, CryptoSuite, Direction, Fingerprint, HashFunction,
    KeyingAttributes, Setup, ZrtpHash,
};
pub use error::SdpError;
pub use limits::Limits;
pub use parse::{Connection, Media, Origin, Profile, Proto, Sdp, Text};
pub use policy::{MediaPolicy, Refusal};
pub use redact::{contains_sdes_keys, redact_keys, redact_str, REDACTED};
pub use security::{classify, Keying, MediaKind, MediaSecurity, Methods, SdpSecurity};
