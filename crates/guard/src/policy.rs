//! Allow and deny lists by CIDR, domain and user, and the policy for anonymous callers.
//!
//! A [`PolicyLists`] is immutable: built and validated from configuration values as a
//! whole, then swapped in as a whole on reload, so a request never sees half a reload.
//!
//! Meaning of the lists:
//! - `deny_cidrs`: requests from these sources are dropped without an answer.
//! - `allow_cidrs`: trusted sources (peer servers, monitoring): never banned
//!   automatically, given the relaxed rate quotas, and not sent through the
//!   return-routability check. Still rate limited and subject to account lockout.
//! - `deny_domains` / `deny_users`: callers claiming, or authenticated as, these
//!   identities are refused with 403.
//! - `allow_domains` / `allow_users`: callers exempt from the return-routability check.
//!
//! A deny entry always wins over an allow entry.

use core::fmt;
use core::str::FromStr;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use thiserror::Error;

use crate::key::{valid_domain_chars, AccountKey, MAX_DOMAIN_LEN};

/// What to do with callers using anonymous ("null") authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnonymousPolicy {
    /// Serve them like any unauthenticated caller.
    Allow,
    /// Serve them once they prove return routability: over UDP they go through the
    /// return-routability check; a connection-oriented transport already proved it.
    #[default]
    Challenge,
    /// Refuse them with 403.
    Reject,
}

impl AnonymousPolicy {
    /// Stable lower-case label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Challenge => "challenge",
            Self::Reject => "reject",
        }
    }
}

impl FromStr for AnonymousPolicy {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Self::Allow),
            "challenge" => Ok(Self::Challenge),
            "reject" => Ok(Self::Reject),
            _ => Err(EntryError::UnknownAnonymousPolicy),
        }
    }
}

/// Policy as configuration values, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyConfig {
    /// Trusted sources: `192.0.2.0/24`, `2001:db8::/32`, or a bare address.
    pub allow_cidrs: Vec<String>,
    /// Sources dropped silently.
    pub deny_cidrs: Vec<String>,
    /// Caller domains exempt from the return-routability check: `example.com`, or
    /// `*.example.com` for every subdomain (not the domain itself).
    pub allow_domains: Vec<String>,
    /// Caller domains refused.
    pub deny_domains: Vec<String>,
    /// Callers (`user@domain`) exempt from the return-routability check.
    pub allow_users: Vec<String>,
    /// Callers (`user@domain`) refused.
    pub deny_users: Vec<String>,
    /// Anonymous callers.
    pub anonymous: AnonymousPolicy,
}

/// Which list an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListName {
    /// `allow_cidrs`.
    AllowCidrs,
    /// `deny_cidrs`.
    DenyCidrs,
    /// `allow_domains`.
    AllowDomains,
    /// `deny_domains`.
    DenyDomains,
    /// `allow_users`.
    AllowUsers,
    /// `deny_users`.
    DenyUsers,
}

impl ListName {
    /// The configuration name of the list.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AllowCidrs => "allow_cidrs",
            Self::DenyCidrs => "deny_cidrs",
            Self::AllowDomains => "allow_domains",
            Self::DenyDomains => "deny_domains",
            Self::AllowUsers => "allow_users",
            Self::DenyUsers => "deny_users",
        }
    }
}

impl fmt::Display for ListName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with one list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EntryError {
    /// The address part is not an IPv4 or IPv6 address.
    #[error("not an IP address")]
    NotAnAddress,
    /// The prefix length is not a number or exceeds 32 (IPv4) or 128 (IPv6).
    #[error("prefix length must be 0..={max}")]
    BadPrefix {
        /// Longest prefix for the address family.
        max: u8,
    },
    /// Bits are set beyond the prefix (`10.0.0.1/8`): probably a typo.
    #[error("address has bits set beyond the prefix length")]
    HostBitsSet,
    /// Not a host name (empty label, label over 63 bytes, bad character, too long).
    #[error("not a valid domain name")]
    BadDomain,
    /// Not `user@domain` with a non-empty user part and a valid domain.
    #[error("not of the form user@domain")]
    BadUser,
    /// Not `allow`, `challenge` or `reject`.
    #[error("anonymous policy must be allow, challenge or reject")]
    UnknownAnonymousPolicy,
}

/// A list entry that failed validation, named so the operator can find it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("policy {list}[{index}] {entry:?}: {reason}")]
pub struct PolicyError {
    /// The list.
    pub list: ListName,
    /// Position in the list (0-based).
    pub index: usize,
    /// The entry as configured (at most 200 bytes of it).
    pub entry: String,
    /// What is wrong.
    pub reason: EntryError,
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cidr {
    /// IPv4 network and prefix length.
    V4(u32, u8),
    /// IPv6 network and prefix length.
    V6(u128, u8),
}

impl Cidr {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, canonical(ip)) {
            (Self::V4(net, len), IpAddr::V4(a)) => mask4(u32::from(a), *len) == *net,
            (Self::V6(net, len), IpAddr::V6(a)) => mask6(u128::from(a), *len) == *net,
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = EntryError;

    /// `address/len` or a bare address (a single host).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| EntryError::NotAnAddress)?;
        let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(EntryError::BadPrefix { max });
                }
                let n: u8 = l.parse().map_err(|_| EntryError::BadPrefix { max })?;
                if n > max {
                    return Err(EntryError::BadPrefix { max });
                }
                n
            }
        };
        match ip {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                if mask4(bits, len) != bits {
                    return Err(EntryError::HostBitsSet);
                }
                Ok(Self::V4(bits, len))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                if mask6(bits, len) != bits {
                    return Err(EntryError::HostBitsSet);
                }
                Ok(Self::V6(bits, len))
            }
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(n, l) => write!(f, "{}/{l}", std::net::Ipv4Addr::from(*n)),
            Self::V6(n, l) => write!(f, "{}/{l}", std::net::Ipv6Addr::from(*n)),
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn mask4(bits: u32, len: u8) -> u32 {
    match len {
        0 => 0,
        l if l >= 32 => bits,
        l => bits & (u32::MAX << (32 - l)),
    }
}

fn mask6(bits: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => bits,
        l => bits & (u128::MAX << (128 - l)),
    }
}

/// A set of networks, matched with one ordered-set lookup per distinct prefix length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrSet {
    v4: BTreeMap<u8, BTreeSet<u32>>,
    v6: BTreeMap<u8, BTreeSet<u128>>,
}

impl CidrSet {
    /// Adds a network.
    pub fn insert(&mut self, cidr: Cidr) {
        match cidr {
            Cidr::V4(n, l) => {
                self.v4.entry(l).or_default().insert(n);
            }
            Cidr::V6(n, l) => {
                self.v6.entry(l).or_default().insert(n);
            }
        }
    }

    /// Whether any network contains `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match canonical(ip) {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.v4
                    .iter()
                    .any(|(l, set)| set.contains(&mask4(bits, *l)))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.v6
                    .iter()
                    .any(|(l, set)| set.contains(&mask6(bits, *l)))
            }
        }
    }

    /// Whether the set holds no network.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Domains matched exactly or, for `*.` entries, by any proper subdomain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DomainSet {
    exact: BTreeSet<Box<str>>,
    suffixes: BTreeSet<Box<str>>,
}

impl DomainSet {
    fn insert(&mut self, entry: &str) -> Result<(), EntryError> {
        let (wild, name) = match entry.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        let name = normalise_domain(name).ok_or(EntryError::BadDomain)?;
        if wild {
            self.suffixes.insert(name);
        } else {
            self.exact.insert(name);
        }
        Ok(())
    }

    fn contains(&self, domain: &str) -> bool {
        if self.exact.is_empty() && self.suffixes.is_empty() {
            return false;
        }
        let mut buf = [0u8; MAX_DOMAIN_LEN];
        let Some(lower) = lowercase_into(domain, &mut buf) else {
            return false;
        };
        if self.exact.contains(lower) {
            return true;
        }
        // Every proper suffix that starts after a dot.
        lower
            .match_indices('.')
            .filter_map(|(i, _)| lower.get(i + 1..))
            .any(|suffix| self.suffixes.contains(suffix))
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffixes.is_empty()
    }
}

/// Lowercases an ASCII domain (without one trailing dot) into `buf`; `None` when it is
/// too long or not a plausible host.
fn lowercase_into<'b>(domain: &str, buf: &'b mut [u8; MAX_DOMAIN_LEN]) -> Option<&'b str> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if !valid_domain_chars(domain) {
        return None;
    }
    let out = buf.get_mut(..domain.len())?;
    for (o, b) in out.iter_mut().zip(domain.bytes()) {
        *o = b.to_ascii_lowercase();
    }
    core::str::from_utf8(out).ok()
}

/// Validates a configured domain and returns it lowercase, without a trailing dot.
fn normalise_domain(name: &str) -> Option<Box<str>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if !valid_domain_chars(name) || name.starts_with('[') {
        return None;
    }
    let labels_ok = name
        .split('.')
        .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'));
    if !labels_ok || name.contains([':', '[', ']']) {
        return None;
    }
    Some(name.to_ascii_lowercase().into_boxed_str())
}

/// `user@domain` identities: user compared exactly, domain case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct UserSet {
    by_user: BTreeMap<Box<str>, BTreeSet<Box<str>>>,
}

impl UserSet {
    fn insert(&mut self, entry: &str) -> Result<(), EntryError> {
        let key = AccountKey::from_str(entry).map_err(|_| EntryError::BadUser)?;
        let domain = normalise_domain(key.domain()).ok_or(EntryError::BadUser)?;
        self.by_user
            .entry(key.user().into())
            .or_default()
            .insert(domain);
        Ok(())
    }

    fn contains(&self, user: &str, domain: &str) -> bool {
        let Some(domains) = self.by_user.get(user) else {
            return false;
        };
        let mut buf = [0u8; MAX_DOMAIN_LEN];
        lowercase_into(domain, &mut buf).is_some_and(|d| domains.contains(d))
    }

    fn is_empty(&self) -> bool {
        self.by_user.is_empty()
    }
}

/// Which policy rule refused or exempted a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyRule {
    /// Source in `deny_cidrs`.
    DeniedSource,
    /// Caller domain in `deny_domains`.
    DeniedDomain,
    /// Caller in `deny_users`.
    DeniedUser,
    /// Anonymous caller under [`AnonymousPolicy::Reject`].
    AnonymousRejected,
}

impl PolicyRule {
    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DeniedSource => "denied_source",
            Self::DeniedDomain => "denied_domain",
            Self::DeniedUser => "denied_user",
            Self::AnonymousRejected => "anonymous_rejected",
        }
    }
}

/// Validated, immutable policy lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyLists {
    allow_cidrs: CidrSet,
    deny_cidrs: CidrSet,
    allow_domains: DomainSet,
    deny_domains: DomainSet,
    allow_users: UserSet,
    deny_users: UserSet,
    anonymous: AnonymousPolicy,
}

impl PolicyLists {
    /// Validates every entry; the first bad one is reported by list, index and text.
    pub fn from_config(config: &PolicyConfig) -> Result<Self, PolicyError> {
        let mut lists = Self {
            anonymous: config.anonymous,
            ..Self::default()
        };
        fill(ListName::AllowCidrs, &config.allow_cidrs, |e| {
            lists.allow_cidrs.insert(e.trim().parse()?);
            Ok(())
        })?;
        fill(ListName::DenyCidrs, &config.deny_cidrs, |e| {
            lists.deny_cidrs.insert(e.trim().parse()?);
            Ok(())
        })?;
        fill(ListName::AllowDomains, &config.allow_domains, |e| {
            lists.allow_domains.insert(e.trim())
        })?;
        fill(ListName::DenyDomains, &config.deny_domains, |e| {
            lists.deny_domains.insert(e.trim())
        })?;
        fill(ListName::AllowUsers, &config.allow_users, |e| {
            lists.allow_users.insert(e.trim())
        })?;
        fill(ListName::DenyUsers, &config.deny_users, |e| {
            lists.deny_users.insert(e.trim())
        })?;
        Ok(lists)
    }

    /// Whether `ip` is in `deny_cidrs`.
    pub fn source_denied(&self, ip: IpAddr) -> bool {
        self.deny_cidrs.contains(ip)
    }

    /// Whether `ip` is in `allow_cidrs` and not in `deny_cidrs`.
    pub fn source_trusted(&self, ip: IpAddr) -> bool {
        !self.deny_cidrs.contains(ip) && self.allow_cidrs.contains(ip)
    }

    /// The deny rule that refuses a caller with this user part and domain, if any.
    pub fn caller_denied(&self, user: Option<&str>, domain: &str) -> Option<PolicyRule> {
        if self.deny_domains.contains(domain) {
            return Some(PolicyRule::DeniedDomain);
        }
        match user {
            Some(u) if self.deny_users.contains(u, domain) => Some(PolicyRule::DeniedUser),
            _ => None,
        }
    }

    /// Whether the caller is in `allow_domains` or `allow_users` (and not denied).
    pub fn caller_allowed(&self, user: Option<&str>, domain: &str) -> bool {
        if self.caller_denied(user, domain).is_some() {
            return false;
        }
        self.allow_domains.contains(domain)
            || user.is_some_and(|u| self.allow_users.contains(u, domain))
    }

    /// The anonymous-caller policy.
    pub fn anonymous(&self) -> AnonymousPolicy {
        self.anonymous
    }

    /// Whether every list is empty.
    pub fn lists_empty(&self) -> bool {
        self.allow_cidrs.is_empty()
            && self.deny_cidrs.is_empty()
            && self.allow_domains.is_empty()
            && self.deny_domains.is_empty()
            && self.allow_users.is_empty()
            && self.deny_users.is_empty()
    }

    pub(crate) fn has_caller_denies(&self) -> bool {
        !self.deny_domains.is_empty() || !self.deny_users.is_empty()
    }
}

fn fill(
    list: ListName,
    entries: &[String],
    mut add: impl FnMut(&str) -> Result<(), EntryError>,
) -> Result<(), PolicyError> {
    for (index, entry) in entries.iter().enumerate() {
        add(entry).map_err(|reason| PolicyError {
            list,
            index,
            entry: clip(entry, 200),
            reason,
        })?;
    }
    Ok(())
}

fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}
