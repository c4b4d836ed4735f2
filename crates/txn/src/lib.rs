//! sipwarden's SIP transaction layer (RFC 3261 §17, updated by RFC 6026).
//!
//! Owns: the four transaction state machines ([`InviteClient`], [`NonInviteClient`],
//! [`InviteServer`], [`NonInviteServer`]) with timers A–K, L and M; matching of requests
//! and responses to transactions (§17.1.3, §17.2.3 with the RFC 2543 fallback, CANCEL per
//! §9.2); absorption of retransmissions; and a bounded [`Transactions`] table that routes
//! messages, runs every timer from one index and queues what to send and report.
//!
//! Refuses: any I/O, clocks, randomness or tasks. The caller passes the current time
//! (`std::time::Instant`, virtual in tests) and branch values; it drains
//! [`Transactions::poll_transmit`] and [`Transactions::poll_event`] and wakes at
//! [`Transactions::poll_timeout`]. It knows nothing of dialogs, routing, proxy
//! forking (Timer C) or policy: ACKs for 2xx and stray responses are handed back as
//! "not ours".
//!
//! ```
//! use std::time::Instant;
//! use sipwarden_txn::{Config, Reliability, RequestOutcome, Transactions};
//! use sipwarden_wire::Message;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut txns: Transactions<&str> = Transactions::new(Config::default())?;
//! let options = Message::parse(&b"OPTIONS sip:example.com SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
//!     From: <sip:alice@example.com>;tag=1928301774\r\nTo: <sip:example.com>\r\n\
//!     Call-ID: a84b4c76e66710\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"[..])?;
//! let now = Instant::now();
//! let RequestOutcome::New { txn, .. } =
//!     txns.handle_request(now, &options, Reliability::Unreliable, "192.0.2.1:5060")?
//! else {
//!     return Err("not a new transaction".into());
//! };
//! let ok = sipwarden_wire::build::response_to(&options, 200, "OK").to_tag("x").build()?;
//! txns.send_response(now, txn, 200, ok)?;
//! let out = txns.poll_transmit().ok_or("nothing to send")?; // send `out.bytes` to `out.dest`
//! assert_eq!(out.dest, "192.0.2.1:5060");
//! // Timer J (64·T1) keeps the transaction to absorb retransmissions.
//! assert!(txns.poll_timeout().is_some());
//! # Ok(())
//! # }
//! ```

mod ack;
pub mod client;
pub mod error;
mod key;
pub mod machine;
pub mod server;
pub mod table;
pub mod timer;

pub use client::{InviteClient, NonInviteClient};
pub use error::{ConfigError, TxnError};
pub use key::has_magic_cookie;
pub use machine::{AckDisposition, Action, State};
pub use server::{InviteServer, NonInviteServer};
pub use table::{Config, Event, RequestOutcome, ResponseOutcome, Transactions, Transmit, TxnId};
pub use timer::{Reliability, Timer, TimerConfig};
