//! RFC 3263 next-hop resolution for sipwarden.
//!
//! This crate owns one question: given the parts of a SIP or SIPS URI that
//! matter for routing (scheme, host, port, `transport=` and `maddr`), which
//! transport, address and port do we try, in which order, and which name must
//! the TLS peer prove it holds?
//!
//! It is split in two:
//!
//! - [`resolve`] is the algorithm (RFC 3263 §4 with RFC 2782 SRV ordering and
//!   RFC 3403 NAPTR rules). It performs no I/O of its own: lookups go through
//!   the [`DnsLookup`] trait and randomness through [`WeightRandom`], so it is
//!   deterministic under test ([`fake::FakeDns`]).
//! - [`HickoryLookup`] answers [`DnsLookup`] with hickory-resolver.
//!
//! What it refuses to do:
//!
//! - produce anything but TLS or WSS targets for a `sips:` URI, whatever DNS
//!   or the URI parameters say (`transport=udp` on a `sips:` URI is an error);
//! - do unbounded work for hostile DNS data: lookups, records considered and
//!   targets returned are all capped by [`Limits`];
//! - hand out unspecified, multicast or broadcast addresses learned from DNS;
//! - expand names through a resolver search list: every query is absolute.
//!
//! It does not open connections, verify certificates or cache results beyond
//! what the underlying resolver caches.

mod error;
pub mod fake;
mod hickory;
mod lookup;
mod random;
mod resolve;
mod srv;
mod types;

pub use error::{LookupError, ResolveError};
pub use hickory::HickoryLookup;
pub use lookup::{DnsLookup, Naptr, Srv};
pub use random::{StdWeightRandom, WeightRandom};
pub use resolve::{resolve, NextHopResolver};
pub use srv::order_srv;
pub use types::{Host, Limits, NextHop, ResolveOptions, Scheme, Target, Transport, TransportSet};
