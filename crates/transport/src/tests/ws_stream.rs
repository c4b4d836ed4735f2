//! The WebSocket connection loop over an in-memory pipe, in virtual time.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::crlf;
use super::stream::core;
use crate::core::{lock, ConnHandle, Core, Origin};
use crate::limits::TransportLimits;
use crate::spec::Transport;
use crate::ws::WsPolicy;

async fn open(core: &Arc<Core>) -> (WebSocketStream<DuplexStream>, JoinHandle<()>) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (tx, rx) = mpsc::channel(core.limits.write_queue);
    let cancel = CancellationToken::new();
    let handle = ConnHandle {
        tx: tx.clone(),
        cancel: cancel.clone(),
    };
    let flow = lock(&core.conns)
        .admit(
            Transport::Ws,
            "127.0.0.1:8080".parse().unwrap(),
            "192.0.2.1:40000".parse().unwrap(),
            handle,
        )
        .unwrap();
    let origin = Origin {
        flow,
        udp: None,
        peer_certificates: None,
    };
    let task = tokio::spawn(crate::ws::serve(
        Arc::clone(core),
        server,
        origin,
        tx,
        rx,
        cancel,
        Arc::new(WsPolicy::default()),
    ));
    let mut request = "ws://127.0.0.1:8080/".into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(request, client)
        .await
        .unwrap();
    (ws, task)
}

fn options() -> String {
    crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/WS abc.invalid;branch=z9hG4bKws1\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: ws1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n\n")
}

#[tokio::test(start_paused = true)]
async fn one_sip_message_per_websocket_message() {
    let core = core(TransportLimits::default());
    let (mut ws, _task) = open(&core).await;
    ws.send(WsMessage::text(options())).await.unwrap();
    let reply = match ws.next().await.unwrap().unwrap() {
        WsMessage::Text(t) => t.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(reply.starts_with("SIP/2.0 200 OK\r\n"), "{reply}");
    assert!(
        reply.contains("Via: SIP/2.0/WS abc.invalid;branch=z9hG4bKws1;received=192.0.2.1\r\n"),
        "{reply}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_partial_frame_is_cut_off_at_the_message_timeout() {
    let limits = TransportLimits {
        message_timeout: Duration::from_secs(4),
        ..TransportLimits::default()
    };
    let core = core(limits);
    let (mut ws, task) = open(&core).await;
    let start = Instant::now();
    // A masked text frame header announcing 100 bytes, and nothing more.
    ws.get_mut()
        .write_all(&[0x81, 0xE4, 1, 2, 3, 4, b'O'])
        .await
        .unwrap();
    let mut rest = Vec::new();
    ws.get_mut().read_to_end(&mut rest).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    task.await.unwrap();
    assert_eq!(core.stats.snapshot().slow_senders, 1);
}

#[tokio::test(start_paused = true)]
async fn pings_keep_a_connection_without_messages_alive() {
    let limits = TransportLimits {
        message_timeout: Duration::from_secs(4),
        idle_timeout: Duration::from_secs(30),
        ..TransportLimits::default()
    };
    let core = core(limits);
    let (mut ws, _task) = open(&core).await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(20)).await;
        ws.send(WsMessage::Ping(Default::default())).await.unwrap();
        match ws.next().await.unwrap().unwrap() {
            WsMessage::Pong(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(core.stats.snapshot().slow_senders, 0);
    assert_eq!(core.stats.snapshot().idle_closed, 0);
}
