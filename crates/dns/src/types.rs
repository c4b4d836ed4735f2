//! Inputs and outputs of next-hop resolution.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::error::ResolveError;

/// Longest host text echoed back in an error, so hostile input cannot blow up logs.
const MAX_ECHO: usize = 64;

/// URI scheme of the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`: any enabled transport may be used.
    Sip,
    /// `sips:`: only TLS or WSS, on every hop.
    Sips,
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// All transports, in the order they are listed in a [`TransportSet`].
    pub const ALL: [Transport; 5] = [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Ws,
        Transport::Wss,
    ];

    /// Parses the value of a URI `transport=` parameter (case-insensitive).
    ///
    /// Returns `None` for transports sipwarden does not speak (e.g. `sctp`).
    pub fn from_param(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }

    /// Upper-case token as used in a Via header (`UDP`, `TCP`, `TLS`, `WS`, `WSS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Whether the transport is encrypted and authenticated (TLS or WSS).
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// Port used when neither the URI nor SRV gives one: 5060/5061 for SIP
    /// (RFC 3261 §19.1.2), and the WebSocket defaults 80/443 (RFC 6455).
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }

    /// SRV owner-name prefix for this transport (RFC 3263 §4.1, RFC 7118).
    pub fn srv_prefix(self) -> &'static str {
        match self {
            Transport::Udp => "_sip._udp",
            Transport::Tcp => "_sip._tcp",
            Transport::Tls => "_sips._tcp",
            Transport::Ws => "_sip._ws",
            Transport::Wss => "_sips._ws",
        }
    }

    /// The transport selected by a NAPTR service field (RFC 3263 §4.1, RFC 7118).
    pub fn from_naptr_service(service: &str) -> Option<Self> {
        const SERVICES: [(&str, Transport); 5] = [
            ("SIP+D2U", Transport::Udp),
            ("SIP+D2T", Transport::Tcp),
            ("SIPS+D2T", Transport::Tls),
            ("SIP+D2W", Transport::Ws),
            ("SIPS+D2W", Transport::Wss),
        ];
        SERVICES
            .into_iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(service))
            .map(|(_, t)| t)
    }

    fn bit(self) -> u8 {
        match self {
            Transport::Udp => 1,
            Transport::Tcp => 2,
            Transport::Tls => 4,
            Transport::Ws => 8,
            Transport::Wss => 16,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of transports, e.g. those we have outbound support for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransportSet(u8);

impl TransportSet {
    /// No transport.
    pub const EMPTY: TransportSet = TransportSet(0);

    /// Every transport.
    pub fn all() -> Self {
        Self::from_slice(&Transport::ALL)
    }

    /// The set holding exactly the given transports.
    pub fn from_slice(transports: &[Transport]) -> Self {
        transports.iter().fold(Self::EMPTY, |s, t| s.with(*t))
    }

    /// This set plus `t`.
    #[must_use]
    pub fn with(self, t: Transport) -> Self {
        TransportSet(self.0 | t.bit())
    }

    /// This set minus `t`.
    #[must_use]
    pub fn without(self, t: Transport) -> Self {
        TransportSet(self.0 & !t.bit())
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: Transport) -> bool {
        self.0 & t.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Members of the set that are secure (TLS, WSS).
    #[must_use]
    pub fn secure_only(self) -> Self {
        self.without(Transport::Udp)
            .without(Transport::Tcp)
            .without(Transport::Ws)
    }
}

/// The host of a URI, or its `maddr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, lower-case, without a trailing dot.
    Name(String),
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
}

impl Host {
    /// Parses a URI host: a domain name, an IPv4 literal, or an IPv6 literal
    /// with or without brackets.
    ///
    /// Names must follow the RFC 3261 `hostname` grammar: labels of letters,
    /// digits and inner hyphens, at most 63 bytes each and 253 in all, and a
    /// top label that is not all digits (so `1.2.3.999` is not a name).
    pub fn parse(text: &str) -> Result<Self, ResolveError> {
        let invalid = || ResolveError::InvalidHost(echo(text));
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(invalid)?;
            let ip: std::net::Ipv6Addr = inner.parse().map_err(|_| invalid())?;
            return Ok(Host::Ip(IpAddr::V6(ip)));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        if name.is_empty() || name.len() > 253 {
            return Err(invalid());
        }
        let mut last = "";
        for label in name.split('.') {
            let bytes = label.as_bytes();
            let ok = !bytes.is_empty()
                && bytes.len() <= 63
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes.first() != Some(&b'-')
                && bytes.last() != Some(&b'-');
            if !ok {
                return Err(invalid());
            }
            last = label;
        }
        if last.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        Ok(Host::Name(name.to_ascii_lowercase()))
    }

    /// The domain name, if this host is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Host::Name(n) => Some(n),
            Host::Ip(_) => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Truncates untrusted text before it goes into an error message.
pub(crate) fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHO).collect()
}

/// What to resolve: the routing-relevant parts of a SIP or SIPS URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// `sip` or `sips`.
    pub scheme: Scheme,
    /// The URI host. When it is a name it is the SIP domain the TLS peer must prove.
    pub host: Host,
    /// Explicit port from the URI, if any.
    pub port: Option<u16>,
    /// The URI `transport=` parameter, if any (see [`Transport::from_param`]).
    pub transport: Option<Transport>,
    /// The URI `maddr` parameter: when present it replaces the host as the
    /// name or address to resolve (RFC 3263 §4), but not as the SIP domain.
    pub maddr: Option<Host>,
}

impl NextHop {
    /// A next hop with only a scheme and host.
    pub fn new(scheme: Scheme, host: Host) -> Self {
        NextHop {
            scheme,
            host,
            port: None,
            transport: None,
            maddr: None,
        }
    }

    /// Sets the explicit port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets the `transport=` parameter.
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Sets the `maddr` parameter.
    #[must_use]
    pub fn with_maddr(mut self, maddr: Host) -> Self {
        self.maddr = Some(maddr);
        self
    }
}

/// Caps that keep hostile or broken DNS from making us do unbounded work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// DNS queries (NAPTR, SRV, address) made for one resolution.
    pub max_lookups: usize,
    /// Targets returned.
    pub max_targets: usize,
    /// NAPTR records followed.
    pub max_naptr: usize,
    /// SRV records considered per SRV answer (lowest priorities kept).
    pub max_srv: usize,
    /// Addresses taken per host name.
    pub max_addrs_per_name: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lookups: 16,
            max_targets: 16,
            max_naptr: 8,
            max_srv: 16,
            max_addrs_per_name: 8,
        }
    }
}

/// What we are able and allowed to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Transports we have outbound support for.
    pub transports: TransportSet,
    /// Whether IPv4 targets may be returned.
    pub ipv4: bool,
    /// Whether IPv6 targets may be returned.
    pub ipv6: bool,
    /// Work and output caps.
    pub limits: Limits,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            transports: TransportSet::all(),
            ipv4: true,
            ipv6: true,
            limits: Limits::default(),
        }
    }
}

/// One place to send a request, in the order they should be tried.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Transport to use.
    pub transport: Transport,
    /// Address and port to connect or send to.
    pub addr: SocketAddr,
    /// For TLS and WSS: the SIP domain the peer's certificate must hold
    /// (RFC 5922). `None` for plain transports, and when the URI host is an
    /// IP literal (the certificate must then match `addr`).
    pub tls_name: Option<String>,
    /// Whether the target was learned through an SRV record.
    pub via_srv: bool,
    /// The SRV target host name when `via_srv` (lower-case, no trailing dot).
    /// RFC 3263 §4 also accepts a certificate for this name when the target
    /// was reached through SRV; whether to is the verifier's policy.
    pub srv_target: Option<String>,
}
