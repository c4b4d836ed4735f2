//! The response context of one proxied request (RFC 3261 §16.7): branches, their
//! responses, the choice of the best final response, CANCEL (§16.10) and Timer C (§16.8).
//!
//! Sans-IO: the caller feeds responses, failures, resolutions, CANCELs and timeouts with
//! the current time, and drains [`Action`]s with [`ResponseContext::poll_action`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sipwarden_sdp::Refusal;
use sipwarden_wire::build::{cancel_for, response_to, BuildError, RequestBuilder};
use sipwarden_wire::edit::Editor;
use sipwarden_wire::{HeaderName, Message, Method, Transport};

use super::event::{Cause, Event, Wire};
use super::forward::{Build, NextHop, Plan, Side, TargetEdits};
use super::media::{self, Body};
use super::route::{self, Ours};
use super::Shared;
use crate::assessment::{
    CallAssessment, CallFacts, CallerAuth, DialogId, HopRole, HopSource, IdentityCheck, Party,
    PeerVerification, SignallingHop, TlsFacts, HEADER,
};

/// Something the caller must do for a response context.
#[non_exhaustive]
pub enum Action {
    /// Send `request` on a new client transaction for `branch`, toward `hop` (whose
    /// transport is set).
    Forward {
        /// Branch index: report this branch's responses and failures with it.
        branch: usize,
        /// The request to send.
        request: Bytes,
        /// Where to.
        hop: NextHop,
    },
    /// Resolve `hop.uri` (RFC 3263; TLS only when `hop.secure_only`), then call
    /// [`ResponseContext::on_resolved`] or [`ResponseContext::on_branch_failure`].
    Resolve {
        /// Branch index.
        branch: usize,
        /// What to resolve.
        hop: NextHop,
    },
    /// Send this response upstream through the server transaction; if that transaction
    /// no longer accepts it (a 2xx after a final response), send it statelessly by its
    /// top Via (RFC 3261 §16.7 step 10, §18.2.2).
    Respond {
        /// Status code.
        code: u16,
        /// The response.
        response: Bytes,
    },
    /// Send this CANCEL on a new non-INVITE client transaction to the same destination
    /// (and flow) as `branch`'s request.
    Cancel {
        /// Branch index.
        branch: usize,
        /// The CANCEL.
        request: Bytes,
        /// Where the branch went.
        hop: NextHop,
    },
    /// Send this request without a transaction (our ACK for a 2xx we refused to forward).
    SendStateless {
        /// The request.
        request: Bytes,
        /// Where to.
        hop: NextHop,
    },
    /// Send this request on a new non-INVITE client transaction whose responses are only
    /// absorbed (our BYE ending a call whose answer we refused to forward).
    SendRequest {
        /// The request.
        request: Bytes,
        /// Where to.
        hop: NextHop,
    },
    /// The branch's client transaction will not be listened to any more; it may be
    /// dropped.
    Abandon {
        /// Branch index.
        branch: usize,
    },
    /// Record this.
    Event(Event),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Forward {
                branch,
                request,
                hop,
            } => f
                .debug_struct("Forward")
                .field("branch", branch)
                .field("request", &Wire(request))
                .field("hop", hop)
                .finish(),
            Action::Resolve { branch, hop } => f
                .debug_struct("Resolve")
                .field("branch", branch)
                .field("hop", hop)
                .finish(),
            Action::Respond { code, response } => f
                .debug_struct("Respond")
                .field("code", code)
                .field("response", &Wire(response))
                .finish(),
            Action::Cancel {
                branch,
                request,
                hop,
            } => f
                .debug_struct("Cancel")
                .field("branch", branch)
                .field("request", &Wire(request))
                .field("hop", hop)
                .finish(),
            Action::SendStateless { request, hop } => f
                .debug_struct("SendStateless")
                .field("request", &Wire(request))
                .field("hop", hop)
                .finish(),
            Action::SendRequest { request, hop } => f
                .debug_struct("SendRequest")
                .field("request", &Wire(request))
                .field("hop", hop)
                .finish(),
            Action::Abandon { branch } => {
                f.debug_struct("Abandon").field("branch", branch).finish()
            }
            Action::Event(e) => f.debug_tuple("Event").field(e).finish(),
        }
    }
}

/// Why a branch failed outside the message flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchFailure {
    /// The client transaction timed out (counts as 408).
    Timeout,
    /// The request could not be sent, or the flow it had to use is gone (counts as 503).
    TransportError,
    /// The next hop does not resolve (counts as 404).
    Unresolvable,
    /// Resolution found no TLS target for a branch that needs one (counts as 480).
    NoSecureHop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the caller to resolve the next hop.
    Resolving,
    /// Sent; no provisional response yet.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived or the branch failed.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancel {
    No,
    /// Send a CANCEL as soon as a provisional response arrives (RFC 3261 §9.1).
    Wanted,
    /// CANCEL sent; give up on the branch at this time.
    Sent(Instant),
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) edits: TargetEdits,
    pub(crate) hop: NextHop,
    state: State,
    request: Option<Bytes>,
    iface: Option<usize>,
    timer_c: Option<Instant>,
    cancel: Cancel,
    tls: Option<TlsFacts>,
    /// We ended the callee's call ourselves (answer refused); retransmitted 2xx only
    /// get the ACK again.
    torn_down: bool,
}

impl Branch {
    pub(crate) fn new(edits: TargetEdits, hop: NextHop) -> Branch {
        Branch {
            edits,
            hop,
            state: State::Resolving,
            request: None,
            iface: None,
            timer_c: None,
            cancel: Cancel::No,
            tls: None,
            torn_down: false,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.state == State::Done {
            return None;
        }
        let cancel = match self.cancel {
            Cancel::Sent(t) => Some(t),
            _ => None,
        };
        match (self.timer_c, cancel) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A final response that may be chosen.
#[derive(Debug)]
enum Candidate {
    Received(Box<Message>),
    Synthetic {
        code: u16,
        reason: &'static str,
        headers: Vec<(&'static str, String)>,
    },
}

impl Candidate {
    fn code(&self) -> u16 {
        match self {
            Candidate::Received(m) => m.status_code().unwrap_or(500),
            Candidate::Synthetic { code, .. } => *code,
        }
    }

    fn plain(code: u16, reason: &'static str) -> Candidate {
        Candidate::Synthetic {
            code,
            reason,
            headers: Vec::new(),
        }
    }
}

/// The caller side of a proxied request.
#[derive(Debug, Clone)]
pub(crate) struct InboundSide {
    pub(crate) transport: Transport,
    pub(crate) index: usize,
    pub(crate) flow: Option<String>,
    pub(crate) tls: Option<TlsFacts>,
}

/// Everything a context starts from.
pub(crate) struct Setup {
    pub(crate) request: Message,
    pub(crate) to_tag: String,
    pub(crate) inbound: InboundSide,
    pub(crate) plan: Plan,
    pub(crate) branches: Vec<Branch>,
    pub(crate) offer: Body,
    pub(crate) caller_auth: CallerAuth,
}

/// The state of one request being proxied statefully.
pub struct ResponseContext {
    shared: Arc<Shared>,
    request: Message,
    method: Method,
    initial: bool,
    to_tag: String,
    inbound: InboundSide,
    plan: Plan,
    branches: Vec<Branch>,
    offer: Body,
    caller_auth: CallerAuth,
    finals: Vec<Candidate>,
    final_sent: Option<u16>,
    answered: bool,
    cancelled: bool,
    actions: VecDeque<Action>,
}

impl fmt::Debug for ResponseContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseContext")
            .field("method", &self.method)
            .field("branches", &self.branches.len())
            .field("final_sent", &self.final_sent)
            .field("cancelled", &self.cancelled)
            .finish_non_exhaustive()
    }
}

/// Reason phrase and Warning text for a sips: request without a TLS next hop.
const NO_SECURE_HOP: &str = "no TLS next hop for a request that must be secure; not downgraded";

impl ResponseContext {
    pub(crate) fn start(shared: Arc<Shared>, setup: Setup, now: Instant) -> ResponseContext {
        let method = setup.request.method().unwrap_or(Method::Extension);
        let initial = setup.request.to().map(|t| t.tag.is_none()).unwrap_or(false);
        let mut ctx = ResponseContext {
            shared,
            request: setup.request,
            method,
            initial,
            to_tag: setup.to_tag,
            inbound: setup.inbound,
            plan: setup.plan,
            branches: setup.branches,
            offer: setup.offer,
            caller_auth: setup.caller_auth,
            finals: Vec::new(),
            final_sent: None,
            answered: false,
            cancelled: false,
            actions: VecDeque::new(),
        };
        for i in 0..ctx.branches.len() {
            if let Some(hop) = ctx.branches.get(i).map(|b| b.hop.clone()) {
                match hop.transport {
                    Some(t) => ctx.send_branch(i, t, now),
                    None => ctx.actions.push_back(Action::Resolve { branch: i, hop }),
                }
            }
        }
        ctx.maybe_finish();
        ctx
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`ResponseContext::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.branches.iter().filter_map(Branch::deadline).min()
    }

    /// True once the final response went upstream and every branch is finished: the
    /// context can be dropped (late 2xx retransmissions are then handled by
    /// [`super::Proxy::on_stray_response`]).
    pub fn is_done(&self) -> bool {
        self.final_sent.is_some() && self.branches.iter().all(|b| b.state == State::Done)
    }

    /// The status of the final response sent upstream, if any.
    pub fn final_status(&self) -> Option<u16> {
        self.final_sent
    }

    /// Number of branches.
    pub fn branch_count(&self) -> usize {
        self.branches.len()
    }

    /// The method of the proxied request.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Records how the TLS connection of a branch was verified (for the assessment).
    pub fn set_hop_security(&mut self, branch: usize, tls: TlsFacts) {
        if let Some(b) = self.branches.get_mut(branch) {
            b.tls = Some(tls);
        }
    }

    /// The caller resolved a branch's next hop to this transport.
    pub fn on_resolved(&mut self, branch: usize, transport: Transport, now: Instant) {
        let Some(b) = self.branches.get_mut(branch) else {
            return;
        };
        if b.state != State::Resolving {
            return;
        }
        if self.cancelled || self.final_sent.is_some() {
            b.state = State::Done;
            self.finals
                .push(Candidate::plain(487, "Request Terminated"));
        } else {
            b.hop.transport = Some(transport);
            self.send_branch(branch, transport, now);
        }
        self.maybe_finish();
    }

    /// A branch failed outside the message flow.
    pub fn on_branch_failure(&mut self, branch: usize, failure: BranchFailure, _now: Instant) {
        let Some(b) = self.branches.get(branch) else {
            return;
        };
        if b.state == State::Done {
            return;
        }
        let (candidate, cause) = match failure {
            BranchFailure::Timeout => (Candidate::plain(408, "Request Timeout"), Cause::Timeout),
            BranchFailure::TransportError => (
                Candidate::plain(503, "Service Unavailable"),
                Cause::TransportFailure,
            ),
            BranchFailure::Unresolvable => (
                Candidate::plain(404, "Not Found (next hop not resolvable)"),
                Cause::Unresolvable,
            ),
            BranchFailure::NoSecureHop => match self.offer_check(false) {
                // Only the media keys needed TLS: say so.
                Err(r) if !self.plan.sips => (self.media_refusal(r), Cause::Media(r)),
                _ => (self.no_secure_hop(), Cause::NoSecureHop),
            },
        };
        self.fail_branch(branch, candidate, cause);
        self.maybe_finish();
    }

    /// A response arrived on a branch's client transaction.
    pub fn on_response(&mut self, branch: usize, response: &Message, now: Instant) {
        let Some(code) = response.status_code() else {
            return;
        };
        let Some(b) = self.branches.get_mut(branch) else {
            return;
        };
        let invite = self.method == Method::Invite;
        match code {
            100..=199 => {
                if b.state == State::Done || b.state == State::Resolving {
                    return;
                }
                b.state = State::Proceeding;
                if code > 100 && invite && !matches!(b.cancel, Cancel::Sent(_)) {
                    b.timer_c = Some(now + self.shared.config.timer_c);
                }
                if b.cancel == Cancel::Wanted {
                    self.cancel_branch(branch, now);
                }
                if code > 100 && self.final_sent.is_none() && !self.cancelled {
                    self.forward_provisional(response);
                }
            }
            200..=299 => {
                b.state = State::Done;
                b.timer_c = None;
                if invite {
                    self.forward_invite_2xx(branch, response, now);
                } else if self.final_sent.is_none() {
                    if let Some(bytes) = self.strip_via(response) {
                        self.send_final(code, bytes);
                    }
                }
            }
            _ => {
                if b.state == State::Done {
                    return;
                }
                b.state = State::Done;
                b.timer_c = None;
                self.finals
                    .push(Candidate::Received(Box::new(response.clone())));
                if code >= 600 && invite {
                    self.cancel_pending(now);
                }
            }
        }
        self.maybe_finish();
    }

    /// A CANCEL matched this request's server transaction (RFC 3261 §16.10). Returns the
    /// 200 for the CANCEL; the INVITE is answered 487 once the branches end.
    pub fn on_cancel(&mut self, cancel: &Message, now: Instant) -> Result<Bytes, BuildError> {
        let ok = response_to(cancel, 200, "OK")
            .to_tag(&self.to_tag)
            .build()?;
        if self.method == Method::Invite && self.final_sent.is_none() {
            self.cancelled = true;
            self.cancel_pending(now);
            self.maybe_finish();
        }
        Ok(ok)
    }

    /// Timer C and CANCEL timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.branches.len() {
            let Some(b) = self.branches.get_mut(i) else {
                continue;
            };
            if b.state == State::Done {
                continue;
            }
            if b.timer_c.is_some_and(|t| t <= now) {
                b.timer_c = None;
                match b.state {
                    State::Proceeding => self.cancel_branch(i, now),
                    // No provisional response: as if it had answered 408 (§16.8).
                    _ => {
                        self.fail_branch(
                            i,
                            Candidate::plain(408, "Request Timeout"),
                            Cause::Timeout,
                        );
                        self.actions.push_back(Action::Abandon { branch: i });
                        continue;
                    }
                }
            }
            let expired = self
                .branches
                .get(i)
                .is_some_and(|b| matches!(b.cancel, Cancel::Sent(t) if t <= now));
            if expired {
                self.fail_branch(i, Candidate::plain(408, "Request Timeout"), Cause::Timeout);
                self.actions.push_back(Action::Abandon { branch: i });
            }
        }
        self.maybe_finish();
    }

    fn send_branch(&mut self, i: usize, transport: Transport, now: Instant) {
        let Some(b) = self.branches.get(i) else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        if self.plan.sips && !transport.is_secure() {
            let c = self.no_secure_hop();
            self.fail_branch(i, c, Cause::NoSecureHop);
            return;
        }
        // SDES keys in the offer come back in the answer: both hops must be TLS.
        let hop_tls = transport.is_secure() && self.inbound.transport.is_secure();
        if let Err(r) = self.offer_check(hop_tls) {
            let c = self.media_refusal(r);
            self.fail_branch(i, c, Cause::Media(r));
            return;
        }
        if b.hop.secure_only && !transport.is_secure() {
            let c = self.no_secure_hop();
            self.fail_branch(i, c, Cause::NoSecureHop);
            return;
        }
        let Some(index) = shared.interfaces.for_transport(transport) else {
            self.fail_branch(
                i,
                Candidate::plain(503, "Service Unavailable"),
                Cause::TransportFailure,
            );
            return;
        };
        let (Some(out_iface), Some(in_iface)) = (
            shared.interfaces.get(index),
            shared.interfaces.get(self.inbound.index),
        ) else {
            return;
        };
        let mut extra = Vec::new();
        if shared.config.assessment_header && self.method == Method::Invite && self.initial {
            let facts = self.facts(Some(i), Some(transport), None);
            extra.push((HEADER, facts.assess().header_value()));
        }
        let branch_id = route::branch(self.plan.loop_hash, &i.to_string());
        let built = Build {
            msg: &self.request,
            plan: &self.plan,
            edits: &b.edits,
            branch: &branch_id,
            outbound: Side {
                index,
                iface: out_iface,
                flow: b.hop.flow.as_deref(),
            },
            inbound: Side {
                index: self.inbound.index,
                iface: in_iface,
                flow: self.inbound.flow.as_deref(),
            },
            keys: &shared.keys,
            record_route: true,
            extra: &extra,
        }
        .bytes();
        let Ok(request) = built else {
            self.fail_branch(
                i,
                Candidate::plain(500, "Server Internal Error"),
                Cause::Internal,
            );
            return;
        };
        let invite = self.method == Method::Invite;
        let timer_c = shared.config.timer_c;
        let Some(b) = self.branches.get_mut(i) else {
            return;
        };
        b.hop.transport = Some(transport);
        b.request = Some(request.clone());
        b.iface = Some(index);
        b.state = State::Trying;
        if invite {
            b.timer_c = Some(now + timer_c);
        }
        self.actions.push_back(Action::Forward {
            branch: i,
            request,
            hop: b.hop.clone(),
        });
    }

    fn fail_branch(&mut self, i: usize, candidate: Candidate, cause: Cause) {
        let Some(b) = self.branches.get_mut(i) else {
            return;
        };
        b.state = State::Done;
        b.timer_c = None;
        let code = candidate.code();
        self.finals.push(candidate);
        self.actions.push_back(Action::Event(Event::BranchFailed {
            branch: i,
            code,
            cause,
        }));
    }

    fn offer_check(&self, hop_is_tls: bool) -> Result<(), Refusal> {
        let policy = &self.shared.config.media_policy;
        media::check(policy, &self.offer, self.request.body(), hop_is_tls)
    }

    fn no_secure_hop(&self) -> Candidate {
        Candidate::Synthetic {
            code: 480,
            reason: "Temporarily Unavailable (no secure next hop)",
            headers: vec![
                (
                    "Warning",
                    format!("399 {} \"{NO_SECURE_HOP}\"", self.shared.warning_host),
                ),
                (
                    "Reason",
                    "SIP;cause=480;text=\"no secure next hop\"".to_owned(),
                ),
            ],
        }
    }

    fn media_refusal(&self, r: Refusal) -> Candidate {
        Candidate::Synthetic {
            code: Refusal::STATUS,
            reason: Refusal::REASON_PHRASE,
            headers: vec![("Warning", r.warning_value(&self.shared.warning_host))],
        }
    }

    /// Cancels every branch not finished, and forbids new ones.
    fn cancel_pending(&mut self, now: Instant) {
        for i in 0..self.branches.len() {
            self.cancel_branch(i, now);
        }
    }

    fn cancel_branch(&mut self, i: usize, now: Instant) {
        let timeout = self.shared.config.cancel_timeout;
        let Some(b) = self.branches.get_mut(i) else {
            return;
        };
        match b.state {
            State::Done => {}
            State::Resolving => {
                b.state = State::Done;
                self.finals
                    .push(Candidate::plain(487, "Request Terminated"));
            }
            // RFC 3261 §9.1: no CANCEL before a provisional response.
            State::Trying => {
                if b.cancel == Cancel::No {
                    b.cancel = Cancel::Wanted;
                }
            }
            State::Proceeding => {
                if matches!(b.cancel, Cancel::Sent(_)) {
                    return;
                }
                let cancel = b
                    .request
                    .as_ref()
                    .and_then(|r| Message::parse(r.clone()).ok())
                    .and_then(|m| cancel_for(&m).ok());
                b.timer_c = None;
                b.cancel = Cancel::Sent(now + timeout);
                if let Some(request) = cancel {
                    self.actions.push_back(Action::Cancel {
                        branch: i,
                        request,
                        hop: b.hop.clone(),
                    });
                }
            }
        }
    }

    fn strip_via(&self, response: &Message) -> Option<Bytes> {
        let mut ed = Editor::new(response);
        ed.remove_top_via().ok()?;
        Some(ed.finish())
    }

    fn upstream_check(&mut self, response: &Message) -> Result<(), Refusal> {
        let kind = media::inspect(response);
        let tls = self.inbound.transport.is_secure();
        media::check(
            &self.shared.config.media_policy,
            &kind,
            response.body(),
            tls,
        )
    }

    fn forward_provisional(&mut self, response: &Message) {
        let code = response.status_code().unwrap_or(183);
        if let Err(r) = self.upstream_check(response) {
            self.actions.push_back(Action::Event(Event::Withheld {
                code,
                cause: Cause::Media(r),
            }));
            return;
        }
        if let Some(response) = self.strip_via(response) {
            self.actions.push_back(Action::Respond { code, response });
        }
    }

    fn forward_invite_2xx(&mut self, i: usize, response: &Message, now: Instant) {
        let code = response.status_code().unwrap_or(200);
        if let Err(r) = self.upstream_check(response) {
            // The callee has accepted; its answer must not cross the plain hop. End the
            // callee's call ourselves (ACK, then BYE) and count the branch as a 488.
            self.actions.push_back(Action::Event(Event::Withheld {
                code,
                cause: Cause::Media(r),
            }));
            let first = self
                .branches
                .get_mut(i)
                .is_some_and(|b| !std::mem::replace(&mut b.torn_down, true));
            self.teardown(i, response, first);
            if first {
                let c = self.media_refusal(r);
                self.finals.push(c);
            }
            return;
        }
        let Some(bytes) = self.strip_via(response) else {
            return;
        };
        if self.initial && !self.answered {
            self.answered = true;
            let answer = media::inspect(response);
            let assessment = self.assessment(i, response, &answer);
            self.actions
                .push_back(Action::Event(Event::CallAnswered(Box::new(assessment))));
        }
        if self.final_sent.is_none() {
            self.send_final(code, bytes);
        } else {
            self.actions.push_back(Action::Respond {
                code,
                response: bytes,
            });
        }
        self.cancel_pending(now);
    }

    fn send_final(&mut self, code: u16, response: Bytes) {
        self.final_sent = Some(code);
        self.actions.push_back(Action::Respond { code, response });
        if self.method == Method::Bye {
            let dialog = DialogId {
                call_id: self.request.call_id().unwrap_or_default().to_owned(),
                caller_tag: tag(self.request.from()),
                callee_tag: tag(self.request.to()),
            };
            self.actions
                .push_back(Action::Event(Event::CallEnded { dialog, code }));
        }
    }

    fn maybe_finish(&mut self) {
        if self.final_sent.is_some() || self.branches.iter().any(|b| b.state != State::Done) {
            return;
        }
        let response = self.best_response();
        match response {
            Ok((code, bytes)) => self.send_final(code, bytes),
            Err(_) => {
                // Building even a plain response failed: nothing sensible can be sent;
                // the server transaction times out.
                self.final_sent = Some(500);
                self.actions.push_back(Action::Event(Event::Refused {
                    code: 500,
                    cause: Cause::Internal,
                }));
            }
        }
    }

    /// RFC 3261 §16.7 step 6: 6xx first; when cancelled 487; else the lowest class,
    /// preferring challenges within 4xx. A 503 becomes 500.
    fn best_response(&self) -> Result<(u16, Bytes), BuildError> {
        let chosen = self
            .finals
            .iter()
            .find(|c| c.code() >= 600)
            .or_else(|| {
                self.cancelled
                    .then(|| self.finals.iter().find(|c| c.code() == 487))
                    .flatten()
            })
            .or_else(|| {
                if self.cancelled {
                    return None;
                }
                self.finals.iter().min_by_key(|c| rank(c.code()))
            });
        let Some(chosen) = chosen else {
            let (code, reason) = if self.cancelled {
                (487, "Request Terminated")
            } else {
                (408, "Request Timeout")
            };
            return self.synthetic(code, reason, &[]);
        };
        match chosen {
            Candidate::Synthetic {
                code,
                reason,
                headers,
            } => {
                if *code == 503 {
                    return self.synthetic(500, "Server Internal Error", &[]);
                }
                self.synthetic(*code, reason, headers)
            }
            Candidate::Received(msg) => {
                let code = msg.status_code().unwrap_or(500);
                if code == 503 {
                    return self.synthetic(500, "Server Internal Error", &[]);
                }
                let mut ed = Editor::new(msg);
                let edited = (|| {
                    ed.remove_top_via()?;
                    if code == 401 || code == 407 {
                        ed.remove_header(HeaderName::WwwAuthenticate)?;
                        ed.remove_header(HeaderName::ProxyAuthenticate)?;
                        for (name, value) in self.challenges() {
                            ed.add_header(name, value)?;
                        }
                    }
                    Ok::<(), sipwarden_wire::edit::EditError>(())
                })();
                match edited {
                    Ok(()) => Ok((code, ed.finish())),
                    Err(_) => self.synthetic(500, "Server Internal Error", &[]),
                }
            }
        }
    }

    /// Every WWW-/Proxy-Authenticate value of every 401 and 407 received (§16.7 step 7).
    fn challenges(&self) -> Vec<(&'static str, &[u8])> {
        let mut out = Vec::new();
        for c in &self.finals {
            let Candidate::Received(m) = c else { continue };
            if !matches!(m.status_code(), Some(401 | 407)) {
                continue;
            }
            for v in m.header_values(HeaderName::WwwAuthenticate) {
                out.push(("WWW-Authenticate", v));
            }
            for v in m.header_values(HeaderName::ProxyAuthenticate) {
                out.push(("Proxy-Authenticate", v));
            }
        }
        out
    }

    fn synthetic(
        &self,
        code: u16,
        reason: &str,
        headers: &[(&'static str, String)],
    ) -> Result<(u16, Bytes), BuildError> {
        let mut b = response_to(&self.request, code, reason).to_tag(&self.to_tag);
        for (name, value) in headers {
            b = b.header(name, value);
        }
        Ok((code, b.build()?))
    }

    /// Ends the callee's side of a call whose 2xx we refused: an ACK and a BYE, along
    /// the route set the 2xx established below us.
    fn teardown(&mut self, i: usize, response: &Message, with_bye: bool) {
        let Some(b) = self.branches.get(i) else {
            return;
        };
        let (Some(transport), Some(index)) = (b.hop.transport, b.iface) else {
            return;
        };
        let Some(iface) = self.shared.interfaces.get(index) else {
            return;
        };
        let ours = Ours {
            interfaces: &self.shared.interfaces,
            domains: &self.shared.domains,
            keys: &self.shared.keys,
        };
        let mut below: Vec<String> = Vec::new();
        for rr in response.record_routes() {
            let Ok(rr) = rr else { break };
            match rr.uri.as_sip() {
                Some(u) if ours.is_ours(u) => break,
                Some(u) => below.push(u.raw.to_owned()),
                None => break,
            }
        }
        below.reverse();
        let Some(contact) = response
            .contacts()
            .ok()
            .and_then(|c| c.as_slice().first().map(|c| c.addr.uri.as_str().to_owned()))
        else {
            return;
        };
        let (Ok(from), Ok(to), Ok(call_id), Ok(cseq)) = (
            response.from(),
            response.to(),
            response.call_id(),
            response.cseq(),
        ) else {
            return;
        };
        let (Some(from_tag), Some(to_tag)) = (from.tag, to.tag) else {
            return;
        };
        let sent_by = format!("{}:{}", iface.host, iface.port);
        let make = |method: &str, seq: u32, suffix: &str| {
            let mut rb = RequestBuilder::new(method, &contact)
                .via(
                    transport.as_str(),
                    &sent_by,
                    &route::branch(self.plan.loop_hash, suffix),
                )
                .from(from.uri.as_str(), from_tag)
                .to(to.uri.as_str())
                .to_tag(to_tag)
                .call_id(call_id)
                .cseq(seq);
            for r in &below {
                rb = rb.route(&format!("<{r}>"));
            }
            if method == "BYE" {
                rb = rb.header(
                    "Reason",
                    "SIP;cause=488;text=\"media keys would cross a hop without TLS\"",
                );
            }
            rb.build()
        };
        let hop = NextHop {
            uri: below.first().cloned().unwrap_or_else(|| contact.clone()),
            transport: Some(transport),
            flow: b.hop.flow.clone(),
            secure_only: b.hop.secure_only,
        };
        if let Ok(ack) = make("ACK", cseq.seq, &format!("{i}a")) {
            self.actions.push_back(Action::SendStateless {
                request: ack,
                hop: hop.clone(),
            });
        }
        if !with_bye {
            return;
        }
        if let Ok(bye) = make("BYE", cseq.seq.saturating_add(1), &format!("{i}b")) {
            self.actions
                .push_back(Action::SendRequest { request: bye, hop });
        }
    }

    /// The facts of this call as seen through branch `i`.
    fn facts(
        &self,
        i: Option<usize>,
        transport: Option<Transport>,
        answer: Option<(&Message, &Body)>,
    ) -> CallFacts {
        let mut hops = Vec::new();
        for via in self.request.vias().skip(1).flatten() {
            hops.push(SignallingHop::new(
                HopRole::Earlier,
                HopSource::ReportedByVia,
                via.transport,
            ));
        }
        // Earlier hops are listed nearest first in Via; show them in path order.
        hops.reverse();
        let mut caller = SignallingHop::new(
            HopRole::CallerSide,
            HopSource::Observed,
            self.inbound.transport,
        );
        caller.tls = self.inbound.tls.clone().or_else(|| {
            self.inbound
                .transport
                .is_secure()
                .then(|| TlsFacts::new(PeerVerification::Unknown))
        });
        hops.push(caller);
        let branch = i.and_then(|i| self.branches.get(i));
        if let Some(t) = transport.or_else(|| branch.and_then(|b| b.hop.transport)) {
            let mut callee = SignallingHop::new(HopRole::CalleeSide, HopSource::Observed, t);
            callee.tls = branch.and_then(|b| b.tls.clone()).or_else(|| {
                t.is_secure()
                    .then(|| TlsFacts::new(PeerVerification::Unknown))
            });
            hops.push(callee);
        }
        let (offerer, offer, answer_sdp) = match (&self.offer, answer) {
            (Body::Absent, Some((_, a))) => (Party::Callee, a.sdp().cloned(), None),
            (o, Some((_, a))) => (Party::Caller, o.sdp().cloned(), a.sdp().cloned()),
            (o, None) => (Party::Caller, o.sdp().cloned(), None),
        };
        let callee_tag = answer
            .and_then(|(m, _)| m.to().ok().and_then(|t| t.tag.map(str::to_owned)))
            .unwrap_or_default();
        CallFacts {
            dialog: DialogId {
                call_id: self.request.call_id().unwrap_or_default().to_owned(),
                caller_tag: tag(self.request.from()),
                callee_tag,
            },
            hops,
            caller_auth: self.caller_auth.clone(),
            identity: IdentityCheck::NotChecked,
            offerer,
            offer,
            answer: answer_sdp,
        }
    }

    fn assessment(&self, i: usize, response: &Message, answer: &Body) -> CallAssessment {
        self.facts(Some(i), None, Some((response, answer))).assess()
    }
}

fn tag(r: Result<sipwarden_wire::headers::NameAddr<'_>, sipwarden_wire::ParseError>) -> String {
    r.ok()
        .and_then(|n| n.tag.map(str::to_owned))
        .unwrap_or_default()
}

/// Preference among final responses of the same kind: lower is better. Classes in
/// order; within 4xx a challenge first (the caller can act on it) and 408 last;
/// within 5xx 503 last.
fn rank(code: u16) -> (u16, u8) {
    let within = match code {
        407 => 0,
        401 => 1,
        408 | 503 => 3,
        _ => 2,
    };
    (code / 100, within)
}
