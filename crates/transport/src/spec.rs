//! Transports and listen specifications (`udp:127.0.0.1:5060`, `wss:[::1]:443`).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// A SIP transport this crate can listen on and send over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Datagrams (RFC 3261 §18).
    Udp,
    /// A plain TCP stream.
    Tcp,
    /// TCP with TLS.
    Tls,
    /// WebSocket over plain TCP (RFC 7118).
    Ws,
    /// WebSocket over TLS (RFC 7118).
    Wss,
}

impl Transport {
    /// Every transport, in a stable order.
    pub const ALL: [Transport; 5] = [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Ws,
        Transport::Wss,
    ];

    /// The lower-case name used in listen specs and log lines.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    /// The token used in a Via header's sent-protocol (`SIP/2.0/<token>`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Recognises a Via transport token, case-insensitively.
    pub fn from_via_token(token: &[u8]) -> Option<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| t.via_token().as_bytes().eq_ignore_ascii_case(token))
    }

    /// True for connection-oriented transports (everything but UDP). RFC 3261 calls
    /// these "reliable": no retransmissions are sent over them.
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// True when the transport is encrypted.
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// True for the WebSocket transports.
    pub fn is_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::Wss)
    }

    /// The port used when a URI or Via names none (RFC 3261 §19.1.2, RFC 7118 §5).
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a transport name or listen spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The transport name is not one of udp, tcp, tls, ws, wss.
    #[error("unknown transport {0:?} (expected udp, tcp, tls, ws or wss)")]
    UnknownTransport(String),
    /// The spec has no `transport:` prefix.
    #[error("listen spec {0:?} must look like transport:address:port, e.g. udp:127.0.0.1:5060")]
    MissingTransport(String),
    /// The address part is not `IPv4:port` or `[IPv6]:port`.
    #[error("bad listen address {0:?} (expected 127.0.0.1:5060 or [::1]:5060)")]
    BadAddress(String),
}

impl FromStr for Transport {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| SpecError::UnknownTransport(s.to_owned()))
    }
}

/// One address to listen on with one transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    /// The transport served on this address.
    pub transport: Transport,
    /// The local address; port 0 asks the system for a free port.
    pub addr: SocketAddr,
}

impl ListenSpec {
    /// A spec for `transport` on `addr`.
    pub fn new(transport: Transport, addr: SocketAddr) -> ListenSpec {
        ListenSpec { transport, addr }
    }
}

impl FromStr for ListenSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, addr) = s
            .split_once(':')
            .ok_or_else(|| SpecError::MissingTransport(s.to_owned()))?;
        let transport = name.parse::<Transport>()?;
        let addr = addr
            .parse::<SocketAddr>()
            .map_err(|_| SpecError::BadAddress(addr.to_owned()))?;
        Ok(ListenSpec { transport, addr })
    }
}

impl fmt::Display for ListenSpec {
    /// `udp:127.0.0.1:5060`, `tls:[::1]:5061`: parses back with [`FromStr`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}
