//! What state is keyed on: the transport source and the authenticated account.
//!
//! Nothing here is derived from header contents a sender chooses freely: a [`SourceKey`]
//! comes from the address a packet or connection came from, and an [`AccountKey`] names an
//! account the server knows (authenticated, or the target of a credential check).

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::KeyError;

/// Longest accepted user part of an [`AccountKey`], in bytes.
pub const MAX_USER_LEN: usize = 128;
/// Longest accepted domain of an [`AccountKey`], in bytes (RFC 1035 name length).
pub const MAX_DOMAIN_LEN: usize = 253;

/// A transport source: an IPv4 address, or the /64 prefix of an IPv6 address.
///
/// One IPv6 subscriber usually holds a whole /64, so keying on the full address would let
/// a single host rotate through 2^64 keys. An IPv4-mapped IPv6 address (as seen on a
/// dual-stack socket) is the IPv4 address it maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKey {
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// The upper 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl SourceKey {
    /// The key for packets or connections from `ip`.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Prefix(prefix64(v6)),
            },
        }
    }

    /// Whether `ip` falls under this key.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Self::from_ip(ip) == *self
    }
}

impl From<IpAddr> for SourceKey {
    fn from(ip: IpAddr) -> Self {
        Self::from_ip(ip)
    }
}

fn prefix64(v6: Ipv6Addr) -> u64 {
    let bits = u128::from(v6) >> 64;
    // The shift leaves 64 significant bits, so the conversion cannot fail.
    u64::try_from(bits).unwrap_or(u64::MAX)
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6Prefix(p) => {
                let addr = Ipv6Addr::from(u128::from(*p) << 64);
                write!(f, "{addr}/64")
            }
        }
    }
}

impl FromStr for SourceKey {
    type Err = KeyError;

    /// Parses what [`Display`](fmt::Display) prints: an IPv4 address, or an IPv6 address
    /// optionally followed by `/64` (any IPv6 address names its /64).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let addr = s.strip_suffix("/64").unwrap_or(s);
        let ip: IpAddr = addr.parse().map_err(|_| KeyError::BadSource)?;
        if addr.len() != s.len() && ip.is_ipv4() {
            return Err(KeyError::BadSource);
        }
        Ok(Self::from_ip(ip))
    }
}

/// An account: `user@domain`, domain compared case-insensitively (stored lowercase), user
/// part case-sensitively as RFC 3261 §19.1.4 compares SIP URIs.
///
/// Lengths are capped ([`MAX_USER_LEN`], [`MAX_DOMAIN_LEN`]) so that a bounded number of
/// keys is a bounded amount of memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    /// `user@domain`.
    text: Box<str>,
    /// Byte offset of the `@`.
    at: usize,
}

impl AccountKey {
    /// Builds a key; fails on an empty, over-long or control-character-bearing part, or on
    /// an `@` in the user part (an escaped `%40` is fine).
    pub fn new(user: &str, domain: &str) -> Result<Self, KeyError> {
        if user.is_empty() || user.len() > MAX_USER_LEN {
            return Err(KeyError::BadUser);
        }
        if user.contains('@') || user.chars().any(char::is_control) {
            return Err(KeyError::BadUser);
        }
        if !valid_domain_chars(domain) {
            return Err(KeyError::BadDomain);
        }
        let mut text = String::with_capacity(user.len() + 1 + domain.len());
        text.push_str(user);
        text.push('@');
        text.extend(domain.chars().map(|c| c.to_ascii_lowercase()));
        Ok(Self {
            text: text.into_boxed_str(),
            at: user.len(),
        })
    }

    /// The user part.
    pub fn user(&self) -> &str {
        self.text.get(..self.at).unwrap_or_default()
    }

    /// The domain, lowercase.
    pub fn domain(&self) -> &str {
        self.text.get(self.at + 1..).unwrap_or_default()
    }

    /// `user@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for AccountKey {
    type Err = KeyError;

    /// Parses `user@domain`, splitting at the last `@`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (user, domain) = s.rsplit_once('@').ok_or(KeyError::BadUser)?;
        Self::new(user, domain)
    }
}

/// A host name or address literal as it may appear in a SIP URI host: letters, digits,
/// `-`, `.`, and for IPv6 references `[`, `]`, `:`.
pub(crate) fn valid_domain_chars(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= MAX_DOMAIN_LEN
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':'))
}

/// Method classes that get separate rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MethodClass {
    /// REGISTER.
    Register,
    /// INVITE.
    Invite,
    /// OPTIONS.
    Options,
    /// Everything else (ACK, BYE, CANCEL, SUBSCRIBE, MESSAGE, …).
    Other,
}

impl MethodClass {
    /// Every class, in index order.
    pub const ALL: [Self; 4] = [Self::Register, Self::Invite, Self::Options, Self::Other];

    /// Classifies a method name (methods are case-sensitive, RFC 3261 §7.1).
    pub fn of(method: &[u8]) -> Self {
        match method {
            b"REGISTER" => Self::Register,
            b"INVITE" => Self::Invite,
            b"OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }

    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Invite => "invite",
            Self::Options => "options",
            Self::Other => "other",
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Self::Register => 0,
            Self::Invite => 1,
            Self::Options => 2,
            Self::Other => 3,
        }
    }
}

impl fmt::Display for MethodClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP: the source address is unproven and may be spoofed.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket.
    Ws,
    /// WebSocket over TLS.
    Wss,
}

impl TransportKind {
    /// Whether a completed handshake already proved the source can receive replies, which
    /// makes a return-routability check redundant.
    pub const fn is_connection_oriented(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Ws => "ws",
            Self::Wss => "wss",
        }
    }
}
