//! Driving response contexts where their messages arrive.
//!
//! A context lives in a [`CallCell`]: whoever has something for it (the receive thread
//! with a response, the CANCEL handler, the timer task) queues it in the cell's inbox
//! and, unless another thread is already driving the cell, drives it right there until
//! the inbox is empty. Driving is an `async` function polled in place: when it has to
//! wait (DNS, a new connection) it continues as a task, which keeps the cell until it is
//! done, so a context's inputs and actions stay in order. Timers live in one task for
//! all contexts ([`Timers`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Waker};
use std::time::Instant;

use sipwarden_core::assessment::TlsFacts;
use sipwarden_core::proxy::{Action, BranchFailure, ResponseContext};
use sipwarden_transport::tu::Responder;
use sipwarden_transport::{ClientFailure, ClientRoute, ClientSink, Flow, StartError};
use sipwarden_wire::{Message, Method};

use super::{lock, now, route_failure, with_session, Resolved, Shared, MAX_CONTEXT_LIFETIME};

/// Runs `fut` on this thread until it first has to wait; the rest, if any, runs as a
/// task. Needs a tokio runtime context only when it has to wait.
pub(super) fn run_inline<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        // Polled again by the runtime with a real waker, which every future it waits
        // on then registers.
        tokio::spawn(fut);
    }
}

/// What a response context is told.
pub(super) enum Input {
    /// Carry out what the context asked for when it was created.
    Start,
    Response(usize, Box<Message>),
    Failure(usize, ClientFailure),
    Cancel(Box<Message>),
    /// A deadline armed with [`Timers::add`] passed.
    Timer(TimerKey),
}

/// One response context and what it is told, shared by its branch sinks, the CANCEL
/// table and the timers.
pub(super) struct CallCell {
    shared: Arc<Shared>,
    inbox: Mutex<VecDeque<Input>>,
    /// Someone is driving the context (and will look at the inbox again).
    driving: AtomicBool,
    /// The context ended: responses go on statelessly.
    finished: AtomicBool,
    /// The context, while nobody drives it (the driver holds it meanwhile).
    call: Mutex<Option<Box<Call>>>,
}

struct Call {
    ctx: Box<ResponseContext>,
    io: Driver,
    /// The key of the INVITE in the CANCEL table.
    key: Option<String>,
    /// The context is dropped at this time whatever its timers say.
    give_up: Instant,
    armed: Option<TimerKey>,
}

impl CallCell {
    /// Starts driving `ctx`; an INVITE is entered in the CANCEL table under `key`.
    pub(super) fn start(
        shared: Arc<Shared>,
        ctx: Box<ResponseContext>,
        io: Driver,
        key: Option<String>,
    ) {
        let call = Call {
            ctx,
            io,
            key,
            give_up: now() + MAX_CONTEXT_LIFETIME,
            armed: None,
        };
        let cell = Arc::new(CallCell {
            shared,
            inbox: Mutex::new(VecDeque::from([Input::Start])),
            driving: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            call: Mutex::new(None),
        });
        if let Some(k) = &call.key {
            lock(&cell.shared.pending).insert(k.clone(), Arc::clone(&cell));
        }
        *lock(&cell.call) = Some(Box::new(call));
        cell.kick();
    }

    /// Queues `input` and drives the context unless another thread does.
    pub(super) fn deliver(self: &Arc<Self>, input: Input) {
        lock(&self.inbox).push_back(input);
        self.kick();
    }

    fn kick(self: &Arc<Self>) {
        if self.driving.swap(true, Ordering::SeqCst) {
            return;
        }
        run_inline(Arc::clone(self).drive());
    }

    /// Empties the inbox; the caller set `driving`.
    async fn drive(self: Arc<Self>) {
        let mut call = lock(&self.call).take();
        loop {
            loop {
                let next = lock(&self.inbox).pop_front();
                let Some(input) = next else { break };
                call = match call {
                    Some(c) => self.step(c, input).await,
                    None => {
                        self.after_end(input);
                        None
                    }
                };
            }
            if let Some(c) = call.as_mut() {
                self.arm(c);
            }
            *lock(&self.call) = call;
            self.driving.store(false, Ordering::SeqCst);
            // An input queued while `driving` was still set is ours to handle.
            if lock(&self.inbox).is_empty() || self.driving.swap(true, Ordering::SeqCst) {
                return;
            }
            call = lock(&self.call).take();
        }
    }

    /// Feeds one input and carries out what follows; `None` once the context ended.
    async fn step(self: &Arc<Self>, mut c: Box<Call>, input: Input) -> Option<Box<Call>> {
        match input {
            Input::Start => {}
            Input::Response(branch, msg) => c.ctx.on_response(branch, &msg, now()),
            Input::Failure(branch, f) => {
                let f = match f {
                    ClientFailure::Timeout => BranchFailure::Timeout,
                    ClientFailure::TransportError => BranchFailure::TransportError,
                };
                c.ctx.on_branch_failure(branch, f, now());
            }
            Input::Cancel(msg) => {
                // The transport already answered the CANCEL itself.
                let _ = c.ctx.on_cancel(&msg, now());
            }
            Input::Timer(key) => {
                if c.armed == Some(key) {
                    c.armed = None;
                }
                let t = now();
                if t >= c.give_up {
                    tracing::warn!(call_id = %c.io.call_id, "response context outlived its limit; dropped");
                    self.end(c);
                    return None;
                }
                if c.ctx.poll_timeout().is_some_and(|d| d <= t) {
                    c.ctx.handle_timeout(t);
                }
            }
        }
        while let Some(action) = c.ctx.poll_action() {
            c.io.execute(self, &mut c.ctx, action).await;
        }
        if c.ctx.is_done() {
            self.end(c);
            return None;
        }
        Some(c)
    }

    /// What arrives after the context ended.
    fn after_end(&self, input: Input) {
        match input {
            // A 2xx retransmission goes on statelessly.
            Input::Response(_, msg) => self.shared.forward_stray(&msg),
            Input::Cancel(_) => tracing::debug!("CANCEL for a finished INVITE"),
            _ => {}
        }
    }

    /// Arms the timer for the context's next deadline, unless an earlier one is armed
    /// (it fires, finds nothing due and arms the next).
    fn arm(self: &Arc<Self>, c: &mut Call) {
        let want = c.ctx.poll_timeout().map_or(c.give_up, |d| d.min(c.give_up));
        if c.armed.is_some_and(|k| k.at <= want) {
            return;
        }
        let timers = &self.shared.timers;
        if let Some(k) = c.armed.take() {
            timers.cancel(k);
        }
        c.armed = Some(timers.add(want, Arc::clone(self)));
    }

    fn end(&self, mut c: Box<Call>) {
        self.finished.store(true, Ordering::SeqCst);
        if let Some(k) = c.armed.take() {
            self.shared.timers.cancel(k);
        }
        if let Some(k) = &c.key {
            lock(&self.shared.pending).remove(k);
        }
        // INVITE client transactions keep their sink: late 2xx retransmissions are
        // forwarded by it statelessly. Others are let go.
        if c.ctx.method() == Method::Invite {
            return;
        }
        let Some(rt) = self.shared.runtime() else {
            return;
        };
        for b in c.io.branches.values() {
            if let Some(txn) = b.txn {
                rt.handle.abandon_client(txn);
            }
        }
    }
}

/// Reports one branch's client transaction to its context.
struct BranchSink {
    branch: usize,
    cell: Arc<CallCell>,
}

impl ClientSink for BranchSink {
    fn on_response(&self, response: Message) {
        if self.cell.finished.load(Ordering::SeqCst) {
            // The context is gone: a 2xx retransmission goes on statelessly.
            self.cell.shared.forward_stray(&response);
            return;
        }
        self.cell
            .deliver(Input::Response(self.branch, Box::new(response)));
    }

    fn on_failure(&self, failure: ClientFailure) {
        if !self.cell.finished.load(Ordering::SeqCst) {
            self.cell.deliver(Input::Failure(self.branch, failure));
        }
    }
}

/// Swallows what a transaction reports (our CANCELs and BYEs).
struct Absorb;

impl ClientSink for Absorb {
    fn on_response(&self, _response: Message) {}
    fn on_failure(&self, _failure: ClientFailure) {}
}

/// One armed deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TimerKey {
    at: Instant,
    id: u64,
}

/// The deadlines of every response context, served by one task.
#[derive(Default)]
pub(super) struct Timers {
    inner: Mutex<TimerTable>,
    next_id: AtomicU64,
    wake: tokio::sync::Notify,
    task: OnceLock<()>,
}

#[derive(Default)]
struct TimerTable {
    entries: BTreeMap<(Instant, u64), Arc<CallCell>>,
    /// When the task wakes up next by itself (`None`: only when told). A new deadline
    /// wakes it only when earlier: most are minutes away, and contexts that end remove
    /// theirs without waking it.
    sleeping_until: Option<Instant>,
}

impl Timers {
    /// Tells `cell` once `at` has passed.
    fn add(self: &Arc<Self>, at: Instant, cell: Arc<CallCell>) -> TimerKey {
        self.task.get_or_init(|| {
            tokio::spawn(Arc::clone(self).run());
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let wake = {
            let mut table = lock(&self.inner);
            table.entries.insert((at, id), cell);
            let wake = table.sleeping_until.is_none_or(|s| at < s);
            if wake {
                table.sleeping_until = Some(at);
            }
            wake
        };
        if wake {
            self.wake.notify_one();
        }
        TimerKey { at, id }
    }

    fn cancel(&self, key: TimerKey) {
        lock(&self.inner).entries.remove(&(key.at, key.id));
    }

    async fn run(self: Arc<Self>) {
        loop {
            let t = now();
            let (due, next) = {
                let mut table = lock(&self.inner);
                let mut due = Vec::new();
                while let Some(entry) = table.entries.first_entry() {
                    if entry.key().0 > t {
                        break;
                    }
                    let ((at, id), cell) = entry.remove_entry();
                    due.push((TimerKey { at, id }, cell));
                }
                let next = table.entries.keys().next().map(|k| k.0);
                table.sleeping_until = next;
                (due, next)
            };
            for (key, cell) in due {
                cell.deliver(Input::Timer(key));
            }
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }
}

/// One branch as the driver sees it.
pub(super) struct BranchIo {
    route: ClientRoute,
    tls: Option<TlsFacts>,
    txn: Option<sipwarden_txn::TxnId>,
}

/// Carries out what one response context asks for.
pub(super) struct Driver {
    pub(super) responder: Responder,
    pub(super) branches: HashMap<usize, BranchIo>,
    pub(super) call_id: String,
    /// The Request-URI, for security events.
    pub(super) uri: String,
    pub(super) flow: Flow,
}

impl Driver {
    async fn execute(&mut self, cell: &Arc<CallCell>, ctx: &mut ResponseContext, action: Action) {
        let shared = &cell.shared;
        let Some(rt) = shared.runtime() else {
            return;
        };
        match action {
            Action::Forward {
                branch,
                request,
                hop,
            } => {
                // A branch resolved earlier keeps its target.
                let known = self.branches.remove(&branch).map(|b| Resolved {
                    route: b.route,
                    tls: b.tls,
                });
                let resolved = match known {
                    Some(r) => r,
                    None => match shared.route_for(&hop).await {
                        Ok((r, _)) => r,
                        Err(e) => {
                            ctx.on_branch_failure(branch, route_failure(&e), now());
                            return;
                        }
                    },
                };
                let sink = Arc::new(BranchSink {
                    branch,
                    cell: Arc::clone(cell),
                });
                if let Some(tls) = resolved.tls.clone() {
                    ctx.set_hop_security(branch, tls);
                }
                match rt.handle.start_client(&resolved.route, request, sink).await {
                    Ok(txn) => {
                        // The connection is up now: what its handshake negotiated
                        // completes the callee-side hop.
                        let tls = resolved
                            .tls
                            .map(|t| with_session(t, &rt.handle, txn.flow.id));
                        if let Some(t) = &tls {
                            ctx.set_hop_security(branch, t.clone());
                        }
                        self.branches.insert(
                            branch,
                            BranchIo {
                                route: resolved.route,
                                tls,
                                txn: Some(txn.id),
                            },
                        );
                    }
                    Err(err) => {
                        if let StartError::Send(e) = &err {
                            shared.send_failed(e);
                        } else {
                            tracing::debug!(%err, "branch not started");
                        }
                        ctx.on_branch_failure(branch, BranchFailure::TransportError, now());
                    }
                }
            }
            Action::Resolve { branch, hop } => match shared.route_for(&hop).await {
                Ok((resolved, transport)) => {
                    self.branches.insert(
                        branch,
                        BranchIo {
                            route: resolved.route,
                            tls: resolved.tls,
                            txn: None,
                        },
                    );
                    ctx.on_resolved(branch, transport, now());
                }
                Err(e) => ctx.on_branch_failure(branch, route_failure(&e), now()),
            },
            Action::Respond { code, response } => {
                // A 2xx after the final response goes statelessly by its Via (§16.7).
                let sent = self.responder.respond(response.clone()).is_ok();
                if !sent && (200..300).contains(&code) {
                    shared.send_by_via(response).await;
                }
            }
            Action::Cancel {
                branch,
                request,
                hop,
            } => {
                let route = match self.branches.get(&branch) {
                    Some(b) => Some(b.route.clone()),
                    None => shared.route_for(&hop).await.ok().map(|(r, _)| r.route),
                };
                if let Some(route) = route {
                    if let Err(err) = rt
                        .handle
                        .start_client(&route, request, Arc::new(Absorb))
                        .await
                    {
                        tracing::debug!(%err, "CANCEL not sent");
                    }
                }
            }
            Action::SendStateless { request, hop } => {
                if let Ok((r, _)) = shared.route_for(&hop).await {
                    shared.send(&r.route, request).await;
                }
            }
            Action::SendRequest { request, hop } => {
                if let Ok((r, _)) = shared.route_for(&hop).await {
                    if let Err(err) = rt
                        .handle
                        .start_client(&r.route, request, Arc::new(Absorb))
                        .await
                    {
                        tracing::debug!(%err, "request not sent");
                    }
                }
            }
            Action::Abandon { branch } => {
                if let Some(txn) = self.branches.get_mut(&branch).and_then(|b| b.txn.take()) {
                    rt.handle.abandon_client(txn);
                }
            }
            Action::Event(e) => shared.record(e, &self.flow, &self.call_id, &self.uri),
            _ => {}
        }
    }
}
