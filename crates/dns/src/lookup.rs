//! The lookups next-hop resolution needs, as a trait.

use std::future::Future;
use std::net::IpAddr;

use crate::error::LookupError;

/// A NAPTR record (RFC 3403), as far as RFC 3263 uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Naptr {
    /// Processing order, lowest first; only the lowest usable order is used.
    pub order: u16,
    /// Preference within an order, lowest first.
    pub preference: u16,
    /// Flags; SIP uses `S` (the replacement is an SRV owner name).
    pub flags: String,
    /// Service, e.g. `SIPS+D2T`.
    pub services: String,
    /// Regular expression; must be empty for SIP.
    pub regexp: String,
    /// Replacement name, lower-case, without trailing dot; empty for the root.
    pub replacement: String,
}

impl Naptr {
    /// An `S`-flagged record with an empty regexp, the only form SIP uses.
    pub fn new(order: u16, preference: u16, services: &str, replacement: &str) -> Self {
        Naptr {
            order,
            preference,
            flags: "S".to_owned(),
            services: services.to_owned(),
            regexp: String::new(),
            replacement: normalize_name(replacement),
        }
    }
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Srv {
    /// Priority, lowest first.
    pub priority: u16,
    /// Relative weight within a priority.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host, lower-case, without trailing dot; empty for the root
    /// ("service not available here").
    pub target: String,
}

impl Srv {
    /// Builds a record; the target is normalized.
    pub fn new(priority: u16, weight: u16, port: u16, target: &str) -> Self {
        Srv {
            priority,
            weight,
            port,
            target: normalize_name(target),
        }
    }
}

/// Lower-cases a DNS name and drops its trailing dot (`"."` becomes `""`).
pub(crate) fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The DNS queries RFC 3263 resolution makes.
///
/// Names are absolute, lower-case and without trailing dot. Implementations
/// must not apply a search list. A name or record type that does not exist is
/// `Ok(vec![])`; `Err` means the question could not be answered.
pub trait DnsLookup {
    /// NAPTR records of `name`.
    fn naptr(&self, name: &str) -> impl Future<Output = Result<Vec<Naptr>, LookupError>> + Send;

    /// SRV records of `name` (e.g. `_sips._tcp.example.com`).
    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<Srv>, LookupError>> + Send;

    /// IPv4 and IPv6 addresses of `name`, in the order they should be tried.
    fn ips(&self, name: &str) -> impl Future<Output = Result<Vec<IpAddr>, LookupError>> + Send;
}
