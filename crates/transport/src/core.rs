//! The shared state of a running server and the inbound pipeline: parsed messages go
//! through the Via stamp, the transaction table and on to the transaction user;
//! whatever the transactions emit is sent here.
//!
//! Locks (the transaction table, the connection table) are held only while the table
//! is consulted; every send happens after they are released.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use bytes::Bytes;
use rustls::pki_types::CertificateDer;
use sipwarden_txn::{
    Event, Reliability, RequestOutcome, ResponseOutcome, Transactions, Transmit, TxnError, TxnId,
};
use sipwarden_wire::build::response_to;
use sipwarden_wire::framing::{self, Datagram};
use sipwarden_wire::{Limits, Message, Method, ParseError};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::client_txn::{ClientFailure, ClientSink};
use crate::flow::{ConnectionTable, Flow, FlowId};
use crate::inbound;
use crate::limits::TransportLimits;
use crate::reply::{self, TagMaker};
use crate::spec::Transport;
use crate::stats::Stats;
use crate::tu::{IncomingRequest, RespondError, RespondSink, Responder, Screen, TransactionUser};
use crate::udp;
use crate::via::TopVia;

/// What the connection table keeps per connection: its write queue and its kill switch.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    pub(crate) tx: mpsc::Sender<Outgoing>,
    pub(crate) cancel: CancellationToken,
}

/// One item of a connection's write queue.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Bytes to write as they are (a SIP message or a keep-alive).
    Message(Bytes),
    /// Write everything queued before, then close.
    CloseAfterFlush,
}

/// Where a transaction sends its messages.
#[derive(Debug, Clone)]
pub(crate) enum Dest {
    /// A datagram from this socket to this address.
    Udp {
        socket: Arc<UdpSocket>,
        addr: SocketAddr,
    },
    /// Over this connection; if it is gone, over another connection of the same
    /// transport to the same remote address.
    Flow {
        id: FlowId,
        transport: Transport,
        remote: SocketAddr,
    },
}

/// Where a message came from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) flow: Flow,
    pub(crate) udp: Option<Arc<UdpSocket>>,
    pub(crate) peer_certificates: Option<Arc<[CertificateDer<'static>]>>,
}

impl Origin {
    /// Where a stateless answer to a message from here goes: back to the source.
    fn source_dest(&self) -> Dest {
        match (&self.udp, self.flow.id) {
            (Some(socket), _) => Dest::Udp {
                socket: Arc::clone(socket),
                addr: self.flow.remote,
            },
            (None, Some(id)) => Dest::Flow {
                id,
                transport: self.flow.transport,
                remote: self.flow.remote,
            },
            // A stream flow always has an id; fall back to the socket address.
            (None, None) => Dest::Flow {
                id: FlowId(0),
                transport: self.flow.transport,
                remote: self.flow.remote,
            },
        }
    }
}

/// Locks a mutex, recovering the data if a holder panicked: every critical section
/// here leaves the tables consistent between statements.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The current time, from tokio's clock so paused-time tests drive it.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Shared state of one server.
pub(crate) struct Core {
    pub(crate) limits: TransportLimits,
    pub(crate) wire: Limits,
    /// Limits for re-indexing a request after the Via stamp made it slightly longer.
    stamped_wire: Limits,
    pub(crate) server_header: Option<String>,
    tu: Arc<dyn TransactionUser>,
    txns: Mutex<Transactions<Dest>>,
    /// Wakes the timer loop when a deadline earlier than `armed` appears.
    pub(crate) timer_wake: Notify,
    /// The deadline the timer loop sleeps until, in nanoseconds since `epoch`
    /// ([`NO_DEADLINE`] when it waits for a wake-up only). Written and compared only with
    /// `txns` locked; see [`Core::arm_timer`].
    armed: AtomicU64,
    /// The origin of `armed`.
    epoch: Instant,
    pub(crate) conns: Mutex<ConnectionTable<ConnHandle>>,
    tags: TagMaker,
    pub(crate) stats: Stats,
    /// The UDP sockets of every UDP listener, for outbound datagrams.
    pub(crate) udp_sockets: std::sync::OnceLock<Vec<Arc<UdpSocket>>>,
    /// Cancelled when the server stops; connections hold child tokens.
    pub(crate) shutdown: CancellationToken,
    /// Who listens to each client transaction (see [`crate::client_txn`]).
    pub(crate) clients: Mutex<HashMap<TxnId, Arc<dyn ClientSink>>>,
    me: Weak<Core>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// `Core::armed` when the timer loop has no deadline.
const NO_DEADLINE: u64 = u64::MAX;

/// Room the Via stamp may add: `;rport=65535;received=` and an IPv6 address.
const STAMP_SLACK: usize = 96;

impl Core {
    pub(crate) fn new(
        limits: TransportLimits,
        txn: sipwarden_txn::Config,
        server_header: Option<String>,
        tu: Arc<dyn TransactionUser>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Core>, sipwarden_txn::ConfigError> {
        let txns = Transactions::new(txn)?;
        let wire = limits.wire_limits();
        let stamped_wire = Limits {
            max_message_size: wire.max_message_size.saturating_add(STAMP_SLACK),
            max_head_size: wire.max_head_size.saturating_add(STAMP_SLACK),
            max_line_len: wire.max_line_len.saturating_add(STAMP_SLACK),
            ..wire
        };
        let conns = ConnectionTable::new(limits.max_connections_per_ip, limits.max_connections);
        Ok(Arc::new_cyclic(|me| Core {
            limits,
            wire,
            stamped_wire,
            server_header,
            tu,
            txns: Mutex::new(txns),
            timer_wake: Notify::new(),
            armed: AtomicU64::new(NO_DEADLINE),
            epoch: now(),
            conns: Mutex::new(conns),
            tags: TagMaker::new(),
            stats: Stats::default(),
            udp_sockets: std::sync::OnceLock::new(),
            shutdown,
            clients: Mutex::new(HashMap::new()),
            me: me.clone(),
        }))
    }

    // ----- inbound -----

    /// One UDP datagram.
    pub(crate) fn on_datagram(&self, data: Bytes, origin: &Origin) {
        Stats::bump(&self.stats.received);
        if data.len() > self.limits.max_message_size {
            Stats::bump(&self.stats.oversized);
            let reply = inbound::head_of(&data, self.wire.max_head_size)
                .and_then(|head| self.error_reply(head, &ParseError::MessageTooLarge));
            tracing::debug!(from = %origin.flow.remote, len = data.len(), "oversized datagram");
            if let Some(reply) = reply {
                self.send_stateless(&origin.source_dest(), reply);
            }
            return;
        }
        match framing::classify_datagram(data.clone(), &self.wire) {
            Ok(Datagram::KeepAlive) => {}
            Ok(Datagram::Message(msg)) => self.on_message(msg, origin),
            Err(err) => self.on_parse_error(data, &err, origin),
        }
    }

    /// One complete stream frame (TCP, TLS) or WebSocket message.
    pub(crate) fn on_frame(&self, data: Bytes, origin: &Origin, websocket: bool) {
        Stats::bump(&self.stats.received);
        let parsed = if websocket {
            framing::parse_ws_message(data.clone(), &self.wire)
        } else {
            Message::parse_frame(data.clone(), &self.wire)
        };
        match parsed {
            Ok(msg) => self.on_message(msg, origin),
            Err(err) => self.on_parse_error(data, &err, origin),
        }
    }

    /// The stream framer failed (message too large, bad Content-Length): answer from
    /// the head it kept, if any. The caller closes the connection afterwards.
    pub(crate) fn on_stream_failure(&self, head: Option<Bytes>, err: &ParseError, origin: &Origin) {
        Stats::bump(&self.stats.parse_errors);
        if *err == ParseError::MessageTooLarge {
            Stats::bump(&self.stats.oversized);
        }
        tracing::debug!(flow = %origin.flow, %err, "stream framing failed; closing");
        if let Some(reply) = head.and_then(|h| self.error_reply(h, err)) {
            self.send_stateless(&origin.source_dest(), reply);
        }
    }

    fn on_parse_error(&self, data: Bytes, err: &ParseError, origin: &Origin) {
        Stats::bump(&self.stats.parse_errors);
        tracing::debug!(flow = %origin.flow, %err, "malformed message");
        // Answered to the source address: the Via of a malformed message is not
        // trusted to route anything.
        if let Some(reply) = self.error_reply(data, err) {
            self.send_stateless(&origin.source_dest(), reply);
        }
    }

    fn error_reply(&self, raw: Bytes, err: &ParseError) -> Option<Bytes> {
        let reply = inbound::error_reply(
            raw,
            err,
            &self.wire,
            &self.tags,
            self.server_header.as_deref(),
        );
        if reply.is_some() {
            Stats::bump(&self.stats.error_replies);
        }
        reply
    }

    fn on_message(&self, msg: Message, origin: &Origin) {
        if msg.is_request() {
            self.on_request(msg, origin);
        } else {
            self.on_response(msg, origin);
        }
    }

    fn on_request(&self, msg: Message, origin: &Origin) {
        let is_ack = msg.method() == Some(Method::Ack);
        // RFC 3261 §8.2: mandatory headers present and decodable, CSeq consistent, a
        // Request-URI we can serve. Answered to the source, like any malformed request.
        if let Err(err) = msg.validate_request() {
            Stats::bump(&self.stats.parse_errors);
            tracing::debug!(flow = %origin.flow, %err, "invalid request");
            if !is_ack {
                let (code, phrase) = err.status();
                Stats::bump(&self.stats.error_replies);
                self.reply_stateless(&msg, &origin.source_dest(), code, phrase, &[]);
            }
            return;
        }
        let via = match TopVia::parse(&msg) {
            Ok(via) => via,
            Err(err) => {
                Stats::bump(&self.stats.parse_errors);
                tracing::debug!(flow = %origin.flow, %err, "request with unusable Via");
                if !is_ack {
                    let reply = reply::response(
                        &msg,
                        400,
                        "Bad Request (malformed Via)",
                        Some(&self.tags.tag_for(&msg)),
                        &self.server_extra(),
                    );
                    self.send_stateless(&origin.source_dest(), reply);
                }
                return;
            }
        };
        let stamp = via.stamp_for(origin.flow.remote);
        let msg = match via.apply_stamp(&msg, &stamp) {
            None => msg,
            Some(bytes) => match Message::parse_datagram(bytes, &self.stamped_wire) {
                Ok(stamped) => stamped,
                Err(err) => {
                    // Cannot happen for a message that parsed before; refuse rather
                    // than pass on an unstamped request.
                    tracing::warn!(%err, "request no longer parses after the Via stamp");
                    return;
                }
            },
        };
        let via = via.with_stamp(&stamp);
        let dest = match (&origin.udp, origin.flow.id) {
            (Some(socket), _) => Dest::Udp {
                socket: Arc::clone(socket),
                addr: via.udp_response_target().unwrap_or(origin.flow.remote),
            },
            _ => origin.source_dest(),
        };
        if let (true, Some(id), Some(alias)) = (via.alias, origin.flow.id, via.sent_by_addr()) {
            lock(&self.conns).add_alias(id, alias);
        }

        // Screened before any transaction state exists for the request.
        let incoming = IncomingRequest {
            message: msg,
            flow: origin.flow,
            peer_certificates: origin.peer_certificates.clone(),
        };
        match self.tu.screen(&incoming) {
            Screen::Pass => {}
            Screen::Drop => {
                Stats::bump(&self.stats.screened);
                return;
            }
            Screen::Respond(bytes) => {
                Stats::bump(&self.stats.screened);
                if !is_ack {
                    self.send_stateless(&dest, bytes);
                }
                return;
            }
        }
        let msg = incoming.message;

        let reliability = if origin.flow.transport.is_reliable() {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let (outcome, transmits, events) = {
            let mut txns = lock(&self.txns);
            let outcome = txns.handle_request(now(), &msg, reliability, dest.clone());
            let (t, e) = self.drain(&mut txns);
            (outcome, t, e)
        };
        self.carry_out(transmits, events);

        let incoming = IncomingRequest {
            message: msg,
            flow: origin.flow,
            peer_certificates: origin.peer_certificates.clone(),
        };
        match outcome {
            Ok(RequestOutcome::New { txn, cancels }) => {
                if incoming.message.method() == Some(Method::Cancel) {
                    self.on_cancel(incoming, txn, cancels);
                } else {
                    self.tu.on_request(incoming, self.responder(txn));
                }
            }
            Ok(RequestOutcome::Retransmission { .. }) => {
                Stats::bump(&self.stats.retransmissions_absorbed);
            }
            Ok(RequestOutcome::AckAbsorbed { .. }) => {}
            Ok(RequestOutcome::NotOurs { .. }) => self.tu.on_ack(incoming),
            Err(err) if is_ack => {
                tracing::debug!(%err, "ACK refused by the transaction layer");
            }
            Err(TxnError::TooManyServerTransactions { .. }) => {
                Stats::bump(&self.stats.overload_replies);
                self.reply_stateless(
                    &incoming.message,
                    &dest,
                    503,
                    "Service Unavailable",
                    &[("Retry-After", "5")],
                );
            }
            Err(TxnError::Unmatchable(err)) => {
                let (code, phrase) = err.status();
                self.reply_stateless(&incoming.message, &dest, code, phrase, &[]);
            }
            Err(err) => {
                tracing::debug!(%err, "request refused by the transaction layer");
                self.reply_stateless(&incoming.message, &dest, 400, "Bad Request", &[]);
            }
        }
    }

    fn on_cancel(&self, cancel: IncomingRequest, txn: TxnId, cancels: Option<TxnId>) {
        let (code, reason) = match cancels {
            Some(_) => (200, "OK"),
            None => (481, "Call/Transaction Does Not Exist"),
        };
        let tag = self.tags.tag_for(&cancel.message);
        let extra = self.server_extra();
        let mut builder = response_to(&cancel.message, code, reason).to_tag(&tag);
        for (name, value) in &extra {
            builder = builder.header(name, value);
        }
        match builder.build() {
            Ok(bytes) => {
                if let Err(err) = self.send_response(txn, code, bytes) {
                    tracing::debug!(%err, "CANCEL response not sent");
                }
            }
            Err(err) => tracing::debug!(%err, "CANCEL response not built"),
        }
        if let Some(invite) = cancels {
            self.tu.on_cancel(cancel, self.responder(invite));
        }
    }

    fn on_response(&self, msg: Message, origin: &Origin) {
        if let Err(err) = msg.validate_response() {
            Stats::bump(&self.stats.parse_errors);
            tracing::debug!(flow = %origin.flow, %err, "invalid response dropped");
            return;
        }
        let (outcome, transmits, events) = {
            let mut txns = lock(&self.txns);
            let outcome = txns.handle_response(now(), msg);
            let (t, e) = self.drain(&mut txns);
            (outcome, t, e)
        };
        self.carry_out(transmits, events);
        match outcome {
            Ok(ResponseOutcome::Stray(response)) => {
                Stats::bump(&self.stats.stray_responses);
                self.tu.on_stray_response(*response, origin.flow);
            }
            Ok(_) => {}
            Err(err) => {
                Stats::bump(&self.stats.parse_errors);
                tracing::debug!(flow = %origin.flow, %err, "unusable response dropped");
            }
        }
    }

    fn responder(&self, txn: TxnId) -> Responder {
        Responder::new(Arc::new(TxnSink {
            core: self.me.clone(),
            txn,
        }))
    }

    fn server_extra(&self) -> Vec<(&str, &str)> {
        self.server_header
            .as_deref()
            .map(|s| vec![("Server", s)])
            .unwrap_or_default()
    }

    fn reply_stateless(
        &self,
        request: &Message,
        dest: &Dest,
        code: u16,
        reason: &str,
        extra: &[(&str, &str)],
    ) {
        if request.method() == Some(Method::Ack) {
            return;
        }
        let mut headers = self.server_extra();
        headers.extend_from_slice(extra);
        let tag = self.tags.tag_for(request);
        let bytes = reply::response(request, code, reason, Some(&tag), &headers);
        self.send_stateless(dest, bytes);
    }

    // ----- outbound -----

    /// Sends a response through server transaction `txn`.
    pub(crate) fn send_response(
        &self,
        txn: TxnId,
        code: u16,
        response: Bytes,
    ) -> Result<(), RespondError> {
        if response.len() > self.limits.max_message_size {
            tracing::warn!(
                len = response.len(),
                "response larger than the message size limit not sent"
            );
            return Err(RespondError::NotAResponse);
        }
        let (result, transmits, events) = {
            let mut txns = lock(&self.txns);
            let result = txns.send_response(now(), txn, code, response);
            let (t, e) = self.drain(&mut txns);
            (result, t, e)
        };
        self.carry_out(transmits, events);
        result.map_err(|err| match err {
            TxnError::BadStatusCode(_) => RespondError::NotAResponse,
            _ => RespondError::TransactionGone,
        })
    }

    /// Fires due transaction timers.
    pub(crate) fn fire_timers(&self) {
        let (transmits, events) = {
            let mut txns = lock(&self.txns);
            txns.handle_timeout(now());
            self.drain(&mut txns)
        };
        self.carry_out(transmits, events);
    }

    /// The earliest transaction timer, which the timer loop then sleeps until: it is
    /// recorded in `armed` so that only an earlier deadline wakes the loop.
    ///
    /// No wake-up can be lost: `armed` is written here and compared in
    /// [`Core::drain`] only with the table locked, so every change to the table either
    /// comes before this read (and is seen by it) or after it (and is compared with what
    /// was armed). A wake-up sent before the loop waits again is kept as a permit by
    /// `Notify::notify_one`, and the loop calls this again after every wake-up.
    pub(crate) fn arm_timer(&self) -> Option<Instant> {
        let txns = lock(&self.txns);
        let next = txns.poll_timeout();
        self.armed
            .store(self.deadline_code(next), Ordering::Relaxed);
        next
    }

    /// `at` in the units of `armed`; later deadlines compare greater.
    fn deadline_code(&self, at: Option<Instant>) -> u64 {
        match at {
            None => NO_DEADLINE,
            Some(at) => u64::try_from(at.saturating_duration_since(self.epoch).as_nanos())
                .unwrap_or(NO_DEADLINE - 1)
                .min(NO_DEADLINE - 1),
        }
    }

    /// Takes what a change to the table queued, with the table locked, and wakes the
    /// timer loop when the earliest deadline is now earlier than the one it sleeps until
    /// (a later or unchanged one needs no wake-up: the loop re-reads after sleeping).
    fn drain(&self, txns: &mut Transactions<Dest>) -> (Vec<Transmit<Dest>>, Vec<Event>) {
        if self.deadline_code(txns.poll_timeout()) < self.armed.load(Ordering::Relaxed) {
            self.timer_wake.notify_one();
        }
        drain(txns)
    }

    /// Live transactions (for statistics).
    pub(crate) fn transactions(&self) -> usize {
        lock(&self.txns).len()
    }

    pub(crate) fn transactions_by_kind(&self) -> [usize; 4] {
        lock(&self.txns).counts_by_kind()
    }

    fn carry_out(&self, mut transmits: Vec<Transmit<Dest>>, mut events: Vec<Event>) {
        // Transport errors feed back into the table, which may queue more; bounded
        // because each failed transaction terminates.
        for _ in 0..8 {
            let mut failed = Vec::new();
            for t in transmits.drain(..) {
                if !self.send(&t.dest, t.bytes) {
                    failed.push(t.txn);
                }
            }
            for event in events.drain(..) {
                self.on_event(event);
            }
            if failed.is_empty() {
                return;
            }
            let mut txns = lock(&self.txns);
            for txn in failed {
                let _ = txns.handle_transport_error(now(), txn);
            }
            (transmits, events) = self.drain(&mut txns);
        }
    }

    fn on_event(&self, event: Event) {
        match event {
            Event::Timeout { txn, timer } => {
                tracing::debug!(txn = txn.get(), ?timer, "transaction timed out");
                if let Some(sink) = self.client_sink(txn) {
                    sink.on_failure(ClientFailure::Timeout);
                }
            }
            Event::TransportError { txn } => {
                tracing::debug!(txn = txn.get(), "transport error in transaction");
                if let Some(sink) = self.client_sink(txn) {
                    sink.on_failure(ClientFailure::TransportError);
                }
            }
            Event::Response { txn, response } => match self.client_sink(txn) {
                Some(sink) => sink.on_response(*response),
                None => tracing::debug!(txn = txn.get(), "response nobody listens to"),
            },
            Event::Terminated { txn } => {
                lock(&self.clients).remove(&txn);
            }
        }
    }

    fn client_sink(&self, txn: TxnId) -> Option<Arc<dyn ClientSink>> {
        lock(&self.clients).get(&txn).cloned()
    }

    /// Starts a client transaction toward `dest`; its responses and failures go to
    /// `sink` until it terminates or is abandoned.
    pub(crate) fn start_client(
        &self,
        request: Message,
        dest: Dest,
        reliable: bool,
        sink: Arc<dyn ClientSink>,
    ) -> Result<TxnId, TxnError> {
        let reliability = if reliable {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let (txn, transmits, events) = {
            let mut txns = lock(&self.txns);
            let txn = txns.send_request(now(), request, reliability, dest)?;
            // Registered before anything is sent, so no response can miss it.
            lock(&self.clients).insert(txn, sink);
            let (t, e) = self.drain(&mut txns);
            (txn, t, e)
        };
        self.carry_out(transmits, events);
        Ok(txn)
    }

    /// Stops reporting a client transaction (it still absorbs retransmissions).
    pub(crate) fn abandon_client(&self, txn: TxnId) {
        lock(&self.clients).remove(&txn);
    }

    fn send_stateless(&self, dest: &Dest, bytes: Bytes) {
        if !self.send(dest, bytes) {
            tracing::debug!(?dest, "stateless response not sent");
        }
    }

    /// Sends bytes; false when they certainly could not be sent.
    pub(crate) fn send(&self, dest: &Dest, bytes: Bytes) -> bool {
        match dest {
            Dest::Udp { socket, addr } => {
                // A datagram that could not be sent is lost like one lost on the way.
                if udp::send(socket, *addr, &bytes, &self.stats) {
                    Stats::bump(&self.stats.sent);
                }
                true
            }
            Dest::Flow {
                id,
                transport,
                remote,
            } => {
                let sent = self.send_on_flow(*id, bytes.clone())
                    || self.send_on_target(*transport, *remote, bytes);
                if sent {
                    Stats::bump(&self.stats.sent);
                }
                sent
            }
        }
    }

    /// Queues bytes on a connection. A peer whose queue is full is not reading: it is
    /// disconnected rather than buffered for.
    pub(crate) fn send_on_flow(&self, id: FlowId, bytes: Bytes) -> bool {
        let conns = lock(&self.conns);
        let Some((_, handle)) = conns.get(id) else {
            return false;
        };
        enqueue(handle, bytes, &self.stats)
    }

    /// Queues bytes on the newest connection of `transport` to `remote` (or an alias).
    pub(crate) fn send_on_target(
        &self,
        transport: Transport,
        remote: SocketAddr,
        bytes: Bytes,
    ) -> bool {
        let conns = lock(&self.conns);
        let Some((_, handle)) = conns.find(transport, remote) else {
            return false;
        };
        enqueue(handle, bytes, &self.stats)
    }

    /// Forgets a connection.
    pub(crate) fn remove_flow(&self, id: FlowId) {
        lock(&self.conns).remove(id);
    }
}

fn enqueue(handle: &ConnHandle, bytes: Bytes, stats: &Stats) -> bool {
    match handle.tx.try_send(Outgoing::Message(bytes)) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            Stats::bump(&stats.backpressure_closed);
            handle.cancel.cancel();
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

fn drain(txns: &mut Transactions<Dest>) -> (Vec<Transmit<Dest>>, Vec<Event>) {
    let mut transmits = Vec::new();
    while let Some(t) = txns.poll_transmit() {
        transmits.push(t);
    }
    let mut events = Vec::new();
    while let Some(e) = txns.poll_event() {
        events.push(e);
    }
    (transmits, events)
}

/// The responder of one server transaction.
struct TxnSink {
    core: Weak<Core>,
    txn: TxnId,
}

impl RespondSink for TxnSink {
    fn respond(&self, response: Bytes) -> Result<(), RespondError> {
        let core = self.core.upgrade().ok_or(RespondError::TransactionGone)?;
        let code = inbound::status_of(&response).ok_or(RespondError::NotAResponse)?;
        core.send_response(self.txn, code, response)
    }
}
