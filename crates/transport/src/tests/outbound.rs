//! Outbound sends through a real server on loopback: connection reuse (by address and
//! by alias), new connections, and UDP from the listening socket.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::crlf;
use crate::basic::{BasicConfig, BasicTu};
use crate::outbound::{SendError, Target};
use crate::server::{Server, ServerConfig};
use crate::spec::{ListenSpec, Transport};

async fn server() -> Server {
    let config = ServerConfig::new(vec![
        "udp:127.0.0.1:0".parse::<ListenSpec>().unwrap(),
        "tcp:127.0.0.1:0".parse::<ListenSpec>().unwrap(),
    ]);
    Server::bind(config, Arc::new(BasicTu::new(BasicConfig::default())))
        .await
        .unwrap()
}

fn addr_of(server: &Server, transport: Transport) -> std::net::SocketAddr {
    server
        .local_addrs()
        .iter()
        .find(|s| s.transport == transport)
        .unwrap()
        .addr
}

async fn read_some(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn a_client_advertising_an_alias_is_reached_over_its_own_connection() {
    let server = server().await;
    let handle = server.handle();
    let mut client = TcpStream::connect(addr_of(&server, Transport::Tcp))
        .await
        .unwrap();
    // RFC 5923: the client says its listening address is 127.0.0.1:5999 (nothing
    // listens there) and that this connection may be reused to reach it.
    let req = crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1:5999;alias;branch=z9hG4bKal1\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: al1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n");
    client.write_all(req.as_bytes()).await.unwrap();
    assert!(read_some(&mut client).await.starts_with("SIP/2.0 200 OK"));
    let target = Target {
        transport: Transport::Tcp,
        addr: "127.0.0.1:5999".parse().unwrap(),
        tls: None,
    };
    let flow = handle
        .send(&target, Bytes::from_static(b"NOTIFY-ish bytes"))
        .await
        .unwrap();
    assert_eq!(flow.remote, client.local_addr().unwrap());
    assert_eq!(read_some(&mut client).await, "NOTIFY-ish bytes");
    // The same flow is reachable by id.
    handle
        .send_on_flow(flow.id.unwrap(), Bytes::from_static(b"again"))
        .unwrap();
    assert_eq!(read_some(&mut client).await, "again");
    assert!(handle.flow(flow.id.unwrap()).is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn a_new_connection_is_opened_once_and_then_reused() {
    let server = server().await;
    let handle = server.handle();
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target {
        transport: Transport::Tcp,
        addr: peer.local_addr().unwrap(),
        tls: None,
    };
    let first = handle
        .send(&target, Bytes::from_static(b"one"))
        .await
        .unwrap();
    let (mut conn, _) = peer.accept().await.unwrap();
    assert_eq!(read_some(&mut conn).await, "one");
    let second = handle
        .send(&target, Bytes::from_static(b"two"))
        .await
        .unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(read_some(&mut conn).await, "two");
    // Requests arriving on the outbound connection are served like any other.
    let req = crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKob1\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: ob1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    assert!(read_some(&mut conn).await.starts_with("SIP/2.0 200 OK"));
    assert_eq!(server.connections(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn udp_goes_out_from_the_listening_socket_and_limits_apply() {
    let server = server().await;
    let handle = server.handle();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = Target {
        transport: Transport::Udp,
        addr: peer.local_addr().unwrap(),
        tls: None,
    };
    handle
        .send(&target, Bytes::from_static(b"ping"))
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from, addr_of(&server, Transport::Udp));
    let huge = Bytes::from(vec![b'x'; 70_000]);
    assert!(matches!(
        handle.send(&target, huge).await,
        Err(SendError::TooLarge)
    ));
    let tls = Target {
        transport: Transport::Tls,
        addr: peer.local_addr().unwrap(),
        tls: None,
    };
    assert!(handle.send(&tls, Bytes::from_static(b"x")).await.is_err());
    server.shutdown().await;
}
