//! The stream connection loop over an in-memory pipe, in tokio's paused (virtual) time:
//! deadlines are asserted exactly, with no real waiting.

use std::sync::Arc;
use std::time::Duration;

use sipwarden_wire::framing::{StreamEvent, StreamFramer};
use sipwarden_wire::{Limits, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::crlf;
use crate::basic::{BasicConfig, BasicTu};
use crate::core::{lock, ConnHandle, Core, Origin};
use crate::limits::TransportLimits;
use crate::spec::Transport;

pub(crate) fn core(limits: TransportLimits) -> Arc<Core> {
    Core::new(
        limits,
        sipwarden_txn::Config::default(),
        None,
        Arc::new(BasicTu::new(BasicConfig::default())),
        CancellationToken::new(),
    )
    .unwrap()
}

fn open(core: &Arc<Core>, pipe: usize) -> (DuplexStream, JoinHandle<()>) {
    let (client, server) = tokio::io::duplex(pipe);
    let (tx, rx) = mpsc::channel(core.limits.write_queue);
    let cancel = CancellationToken::new();
    let handle = ConnHandle {
        tx: tx.clone(),
        cancel: cancel.clone(),
    };
    let flow = lock(&core.conns)
        .admit(
            Transport::Tcp,
            "127.0.0.1:5060".parse().unwrap(),
            "192.0.2.1:40000".parse().unwrap(),
            handle,
        )
        .unwrap();
    let origin = Origin {
        flow,
        udp: None,
        peer_certificates: None,
    };
    let task = tokio::spawn(crate::stream::serve(
        Arc::clone(core),
        server,
        origin,
        tx,
        rx,
        cancel,
    ));
    (client, task)
}

fn options(branch: u32) -> String {
    crlf(&format!(
        "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{branch}\nFrom: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: c{branch}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"
    ))
}

/// Reads until `n` messages arrived.
async fn responses(client: &mut DuplexStream, n: usize) -> Vec<Message> {
    let mut framer = StreamFramer::new(Limits::default());
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        let read = client.read(&mut buf).await.unwrap();
        assert!(read > 0, "closed after {} responses", out.len());
        framer.push(&buf[..read]);
        while let StreamEvent::Message(frame) = framer.next_event().unwrap() {
            out.push(Message::parse_frame(frame, &Limits::default()).unwrap());
        }
    }
    out
}

/// Reads until EOF and returns what arrived.
async fn until_closed(client: &mut DuplexStream) -> Vec<u8> {
    let mut all = Vec::new();
    client.read_to_end(&mut all).await.unwrap();
    all
}

#[tokio::test(start_paused = true)]
async fn a_slow_sender_is_cut_off_exactly_at_the_message_timeout() {
    let limits = TransportLimits {
        message_timeout: Duration::from_secs(7),
        ..TransportLimits::default()
    };
    let core = core(limits);
    let (mut client, task) = open(&core, 4096);
    let start = Instant::now();
    client
        .write_all(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h")
        .await
        .unwrap();
    assert!(until_closed(&mut client).await.is_empty());
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    task.await.unwrap();
    assert_eq!(core.stats.snapshot().slow_senders, 1);
    assert!(lock(&core.conns).is_empty(), "the flow is forgotten");
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_at_the_idle_timeout() {
    let core = core(TransportLimits::default());
    let (mut client, task) = open(&core, 4096);
    let start = Instant::now();
    // A complete message and a keep-alive keep nothing pending.
    client.write_all(options(1).as_bytes()).await.unwrap();
    let got = responses(&mut client, 1).await;
    assert_eq!(got[0].status_code(), Some(200));
    assert!(until_closed(&mut client).await.is_empty());
    assert_eq!(start.elapsed(), TransportLimits::default().idle_timeout);
    task.await.unwrap();
    assert_eq!(core.stats.snapshot().idle_closed, 1);
}

#[tokio::test(start_paused = true)]
async fn pipelined_and_fragmented_messages_are_all_answered() {
    let core = core(TransportLimits::default());
    let (mut client, _task) = open(&core, 64 * 1024);
    let two = format!("{}{}", options(1), options(2));
    client.write_all(two.as_bytes()).await.unwrap();
    let third = options(3);
    let (a, b) = third.as_bytes().split_at(30);
    client.write_all(a).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    client.write_all(b).await.unwrap();
    let got = responses(&mut client, 3).await;
    let call_ids: Vec<_> = got
        .iter()
        .map(|m| {
            m.header(sipwarden_wire::HeaderName::CallId)
                .unwrap()
                .to_vec()
        })
        .collect();
    assert_eq!(
        call_ids,
        vec![b"c1".to_vec(), b"c2".to_vec(), b"c3".to_vec()]
    );
    assert!(got.iter().all(|m| m.status_code() == Some(200)));
}

#[tokio::test(start_paused = true)]
async fn a_crlf_ping_gets_a_pong() {
    let core = core(TransportLimits::default());
    let (mut client, _task) = open(&core, 4096);
    client.write_all(b"\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 8];
    let n = client.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"\r\n");
}

#[tokio::test(start_paused = true)]
async fn an_oversized_message_gets_513_and_the_connection_closes() {
    let limits = TransportLimits {
        max_message_size: 1024,
        ..TransportLimits::default()
    };
    let core = core(limits);
    let (mut client, task) = open(&core, 64 * 1024);
    let big = options(1).replace("Content-Length: 0", "Content-Length: 5000");
    client.write_all(big.as_bytes()).await.unwrap();
    let rest = until_closed(&mut client).await;
    let reply = String::from_utf8(rest).unwrap();
    assert!(
        reply.starts_with("SIP/2.0 513 Message Too Large\r\n"),
        "{reply}"
    );
    task.await.unwrap();
    assert_eq!(core.stats.snapshot().oversized, 1);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_but_framed_message_gets_400_and_the_connection_stays() {
    let core = core(TransportLimits::default());
    let (mut client, _task) = open(&core, 64 * 1024);
    let bad = options(1).replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nno colon here\r\n",
    );
    client.write_all(bad.as_bytes()).await.unwrap();
    client.write_all(options(2).as_bytes()).await.unwrap();
    let got = responses(&mut client, 2).await;
    assert_eq!(got[0].status_code(), Some(400));
    assert_eq!(
        got[0].reason_phrase(),
        b"Bad Request (malformed header line)"
    );
    assert_eq!(got[1].status_code(), Some(200));
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_does_not_read_is_disconnected() {
    let limits = TransportLimits {
        write_queue: 2,
        ..TransportLimits::default()
    };
    let core = core(limits);
    // A tiny pipe: the first response fills it and the writer blocks.
    let (mut client, task) = open(&core, 128);
    let many: String = (0..20).map(options).collect();
    // Written in the background: the server stops reading once it is disconnected.
    let (_rd, mut wr) = tokio::io::split(&mut client);
    let _ = tokio::time::timeout(Duration::from_secs(60), wr.write_all(many.as_bytes())).await;
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();
    assert!(core.stats.snapshot().backpressure_closed >= 1);
    assert!(lock(&core.conns).is_empty());
}
