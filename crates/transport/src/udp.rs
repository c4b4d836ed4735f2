//! UDP listeners: a group of sockets bound to one address with SO_REUSEPORT, one
//! receive thread each, so the kernel spreads datagrams over the workers.
//!
//! Each socket is served by a dedicated OS thread doing blocking `recv_from` and running
//! the whole inbound pipeline inline (parse, transaction table, transaction user, the
//! `send_to` of the answer): no readiness notification through the runtime and no hand-off
//! between threads per datagram. The thread enters the runtime's context, so what runs
//! below it may still spawn tasks and read tokio's clock.
//!
//! The sockets are blocking with two timeouts: SO_RCVTIMEO, so a thread notices shutdown
//! even if nothing wakes it, and SO_SNDTIMEO, which bounds every `send_to` (from these
//! threads or from async tasks) when the socket's send buffer is full.

use std::io;
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Origin};
use crate::flow::Flow;
use crate::spec::Transport;
use crate::stats::Stats;

/// Largest UDP payload; the receive buffer is one byte larger to see truncation.
const MAX_DATAGRAM: usize = 65_535;

/// Longest a receive thread blocks before it looks at the stop flags again.
const RECV_POLL: Duration = Duration::from_millis(200);

/// Longest one `send_to` may block on a full send buffer; the datagram is then dropped.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// Receive and send buffer asked of the kernel for each UDP socket (it grants up to
/// `net.core.rmem_max` / `wmem_max`). The default (~200 KiB, about 150 datagrams) overflows
/// when a burst arrives while the receive thread is briefly off its core; a few MiB
/// absorb a burst of thousands while costing memory only when it is used.
const SOCKET_BUFFER: usize = 4 << 20;

/// Pause after an unexpected receive error, so a persistent one cannot spin a core.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Binds `workers` sockets to `addr`. The first bind is made without SO_REUSEPORT so
/// that an address already in use (another server) is an error rather than a silent
/// split of traffic; it also resolves port 0 to the port every worker then shares.
pub(crate) fn bind_group(addr: SocketAddr, workers: usize) -> io::Result<Vec<UdpSocket>> {
    let port = {
        let probe = UdpSocket::bind(addr)?;
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
            socket.set_nonblocking(false)?;
            socket.set_read_timeout(Some(RECV_POLL))?;
            socket.set_write_timeout(Some(SEND_TIMEOUT))?;
            // Best effort: a smaller buffer than asked for is no reason not to serve.
            let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
            let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
            socket.bind(&addr.into())?;
            Ok(socket.into())
        })
        .collect()
}

/// Sends one datagram. Blocking, but bounded by the socket's SO_SNDTIMEO
/// ([`SEND_TIMEOUT`]), so async callers may call it directly: it normally returns at once
/// and at worst after that timeout, when the datagram is dropped. True when sent.
pub(crate) fn send(socket: &UdpSocket, addr: SocketAddr, bytes: &[u8], stats: &Stats) -> bool {
    match socket.send_to(bytes, addr) {
        Ok(_) => true,
        Err(err) => {
            Stats::bump(&stats.udp_send_dropped);
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                tracing::debug!(%addr, "UDP send buffer full; datagram dropped");
            } else {
                tracing::debug!(%addr, %err, "UDP send failed");
            }
            false
        }
    }
}

/// The receive threads of every UDP socket of a server.
#[derive(Debug)]
pub(crate) struct UdpWorkers {
    /// Set when the threads must stop (shutdown, or the server was dropped).
    stop: Arc<AtomicBool>,
    /// The server's shutdown token, which also stops them.
    shutdown: CancellationToken,
    /// The runtime whose context every thread enters.
    runtime: Handle,
    sockets: Vec<Arc<UdpSocket>>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpWorkers {
    /// No threads yet; each [`UdpWorkers::spawn`] adds one.
    pub(crate) fn new(shutdown: CancellationToken, runtime: Handle) -> UdpWorkers {
        UdpWorkers {
            stop: Arc::new(AtomicBool::new(false)),
            shutdown,
            runtime,
            sockets: Vec::new(),
            threads: Vec::new(),
        }
    }

    /// Starts the receive thread of `socket`, named `sip-udp-N`.
    pub(crate) fn spawn(&mut self, core: &Arc<Core>, socket: &Arc<UdpSocket>) -> io::Result<()> {
        let core = Arc::clone(core);
        let sock = Arc::clone(socket);
        let stop = Arc::clone(&self.stop);
        let shutdown = self.shutdown.clone();
        let runtime = self.runtime.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sip-udp-{}", self.threads.len()))
            .spawn(move || {
                let _context = runtime.enter();
                receive_loop(&core, &sock, &|| {
                    stop.load(Ordering::Acquire) || shutdown.is_cancelled()
                });
            })?;
        self.sockets.push(Arc::clone(socket));
        self.threads.push(thread);
        Ok(())
    }

    /// Tells every thread to stop and wakes those blocked in `recv_from` (on Linux,
    /// shutting down the read side of an unconnected UDP socket wakes its readers;
    /// elsewhere they notice within [`RECV_POLL`]). Idempotent.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        for socket in &self.sockets {
            // Reports "not connected" on an unconnected socket while still waking it.
            let _ = SockRef::from(&**socket).shutdown(Shutdown::Read);
        }
    }

    /// Stops the threads and waits for them to end, at most `grace`; threads still
    /// running then are left to finish on their own.
    pub(crate) async fn join(&mut self, grace: Duration) {
        self.stop();
        let threads = std::mem::take(&mut self.threads);
        if threads.is_empty() {
            return;
        }
        let joined = tokio::task::spawn_blocking(move || {
            for thread in threads {
                if thread.join().is_err() {
                    tracing::error!("UDP receive thread panicked");
                }
            }
        });
        if tokio::time::timeout(grace, joined).await.is_err() {
            tracing::warn!("UDP receive threads did not stop in time; detached");
        }
    }
}

impl Drop for UdpWorkers {
    fn drop(&mut self) {
        // A server dropped without `shutdown` must not leave threads serving its sockets.
        self.stop();
    }
}

/// Receives datagrams until `stopped` and feeds them to the core, on the calling thread.
fn receive_loop(core: &Core, socket: &Arc<UdpSocket>, stopped: &dyn Fn() -> bool) {
    let local = match socket.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            tracing::error!(%err, "UDP socket has no local address");
            return;
        }
    };
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    while !stopped() {
        let (len, remote) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(err) => {
                match err.kind() {
                    // The receive timeout: look at the stop flags again.
                    io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted => {}
                    // ICMP errors from earlier sends surface here on some systems.
                    io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkUnreachable => {
                        tracing::debug!(%err, "UDP receive error");
                    }
                    _ if stopped() => break,
                    _ => {
                        tracing::debug!(%err, "UDP receive error");
                        std::thread::sleep(ERROR_BACKOFF);
                    }
                }
                continue;
            }
        };
        if stopped() {
            break;
        }
        let data = Bytes::copy_from_slice(buf.get(..len).unwrap_or_default());
        let origin = Origin {
            flow: Flow {
                transport: Transport::Udp,
                local,
                remote,
                id: None,
            },
            udp: Some(Arc::clone(socket)),
            peer_certificates: None,
        };
        // A bug below must not take the listener down with it; the tables recover from
        // a poisoned lock (`core::lock`).
        let handled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            core.on_datagram(data, &origin);
        }));
        if handled.is_err() {
            tracing::error!(from = %remote, "panic while handling a UDP datagram");
        }
    }
}
