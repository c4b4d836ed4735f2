//! A one-shot client: send one request over any transport and wait for its final
//! response. For the command-line tools and tests, not for the server's own
//! transactions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use sipwarden_wire::framing::{StreamEvent, StreamFramer};
use sipwarden_wire::{HeaderName, Limits, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::error::TransportError;
use crate::spec::Transport;

/// Where and how to send.
#[derive(Clone)]
pub struct ClientTarget {
    /// The transport.
    pub transport: Transport,
    /// The server's address.
    pub server: SocketAddr,
    /// For TLS and WSS: the client configuration and the name to verify.
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    /// For WS and WSS: the HTTP host and path of the handshake (e.g. `example.com/`).
    pub ws_resource: String,
}

impl std::fmt::Debug for ClientTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTarget")
            .field("transport", &self.transport)
            .field("server", &self.server)
            .field("tls", &self.tls.as_ref().map(|(_, name)| name))
            .finish_non_exhaustive()
    }
}

/// Retransmission interval bounds for UDP (RFC 3261 T1 and T2).
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

/// Sends the request `build` returns (it is given the local address, for the Via) and
/// returns the first final response with the same Call-ID; provisional responses are
/// skipped. Over UDP the request is retransmitted on the RFC 3261 schedule.
pub async fn exchange(
    target: &ClientTarget,
    build: impl FnOnce(SocketAddr) -> Bytes,
    timeout: Duration,
) -> Result<Message, TransportError> {
    let run = async {
        match target.transport {
            Transport::Udp => udp_exchange(target.server, build).await,
            Transport::Tcp => {
                let tcp = TcpStream::connect(target.server).await?;
                let local = tcp.local_addr()?;
                stream_exchange(tcp, build(local)).await
            }
            Transport::Tls => {
                let tcp = TcpStream::connect(target.server).await?;
                let local = tcp.local_addr()?;
                let tls = tls_connect(target, tcp).await?;
                stream_exchange(tls, build(local)).await
            }
            Transport::Ws => {
                let tcp = TcpStream::connect(target.server).await?;
                let local = tcp.local_addr()?;
                ws_exchange(tcp, "ws", &target.ws_resource, build(local)).await
            }
            Transport::Wss => {
                let tcp = TcpStream::connect(target.server).await?;
                let local = tcp.local_addr()?;
                let tls = tls_connect(target, tcp).await?;
                ws_exchange(tls, "wss", &target.ws_resource, build(local)).await
            }
        }
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| TransportError::Timeout(timeout))?
}

async fn tls_connect(
    target: &ClientTarget,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, TransportError> {
    let Some((config, name)) = &target.tls else {
        return Err(TransportError::Tls(std::io::Error::other(
            "no TLS client configuration",
        )));
    };
    tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(name.clone(), tcp)
        .await
        .map_err(TransportError::Tls)
}

fn call_id(request: &[u8]) -> Option<Vec<u8>> {
    Message::parse(Bytes::copy_from_slice(request))
        .ok()?
        .header(HeaderName::CallId)
        .map(<[u8]>::to_vec)
}

fn is_final_for(msg: &Message, call_id: Option<&[u8]>) -> bool {
    let final_code = msg.status_code().is_some_and(|c| c >= 200);
    let same_call = call_id.is_none_or(|id| msg.header(HeaderName::CallId) == Some(id));
    final_code && same_call
}

async fn udp_exchange(
    server: SocketAddr,
    build: impl FnOnce(SocketAddr) -> Bytes,
) -> Result<Message, TransportError> {
    let bind: SocketAddr = if server.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    let request = build(socket.local_addr()?);
    let id = call_id(&request);
    let mut interval = T1;
    let mut buf = vec![0u8; 65_536];
    socket.send(&request).await?;
    loop {
        match tokio::time::timeout(interval, socket.recv(&mut buf)).await {
            Ok(received) => {
                let n = received?;
                let data = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                let msg = Message::parse_datagram(data, &Limits::default())
                    .map_err(TransportError::BadResponse)?;
                if is_final_for(&msg, id.as_deref()) {
                    return Ok(msg);
                }
            }
            Err(_) => {
                socket.send(&request).await?;
                interval = (interval * 2).min(T2);
            }
        }
    }
}

async fn stream_exchange<S>(mut stream: S, request: Bytes) -> Result<Message, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let id = call_id(&request);
    stream.write_all(&request).await?;
    stream.flush().await?;
    let mut framer = StreamFramer::new(Limits::default());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(TransportError::Closed);
        }
        framer.push(buf.get(..n).unwrap_or_default());
        loop {
            match framer.next_event().map_err(TransportError::BadResponse)? {
                StreamEvent::NeedMore => break,
                StreamEvent::Message(frame) => {
                    let msg = Message::parse_frame(frame, &Limits::default())
                        .map_err(TransportError::BadResponse)?;
                    if is_final_for(&msg, id.as_deref()) {
                        return Ok(msg);
                    }
                }
                StreamEvent::Ping | StreamEvent::Pong => {}
            }
        }
    }
}

async fn ws_exchange<S>(
    stream: S,
    scheme: &str,
    resource: &str,
    request: Bytes,
) -> Result<Message, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ws_err =
        |e: tokio_tungstenite::tungstenite::Error| TransportError::WebSocket(e.to_string());
    let mut http = format!("{scheme}://{resource}")
        .into_client_request()
        .map_err(ws_err)?;
    http.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(crate::ws::SUBPROTOCOL),
    );
    let (mut ws, response) = tokio_tungstenite::client_async(http, stream)
        .await
        .map_err(ws_err)?;
    let agreed = response
        .headers()
        .get("sec-websocket-protocol")
        .is_some_and(|v| {
            v.as_bytes()
                .eq_ignore_ascii_case(crate::ws::SUBPROTOCOL.as_bytes())
        });
    if !agreed {
        return Err(TransportError::WebSocket(
            "server did not agree to the sip subprotocol".into(),
        ));
    }
    let id = call_id(&request);
    let text = String::from_utf8_lossy(&request).into_owned();
    ws.send(WsMessage::text(text)).await.map_err(ws_err)?;
    while let Some(msg) = ws.next().await {
        let data = match msg.map_err(ws_err)? {
            WsMessage::Text(t) => Bytes::from(t),
            WsMessage::Binary(b) => b,
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let msg = sipwarden_wire::framing::parse_ws_message(data, &Limits::default())
            .map_err(TransportError::BadResponse)?;
        if is_final_for(&msg, id.as_deref()) {
            let _ = ws.close(None).await;
            return Ok(msg);
        }
    }
    Err(TransportError::Closed)
}
