//! Flows and the connection table.
//!
//! A flow is one (transport, local address, remote address) association: a TCP, TLS or
//! WebSocket connection, or a UDP source seen on one of our sockets. Connections are
//! kept in a [`ConnectionTable`] so that later sends reuse them — to the remote address
//! itself, to an alias the peer advertised (RFC 5923), or by the flow id a registrar
//! stored. The table is plain data (no I/O); the tokio shell keeps it behind a lock held
//! only for the duration of a lookup.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::spec::Transport;

/// Identifies one connection for as long as the process runs; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flow-{}", self.0)
    }
}

/// Where a message came from (or goes to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// The transport.
    pub transport: Transport,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address as seen on the socket.
    pub remote: SocketAddr,
    /// The connection's id; `None` for UDP, which has no connection.
    pub id: Option<FlowId>,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.transport, self.remote, self.local)?;
        if let Some(id) = self.id {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The source address already holds its maximum number of connections.
    #[error("too many connections from {0}")]
    PerSourceLimit(IpAddr),
    /// The server holds its maximum number of connections.
    #[error("connection table full")]
    TableFull,
}

/// What the TLS handshake of a connection settled: protocol version and cipher suite.
/// Plain data for the transaction user (the call assessment reports it per hop).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsSession {
    /// Protocol version, e.g. `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// Negotiated cipher suite by its IANA name, e.g. `TLS_AES_256_GCM_SHA384`, when known.
    pub cipher_suite: Option<String>,
}

impl TlsSession {
    /// The session of an established rustls connection (client or server side); `None`
    /// while it is still handshaking.
    pub fn of(state: &rustls::CommonState) -> Option<TlsSession> {
        let version = match state.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
            other => format!("{other:?}"),
        };
        let cipher_suite = state
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            // rustls names the TLS 1.3 suites `TLS13_*`; the registry says `TLS_*`.
            .map(|name| match name.strip_prefix("TLS13_") {
                Some(rest) => format!("TLS_{rest}"),
                None => name.to_owned(),
            });
        Some(TlsSession {
            version,
            cipher_suite,
        })
    }
}

struct Entry<H> {
    flow: Flow,
    handle: H,
    tls: Option<TlsSession>,
}

/// The set of live connections, indexed by id, by remote address and by alias.
pub struct ConnectionTable<H> {
    by_id: HashMap<FlowId, Entry<H>>,
    /// (transport, remote or alias) → connections, newest last.
    by_target: HashMap<(Transport, SocketAddr), Vec<FlowId>>,
    /// Aliases registered per flow, to clean `by_target` on removal.
    aliases: HashMap<FlowId, Vec<SocketAddr>>,
    per_ip: HashMap<IpAddr, usize>,
    next_id: u64,
    max_per_ip: usize,
    max_total: usize,
}

impl<H> fmt::Debug for ConnectionTable<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionTable")
            .field("connections", &self.by_id.len())
            .field("sources", &self.per_ip.len())
            .finish()
    }
}

impl<H> ConnectionTable<H> {
    /// An empty table admitting at most `max_per_ip` connections per source IP and
    /// `max_total` overall.
    pub fn new(max_per_ip: usize, max_total: usize) -> Self {
        ConnectionTable {
            by_id: HashMap::new(),
            by_target: HashMap::new(),
            aliases: HashMap::new(),
            per_ip: HashMap::new(),
            next_id: 1,
            max_per_ip,
            max_total,
        }
    }

    /// Checks the limits for a new connection from `remote` without admitting it, so a
    /// listener can refuse before spending a handshake on it.
    pub fn check(&self, remote: &SocketAddr) -> Result<(), AdmitError> {
        if self.by_id.len() >= self.max_total {
            return Err(AdmitError::TableFull);
        }
        let ip = canonical_ip(remote.ip());
        if self.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip {
            return Err(AdmitError::PerSourceLimit(ip));
        }
        Ok(())
    }

    /// Admits a connection and returns its flow (with a fresh id).
    pub fn admit(
        &mut self,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        handle: H,
    ) -> Result<Flow, AdmitError> {
        self.check(&remote)?;
        let id = FlowId(self.next_id);
        self.next_id += 1;
        let flow = Flow {
            transport,
            local,
            remote,
            id: Some(id),
        };
        *self.per_ip.entry(canonical_ip(remote.ip())).or_insert(0) += 1;
        self.by_target
            .entry((transport, remote))
            .or_default()
            .push(id);
        self.by_id.insert(
            id,
            Entry {
                flow,
                handle,
                tls: None,
            },
        );
        Ok(flow)
    }

    /// Removes a connection; returns its handle if it was present.
    pub fn remove(&mut self, id: FlowId) -> Option<H> {
        let entry = self.by_id.remove(&id)?;
        let flow = entry.flow;
        let ip = canonical_ip(flow.remote.ip());
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
        let mut targets = vec![flow.remote];
        targets.extend(self.aliases.remove(&id).unwrap_or_default());
        for addr in targets {
            self.unlink(flow.transport, addr, id);
        }
        Some(entry.handle)
    }

    fn unlink(&mut self, transport: Transport, addr: SocketAddr, id: FlowId) {
        if let Some(ids) = self.by_target.get_mut(&(transport, addr)) {
            ids.retain(|&i| i != id);
            if ids.is_empty() {
                self.by_target.remove(&(transport, addr));
            }
        }
    }

    /// Lets sends to `addr` over the flow's transport use this connection (RFC 5923
    /// `alias`, or a registrar binding a contact to its flow).
    pub fn add_alias(&mut self, id: FlowId, addr: SocketAddr) -> bool {
        let Some(entry) = self.by_id.get(&id) else {
            return false;
        };
        let transport = entry.flow.transport;
        if addr == entry.flow.remote {
            return true;
        }
        let aliases = self.aliases.entry(id).or_default();
        if aliases.contains(&addr) {
            return true;
        }
        // Bounded: a peer cannot make the table grow by advertising many aliases.
        if aliases.len() >= MAX_ALIASES_PER_FLOW {
            return false;
        }
        aliases.push(addr);
        self.by_target
            .entry((transport, addr))
            .or_default()
            .push(id);
        true
    }

    /// The connection with this id.
    pub fn get(&self, id: FlowId) -> Option<(&Flow, &H)> {
        self.by_id.get(&id).map(|e| (&e.flow, &e.handle))
    }

    /// Records what the TLS handshake of a connection settled; false if it is gone.
    pub fn set_tls(&mut self, id: FlowId, session: TlsSession) -> bool {
        match self.by_id.get_mut(&id) {
            Some(entry) => {
                entry.tls = Some(session);
                true
            }
            None => false,
        }
    }

    /// The TLS session of a live connection, once its handshake completed.
    pub fn tls(&self, id: FlowId) -> Option<&TlsSession> {
        self.by_id.get(&id).and_then(|e| e.tls.as_ref())
    }

    /// The newest connection of `transport` to `addr` (its remote address or an alias).
    pub fn find(&self, transport: Transport, addr: SocketAddr) -> Option<(&Flow, &H)> {
        let ids = self.by_target.get(&(transport, addr))?;
        ids.iter().rev().find_map(|id| self.get(*id))
    }

    /// Number of live connections.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no connection is live.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Live connections per transport, every transport listed (for metrics).
    pub fn counts_by_transport(&self) -> Vec<(Transport, usize)> {
        Transport::ALL
            .iter()
            .map(|t| {
                (
                    *t,
                    self.by_id
                        .values()
                        .filter(|e| e.flow.transport == *t)
                        .count(),
                )
            })
            .collect()
    }

    /// Live connections from one source IP.
    pub fn connections_from(&self, ip: IpAddr) -> usize {
        self.per_ip.get(&canonical_ip(ip)).copied().unwrap_or(0)
    }

    /// Removes every connection, returning the handles (shutdown).
    pub fn drain(&mut self) -> Vec<H> {
        self.by_target.clear();
        self.aliases.clear();
        self.per_ip.clear();
        self.by_id.drain().map(|(_, e)| e.handle).collect()
    }
}

/// Most aliases one connection may carry.
pub const MAX_ALIASES_PER_FLOW: usize = 4;

/// An IPv4-mapped IPv6 address counts as its IPv4 address, so a dual-stack socket
/// cannot be used to double the per-source limit.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}
