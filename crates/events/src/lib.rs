//! The security event log of sipwarden.
//!
//! Owns the typed [`SecurityEvent`]s (one variant per kind, with stable snake_case field
//! names), their serialisation as one JSON object per line, and the sinks that receive
//! them: a [`JsonLinesWriter`] for a file or stdout, a [`MemorySink`] for tests and a
//! [`FanOut`] so metrics can count what the log records.
//!
//! It refuses to carry secrets: no event has a field for a password, an HA1, a nonce key
//! or a media key, and every free-text value goes through [`Text`], which redacts SDES keys
//! (`a=crypto`), escapes control characters and caps the length, so a hostile header value
//! can neither break a line nor drive a terminal. It reads no clock (the caller passes the
//! time), spawns nothing and needs no async runtime; its only I/O is the writer's file or
//! stream.

mod error;
mod event;
mod sink;
mod text;
mod time;

pub use error::EventError;
pub use event::{
    AnonymousAction, AnonymousForm, AuthFailureReason, BanReason, CertificateReason, Detail,
    Direction, Kind, LiftedBy, RemovalReason, ScannerSignal, Scope, SdesReason, SecurityEvent,
    TlsFailure, Transport,
};
pub use sink::{EventSink, FanOut, JsonLinesWriter, MemorySink};
pub use text::{sanitize_json, Text, MAX_TEXT_CHARS};
pub use time::Timestamp;

#[cfg(test)]
mod tests;
