//! One stream connection (TCP or TLS): a reader that frames, applies the idle and
//! slow-sender deadlines and answers keep-alives, and a writer that drains the bounded
//! write queue with a per-write timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sipwarden_wire::framing::{StreamEvent, StreamFramer, PONG};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::{now, Core, Origin, Outgoing};
use crate::deadline::{Expiry, ReadClock};
use crate::stats::Stats;

/// Size of one read from the socket.
const READ_CHUNK: usize = 16 * 1024;

/// Serves a connection until it closes, fails a deadline or is cancelled.
pub(crate) async fn serve<S>(
    core: Arc<Core>,
    stream: S,
    origin: Origin,
    tx: mpsc::Sender<Outgoing>,
    rx: mpsc::Receiver<Outgoing>,
    cancel: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut rd, wr) = tokio::io::split(stream);
    let writer = tokio::spawn(write_loop(Arc::clone(&core), wr, rx, cancel.clone()));

    let mut framer = StreamFramer::new(core.wire);
    let mut clock = ReadClock::new(now());
    let mut buf = vec![0u8; READ_CHUNK];
    'read: loop {
        let (deadline, expiry) = clock.deadline(&core.limits);
        let read = tokio::select! {
            _ = cancel.cancelled() => break,
            r = tokio::time::timeout_at(deadline.into(), rd.read(&mut buf)) => r,
        };
        let n = match read {
            Err(_elapsed) => {
                on_expiry(&core, &origin, expiry);
                break;
            }
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
            Ok(Err(err)) => {
                tracing::debug!(flow = %origin.flow, %err, "read failed");
                break;
            }
        };
        framer.push(buf.get(..n).unwrap_or_default());
        let mut completed = false;
        loop {
            match framer.next_event() {
                Ok(StreamEvent::NeedMore) => break,
                Ok(StreamEvent::Message(frame)) => {
                    completed = true;
                    core.on_frame(frame, &origin, false);
                }
                Ok(StreamEvent::Ping) => {
                    completed = true;
                    // RFC 5626 §3.5.1: answer a double CRLF with a single one.
                    if tx
                        .try_send(Outgoing::Message(Bytes::from_static(PONG)))
                        .is_err()
                    {
                        break 'read;
                    }
                }
                Ok(StreamEvent::Pong) => completed = true,
                Err(err) => {
                    core.on_stream_failure(framer.refused_head().cloned(), &err, &origin);
                    break 'read;
                }
            }
        }
        clock.on_read(now(), completed, framer.has_partial());
    }

    finish(&core, &origin, tx, cancel, writer).await;
}

/// Records why a read deadline closed the connection.
pub(crate) fn on_expiry(core: &Core, origin: &Origin, expiry: Expiry) {
    match expiry {
        Expiry::Idle => {
            Stats::bump(&core.stats.idle_closed);
            tracing::debug!(flow = %origin.flow, "idle connection closed");
        }
        Expiry::SlowSender => {
            Stats::bump(&core.stats.slow_senders);
            tracing::info!(flow = %origin.flow, "message not completed in time; connection closed");
        }
    }
}

/// Tears a connection down: forget it, let the writer flush what is queued (bounded by
/// the write timeout), then close.
pub(crate) async fn finish(
    core: &Core,
    origin: &Origin,
    tx: mpsc::Sender<Outgoing>,
    cancel: CancellationToken,
    writer: tokio::task::JoinHandle<()>,
) {
    if let Some(id) = origin.flow.id {
        core.remove_flow(id);
    }
    if tx.try_send(Outgoing::CloseAfterFlush).is_err() {
        cancel.cancel();
    }
    drop(tx);
    let grace = core
        .limits
        .write_timeout
        .saturating_add(Duration::from_secs(1));
    if tokio::time::timeout(grace, writer).await.is_err() {
        cancel.cancel();
    }
    tracing::debug!(flow = %origin.flow, "connection closed");
}

async fn write_loop<W>(
    core: Arc<Core>,
    mut wr: W,
    mut rx: mpsc::Receiver<Outgoing>,
    cancel: CancellationToken,
) where
    W: AsyncWrite + Unpin,
{
    let write_timeout = core.limits.write_timeout;
    loop {
        let item = tokio::select! {
            _ = cancel.cancelled() => break,
            item = rx.recv() => item,
        };
        match item {
            Some(Outgoing::Message(bytes)) => {
                let write = async {
                    wr.write_all(&bytes).await?;
                    wr.flush().await
                };
                match tokio::time::timeout(write_timeout, write).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => {
                        tracing::debug!(%err, "write failed");
                        break;
                    }
                    Err(_) => {
                        Stats::bump(&core.stats.backpressure_closed);
                        tracing::info!("peer not reading; connection closed");
                        break;
                    }
                }
            }
            Some(Outgoing::CloseAfterFlush) | None => {
                let _ = tokio::time::timeout(write_timeout, wr.shutdown()).await;
                break;
            }
        }
    }
    // Wake the reader if it is still waiting.
    cancel.cancel();
}
