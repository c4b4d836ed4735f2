//! UDP listeners: a group of sockets bound to one address with SO_REUSEPORT, one
//! receive task each, so the kernel spreads datagrams over the workers.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Origin};
use crate::flow::Flow;
use crate::spec::Transport;

/// Largest UDP payload; the receive buffer is one byte larger to see truncation.
const MAX_DATAGRAM: usize = 65_535;

/// Binds `workers` sockets to `addr`. The first bind is made without SO_REUSEPORT so
/// that an address already in use (another server) is an error rather than a silent
/// split of traffic; it also resolves port 0 to the port every worker then shares.
pub(crate) fn bind_group(addr: SocketAddr, workers: usize) -> io::Result<Vec<UdpSocket>> {
    let port = {
        let probe = std::net::UdpSocket::bind(addr)?;
        probe.local_addr()?.port()
    };
    let addr = SocketAddr::new(addr.ip(), port);
    (0..workers.max(1))
        .map(|_| {
            let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
            if addr.is_ipv6() {
                socket.set_only_v6(true)?;
            }
            socket.set_reuse_port(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            UdpSocket::from_std(socket.into())
        })
        .collect()
}

/// Receives datagrams until shutdown and feeds them to the core.
pub(crate) async fn receive_loop(
    core: Arc<Core>,
    socket: Arc<UdpSocket>,
    shutdown: CancellationToken,
) {
    let local = match socket.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            tracing::error!(%err, "UDP socket has no local address");
            return;
        }
    };
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = socket.recv_from(&mut buf) => r,
        };
        let (len, remote) = match received {
            Ok(r) => r,
            Err(err) => {
                // ICMP errors from earlier sends surface here on some systems.
                tracing::debug!(%err, "UDP receive error");
                continue;
            }
        };
        let data = Bytes::copy_from_slice(buf.get(..len).unwrap_or_default());
        let origin = Origin {
            flow: Flow {
                transport: Transport::Udp,
                local,
                remote,
                id: None,
            },
            udp: Some(Arc::clone(&socket)),
            peer_certificates: None,
        };
        core.on_datagram(data, &origin);
    }
}
