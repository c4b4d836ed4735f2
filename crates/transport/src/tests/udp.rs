//! The datagram pipeline over real loopback sockets.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use sipwarden_wire::{HeaderName, Message};
use tokio::net::UdpSocket;

use super::{crlf, stream::core};
use crate::basic::{BasicConfig, BasicTu};
use crate::core::Origin;
use crate::flow::Flow;
use crate::limits::TransportLimits;
use crate::server::{Server, ServerConfig};
use crate::spec::{ListenSpec, Transport};

async fn setup(limits: TransportLimits) -> (Arc<crate::core::Core>, Origin, UdpSocket) {
    let core = core(limits);
    let server = Arc::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let origin = Origin {
        flow: Flow {
            transport: Transport::Udp,
            local: server.local_addr().unwrap(),
            remote: client.local_addr().unwrap(),
            id: None,
        },
        udp: Some(server),
        peer_certificates: None,
    };
    (core, origin, client)
}

async fn recv(client: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    Message::parse(Bytes::copy_from_slice(&buf[..n])).unwrap()
}

fn options(via: &str) -> Bytes {
    Bytes::from(crlf(&format!(
        "OPTIONS sip:x SIP/2.0\nVia: {via}\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: u1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"
    )))
}

#[tokio::test]
async fn retransmissions_are_absorbed_and_get_the_same_answer() {
    let (core, origin, client) = setup(TransportLimits::default()).await;
    let req = options("SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKu1");
    core.on_datagram(req.clone(), &origin);
    core.on_datagram(req, &origin);
    let first = recv(&client).await;
    let second = recv(&client).await;
    assert_eq!(first.status_code(), Some(200));
    assert_eq!(first.as_bytes(), second.as_bytes());
    assert_eq!(core.stats.snapshot().retransmissions_absorbed, 1);
    let via = String::from_utf8(first.header(HeaderName::Via).unwrap().to_vec()).unwrap();
    let port = client.local_addr().unwrap().port();
    assert_eq!(
        via,
        format!("SIP/2.0/UDP 192.0.2.1:5060;rport={port};branch=z9hG4bKu1;received=127.0.0.1")
    );
}

#[tokio::test]
async fn oversized_datagrams_get_513_when_their_head_is_readable() {
    let limits = TransportLimits {
        max_message_size: 1024,
        ..TransportLimits::default()
    };
    let (core, origin, client) = setup(limits).await;
    let mut big = crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKbig\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: big\nCSeq: 1 OPTIONS\nContent-Length: 3000\n\n");
    big.push_str(&"x".repeat(3000));
    core.on_datagram(Bytes::from(big), &origin);
    let reply = recv(&client).await;
    assert_eq!(reply.status_code(), Some(513));
    // Garbage of the same size is dropped silently.
    core.on_datagram(Bytes::from(vec![b'x'; 3000]), &origin);
    assert_eq!(core.stats.snapshot().oversized, 2);
    assert_eq!(core.stats.snapshot().error_replies, 1);
}

#[tokio::test]
async fn keep_alives_and_responses_are_not_answered() {
    let (core, origin, client) = setup(TransportLimits::default()).await;
    core.on_datagram(Bytes::from_static(b"\r\n\r\n"), &origin);
    core.on_datagram(
        Bytes::from(crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>;tag=2\nCall-ID: s\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n")),
        &origin,
    );
    // The next thing the client receives is the answer to this request.
    core.on_datagram(
        options("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKk"),
        &origin,
    );
    let reply = recv(&client).await;
    assert_eq!(reply.header(HeaderName::CallId), Some(&b"u1"[..]));
    assert_eq!(core.stats.snapshot().stray_responses, 1);
}

fn invite(branch: &str) -> Bytes {
    Bytes::from(crlf(&format!(
        "INVITE sip:x SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;rport;branch={branch}\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: {branch}\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n"
    )))
}

/// Whether the timer loop would wake up now (takes the permit if there is one).
fn woken(core: &crate::core::Core) -> bool {
    core.timer_wake.notified().now_or_never().is_some()
}

#[tokio::test(start_paused = true)]
async fn the_timer_loop_is_woken_only_for_an_earlier_deadline() {
    let (core, origin, _client) = setup(TransportLimits::default()).await;
    // Nothing armed: the first deadline (Timer J, 32 s after the 200) wakes the loop.
    assert_eq!(core.arm_timer(), None);
    core.on_datagram(
        options("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKw1"),
        &origin,
    );
    assert!(woken(&core));
    let armed = core.arm_timer().unwrap();
    // The same deadline, and later ones, leave the loop asleep.
    core.on_datagram(
        options("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKw2"),
        &origin,
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    core.on_datagram(
        options("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKw3"),
        &origin,
    );
    assert!(!woken(&core));
    assert_eq!(core.arm_timer(), Some(armed));
    // An INVITE answered 405 retransmits after T1 (Timer G): earlier, so it wakes.
    core.on_datagram(invite("z9hG4bKw4"), &origin);
    assert!(woken(&core));
    assert!(core.arm_timer().unwrap() < armed);
    // Without a re-arm in between, a later deadline does not wake it either.
    core.on_datagram(invite("z9hG4bKw5"), &origin);
    assert!(!woken(&core));
}

#[tokio::test]
async fn a_server_retransmits_over_udp_from_its_timer_loop() {
    let server = udp_server().await;
    let addr = server.local_addrs()[0].addr;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&invite("z9hG4bKr1"), addr).await.unwrap();
    // 100 Trying, the 405 and, T1 later, its retransmission (Timer G).
    let mut first = recv(&client).await;
    if first.status_code() == Some(100) {
        first = recv(&client).await;
    }
    let again = recv(&client).await;
    assert_eq!(first.status_code(), Some(405));
    assert_eq!(first.as_bytes(), again.as_bytes());
    server.shutdown().await;
}

async fn udp_server() -> Server {
    let mut config = ServerConfig::new(vec![ListenSpec::new(
        Transport::Udp,
        "127.0.0.1:0".parse().unwrap(),
    )]);
    config.limits.udp_workers = 2;
    Server::bind(config, Arc::new(BasicTu::new(BasicConfig::default())))
        .await
        .unwrap()
}

#[tokio::test]
async fn udp_receive_threads_answer_and_release_the_port_on_shutdown() {
    let server = udp_server().await;
    let addr = server.local_addrs()[0].addr;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client
        .send_to(
            &options("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKt1"),
            addr,
        )
        .await
        .unwrap();
    assert_eq!(recv(&client).await.status_code(), Some(200));
    // Garbage is answered or dropped, never the end of a receive thread.
    client.send_to(&[0xff; 300], addr).await.unwrap();
    client.send_to(b"", addr).await.unwrap();
    client
        .send_to(
            &options("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKt2"),
            addr,
        )
        .await
        .unwrap();
    assert_eq!(recv(&client).await.status_code(), Some(200));
    server.shutdown().await;
    // Every thread has ended and closed its socket: the port binds again at once.
    std::net::UdpSocket::bind(addr).unwrap();
}

#[tokio::test]
async fn a_dropped_server_stops_its_receive_threads() {
    let server = udp_server().await;
    let addr = server.local_addrs()[0].addr;
    drop(server);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::net::UdpSocket::bind(addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "port still bound");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The listeners ask for large socket buffers, so a burst that arrives while a receive
/// thread is off its core waits in the kernel instead of being dropped.
#[test]
fn udp_sockets_get_large_buffers_where_the_kernel_allows() {
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let group = crate::udp::bind_group("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    for socket in &group {
        let granted = socket2::SockRef::from(socket).recv_buffer_size().unwrap();
        if rmem_max >= 1 << 20 {
            assert!(granted >= 1 << 20, "receive buffer {granted}");
        }
    }
}
