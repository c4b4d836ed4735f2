//! sipwarden's SIP message layer.
//!
//! Owns: reading SIP messages from bytes (a one-pass, zero-copy index over a
//! [`bytes::Bytes`] buffer), typed views of headers and URIs decoded on demand, framing of
//! datagrams and streams, edits that splice the original bytes, builders for new messages,
//! and the strictness policy ([`limits`]) with one mapping from every refusal to a SIP
//! status ([`ParseError::status`]).
//!
//! Refuses: any I/O, clocks, randomness or global state; any knowledge of transactions,
//! dialogs, routing or policy. It never re-serialises a message it did not build: unknown
//! headers and bodies pass through byte-exact.

pub mod access;
pub mod build;
pub mod edit;
pub mod error;
pub mod framing;
pub mod headers;
pub mod lex;
pub mod limits;
pub mod message;
pub mod name;
pub mod uri;
pub mod validate;

pub use error::ParseError;
pub use limits::Limits;
pub use message::{HeaderField, Message, Span, StartLine};
pub use name::{HeaderName, Method};
pub use uri::{Host, Transport, Uri};
