//! Client transactions through a real server on loopback: responses reach the sink,
//! UDP retransmissions and Timer F, new TCP connections, and flows that are gone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sipwarden_wire::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use super::crlf;
use crate::basic::{BasicConfig, BasicTu};
use crate::client_txn::{ClientFailure, ClientRoute, ClientSink, StartError};
use crate::flow::FlowId;
use crate::outbound::{SendError, Target};
use crate::server::{Server, ServerConfig};
use crate::spec::{ListenSpec, Transport};

#[derive(Default)]
struct Recorder {
    responses: Mutex<Vec<u16>>,
    failures: Mutex<Vec<ClientFailure>>,
}

impl ClientSink for Recorder {
    fn on_response(&self, response: Message) {
        self.responses
            .lock()
            .unwrap()
            .push(response.status_code().unwrap());
    }
    fn on_failure(&self, failure: ClientFailure) {
        self.failures.lock().unwrap().push(failure);
    }
}

async fn server(t1: Duration) -> Server {
    let mut config = ServerConfig::new(vec![
        "udp:127.0.0.1:0".parse::<ListenSpec>().unwrap(),
        "tcp:127.0.0.1:0".parse::<ListenSpec>().unwrap(),
    ]);
    config.transactions.timers.t1 = t1;
    config.transactions.timers.t2 = t1 * 8;
    Server::bind(config, Arc::new(BasicTu::new(BasicConfig::default())))
        .await
        .unwrap()
}

fn request(method: &str, transport: &str, branch: &str) -> Bytes {
    Bytes::from(crlf(&format!(
        "{method} sip:bob@127.0.0.1 SIP/2.0\nVia: SIP/2.0/{transport} 127.0.0.1:5060;branch={branch}\nFrom: <sip:a@x>;tag=1\nTo: <sip:bob@x>\nCall-ID: {branch}\nCSeq: 1 {method}\nMax-Forwards: 70\nContent-Length: 0\n\n"
    )))
}

/// A response to `req` (its first Via kept) with this status.
fn answer(req: &str, code: u16, reason: &str) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for line in req.split("\r\n") {
        let l = line.to_ascii_lowercase();
        if ["via:", "from:", "call-id:", "cseq:"]
            .iter()
            .any(|p| l.starts_with(p))
        {
            out.push_str(line);
            out.push_str("\r\n");
        } else if l.starts_with("to:") {
            out.push_str(line);
            out.push_str(";tag=callee\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

async fn wait_for(mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not met in time");
}

#[tokio::test]
async fn udp_responses_reach_the_sink() {
    let server = server(Duration::from_millis(500)).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = Arc::new(Recorder::default());
    let route = ClientRoute::Target(Target {
        transport: Transport::Udp,
        addr: peer.local_addr().unwrap(),
        tls: None,
    });
    let txn = server
        .handle()
        .start_client(&route, request("INVITE", "UDP", "z9hG4bKct1"), sink.clone())
        .await
        .unwrap();
    assert_eq!(txn.flow.transport, Transport::Udp);
    let mut buf = vec![0u8; 4096];
    let (n, from) = peer.recv_from(&mut buf).await.unwrap();
    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(req.starts_with("INVITE "));
    for (code, reason) in [(180, "Ringing"), (200, "OK")] {
        peer.send_to(answer(&req, code, reason).as_bytes(), from)
            .await
            .unwrap();
    }
    wait_for(|| sink.responses.lock().unwrap().len() == 2).await;
    assert_eq!(*sink.responses.lock().unwrap(), vec![180, 200]);
    assert!(sink.failures.lock().unwrap().is_empty());
}

#[tokio::test]
async fn udp_requests_are_retransmitted_then_time_out() {
    let server = server(Duration::from_millis(10)).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = Arc::new(Recorder::default());
    let route = ClientRoute::Target(Target {
        transport: Transport::Udp,
        addr: peer.local_addr().unwrap(),
        tls: None,
    });
    server
        .handle()
        .start_client(
            &route,
            request("OPTIONS", "UDP", "z9hG4bKct2"),
            sink.clone(),
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    for _ in 0..3 {
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"OPTIONS "));
    }
    // Timer F = 64·T1 = 640 ms.
    wait_for(|| !sink.failures.lock().unwrap().is_empty()).await;
    assert_eq!(*sink.failures.lock().unwrap(), vec![ClientFailure::Timeout]);
}

#[tokio::test]
async fn a_tcp_target_gets_a_new_connection_and_answers_on_it() {
    let server = server(Duration::from_millis(500)).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink = Arc::new(Recorder::default());
    let route = ClientRoute::Target(Target {
        transport: Transport::Tcp,
        addr: listener.local_addr().unwrap(),
        tls: None,
    });
    let handle = server.handle();
    let start = handle.start_client(&route, request("BYE", "TCP", "z9hG4bKct3"), sink.clone());
    let (txn, accepted) = tokio::join!(start, listener.accept());
    let txn = txn.unwrap();
    assert!(txn.flow.id.is_some());
    let (mut conn, _) = accepted.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(req.starts_with("BYE "), "{req}");
    conn.write_all(answer(&req, 200, "OK").as_bytes())
        .await
        .unwrap();
    wait_for(|| sink.responses.lock().unwrap().len() == 1).await;
    assert_eq!(*sink.responses.lock().unwrap(), vec![200]);
}

#[tokio::test]
async fn a_flow_that_is_gone_is_refused() {
    let server = server(Duration::from_millis(500)).await;
    let err = server
        .handle()
        .start_client(
            &ClientRoute::Flow(FlowId(999_999)),
            request("INVITE", "TCP", "z9hG4bKct4"),
            Arc::new(Recorder::default()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StartError::Send(SendError::NoSuchFlow)),
        "{err}"
    );
}
