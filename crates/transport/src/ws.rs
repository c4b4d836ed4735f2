//! SIP over WebSocket (RFC 7118): the handshake policy and the connection loop. Each
//! WebSocket text or binary message carries exactly one SIP message.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use crate::core::{now, Core, Origin, Outgoing};
use crate::deadline::ReadClock;
use crate::stats::Stats;

/// The WebSocket subprotocol of RFC 7118.
pub const SUBPROTOCOL: &str = "sip";

/// Who may open SIP WebSocket connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsPolicy {
    /// When set, a handshake carrying an `Origin` header must name one of these
    /// origins (compared case-insensitively, e.g. `https://phone.example.com`).
    /// Handshakes without `Origin` (non-browser clients) are always allowed.
    pub allowed_origins: Option<Vec<String>>,
}

/// Why a WebSocket handshake was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeRefusal {
    /// The client did not offer the `sip` subprotocol.
    #[error("Sec-WebSocket-Protocol must offer \"sip\"")]
    NoSipSubprotocol,
    /// The `Origin` is not allowed by the policy.
    #[error("origin not allowed")]
    OriginNotAllowed,
}

/// Checks a handshake's `Sec-WebSocket-Protocol` values (each a comma-separated list)
/// and `Origin` against the policy.
pub fn check_handshake<'a>(
    protocols: impl IntoIterator<Item = &'a [u8]>,
    origin: Option<&[u8]>,
    policy: &WsPolicy,
) -> Result<(), HandshakeRefusal> {
    let offers_sip = protocols.into_iter().any(|value| {
        value
            .split(|&b| b == b',')
            .any(|p| p.trim_ascii().eq_ignore_ascii_case(SUBPROTOCOL.as_bytes()))
    });
    if !offers_sip {
        return Err(HandshakeRefusal::NoSipSubprotocol);
    }
    if let (Some(allowed), Some(origin)) = (&policy.allowed_origins, origin) {
        let origin = origin.trim_ascii();
        if !allowed
            .iter()
            .any(|a| a.as_bytes().eq_ignore_ascii_case(origin))
        {
            return Err(HandshakeRefusal::OriginNotAllowed);
        }
    }
    Ok(())
}

// The signature is the WebSocket library's callback type.
#[allow(clippy::result_large_err)]
fn on_handshake(
    req: &Request,
    mut resp: Response,
    policy: &WsPolicy,
) -> Result<Response, ErrorResponse> {
    let protocols = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .map(HeaderValue::as_bytes);
    let origin = req.headers().get("origin").map(HeaderValue::as_bytes);
    match check_handshake(protocols, origin, policy) {
        Ok(()) => {
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static(SUBPROTOCOL),
            );
            Ok(resp)
        }
        Err(refusal) => {
            let status = match refusal {
                HandshakeRefusal::NoSipSubprotocol => StatusCode::BAD_REQUEST,
                HandshakeRefusal::OriginNotAllowed => StatusCode::FORBIDDEN,
            };
            let mut err = ErrorResponse::new(Some(refusal.to_string()));
            *err.status_mut() = status;
            Err(err)
        }
    }
}

/// Serves a WebSocket connection (the TCP or TLS stream under it is already open).
pub(crate) async fn serve<S>(
    core: Arc<Core>,
    stream: S,
    origin: Origin,
    tx: mpsc::Sender<Outgoing>,
    rx: mpsc::Receiver<Outgoing>,
    cancel: CancellationToken,
    policy: Arc<WsPolicy>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let max = core.limits.max_message_size;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let activity = Arc::new(Activity::default());
    let stream = Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    };
    #[allow(clippy::result_large_err)]
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |req: &Request, resp: Response| on_handshake(req, resp, &policy),
        Some(config),
    );
    let ws = match tokio::time::timeout(core.limits.handshake_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(err)) => {
            Stats::bump(&core.stats.handshake_failures);
            tracing::info!(flow = %origin.flow, %err, "WebSocket handshake refused");
            if let Some(id) = origin.flow.id {
                core.remove_flow(id);
            }
            return;
        }
        Err(_) => {
            Stats::bump(&core.stats.handshake_failures);
            tracing::info!(flow = %origin.flow, "WebSocket handshake timed out");
            if let Some(id) = origin.flow.id {
                core.remove_flow(id);
            }
            return;
        }
    };
    let (sink, mut messages) = ws.split();
    let writer = tokio::spawn(write_loop(Arc::clone(&core), sink, rx, cancel.clone()));

    let mut clock = ReadClock::new(now());
    activity.reset();
    'read: loop {
        let mut next = messages.next();
        // The WebSocket layer hides partial frames; `activity` says when bytes of the
        // next one began to arrive, and wakes this loop to apply the message deadline.
        let item = loop {
            clock.on_read(now(), false, activity.partial_since().is_some());
            if let Some(since) = activity.partial_since() {
                clock.started_at(since);
            }
            let (deadline, expiry) = clock.deadline(&core.limits);
            tokio::select! {
                _ = cancel.cancelled() => break 'read,
                item = &mut next => break item,
                _ = tokio::time::sleep_until(deadline.into()) => {
                    crate::stream::on_expiry(&core, &origin, expiry);
                    break 'read;
                }
                _ = activity.started.notified() => {}
            }
        };
        let msg = match item {
            None => break,
            Some(Err(err)) => {
                tracing::debug!(flow = %origin.flow, %err, "WebSocket read failed");
                break;
            }
            Some(Ok(msg)) => msg,
        };
        activity.reset();
        clock.on_read(now(), true, false);
        match msg {
            WsMessage::Text(text) => core.on_frame(Bytes::from(text), &origin, true),
            WsMessage::Binary(data) => core.on_frame(data, &origin, true),
            WsMessage::Close(_) => break,
            // Pings are answered by the WebSocket layer itself.
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => {}
        }
    }
    crate::stream::finish(&core, &origin, tx, cancel, writer).await;
}

/// When the bytes of the next WebSocket frame began to arrive.
#[derive(Debug, Default)]
struct Activity {
    partial_since: std::sync::Mutex<Option<std::time::Instant>>,
    started: tokio::sync::Notify,
}

impl Activity {
    fn partial_since(&self) -> Option<std::time::Instant> {
        *crate::core::lock(&self.partial_since)
    }

    /// Bytes arrived: the first ones after a complete frame start the clock.
    fn mark(&self) {
        let mut since = crate::core::lock(&self.partial_since);
        if since.is_none() {
            *since = Some(now());
            drop(since);
            self.started.notify_one();
        }
    }

    fn reset(&self) {
        *crate::core::lock(&self.partial_since) = None;
    }
}

/// A stream that reports reads to an [`Activity`].
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.mark();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn write_loop<Si>(
    core: Arc<Core>,
    mut sink: Si,
    mut rx: mpsc::Receiver<Outgoing>,
    cancel: CancellationToken,
) where
    Si: Sink<WsMessage> + Unpin,
    Si::Error: std::fmt::Display,
{
    let write_timeout: Duration = core.limits.write_timeout;
    loop {
        let item = tokio::select! {
            _ = cancel.cancelled() => break,
            item = rx.recv() => item,
        };
        match item {
            Some(Outgoing::Message(bytes)) => {
                // SIP is text; a body that is not UTF-8 goes as a binary message.
                let msg = match std::str::from_utf8(&bytes) {
                    Ok(text) => WsMessage::text(text),
                    Err(_) => WsMessage::binary(bytes),
                };
                match tokio::time::timeout(write_timeout, sink.send(msg)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => {
                        tracing::debug!(%err, "WebSocket write failed");
                        break;
                    }
                    Err(_) => {
                        Stats::bump(&core.stats.backpressure_closed);
                        tracing::info!("WebSocket peer not reading; connection closed");
                        break;
                    }
                }
            }
            Some(Outgoing::CloseAfterFlush) | None => {
                let _ = tokio::time::timeout(write_timeout, sink.close()).await;
                break;
            }
        }
    }
    cancel.cancel();
}
