//! The transaction table: owns every transaction, matches incoming messages to them
//! (RFC 3261 §17.1.3, §17.2.3, §9.2), runs their timers from one ordered index and
//! queues what they send and report.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use sipwarden_wire::{Message, Method};

use crate::client::{InviteClient, NonInviteClient};
use crate::error::{ConfigError, TxnError};
use crate::key::{self, Key};
use crate::machine::{AckDisposition, Action, State};
use crate::server::{InviteServer, NonInviteServer};
use crate::timer::{Reliability, Slots, Timer, TimerConfig};

/// Identifies one transaction for its whole life. Ids are never reused by a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId(u64);

impl TxnId {
    /// The id as a number (for logs and metrics).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Table-wide settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// T1, T2, T4 and Timer D.
    pub timers: TimerConfig,
    /// Most server transactions alive at once; beyond it new requests are refused with
    /// [`TxnError::TooManyServerTransactions`] (the caller answers 503 statelessly).
    pub max_server_transactions: usize,
    /// Most client transactions alive at once.
    pub max_client_transactions: usize,
    /// Send `100 Trying` as soon as an INVITE server transaction is created (RFC 3261
    /// §17.2.1 requires one unless the TU answers within 200 ms).
    pub send_100_trying: bool,
    /// Transactions the table makes room for up front. A server that lives for long
    /// reaches its steady state anyway; room made at start spares it the rehashing of
    /// a growing table (every completed UDP transaction lingers 32 s) while traffic is
    /// already flowing. 0 grows on demand.
    pub initial_capacity: usize,
}

/// Default cap on live transactions of each kind. A completed non-INVITE transaction
/// lives 64·T1 = 32 s over UDP (Timer J / K), so a sustained 2,000 requests/s keeps about
/// 64,000 alive; the cap leaves room for that and bounds memory (about 1 KB each).
pub const DEFAULT_MAX_TRANSACTIONS: usize = 131_072;

impl Default for Config {
    fn default() -> Self {
        Config {
            timers: TimerConfig::default(),
            max_server_transactions: DEFAULT_MAX_TRANSACTIONS,
            max_client_transactions: DEFAULT_MAX_TRANSACTIONS,
            send_100_trying: true,
            initial_capacity: 0,
        }
    }
}

/// Bytes to send, and where. `dest` is whatever the caller passed when the transaction
/// was created: the request's target for client transactions, the response address
/// (RFC 3261 §18.2.2) for server transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<A> {
    /// The transaction sending.
    pub txn: TxnId,
    /// Where to send.
    pub dest: A,
    /// The exact bytes.
    pub bytes: Bytes,
}

/// Something the transaction user must learn about.
#[derive(Debug, Clone)]
pub enum Event {
    /// A client transaction received a response the TU must see (provisional, final,
    /// and RFC 6026 2xx retransmissions).
    Response {
        /// The client transaction.
        txn: TxnId,
        /// The response as received.
        response: Box<Message>,
    },
    /// A timer ran out: B or F (client; act as on a 408) or H (INVITE server; the ACK
    /// never came).
    Timeout {
        /// The transaction.
        txn: TxnId,
        /// Which timer.
        timer: Timer,
    },
    /// The transport failed for this transaction.
    TransportError {
        /// The transaction.
        txn: TxnId,
    },
    /// The transaction terminated and was removed from the table; its id is dead.
    Terminated {
        /// The transaction.
        txn: TxnId,
    },
}

/// What [`Transactions::handle_request`] did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// A new server transaction was created; the TU must process the request and
    /// answer through [`Transactions::send_response`].
    New {
        /// The new server transaction.
        txn: TxnId,
        /// For a CANCEL: the INVITE server transaction it targets (§9.2), if any. With
        /// `None` the TU answers the CANCEL 481.
        cancels: Option<TxnId>,
    },
    /// A retransmission of a request with a transaction; the last response (if any) was
    /// queued again. Nothing for the TU to do.
    Retransmission {
        /// The matching server transaction.
        txn: TxnId,
    },
    /// The ACK for a non-2xx final response (or its retransmission) was consumed.
    AckAbsorbed {
        /// The INVITE server transaction.
        txn: TxnId,
    },
    /// An ACK the transaction layer does not consume: the ACK for a 2xx (it is its own
    /// end-to-end exchange) or an ACK matching nothing. The core handles it (dialog, or
    /// stateless forwarding).
    NotOurs {
        /// The INVITE server transaction in Accepted it matched, if any.
        matched: Option<TxnId>,
    },
}

/// What [`Transactions::handle_response`] did with a response.
#[derive(Debug, Clone)]
pub enum ResponseOutcome {
    /// Matched a client transaction and queued as [`Event::Response`].
    Delivered {
        /// The client transaction.
        txn: TxnId,
    },
    /// Matched a client transaction that absorbed it (a retransmission; the ACK was
    /// resent if needed).
    Absorbed {
        /// The client transaction.
        txn: TxnId,
    },
    /// Matched no client transaction. RFC 6026 §7.3: a proxy does not forward it
    /// blindly; the core decides (typically it is dropped).
    Stray(Box<Message>),
}

#[derive(Debug, Clone)]
enum Machine {
    InviteClient(InviteClient),
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

impl Machine {
    fn state(&self) -> State {
        match self {
            Machine::InviteClient(m) => m.state(),
            Machine::NonInviteClient(m) => m.state(),
            Machine::InviteServer(m) => m.state(),
            Machine::NonInviteServer(m) => m.state(),
        }
    }

    fn timers(&self) -> Slots {
        match self {
            Machine::InviteClient(m) => *m.timers(),
            Machine::NonInviteClient(m) => *m.timers(),
            Machine::InviteServer(m) => *m.timers(),
            Machine::NonInviteServer(m) => *m.timers(),
        }
    }

    fn fire(&mut self, now: Instant, timer: Timer, out: &mut Vec<Action>) {
        match self {
            Machine::InviteClient(m) => m.fire(now, timer, out),
            Machine::NonInviteClient(m) => m.fire(now, timer, out),
            Machine::InviteServer(m) => m.fire(now, timer, out),
            Machine::NonInviteServer(m) => m.fire(now, timer, out),
        }
    }

    fn handle_transport_error(&mut self, out: &mut Vec<Action>) {
        match self {
            Machine::InviteClient(m) => m.handle_transport_error(out),
            Machine::NonInviteClient(m) => m.handle_transport_error(out),
            Machine::InviteServer(m) => m.handle_transport_error(out),
            Machine::NonInviteServer(m) => m.handle_transport_error(out),
        }
    }

    fn is_server(&self) -> bool {
        matches!(self, Machine::InviteServer(_) | Machine::NonInviteServer(_))
    }
}

#[derive(Debug, Clone)]
struct Entry<A> {
    machine: Machine,
    dest: A,
    key: Key,
    /// Server transaction matched the RFC 2543 way (no `z9hG4bK` branch).
    legacy: bool,
    /// RFC 2543 INVITE server transactions: the To tag of the final response sent, which
    /// the ACK must carry (§17.2.3).
    final_to_tag: Option<Box<[u8]>>,
}

/// Every transaction of one endpoint, with matching, timers and output queues.
///
/// `A` is the caller's address type (for example a socket address plus transport, or a
/// connection id); the table only stores and returns it.
///
/// Sans-IO: the caller feeds messages, transport errors and the current time, then
/// drains [`Transactions::poll_transmit`] and [`Transactions::poll_event`], and sleeps
/// until [`Transactions::poll_timeout`].
#[derive(Debug)]
pub struct Transactions<A> {
    config: Config,
    // Boxed: a growing table moves only pointers when it rehashes (tens of thousands of
    // completed UDP transactions linger 32 s each), not the machines themselves.
    entries: HashMap<TxnId, Box<Entry<A>>>,
    // SipHash with a random seed (std's default) keeps attacker-chosen branch values
    // from colliding on purpose.
    server_keys: HashMap<Key, TxnId>,
    client_keys: HashMap<Key, TxnId>,
    timers: BTreeSet<(Instant, TxnId, Timer)>,
    transmits: VecDeque<Transmit<A>>,
    events: VecDeque<Event>,
    /// Reused for every machine step so the hot path does not allocate.
    scratch: Vec<Action>,
    next_id: u64,
    server_count: usize,
    client_count: usize,
}

impl<A: Clone> Transactions<A> {
    /// An empty table.
    pub fn new(config: Config) -> Result<Transactions<A>, ConfigError> {
        config.timers.validate()?;
        let room = config.initial_capacity;
        Ok(Transactions {
            config,
            entries: HashMap::with_capacity(room),
            server_keys: HashMap::with_capacity(room),
            client_keys: HashMap::new(),
            timers: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            next_id: 0,
            server_count: 0,
            client_count: 0,
        })
    }

    /// The table's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts a client transaction for `request` and queues its first transmission to
    /// `dest`.
    ///
    /// The request's top Via must carry an RFC 3261 branch (`z9hG4bK...`) unique to this
    /// transaction; ACK is refused (see [`TxnError::AckNotATransaction`]).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Message,
        reliability: Reliability,
        dest: A,
    ) -> Result<TxnId, TxnError> {
        let method = request.method().ok_or(TxnError::WrongMessageKind)?;
        if method == Method::Ack {
            return Err(TxnError::AckNotATransaction);
        }
        let client_key = key::client_key(&request)?;
        if !client_key.rfc3261 {
            return Err(TxnError::BranchWithoutCookie);
        }
        if self.client_keys.contains_key(client_key.key.as_slice()) {
            return Err(TxnError::DuplicateBranch);
        }
        if self.client_count >= self.config.max_client_transactions {
            return Err(TxnError::TooManyClientTransactions {
                limit: self.config.max_client_transactions,
            });
        }
        let mut out = take_cleared(&mut self.scratch);
        let timers = self.config.timers;
        let machine = if method == Method::Invite {
            Machine::InviteClient(InviteClient::start(
                now,
                request,
                reliability,
                timers,
                &mut out,
            ))
        } else {
            Machine::NonInviteClient(NonInviteClient::start(
                now,
                request,
                reliability,
                timers,
                &mut out,
            ))
        };
        let id = self.insert(machine, dest, client_key.key.into_key(), false);
        self.apply(id, Slots::default(), &mut out);
        self.scratch = out;
        Ok(id)
    }

    /// Cancels a pending INVITE (RFC 3261 §9.1): builds the CANCEL from the INVITE and
    /// starts a non-INVITE client transaction for it towards the INVITE's destination
    /// over the same transport. Allowed only in Proceeding; in Calling wait for a
    /// provisional response first.
    pub fn cancel(&mut self, now: Instant, invite: TxnId) -> Result<TxnId, TxnError> {
        let entry = self
            .entries
            .get(&invite)
            .ok_or(TxnError::UnknownTransaction(invite))?;
        let Machine::InviteClient(machine) = &entry.machine else {
            return Err(TxnError::WrongTransactionKind(invite));
        };
        if machine.state() != State::Proceeding {
            return Err(TxnError::CancelNotAllowed(machine.state()));
        }
        let bytes = sipwarden_wire::build::cancel_for(machine.request())?;
        let cancel = Message::parse(bytes)?;
        let (reliability, dest) = (machine.reliability(), entry.dest.clone());
        self.send_request(now, cancel, reliability, dest)
    }

    /// Matches a received request to a server transaction (§17.2.3, with RFC 2543
    /// compatibility when the branch lacks `z9hG4bK`) or creates one.
    ///
    /// `reply_to` is where this transaction's responses go (RFC 3261 §18.2.2, computed
    /// by the transport). Retransmissions are absorbed (the last response is queued
    /// again); ACKs are consumed when they belong to a non-2xx final response.
    pub fn handle_request(
        &mut self,
        now: Instant,
        request: &Message,
        reliability: Reliability,
        reply_to: A,
    ) -> Result<RequestOutcome, TxnError> {
        let method = request.method().ok_or(TxnError::WrongMessageKind)?;
        let server_key = key::server_key(request)?;
        let found = self.server_keys.get(server_key.key.as_slice()).copied();

        if method == Method::Ack {
            return Ok(self.handle_ack(now, request, found));
        }
        if let Some(id) = found {
            let mut out = take_cleared(&mut self.scratch);
            if let Some(entry) = self.entries.get_mut(&id) {
                let before = entry.machine.timers();
                match &mut entry.machine {
                    Machine::InviteServer(m) => m.handle_retransmission(&mut out),
                    Machine::NonInviteServer(m) => m.handle_retransmission(&mut out),
                    _ => {}
                }
                self.apply(id, before, &mut out);
                self.scratch = out;
            }
            return Ok(RequestOutcome::Retransmission { txn: id });
        }

        if self.server_count >= self.config.max_server_transactions {
            return Err(TxnError::TooManyServerTransactions {
                limit: self.config.max_server_transactions,
            });
        }
        let cancels = if method == Method::Cancel {
            key::invite_key_for_cancel(request)
                .ok()
                .and_then(|k| self.server_keys.get(k.key.as_slice()).copied())
                .filter(|id| {
                    matches!(
                        self.entries.get(id).map(|e| &e.machine),
                        Some(Machine::InviteServer(_))
                    )
                })
        } else {
            None
        };
        let timers = self.config.timers;
        let machine = if method == Method::Invite {
            Machine::InviteServer(InviteServer::new(reliability, timers))
        } else {
            Machine::NonInviteServer(NonInviteServer::new(reliability, timers))
        };
        let legacy = !server_key.rfc3261;
        let id = self.insert(machine, reply_to, server_key.key.into_key(), legacy);
        if method == Method::Invite && self.config.send_100_trying {
            if let Some(trying) = crate::ack::trying_for(request) {
                // Cannot fail: a fresh INVITE server transaction accepts a 1xx.
                let _ = self.send_response(now, id, 100, trying);
            }
        }
        Ok(RequestOutcome::New { txn: id, cancels })
    }

    fn handle_ack(&mut self, now: Instant, ack: &Message, found: Option<TxnId>) -> RequestOutcome {
        let Some(id) = found else {
            return RequestOutcome::NotOurs { matched: None };
        };
        let Some(entry) = self.entries.get_mut(&id) else {
            return RequestOutcome::NotOurs { matched: None };
        };
        // RFC 2543 peers: the ACK must carry the To tag of the response it acknowledges.
        if entry.legacy && key::to_tag(ack).as_deref() != entry.final_to_tag.as_deref() {
            return RequestOutcome::NotOurs { matched: None };
        }
        let Machine::InviteServer(machine) = &mut entry.machine else {
            return RequestOutcome::NotOurs { matched: None };
        };
        let before = *machine.timers();
        let mut out = take_cleared(&mut self.scratch);
        let disposition = machine.handle_ack(now, &mut out);
        self.apply(id, before, &mut out);
        self.scratch = out;
        match disposition {
            AckDisposition::Absorbed => RequestOutcome::AckAbsorbed { txn: id },
            AckDisposition::PassToTu => RequestOutcome::NotOurs { matched: Some(id) },
        }
    }

    /// Matches a received response to a client transaction (§17.1.3: top Via branch and
    /// CSeq method) and feeds it.
    pub fn handle_response(
        &mut self,
        now: Instant,
        response: Message,
    ) -> Result<ResponseOutcome, TxnError> {
        if response.is_request() {
            return Err(TxnError::WrongMessageKind);
        }
        let client_key = key::client_key(&response)?;
        let Some(id) = self.client_keys.get(client_key.key.as_slice()).copied() else {
            return Ok(ResponseOutcome::Stray(Box::new(response)));
        };
        let mut out = take_cleared(&mut self.scratch);
        if let Some(entry) = self.entries.get_mut(&id) {
            let before = entry.machine.timers();
            match &mut entry.machine {
                Machine::InviteClient(m) => m.handle_response(now, response, &mut out),
                Machine::NonInviteClient(m) => m.handle_response(now, response, &mut out),
                _ => {}
            }
            let delivered = out.iter().any(|a| matches!(a, Action::Response(_)));
            self.apply(id, before, &mut out);
            self.scratch = out;
            if delivered {
                return Ok(ResponseOutcome::Delivered { txn: id });
            }
        }
        Ok(ResponseOutcome::Absorbed { txn: id })
    }

    /// Sends a response through a server transaction. `code` must be the status code of
    /// `response`.
    pub fn send_response(
        &mut self,
        now: Instant,
        txn: TxnId,
        code: u16,
        response: Bytes,
    ) -> Result<(), TxnError> {
        let entry = self
            .entries
            .get_mut(&txn)
            .ok_or(TxnError::UnknownTransaction(txn))?;
        let before = entry.machine.timers();
        let mut out = take_cleared(&mut self.scratch);
        match &mut entry.machine {
            Machine::InviteServer(m) => {
                let first_final = code >= 200 && m.state() == State::Proceeding;
                if entry.legacy && first_final {
                    entry.final_to_tag = key::to_tag_of_bytes(&response);
                }
                m.send_response(now, code, response, &mut out)?;
            }
            Machine::NonInviteServer(m) => m.send_response(now, code, response, &mut out)?,
            _ => return Err(TxnError::WrongTransactionKind(txn)),
        }
        self.apply(txn, before, &mut out);
        self.scratch = out;
        Ok(())
    }

    /// The transport failed to send for this transaction (or its connection broke).
    pub fn handle_transport_error(&mut self, _now: Instant, txn: TxnId) -> Result<(), TxnError> {
        let entry = self
            .entries
            .get_mut(&txn)
            .ok_or(TxnError::UnknownTransaction(txn))?;
        let before = entry.machine.timers();
        let mut out = take_cleared(&mut self.scratch);
        entry.machine.handle_transport_error(&mut out);
        self.apply(txn, before, &mut out);
        self.scratch = out;
        Ok(())
    }

    /// Fires every timer due at `now`. Timers rescheduled while firing wait for the next
    /// call, so one call does a bounded amount of work per transaction.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<(Instant, TxnId, Timer)> = self
            .timers
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .copied()
            .collect();
        for (_, id, timer) in due {
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            let before = entry.machine.timers();
            let mut out = take_cleared(&mut self.scratch);
            entry.machine.fire(now, timer, &mut out);
            self.apply(id, before, &mut out);
            self.scratch = out;
        }
    }

    /// The earliest timer deadline of any transaction.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|&(at, _, _)| at)
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        self.transmits.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The state of a live transaction.
    pub fn state(&self, txn: TxnId) -> Option<State> {
        self.entries.get(&txn).map(|e| e.machine.state())
    }

    /// The deadline of one timer of a live transaction.
    pub fn timer(&self, txn: TxnId, timer: Timer) -> Option<Instant> {
        self.entries
            .get(&txn)
            .and_then(|e| e.machine.timers().get(timer))
    }

    /// The request a client transaction sends (to build a CANCEL, for example).
    pub fn client_request(&self, txn: TxnId) -> Option<&Message> {
        match &self.entries.get(&txn)?.machine {
            Machine::InviteClient(m) => Some(m.request()),
            Machine::NonInviteClient(m) => Some(m.request()),
            _ => None,
        }
    }

    /// Where a transaction sends.
    pub fn dest(&self, txn: TxnId) -> Option<&A> {
        self.entries.get(&txn).map(|e| &e.dest)
    }

    /// True when `txn` is a live server transaction.
    pub fn is_server(&self, txn: TxnId) -> bool {
        self.entries
            .get(&txn)
            .is_some_and(|e| e.machine.is_server())
    }

    /// Live transactions of both kinds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Live server transactions.
    pub fn server_count(&self) -> usize {
        self.server_count
    }

    /// Live client transactions.
    pub fn client_count(&self) -> usize {
        self.client_count
    }

    /// Live transactions by kind: INVITE server, non-INVITE server, INVITE client,
    /// non-INVITE client. Walks the table (for metrics, not per message).
    pub fn counts_by_kind(&self) -> [usize; 4] {
        let mut counts = [0usize; 4];
        for entry in self.entries.values() {
            let i = match entry.machine {
                Machine::InviteServer(_) => 0,
                Machine::NonInviteServer(_) => 1,
                Machine::InviteClient(_) => 2,
                Machine::NonInviteClient(_) => 3,
            };
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        }
        counts
    }

    fn insert(&mut self, machine: Machine, dest: A, key: Key, legacy: bool) -> TxnId {
        let id = TxnId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        if machine.is_server() {
            self.server_keys.insert(key.clone(), id);
            self.server_count += 1;
        } else {
            self.client_keys.insert(key.clone(), id);
            self.client_count += 1;
        }
        self.entries.insert(
            id,
            Box::new(Entry {
                machine,
                dest,
                key,
                legacy,
                final_to_tag: None,
            }),
        );
        id
    }

    /// Carries out what a machine asked for after one step: re-indexes its timers
    /// (`before` is what the index held for it), queues transmissions and events, and
    /// removes it when it terminated.
    fn apply(&mut self, id: TxnId, before: Slots, actions: &mut Vec<Action>) {
        for (timer, at) in before.entries().into_iter().flatten() {
            self.timers.remove(&(at, id, timer));
        }
        let Some(entry) = self.entries.get(&id) else {
            actions.clear();
            return;
        };
        for (timer, at) in entry.machine.timers().entries().into_iter().flatten() {
            self.timers.insert((at, id, timer));
        }
        // Taken now: a machine that terminates lists its last transmission before
        // `Terminated`, and the entry is gone once that is applied.
        let dest = actions
            .iter()
            .any(|a| matches!(a, Action::Transmit(_)))
            .then(|| entry.dest.clone());
        for action in actions.drain(..) {
            match action {
                Action::Transmit(bytes) => {
                    if let Some(dest) = &dest {
                        self.transmits.push_back(Transmit {
                            txn: id,
                            dest: dest.clone(),
                            bytes,
                        });
                    }
                }
                Action::Response(response) => {
                    self.events.push_back(Event::Response { txn: id, response });
                }
                Action::Timeout(timer) => self.events.push_back(Event::Timeout { txn: id, timer }),
                Action::TransportError => self.events.push_back(Event::TransportError { txn: id }),
                Action::Terminated => {
                    self.remove(id);
                    self.events.push_back(Event::Terminated { txn: id });
                }
            }
        }
    }

    fn remove(&mut self, id: TxnId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        for (timer, at) in entry.machine.timers().entries().into_iter().flatten() {
            self.timers.remove(&(at, id, timer));
        }
        let keys = if entry.machine.is_server() {
            self.server_count = self.server_count.saturating_sub(1);
            &mut self.server_keys
        } else {
            self.client_count = self.client_count.saturating_sub(1);
            &mut self.client_keys
        };
        // Only remove the key if it still points at this transaction.
        if keys.get(&entry.key) == Some(&id) {
            keys.remove(&entry.key);
        }
    }
}

/// Takes the reusable action buffer, empty.
fn take_cleared(scratch: &mut Vec<Action>) -> Vec<Action> {
    let mut out = std::mem::take(scratch);
    out.clear();
    out
}
