//! The tokio side of the stateful proxy: it feeds `sipwarden_core::proxy` with what the
//! transport receives and carries out what the proxy decides — client transactions per
//! branch, RFC 3263 resolution, verified outbound TLS (RFC 5922), CANCEL, ACK for 2xx,
//! stray 2xx retransmissions — and records call assessments in the calls book.
//!
//! Every response context is driven on the thread that delivers its messages (the
//! transport's receive threads, mostly): a call whose next hops need no DNS lookup and no
//! new connection never leaves that thread. Work that must wait (RFC 3263 resolution, a
//! TCP or TLS connection) continues in a task, and the context's later messages queue
//! behind it. Nothing here decides anything about SIP: the core does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sipwarden_core::assessment::{PeerVerification, TlsFacts};
use sipwarden_core::proxy::{
    BranchFailure, Event, Inbound, NextHop, Proxy, RequestOutcome, StoreLookup,
};
use sipwarden_core::Domains;
use sipwarden_dns::{DnsLookup, HickoryLookup, ResolveOptions, StdWeightRandom, TransportSet};
use sipwarden_tls::{CertFailure, ClientTlsConfig, ReferenceName};
use sipwarden_transport::reply::random_hex;
use sipwarden_transport::tu::{IncomingRequest, Responder};
use sipwarden_transport::via::TopVia;
use sipwarden_transport::{ClientRoute, Flow, FlowId, SendError, Target, TransportHandle};
use sipwarden_wire::build::response_to;
use sipwarden_wire::uri::Uri;
use sipwarden_wire::{HeaderName, Message, Method};

use crate::proxy_calls::CallBook;

mod drive;

use drive::{run_inline, CallCell, Driver, Input, Timers};

/// Longest a response context may live, whatever its timers say (a safety net; Timer C
/// and the transaction timers normally end it much sooner).
const MAX_CONTEXT_LIFETIME: Duration = Duration::from_secs(600);
/// How long resolving one next hop may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the proxy needs once the transport is running.
pub struct ProxyRuntime {
    /// The decision core.
    pub proxy: Proxy,
    /// Sends and client transactions.
    pub handle: TransportHandle,
    /// Users and bindings, shared with the registrar.
    pub stores: crate::state::Stores,
    /// RFC 3263 lookups; `None` when the system resolver is unusable (IP-literal next
    /// hops still work).
    pub dns: Option<HickoryLookup>,
    /// Trust roots for outbound TLS; names are set per connection.
    pub tls: ClientTlsConfig,
    /// Domains we serve (to tell requests for this server itself).
    pub domains: Domains,
}

/// State shared by the transaction user and its tasks.
struct Shared {
    runtime: OnceLock<ProxyRuntime>,
    /// INVITEs being proxied, by the key a CANCEL for them carries.
    pending: Mutex<HashMap<String, Arc<CallCell>>>,
    /// Timer C, CANCEL timeouts and the lifetime limit of every response context.
    timers: Arc<Timers>,
    calls: Arc<CallBook>,
    /// Told of every Proxy-Authorization check (the abuse guard's lockout and trust).
    auth_observer: OnceLock<Arc<dyn sipwarden_core::AuthObserver>>,
}

/// The proxy's transaction-user half: `SipTu` hands it every request that is not for the
/// registrar or the server itself.
#[derive(Clone)]
pub struct ProxyTu {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProxyTu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyTu").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The key matching a CANCEL to its INVITE: top Via branch and Call-ID (RFC 3261 §9.2).
fn cancel_key(msg: &Message) -> Option<String> {
    let via = msg.top_via().ok()?;
    let branch = via.branch?;
    let call_id = msg.call_id().ok()?;
    Some(format!("{branch}\u{0}{call_id}"))
}

pub(crate) fn wire_transport(t: sipwarden_transport::Transport) -> sipwarden_wire::Transport {
    use sipwarden_transport::Transport as T;
    match t {
        T::Udp => sipwarden_wire::Transport::Udp,
        T::Tcp => sipwarden_wire::Transport::Tcp,
        T::Tls => sipwarden_wire::Transport::Tls,
        T::Ws => sipwarden_wire::Transport::Ws,
        T::Wss => sipwarden_wire::Transport::Wss,
    }
}

fn spec_transport(t: sipwarden_dns::Transport) -> sipwarden_transport::Transport {
    use sipwarden_dns::Transport as D;
    use sipwarden_transport::Transport as T;
    match t {
        D::Udp => T::Udp,
        D::Tcp => T::Tcp,
        D::Tls => T::Tls,
        D::Ws => T::Ws,
        D::Wss => T::Wss,
    }
}

fn dns_transport(t: sipwarden_wire::Transport) -> Option<sipwarden_dns::Transport> {
    use sipwarden_dns::Transport as D;
    use sipwarden_wire::Transport as W;
    match t {
        W::Udp => Some(D::Udp),
        W::Tcp => Some(D::Tcp),
        W::Tls => Some(D::Tls),
        W::Ws => Some(D::Ws),
        W::Wss => Some(D::Wss),
        _ => None,
    }
}

/// `flow-N` as the registrar stores it.
fn parse_flow(text: &str) -> Option<FlowId> {
    text.strip_prefix("flow-")?.parse().ok().map(FlowId)
}

impl ProxyTu {
    /// A proxy transaction user writing call records to `calls`. Requests get 503 until
    /// [`ProxyTu::start`] is called.
    pub fn new(calls: Arc<CallBook>) -> ProxyTu {
        ProxyTu {
            shared: Arc::new(Shared {
                runtime: OnceLock::new(),
                pending: Mutex::new(HashMap::new()),
                timers: Arc::new(Timers::default()),
                calls,
                auth_observer: OnceLock::new(),
            }),
        }
    }

    /// Reports Proxy-Authorization outcomes to `observer` (as the registrar does for
    /// REGISTER), so guessing passwords with INVITEs meets the same lockout.
    pub fn set_auth_observer(&self, observer: Arc<dyn sipwarden_core::AuthObserver>) {
        let _ = self.shared.auth_observer.set(observer);
    }

    /// Starts proxying with this runtime (once the transport is bound).
    pub fn start(&self, mut runtime: ProxyRuntime) {
        // The decision core reports each check and consults the lockout before it.
        if let Some(observer) = self.shared.auth_observer.get() {
            runtime.proxy = runtime.proxy.with_auth_observer(Arc::clone(observer));
        }
        if self.shared.runtime.set(runtime).is_err() {
            tracing::warn!("proxy already started");
        }
    }

    /// True when a request is addressed to this server itself (our domain or address,
    /// no user part, outside any dialog), so the basic responder answers it.
    pub fn is_for_server(&self, msg: &Message) -> bool {
        let Some(rt) = self.shared.runtime.get() else {
            return true;
        };
        if msg.header(HeaderName::Route).is_some() {
            return false;
        }
        if msg.to().map(|t| t.tag.is_some()).unwrap_or(false) {
            return false;
        }
        let Ok(uri) = msg.request_uri() else {
            return true;
        };
        uri.as_sip()
            .is_some_and(|u| u.user.is_none() && rt.domains.canonical(&u.host).is_some())
    }

    /// A new request for the proxy.
    pub fn on_request(&self, request: IncomingRequest, responder: Responder) {
        let Some(rt) = self.shared.runtime.get() else {
            unavailable(&request.message, &responder);
            return;
        };
        let tls = tls_facts(&request, &rt.handle);
        let flow_text = request.flow.id.map(|id| id.to_string());
        let to_tag = random_hex(8);
        let unix_time = unix_now();
        let mut salt = [0u8; 8];
        if aws_lc_rs::rand::fill(&mut salt).is_err() {
            salt = unix_time.to_be_bytes();
        }
        let inbound = Inbound {
            transport: wire_transport(request.flow.transport),
            source: request.flow.remote,
            flow: flow_text.as_deref(),
            tls: tls.as_ref(),
            now: now(),
            unix_time,
            salt,
            to_tag: &to_tag,
        };
        let lookup = StoreLookup {
            users: &*rt.stores.users,
            location: &*rt.stores.location,
            now: unix_time,
        };
        let decision = match rt.proxy.on_request(&request.message, &inbound, &lookup) {
            Ok(d) => d,
            Err(err) => {
                tracing::error!(%err, flow = %request.flow, "proxy failed");
                internal_error(&request.message, &responder, &to_tag);
                return;
            }
        };
        let call_id = request.message.call_id().unwrap_or_default().to_owned();
        let uri = String::from_utf8_lossy(request.message.request_uri_bytes()).into_owned();
        for e in decision.events {
            self.shared.record(e, &request.flow, &call_id, &uri);
        }
        match decision.outcome {
            RequestOutcome::Respond(reply) => {
                if let Err(err) = responder.respond(reply.response) {
                    tracing::debug!(%err, code = reply.code, "response not sent");
                }
            }
            RequestOutcome::Stateless(fwd) => {
                // Carried out on this thread; only a next hop needing DNS waits in a task.
                run_inline(Arc::clone(&self.shared).forward_stateless(*fwd));
            }
            RequestOutcome::Proxy(ctx) => {
                let key = (ctx.method() == Method::Invite)
                    .then(|| cancel_key(&request.message))
                    .flatten();
                let driver = Driver {
                    responder,
                    branches: HashMap::new(),
                    call_id,
                    uri,
                    flow: request.flow,
                };
                CallCell::start(Arc::clone(&self.shared), ctx, driver, key);
            }
            RequestOutcome::Discard => {}
            _ => {}
        }
    }

    /// An ACK that matched no server transaction (the ACK for a 2xx).
    pub fn on_ack(&self, ack: IncomingRequest) {
        // Same path as any request; the core answers with a stateless forward or a discard.
        let responder = Responder::new(Arc::new(NoResponses));
        self.on_request(ack, responder);
    }

    /// A CANCEL matched an INVITE being proxied (the transport already answered it 200).
    pub fn on_cancel(&self, cancel: IncomingRequest, invite: Responder) {
        let cell =
            cancel_key(&cancel.message).and_then(|k| lock(&self.shared.pending).get(&k).cloned());
        match cell {
            Some(cell) => cell.deliver(Input::Cancel(Box::new(cancel.message))),
            None => {
                // Not proxied by us (answered by this server): end it with 487.
                if let Ok(r) = response_to(&cancel.message, 487, "Request Terminated")
                    .to_tag(&random_hex(8))
                    .build()
                {
                    let _ = invite.respond(r);
                }
            }
        }
    }

    /// A response that matched no client transaction.
    pub fn on_stray_response(&self, response: Message, _flow: Flow) {
        self.shared.forward_stray(&response);
    }
}

/// A responder for requests that cannot be answered (ACK).
struct NoResponses;

impl sipwarden_transport::tu::RespondSink for NoResponses {
    fn respond(&self, _response: Bytes) -> Result<(), sipwarden_transport::RespondError> {
        Err(sipwarden_transport::RespondError::TransactionGone)
    }
}

fn unavailable(msg: &Message, responder: &Responder) {
    if msg.method() == Some(Method::Ack) {
        return;
    }
    if let Ok(r) = response_to(msg, 503, "Service Unavailable")
        .to_tag(&random_hex(8))
        .header("Retry-After", "5")
        .build()
    {
        let _ = responder.respond(r);
    }
}

fn internal_error(msg: &Message, responder: &Responder, tag: &str) {
    if msg.method() == Some(Method::Ack) {
        return;
    }
    if let Ok(r) = response_to(msg, 500, "Server Internal Error")
        .to_tag(tag)
        .build()
    {
        let _ = responder.respond(r);
    }
}

/// What we know of the TLS of the connection a request arrived on: how the peer was
/// verified and what its handshake negotiated.
fn tls_facts(request: &IncomingRequest, handle: &TransportHandle) -> Option<TlsFacts> {
    if !request.flow.transport.is_secure() {
        return None;
    }
    let peer = match &request.peer_certificates {
        // Our server configuration only accepts client certificates it verified, but
        // which identity they prove is not reported here: say so rather than guess.
        Some(_) => PeerVerification::Unknown,
        None => PeerVerification::NoClientCertificate,
    };
    Some(with_session(TlsFacts::new(peer), handle, request.flow.id))
}

/// Adds the negotiated version and cipher suite of a connection, when the transport
/// knows them.
fn with_session(facts: TlsFacts, handle: &TransportHandle, flow: Option<FlowId>) -> TlsFacts {
    match flow.and_then(|id| handle.tls_session(id)) {
        Some(s) => facts.with_session(&s.version, s.cipher_suite.as_deref()),
        None => facts,
    }
}

/// A route resolved for one hop, with the TLS facts of the connection it will use.
struct Resolved {
    route: ClientRoute,
    tls: Option<TlsFacts>,
}

/// Why a hop could not be routed.
enum RouteError {
    Unresolvable,
    NoSecureHop,
    FlowGone,
}

impl Shared {
    fn runtime(&self) -> Option<&ProxyRuntime> {
        self.runtime.get()
    }

    /// Logs a failed send; a peer certificate that failed verification is also a security
    /// event (`certificate_refused`, outbound).
    fn send_failed(&self, err: &SendError) {
        log_send_error(err);
        let SendError::Tls(io) = err else { return };
        let Some(failure) = CertFailure::from_io(io) else {
            return;
        };
        let Some(ops) = self.calls.ops() else { return };
        use sipwarden_events::{CertificateReason as R, Detail, Direction, SecurityEvent, Text};
        let reason = match &failure {
            CertFailure::Expired => R::Expired,
            CertFailure::NotYetValid => R::NotYetValid,
            CertFailure::UnknownIssuer => R::UnknownCa,
            CertFailure::NameMismatch { .. } => R::NameMismatch,
            CertFailure::Revoked => R::Revoked,
            CertFailure::BadSignature => R::BadSignature,
            CertFailure::NoCertificate => R::Missing,
            _ => R::Other,
        };
        ops.emit(&SecurityEvent::internal(
            std::time::SystemTime::now(),
            Detail::CertificateRefused {
                reason,
                direction: Direction::Outbound,
                peer: None,
                detail: Some(Text::new(&failure.to_string())),
            },
        ));
    }

    /// Refusals that are security events: a sips request not downgraded, SDES keys not
    /// sent over a plain hop.
    fn security_event(
        &self,
        cause: sipwarden_core::proxy::Cause,
        flow: &Flow,
        call_id: &str,
        uri: &str,
    ) {
        use sipwarden_events::{Detail, SdesReason, Text};
        let Some(ops) = self.calls.ops() else {
            return;
        };
        let detail = match cause {
            // The hop on offer was plain: UDP is what such bindings use; the log names
            // the target so the operator can look the binding up.
            sipwarden_core::proxy::Cause::NoSecureHop => Detail::DowngradeRefused {
                uri: Text::new(uri),
                next_hop_transport: sipwarden_events::Transport::Udp,
            },
            sipwarden_core::proxy::Cause::Media(sipwarden_sdp::Refusal::KeysOverPlainHop) => {
                Detail::SdesRefused {
                    reason: SdesReason::InsecureHop,
                    next_hop_transport: None,
                }
            }
            sipwarden_core::proxy::Cause::Media(sipwarden_sdp::Refusal::EndToEndRequired) => {
                Detail::SdesRefused {
                    reason: SdesReason::Policy,
                    next_hop_transport: None,
                }
            }
            _ => return,
        };
        ops.emit_from(flow.transport, flow.remote, detail, |e| {
            e.with_call_id(Text::new(call_id))
        });
    }

    /// Logs a proxy event and keeps call assessments.
    fn record(&self, event: Event, flow: &Flow, call_id: &str, uri: &str) {
        if let Event::Refused { cause, .. } | Event::BranchFailed { cause, .. } = &event {
            self.security_event(*cause, flow, call_id, uri);
        }
        match event {
            Event::CallAnswered(assessment) => self.calls.answered(*assessment),
            Event::CallEnded { dialog, code } => self.calls.ended(&dialog, code),
            // Challenges are routine (every call starts with one): debug only.
            Event::Refused { code: 407, cause } => {
                tracing::debug!(%flow, cause = cause.as_str(), call_id, "request challenged");
            }
            Event::Refused { code, cause } => {
                tracing::info!(%flow, code, cause = cause.as_str(), call_id, "request refused");
            }
            Event::BranchFailed {
                branch,
                code,
                cause,
            } => {
                tracing::info!(
                    branch,
                    code,
                    cause = cause.as_str(),
                    call_id,
                    "branch failed"
                );
            }
            Event::Withheld { code, cause } => {
                tracing::info!(code, cause = cause.as_str(), call_id, "message withheld");
            }
            Event::Auth(auth) => {
                tracing::debug!(%flow, ?auth, call_id, "proxy authentication");
            }
            _ => {}
        }
    }

    /// Where a next hop goes: its flow, or an RFC 3263 target.
    async fn route_for(
        &self,
        hop: &NextHop,
    ) -> Result<(Resolved, sipwarden_wire::Transport), RouteError> {
        let rt = self.runtime().ok_or(RouteError::Unresolvable)?;
        if let Some(flow) = &hop.flow {
            let id = parse_flow(flow).ok_or(RouteError::FlowGone)?;
            let f = rt.handle.flow(id).ok_or(RouteError::FlowGone)?;
            if hop.secure_only && !f.transport.is_secure() {
                return Err(RouteError::NoSecureHop);
            }
            let tls = f.transport.is_secure().then(|| {
                with_session(
                    TlsFacts::new(PeerVerification::NoClientCertificate),
                    &rt.handle,
                    Some(id),
                )
            });
            return Ok((
                Resolved {
                    route: ClientRoute::Flow(id),
                    tls,
                },
                wire_transport(f.transport),
            ));
        }
        let targets = self.resolve(hop).await?;
        let Some(t) = targets.into_iter().next() else {
            return Err(RouteError::Unresolvable);
        };
        let transport = spec_transport(t.transport);
        let (tls, facts) = if transport.is_secure() {
            // RFC 5922: the SIP domain, else the SRV target, else the address.
            let name = t
                .tls_name
                .clone()
                .or_else(|| t.srv_target.clone())
                .unwrap_or_else(|| t.addr.ip().to_string());
            let reference = ReferenceName::parse(&name).map_err(|_| RouteError::Unresolvable)?;
            let server_name = reference
                .to_server_name()
                .map_err(|_| RouteError::Unresolvable)?;
            let config = rt
                .tls
                .verifying(std::slice::from_ref(&reference))
                .map_err(|_| RouteError::Unresolvable)?;
            (
                Some((config, server_name)),
                Some(TlsFacts::new(PeerVerification::ChainAndName { name })),
            )
        } else {
            (None, None)
        };
        Ok((
            Resolved {
                route: ClientRoute::Target(Target {
                    transport,
                    addr: t.addr,
                    tls,
                }),
                tls: facts,
            },
            wire_transport(transport),
        ))
    }

    /// RFC 3263 resolution of a hop's URI, restricted to its transport when known and to
    /// TLS when it must be secure.
    async fn resolve(&self, hop: &NextHop) -> Result<Vec<sipwarden_dns::Target>, RouteError> {
        let rt = self.runtime().ok_or(RouteError::Unresolvable)?;
        let uri = Uri::parse(&hop.uri).map_err(|_| RouteError::Unresolvable)?;
        let sip = uri.as_sip().ok_or(RouteError::Unresolvable)?;
        let scheme = if sip.secure {
            sipwarden_dns::Scheme::Sips
        } else {
            sipwarden_dns::Scheme::Sip
        };
        let host =
            sipwarden_dns::Host::parse(sip.host_raw).map_err(|_| RouteError::Unresolvable)?;
        let mut next = sipwarden_dns::NextHop::new(scheme, host);
        if let Some(p) = sip.port {
            next = next.with_port(p);
        }
        let transport = hop
            .transport
            .or_else(|| sip.transport())
            .and_then(dns_transport);
        if let Some(t) = transport {
            next = next.with_transport(t);
        }
        if let Some(m) = sip.maddr.and_then(|m| sipwarden_dns::Host::parse(m).ok()) {
            next = next.with_maddr(m);
        }
        let mut set = TransportSet::from_slice(&[
            sipwarden_dns::Transport::Udp,
            sipwarden_dns::Transport::Tcp,
            sipwarden_dns::Transport::Tls,
        ]);
        if hop.secure_only {
            set = set.secure_only();
        }
        let options = ResolveOptions {
            transports: set,
            ..ResolveOptions::default()
        };
        let mut rng = StdWeightRandom::new();
        let result = match &rt.dns {
            Some(dns) => resolve_with(dns, &next, &options, &mut rng).await,
            None => {
                let none = sipwarden_dns::fake::FakeDns::new();
                resolve_with(&none, &next, &options, &mut rng).await
            }
        };
        match result {
            Ok(t) if t.is_empty() => Err(RouteError::Unresolvable),
            Ok(t) => Ok(t),
            Err(err) => {
                tracing::info!(uri = %hop.uri, %err, "next hop not resolved");
                if hop.secure_only {
                    Err(RouteError::NoSecureHop)
                } else {
                    Err(RouteError::Unresolvable)
                }
            }
        }
    }

    /// Sends a request without a transaction (the ACK for a 2xx).
    async fn forward_stateless(self: Arc<Self>, fwd: sipwarden_core::proxy::StatelessForward) {
        let (resolved, transport) = match self.route_for(&fwd.hop).await {
            Ok(r) => r,
            Err(_) => {
                tracing::debug!(uri = %fwd.hop.uri, "ACK not routable; dropped");
                return;
            }
        };
        let bytes = match fwd.request(transport) {
            Ok(b) => b,
            Err(err) => {
                tracing::debug!(%err, "ACK not forwarded");
                return;
            }
        };
        self.send(&resolved.route, bytes).await;
    }

    async fn send(&self, route: &ClientRoute, bytes: Bytes) {
        let Some(rt) = self.runtime() else { return };
        if let Err(err) = rt.handle.send_routed(route, bytes).await {
            self.send_failed(&err);
        }
    }

    /// A response nobody's transaction wants (a 2xx retransmission after the context
    /// ended): forwarded statelessly by its next Via if the core agrees.
    fn forward_stray(self: &Arc<Self>, response: &Message) {
        let Some(rt) = self.runtime() else { return };
        if let Some(bytes) = rt.proxy.on_stray_response(response) {
            let shared = Arc::clone(self);
            run_inline(async move { shared.send_by_via(bytes).await });
        }
    }

    /// Sends a response to the address its top Via names (RFC 3261 §18.2.2).
    async fn send_by_via(&self, bytes: Bytes) {
        let Ok(msg) = Message::parse(bytes.clone()) else {
            return;
        };
        let Ok(via) = TopVia::parse(&msg) else {
            return;
        };
        let Some(transport) = via.transport else {
            return;
        };
        let addr = match via.udp_response_target() {
            Some(a) => a,
            None => return,
        };
        let route = ClientRoute::Target(Target {
            transport,
            addr,
            tls: None,
        });
        self.send(&route, bytes).await;
    }
}

async fn resolve_with<L: DnsLookup>(
    dns: &L,
    hop: &sipwarden_dns::NextHop,
    options: &ResolveOptions,
    rng: &mut StdWeightRandom,
) -> Result<Vec<sipwarden_dns::Target>, sipwarden_dns::ResolveError> {
    match tokio::time::timeout(
        RESOLVE_TIMEOUT,
        sipwarden_dns::resolve(dns, hop, options, rng),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(sipwarden_dns::ResolveError::BudgetExhausted),
    }
}

fn log_send_error(err: &SendError) {
    match err {
        SendError::Tls(io) => match CertFailure::from_io(io) {
            Some(reason) => {
                tracing::warn!(%reason, "outbound TLS refused: peer certificate failed verification");
            }
            None => tracing::info!(%err, "outbound TLS failed"),
        },
        other => tracing::debug!(err = %other, "send failed"),
    }
}

fn route_failure(e: &RouteError) -> BranchFailure {
    match e {
        RouteError::Unresolvable => BranchFailure::Unresolvable,
        RouteError::NoSecureHop => BranchFailure::NoSecureHop,
        RouteError::FlowGone => BranchFailure::TransportError,
    }
}
