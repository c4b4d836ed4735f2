//! The datagram pipeline over real loopback sockets.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sipwarden_wire::{HeaderName, Message};
use tokio::net::UdpSocket;

use super::{crlf, stream::core};
use crate::core::Origin;
use crate::flow::Flow;
use crate::limits::TransportLimits;
use crate::spec::Transport;

async fn setup(limits: TransportLimits) -> (Arc<crate::core::Core>, Origin, UdpSocket) {
    let core = core(limits);
    let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
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
