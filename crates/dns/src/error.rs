//! Error types.

use std::net::IpAddr;

use crate::types::Transport;

/// Why a single DNS query produced no answer.
///
/// "The name or record does not exist" is not an error: lookups return an
/// empty list for NXDOMAIN and NODATA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The name cannot be put in a DNS query.
    #[error("invalid DNS name {name:?}")]
    InvalidName {
        /// The name (truncated).
        name: String,
    },
    /// No answer in time.
    #[error("DNS lookup of {name} timed out")]
    Timeout {
        /// The name queried.
        name: String,
    },
    /// The answer failed DNSSEC validation. Resolution stops here rather than
    /// falling back, since a forged answer is an attack, not an outage.
    #[error("DNSSEC validation failed for {name}")]
    Bogus {
        /// The name queried.
        name: String,
    },
    /// Any other failure (SERVFAIL, REFUSED, network error, ...).
    #[error("DNS lookup of {name} failed: {reason}")]
    Failed {
        /// The name queried.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

/// Why next-hop resolution produced no target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The host is neither a valid domain name nor an IP literal.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// Port 0 cannot be a destination.
    #[error("port 0 is not a valid destination")]
    InvalidPort,
    /// A `sips:` URI asked for a transport without TLS (`transport=udp`).
    #[error("transport={0} is not allowed on a sips: URI")]
    InsecureTransportForSips(Transport),
    /// The URI asked for a transport we cannot use.
    #[error("transport {0} is not enabled")]
    TransportNotEnabled(Transport),
    /// No transport usable for this URI is enabled (e.g. `sips:` without TLS or WSS).
    #[error("no enabled transport can reach a {0} URI")]
    NoUsableTransport(&'static str),
    /// An IP literal that cannot be a destination (unspecified, multicast, broadcast).
    #[error("{0} is not a valid destination address")]
    ForbiddenAddress(IpAddr),
    /// An IP literal of a disabled address family.
    #[error("address family of {0} is disabled")]
    FamilyDisabled(IpAddr),
    /// DNS answered, but nothing usable came out of it.
    #[error("{host} did not resolve to any usable target")]
    NotFound {
        /// The name resolved.
        host: String,
    },
    /// The lookup cap was reached before any target was found.
    #[error("DNS lookup budget exhausted before any target was found")]
    BudgetExhausted,
    /// A lookup failed and nothing else produced a target, or the failure
    /// forbids falling back (DNSSEC).
    #[error(transparent)]
    Lookup(#[from] LookupError),
}
