//! Server transactions: INVITE (RFC 3261 §17.2.1 with RFC 6026's Accepted state) and
//! non-INVITE (§17.2.2).
//!
//! A machine is created for a request that matched no transaction. It is then driven by
//! the responses the transaction user sends through it, by retransmissions of the request
//! (and ACKs) matched to it, by its timers and by transport errors.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::TxnError;
use crate::machine::{AckDisposition, Action, Class, State};
use crate::timer::{deadline, Reliability, Slots, Timer, TimerConfig};

/// An INVITE server transaction.
#[derive(Debug, Clone)]
pub struct InviteServer {
    state: State,
    reliability: Reliability,
    config: TimerConfig,
    timers: Slots,
    /// The interval Timer G was last started with.
    interval: Duration,
    /// The last response sent: resent for retransmitted INVITEs (Proceeding,
    /// Completed) and by Timer G.
    last: Option<Bytes>,
}

impl InviteServer {
    /// A transaction for a new INVITE. State: Proceeding. Whether a 100 Trying is sent
    /// at once is up to the driver ([`InviteServer::send_response`]).
    pub fn new(reliability: Reliability, config: TimerConfig) -> InviteServer {
        InviteServer {
            state: State::Proceeding,
            reliability,
            config,
            timers: Slots::default(),
            interval: config.t1,
            last: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The transport reliability this transaction runs over.
    pub fn reliability(&self) -> Reliability {
        self.reliability
    }

    /// The deadline of `timer`, if it is running.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The earliest running timer's deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The last response sent, if any.
    pub fn last_response(&self) -> Option<&Bytes> {
        self.last.as_ref()
    }

    pub(crate) fn timers(&self) -> &Slots {
        &self.timers
    }

    /// Sends a response from the transaction user.
    ///
    /// Proceeding: 1xx is sent and remembered; 2xx is sent, → Accepted with Timer L
    /// (RFC 6026); 300–699 is sent, → Completed with Timer G (unreliable only, T1) and
    /// Timer H (64·T1). Accepted: further 2xx (the TU's own retransmissions, RFC 6026
    /// §8.5) are sent. Anything else is refused.
    pub fn send_response(
        &mut self,
        now: Instant,
        code: u16,
        response: Bytes,
        out: &mut Vec<Action>,
    ) -> Result<(), TxnError> {
        let class = Class::of(code).ok_or(TxnError::BadStatusCode(code))?;
        match (self.state, class) {
            (State::Proceeding, Class::Provisional) => {
                out.push(Action::Transmit(response.clone()));
                self.last = Some(response);
            }
            (State::Proceeding, Class::Success) => {
                out.push(Action::Transmit(response.clone()));
                self.last = Some(response);
                self.state = State::Accepted;
                self.timers.clear_all();
                self.timers
                    .set(Timer::L, deadline(now, self.config.t1_x64()));
            }
            (State::Proceeding, Class::Failure) => {
                out.push(Action::Transmit(response.clone()));
                self.last = Some(response);
                self.state = State::Completed;
                self.timers.clear_all();
                if !self.reliability.is_reliable() {
                    self.interval = self.config.t1;
                    self.timers.set(Timer::G, deadline(now, self.interval));
                }
                self.timers
                    .set(Timer::H, deadline(now, self.config.t1_x64()));
            }
            (State::Accepted, Class::Success) => {
                out.push(Action::Transmit(response.clone()));
                self.last = Some(response);
            }
            (state, _) => return Err(TxnError::ResponseNotAllowed { code, state }),
        }
        Ok(())
    }

    /// A retransmission of the INVITE arrived: resend the last provisional response
    /// (Proceeding) or the final response (Completed); absorb it otherwise (Accepted:
    /// the TU retransmits 2xx itself, RFC 6026 §7.1).
    pub fn handle_retransmission(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(last) = &self.last {
                out.push(Action::Transmit(last.clone()));
            }
        }
    }

    /// An ACK matched this transaction.
    ///
    /// Completed: → Confirmed with Timer I (T4, zero when reliable); Confirmed: absorbed;
    /// Accepted: belongs to the TU (RFC 6026). Before any final response an ACK is
    /// meaningless and absorbed.
    pub fn handle_ack(&mut self, now: Instant, out: &mut Vec<Action>) -> AckDisposition {
        match self.state {
            State::Completed => {
                self.state = State::Confirmed;
                self.timers.clear_all();
                let wait = self.config.t4_for(self.reliability);
                if wait.is_zero() {
                    self.terminate(out);
                } else {
                    self.timers.set(Timer::I, deadline(now, wait));
                }
                AckDisposition::Absorbed
            }
            State::Accepted => AckDisposition::PassToTu,
            _ => AckDisposition::Absorbed,
        }
    }

    /// Fires every timer due at `now` (each at most once per call).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        for timer in self.timers.due(now).into_iter().flatten() {
            self.fire(now, timer, out);
        }
    }

    /// Fires one timer if it is running and due.
    pub(crate) fn fire(&mut self, now: Instant, timer: Timer, out: &mut Vec<Action>) {
        if self.timers.get(timer).is_none_or(|at| at > now) {
            return;
        }
        match timer {
            Timer::G => {
                if let Some(last) = &self.last {
                    out.push(Action::Transmit(last.clone()));
                }
                self.interval = self.interval.saturating_mul(2).min(self.config.t2);
                self.timers.set(Timer::G, deadline(now, self.interval));
            }
            Timer::H => {
                out.push(Action::Timeout(Timer::H));
                self.terminate(out);
            }
            Timer::I | Timer::L => self.terminate(out),
            _ => self.timers.clear(timer),
        }
    }

    /// The transport failed to deliver a response. The TU is told; the transaction
    /// terminates, except in Accepted where it keeps absorbing INVITE retransmissions
    /// until Timer L (the TU owns 2xx delivery).
    pub fn handle_transport_error(&mut self, out: &mut Vec<Action>) {
        match self.state {
            State::Terminated => {}
            State::Accepted => out.push(Action::TransportError),
            _ => {
                out.push(Action::TransportError);
                self.terminate(out);
            }
        }
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        self.state = State::Terminated;
        self.timers.clear_all();
        out.push(Action::Terminated);
    }
}

/// A non-INVITE server transaction.
#[derive(Debug, Clone)]
pub struct NonInviteServer {
    state: State,
    reliability: Reliability,
    config: TimerConfig,
    timers: Slots,
    /// The last response sent, resent for retransmitted requests.
    last: Option<Bytes>,
}

impl NonInviteServer {
    /// A transaction for a new non-INVITE request. State: Trying.
    pub fn new(reliability: Reliability, config: TimerConfig) -> NonInviteServer {
        NonInviteServer {
            state: State::Trying,
            reliability,
            config,
            timers: Slots::default(),
            last: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The transport reliability this transaction runs over.
    pub fn reliability(&self) -> Reliability {
        self.reliability
    }

    /// The deadline of `timer`, if it is running.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The earliest running timer's deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The last response sent, if any.
    pub fn last_response(&self) -> Option<&Bytes> {
        self.last.as_ref()
    }

    pub(crate) fn timers(&self) -> &Slots {
        &self.timers
    }

    /// Sends a response from the transaction user.
    ///
    /// Trying/Proceeding: 1xx is sent, → Proceeding; 200–699 is sent, → Completed with
    /// Timer J (64·T1, zero when reliable). In Completed every response is refused
    /// (§17.2.2: further final responses are discarded).
    pub fn send_response(
        &mut self,
        now: Instant,
        code: u16,
        response: Bytes,
        out: &mut Vec<Action>,
    ) -> Result<(), TxnError> {
        let class = Class::of(code).ok_or(TxnError::BadStatusCode(code))?;
        match (self.state, class) {
            (State::Trying | State::Proceeding, Class::Provisional) => {
                out.push(Action::Transmit(response.clone()));
                self.last = Some(response);
                self.state = State::Proceeding;
            }
            (State::Trying | State::Proceeding, Class::Success | Class::Failure) => {
                out.push(Action::Transmit(response.clone()));
                self.last = Some(response);
                self.state = State::Completed;
                self.timers.clear_all();
                let wait = self.config.timer_j_for(self.reliability);
                if wait.is_zero() {
                    self.terminate(out);
                } else {
                    self.timers.set(Timer::J, deadline(now, wait));
                }
            }
            (state, _) => return Err(TxnError::ResponseNotAllowed { code, state }),
        }
        Ok(())
    }

    /// A retransmission of the request arrived: discarded in Trying, answered with the
    /// last response in Proceeding and Completed.
    pub fn handle_retransmission(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(last) = &self.last {
                out.push(Action::Transmit(last.clone()));
            }
        }
    }

    /// Fires every timer due at `now` (each at most once per call).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        for timer in self.timers.due(now).into_iter().flatten() {
            self.fire(now, timer, out);
        }
    }

    /// Fires one timer if it is running and due.
    pub(crate) fn fire(&mut self, now: Instant, timer: Timer, out: &mut Vec<Action>) {
        if self.timers.get(timer).is_none_or(|at| at > now) {
            return;
        }
        match timer {
            Timer::J => self.terminate(out),
            _ => self.timers.clear(timer),
        }
    }

    /// The transport failed to deliver a response: the TU is told and the transaction
    /// terminates.
    pub fn handle_transport_error(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Terminated {
            return;
        }
        out.push(Action::TransportError);
        self.terminate(out);
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        self.state = State::Terminated;
        self.timers.clear_all();
        out.push(Action::Terminated);
    }
}
