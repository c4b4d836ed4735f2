//! The stateful proxy's decisions (RFC 3261 §16), sans-IO.
//!
//! Owns: request validation (§16.3: scheme, Max-Forwards, loop detection, Proxy-Require),
//! Route pre-processing (§16.4, loose and strict routing, `maddr`), target determination
//! (§16.5: location lookup with q-value order, or the Request-URI), building each
//! forwarded request (§16.6: Request-URI, Max-Forwards, Record-Route — two entries when
//! the transport changes —, Path as Route, our Via with a loop-detecting branch, the RFC
//! 5626 flow to use), the response context of every forwarded request (§16.7–§16.10:
//! forking, best-response choice, challenge aggregation, 503→500, CANCEL, Timer C), the
//! authentication policy (407 for local callers, a policy for callers from outside, an
//! [`Admission`] hook), "sips means every hop", the media key policy on every SDP
//! forwarded, and the call security assessment of every answered INVITE.
//!
//! Refuses: sockets, DNS, clocks, randomness and timers. The caller passes the time,
//! salts and tags, resolves next hops, runs the transactions and sends what the proxy
//! asks for.
//!
//! # How the transport drives it
//!
//! 1. A new server transaction's request (not CANCEL, not a retransmission; an ACK that
//!    matched no transaction too) goes to [`Proxy::on_request`] with an [`Inbound`] and
//!    a [`Lookup`]. The [`Decision`] says what to do: answer it
//!    ([`RequestOutcome::Respond`]), send one request without a transaction
//!    ([`RequestOutcome::Stateless`], the ACK for a 2xx), drop it, or drive a
//!    [`ResponseContext`] ([`RequestOutcome::Proxy`]). Record [`Decision::events`].
//! 2. For a context, drain [`ResponseContext::poll_action`] after every call into it:
//!    [`Action::Forward`] starts a client transaction for branch N; its responses go to
//!    [`ResponseContext::on_response`], its timeout or transport error to
//!    [`ResponseContext::on_branch_failure`]. [`Action::Resolve`] asks for RFC 3263
//!    resolution first ([`ResponseContext::on_resolved`]). [`Action::Respond`] goes
//!    upstream through the server transaction. [`Action::Cancel`] starts a CANCEL client
//!    transaction toward branch N's destination.
//! 3. Arm a timer at [`ResponseContext::poll_timeout`] and call
//!    [`ResponseContext::handle_timeout`] (Timer C).
//! 4. A CANCEL that matches the server transaction goes to
//!    [`ResponseContext::on_cancel`], which returns the 200 for it.
//! 5. Drop the context when [`ResponseContext::is_done`]. Responses that match no client
//!    transaction (2xx retransmissions) go to [`Proxy::on_stray_response`].

mod config;
mod context;
mod event;
mod forward;
mod media;
mod route;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use sipwarden_auth::{
    ChallengeKind, ChallengeRequest, DigestAuth, DigestCredentials, NonceCounts, Outcome,
    RequestContext, Timestamp,
};
use sipwarden_store::{Binding, StoreError};
use sipwarden_wire::build::{response_to, BuildError};
use sipwarden_wire::edit::EditError;
use sipwarden_wire::uri::Uri;
use sipwarden_wire::{HeaderName, Message, Method, Transport};

pub use config::{
    Admission, AdmissionRequest, Admit, CallerClass, Interface, Lookup, OutsidePolicy, ProxyConfig,
    StoreLookup, TargetClass,
};
pub use context::{Action, BranchFailure, ResponseContext};
pub use event::{Cause, Event};
pub use forward::NextHop;

use crate::assessment::{CallerAuth, PeerVerification, TlsFacts};
use crate::auth_observer::AuthObserver;
use crate::domains::Domains;
use crate::service::AuthEvent;
use config::Interfaces;
use context::{Branch, InboundSide, Setup};
use event::Wire;
use forward::{Build, Plan, Side, TargetEdits};
use media::Body;
use route::{Keys, OurRoute, Ours, RouteEntry};

/// Methods that may create a dialog, and so are record-routed.
const DIALOG_CREATING: [Method; 4] = [
    Method::Invite,
    Method::Subscribe,
    Method::Refer,
    Method::Notify,
];

/// What the proxy allows, for `Allow` in its own answers.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, MESSAGE, PRACK, \
                     SUBSCRIBE, NOTIFY, REFER";

/// A failure that is the server's fault, not the client's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A response could not be built.
    #[error("building a message: {0}")]
    Build(#[from] BuildError),
    /// A forwarded message could not be edited.
    #[error("editing a message: {0}")]
    Edit(#[from] EditError),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(&'static str),
    /// A response was given where a request was expected.
    #[error("not a request")]
    NotARequest,
}

/// Facts about one received request from the transport.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// The transport it arrived over.
    pub transport: Transport,
    /// Transport source address.
    pub source: SocketAddr,
    /// The connection it arrived on (connection-oriented transports).
    pub flow: Option<&'a str>,
    /// TLS facts of that connection, for the assessment.
    pub tls: Option<&'a TlsFacts>,
    /// Current time, for timers.
    pub now: Instant,
    /// Current time, seconds since the Unix epoch, for Digest nonces.
    pub unix_time: u64,
    /// Fresh random bytes for a nonce.
    pub salt: [u8; 8],
    /// A fresh To tag for responses the proxy creates.
    pub to_tag: &'a str,
}

/// A response the proxy itself sends.
#[derive(Clone)]
pub struct Reply {
    /// Status code.
    pub code: u16,
    /// The response.
    pub response: Bytes,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code)
            .field("response", &Wire(&self.response))
            .finish()
    }
}

/// A request to send without a transaction (the ACK for a 2xx, RFC 3261 §16.11).
pub struct StatelessForward {
    shared: Arc<Shared>,
    request: Message,
    plan: Plan,
    edits: TargetEdits,
    inbound: (usize, Option<String>),
    /// Where it goes. When `hop.transport` is `None`, resolve it first.
    pub hop: NextHop,
}

impl std::fmt::Debug for StatelessForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatelessForward")
            .field("hop", &self.hop)
            .finish_non_exhaustive()
    }
}

impl StatelessForward {
    /// The bytes to send over `transport` (the hop's, or the one resolution chose).
    /// The branch is the same for every retransmission of the same request.
    pub fn request(&self, transport: Transport) -> Result<Bytes, ProxyError> {
        let s = &self.shared;
        if self.hop.secure_only && !transport.is_secure() {
            return Err(ProxyError::Config("no secure transport for this hop"));
        }
        let index = s
            .interfaces
            .for_transport(transport)
            .ok_or(ProxyError::Config("no interface for this transport"))?;
        let out = s
            .interfaces
            .get(index)
            .ok_or(ProxyError::Config("no interface"))?;
        let inb = s
            .interfaces
            .get(self.inbound.0)
            .ok_or(ProxyError::Config("no interface"))?;
        let branch = route::branch(self.plan.loop_hash, "0");
        let bytes = Build {
            msg: &self.request,
            plan: &self.plan,
            edits: &self.edits,
            branch: &branch,
            outbound: Side {
                index,
                iface: out,
                flow: self.hop.flow.as_deref(),
            },
            inbound: Side {
                index: self.inbound.0,
                iface: inb,
                flow: self.inbound.1.as_deref(),
            },
            keys: &s.keys,
            record_route: false,
            extra: &[],
        }
        .bytes()?;
        Ok(bytes)
    }
}

/// What to do with a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum RequestOutcome {
    /// Answer it with this response.
    Respond(Reply),
    /// Proxy it statefully: drive this context.
    Proxy(Box<ResponseContext>),
    /// Send it on without a transaction.
    Stateless(Box<StatelessForward>),
    /// Nothing to send (an ACK that cannot be routed, or that the media policy stopped).
    Discard,
}

/// The proxy's answer to one request.
#[derive(Debug)]
pub struct Decision {
    /// What to do.
    pub outcome: RequestOutcome,
    /// What to record.
    pub events: Vec<Event>,
}

/// Configuration shared by the proxy and its contexts.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ProxyConfig,
    pub(crate) interfaces: Interfaces,
    pub(crate) keys: Keys,
    pub(crate) domains: Domains,
    pub(crate) warning_host: String,
}

/// The proxy: stateless decisions and the factory of response contexts. Shareable
/// between threads.
pub struct Proxy {
    shared: Arc<Shared>,
    digest: DigestAuth,
    nonce_counts: Mutex<NonceCounts>,
    admission: Option<Arc<dyn Admission>>,
    observer: Option<Arc<dyn AuthObserver>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// Where the request goes, after Route pre-processing.
enum Destination {
    /// A user of ours: location lookup.
    Local { aor: String },
    /// This server itself (our domain, no user part).
    Server,
    /// One target: the (possibly rewritten) Request-URI, via the remaining routes.
    Onward,
    /// A Request-URI we cannot route (tel: without a route).
    Nowhere,
}

/// The result of Route pre-processing (RFC 3261 §16.4).
struct Routing {
    request_uri: String,
    ruri_changed: bool,
    routes: Vec<RouteEntry>,
    routes_changed: bool,
    popped: Vec<OurRoute>,
}

impl Proxy {
    /// A proxy for these domains. Fails when no interface is configured or an interface
    /// host does not parse.
    pub fn new(
        config: ProxyConfig,
        domains: Domains,
        digest: DigestAuth,
    ) -> Result<Proxy, ProxyError> {
        let interfaces = Interfaces::new(&config.interfaces).ok_or(ProxyError::Config(
            "at least one valid interface is required",
        ))?;
        let warning_host = if config.warning_host.is_empty() {
            config
                .interfaces
                .first()
                .map(|i| i.host.clone())
                .unwrap_or_default()
        } else {
            config.warning_host.clone()
        };
        Ok(Proxy {
            shared: Arc::new(Shared {
                keys: Keys::new(config.secret),
                config,
                interfaces,
                domains,
                warning_host,
            }),
            digest,
            nonce_counts: Mutex::new(NonceCounts::with_capacity(65_536)),
            admission: None,
            observer: None,
        })
    }

    /// Adds an admission hook, consulted for every request about to be routed.
    pub fn with_admission(mut self, admission: Arc<dyn Admission>) -> Proxy {
        self.admission = Some(admission);
        self
    }

    /// Reports every Proxy-Authorization check to `observer` and lets it refuse checks
    /// (account lockout), exactly as the registrar does for REGISTER: guessing a password
    /// with INVITEs meets the same per-account lockout, backoff and owner exemption.
    #[must_use]
    pub fn with_auth_observer(mut self, observer: Arc<dyn AuthObserver>) -> Proxy {
        self.observer = Some(observer);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ProxyConfig {
        &self.shared.config
    }

    fn ours(&self) -> Ours<'_> {
        Ours {
            interfaces: &self.shared.interfaces,
            domains: &self.shared.domains,
            keys: &self.shared.keys,
        }
    }

    /// Decides what to do with a request (see the module documentation).
    pub fn on_request(
        &self,
        msg: &Message,
        inbound: &Inbound<'_>,
        lookup: &dyn Lookup,
    ) -> Result<Decision, ProxyError> {
        let Some(method) = msg.method() else {
            return Err(ProxyError::NotARequest);
        };
        let d = Decider {
            proxy: self,
            msg,
            inb: inbound,
            method,
            events: Vec::new(),
        };
        d.run(lookup)
    }

    /// A response that matched no client transaction (RFC 3261 §16.7 step 1: proxied
    /// statelessly): when its top Via is ours, the response without it, to be sent by
    /// the next Via (§18.2.2). `None` to drop it. The media key policy applies toward the
    /// next hop as the next Via describes it.
    pub fn on_stray_response(&self, response: &Message) -> Option<Bytes> {
        let via = response.top_via().ok()?;
        let branch = via.branch?;
        route::branch_hash(branch)?;
        let secure = via.transport.is_secure();
        if !self.shared.interfaces.is_ours(&via.host, via.port, secure) {
            return None;
        }
        let next = response.vias().nth(1)?.ok()?;
        let kind = media::inspect(response);
        let policy = &self.shared.config.media_policy;
        media::check(policy, &kind, response.body(), next.transport.is_secure()).ok()?;
        let mut ed = sipwarden_wire::edit::Editor::new(response);
        ed.remove_top_via().ok()?;
        Some(ed.finish())
    }
}

/// One run of [`Proxy::on_request`].
struct Decider<'p, 'm> {
    proxy: &'p Proxy,
    msg: &'m Message,
    inb: &'m Inbound<'m>,
    method: Method,
    events: Vec<Event>,
}

impl Decider<'_, '_> {
    fn done(self, outcome: RequestOutcome) -> Result<Decision, ProxyError> {
        Ok(Decision {
            outcome,
            events: self.events,
        })
    }

    /// Answers with an error (an ACK is never answered: dropped instead).
    fn refuse(
        mut self,
        code: u16,
        reason: &str,
        cause: Cause,
        headers: &[(&str, String)],
    ) -> Result<Decision, ProxyError> {
        if self.method == Method::Ack {
            self.events.push(Event::Withheld { code: 0, cause });
            return self.done(RequestOutcome::Discard);
        }
        self.events.push(Event::Refused { code, cause });
        let mut b = response_to(self.msg, code, reason).to_tag(self.inb.to_tag);
        for (name, value) in headers {
            b = b.header(name, value);
        }
        let response = b.build()?;
        self.done(RequestOutcome::Respond(Reply { code, response }))
    }

    fn ok_options(self) -> Result<Decision, ProxyError> {
        let response = response_to(self.msg, 200, "OK")
            .to_tag(self.inb.to_tag)
            .header("Allow", ALLOW)
            .header("Accept", "application/sdp")
            .build()?;
        self.done(RequestOutcome::Respond(Reply {
            code: 200,
            response,
        }))
    }

    fn run(mut self, lookup: &dyn Lookup) -> Result<Decision, ProxyError> {
        let msg = self.msg;
        let shared = Arc::clone(&self.proxy.shared);
        match self.method {
            Method::Cancel => {
                return self.refuse(
                    481,
                    "Call/Transaction Does Not Exist",
                    Cause::NoTransaction,
                    &[],
                )
            }
            Method::Register => {
                return self.refuse(
                    403,
                    "Forbidden (registrations are not proxied)",
                    Cause::NotForProxy,
                    &[],
                )
            }
            _ => {}
        }
        // §16.3 steps 1–2: syntax and scheme.
        if let Err(e) = msg.validate_request() {
            let (code, reason) = e.status();
            let cause = if code == 416 {
                Cause::UnsupportedScheme
            } else {
                Cause::Malformed
            };
            return self.refuse(code, reason, cause, &[]);
        }
        // §16.3 step 3: Max-Forwards.
        if msg.max_forwards().ok().flatten() == Some(0) {
            if self.method == Method::Options && self.addressed_to_server() {
                return self.ok_options();
            }
            return self.refuse(483, "Too Many Hops", Cause::TooManyHops, &[]);
        }
        // §16.3 step 4: loop detection.
        let loop_hash = shared.keys.loop_hash(msg);
        if self.looped(loop_hash) {
            return self.refuse(482, "Loop Detected", Cause::Loop, &[]);
        }
        // §16.3 step 5: Proxy-Require.
        let supported: Vec<&str> = shared
            .config
            .proxy_require_supported
            .iter()
            .map(String::as_str)
            .collect();
        match msg.unsupported_proxy_require(&supported) {
            Ok(tags) if !tags.is_empty() => {
                let list = tags.join(", ");
                return self.refuse(
                    420,
                    "Bad Extension",
                    Cause::BadExtension,
                    &[("Unsupported", list)],
                );
            }
            Ok(_) => {}
            Err(e) => return self.refuse(e.status().0, e.status().1, Cause::Malformed, &[]),
        }
        // §16.4: Route pre-processing.
        let call_id = msg.call_id().unwrap_or_default().to_owned();
        let Some(routing) = self.preprocess(&call_id) else {
            return self.refuse(
                400,
                "Bad Request (malformed Route or Request-URI)",
                Cause::Malformed,
                &[],
            );
        };
        let Ok(ruri) = Uri::parse(&routing.request_uri) else {
            return self.refuse(
                400,
                "Bad Request (malformed Request-URI)",
                Cause::Malformed,
                &[],
            );
        };
        let destination = self.destination(&ruri, &routing);
        let target_class = match destination {
            Destination::Local { .. } | Destination::Server => TargetClass::Local,
            Destination::Onward | Destination::Nowhere => TargetClass::Elsewhere,
        };

        // Who is calling, and may they go there?
        let in_dialog = msg.to().map(|t| t.tag.is_some()).unwrap_or(false);
        let from_local = msg
            .from()
            .ok()
            .and_then(|f| {
                f.uri
                    .as_sip()
                    .and_then(|u| shared.domains.canonical(&u.host))
            })
            .map(str::to_owned);
        let mut remove_fields = Vec::new();
        let mut caller_auth = self.tls_caller();
        // The server itself answers OPTIONS without asking who is calling.
        match destination {
            Destination::Server if self.method == Method::Options => return self.ok_options(),
            Destination::Server => return self.refuse(404, "Not Found", Cause::NotFound, &[]),
            Destination::Nowhere => {
                return self.refuse(404, "Not Found (no route)", Cause::NotFound, &[])
            }
            _ => {}
        }
        if in_dialog && routing.popped.iter().any(|r| r.has_mac && !r.mac_ok) {
            return self.refuse(
                403,
                "Forbidden (route not issued by this server)",
                Cause::ForgedRoute,
                &[],
            );
        }
        // A dialog is ours only when it comes back through a Record-Route we signed; a
        // To tag alone proves nothing and gets the checks of an initial request.
        let our_dialog = in_dialog && routing.popped.iter().any(|r| r.mac_ok);
        let caller = if our_dialog {
            CallerClass::InDialog
        } else if in_dialog && target_class != TargetClass::Local {
            return self.refuse(
                403,
                "Forbidden (not a dialog routed through this server)",
                Cause::NotInDialog,
                &[],
            );
        } else if self.method == Method::Ack {
            // An ACK outside any dialog of ours answers nothing we sent.
            self.events.push(Event::Withheld {
                code: 0,
                cause: Cause::NotInDialog,
            });
            return self.done(RequestOutcome::Discard);
        } else {
            match &from_local {
                Some(realm) if shared.config.authenticate_local_callers => {
                    match self.authenticate(realm, lookup)? {
                        Ok((account, algorithm, fields)) => {
                            remove_fields = fields;
                            caller_auth = CallerAuth::Digest {
                                algorithm: algorithm.to_owned(),
                                account: account.clone(),
                            };
                            CallerClass::Local { account }
                        }
                        Err(decision) => return Ok(decision),
                    }
                }
                Some(_) => CallerClass::LocalUnverified,
                None => CallerClass::Outside,
            }
        };
        if !our_dialog {
            match (&caller, target_class) {
                (CallerClass::Outside, TargetClass::Elsewhere) => {
                    return self.refuse(403, "Forbidden (relaying denied)", Cause::RelayDenied, &[])
                }
                (CallerClass::Outside, TargetClass::Local)
                    if shared.config.outside_callers == OutsidePolicy::Reject =>
                {
                    return self.refuse(
                        403,
                        "Forbidden (calls from outside are not accepted)",
                        Cause::OutsideRejected,
                        &[],
                    )
                }
                _ => {}
            }
        }
        // Only this server may vouch for a call's security toward the callee.
        remove_fields.extend(msg.headers().iter().enumerate().filter_map(|(i, f)| {
            (f.name == HeaderName::Other
                && msg
                    .slice(f.name_span)
                    .eq_ignore_ascii_case(crate::assessment::HEADER.as_bytes()))
            .then_some(i)
        }));
        if let Some(hook) = &self.proxy.admission {
            let req = AdmissionRequest {
                message: msg,
                source: self.inb.source,
                transport: self.inb.transport,
                caller: &caller,
                target: target_class,
            };
            if let Admit::Reject { code, reason } = hook.admit(&req) {
                return self.refuse(code, reason, Cause::Admission, &[]);
            }
        }

        // §16.5: the target set.
        let sips = ruri.is_sips() || routing.routes.first().is_some_and(|r| r.sips);
        let offer = media::inspect(msg);
        let must_be_secure = sips || self.offer_needs_tls(&offer);
        let mut branches: Vec<Branch> = Vec::new();
        match destination {
            Destination::Server | Destination::Nowhere => {}
            Destination::Local { aor } => {
                let mut bindings = lookup.bindings(&aor)?;
                // Highest q first; equal q keep the store's order.
                bindings.sort_by_key(|b| std::cmp::Reverse(b.q));
                bindings.truncate(shared.config.max_branches);
                for binding in &bindings {
                    if let Some(b) = self.binding_branch(binding, &routing, must_be_secure) {
                        branches.push(b);
                    }
                }
                if branches.is_empty() {
                    // The same answer whether or not the user exists (no enumeration).
                    return self.refuse(480, "Temporarily Unavailable", Cause::Unavailable, &[]);
                }
            }
            Destination::Onward => {
                branches.push(self.onward_branch(&routing, must_be_secure));
            }
        }

        let inbound_index = shared
            .interfaces
            .for_transport(self.inb.transport)
            .unwrap_or(0);
        let record_route =
            shared.config.record_route && !in_dialog && DIALOG_CREATING.contains(&self.method);
        let plan = Plan {
            remove_fields,
            record_route,
            sips,
            loop_hash,
            call_id,
        };

        if self.method == Method::Ack {
            return self.stateless_ack(plan, branches, inbound_index, &offer);
        }

        let setup = Setup {
            request: msg.clone(),
            to_tag: self.inb.to_tag.to_owned(),
            inbound: InboundSide {
                transport: self.inb.transport,
                index: inbound_index,
                flow: self.inb.flow.map(str::to_owned),
                tls: self.inb.tls.cloned(),
            },
            plan,
            branches,
            offer,
            caller_auth,
        };
        let mut ctx = ResponseContext::start(Arc::clone(&shared), setup, self.inb.now);
        if ctx.is_done() {
            // Every branch failed at once: answer directly.
            let mut reply = None;
            while let Some(a) = ctx.poll_action() {
                match a {
                    Action::Event(e) => self.events.push(e),
                    Action::Respond { code, response } => reply = Some(Reply { code, response }),
                    _ => {}
                }
            }
            if let Some(reply) = reply {
                return self.done(RequestOutcome::Respond(reply));
            }
            return self.done(RequestOutcome::Discard);
        }
        self.done(RequestOutcome::Proxy(Box::new(ctx)))
    }

    /// The caller's authentication by TLS client certificate, if the connection had one.
    fn tls_caller(&self) -> CallerAuth {
        match self.inb.tls.map(|t| &t.peer) {
            Some(PeerVerification::MutualTls { identity }) => CallerAuth::TlsClientCertificate {
                identity: identity.clone(),
            },
            _ => CallerAuth::None,
        }
    }

    /// Whether the Digest `uri` may stand for the Request-URI: an interoperability shim
    /// for SIPp and other clients that put the proxy's own address in `uri`. Accepted only
    /// when it names this server (no user part): the response still binds the
    /// credentials to this server and the method, and nonce counts stop replays.
    fn digest_uri_names_us(&self, claimed: &str) -> bool {
        Uri::parse(claimed).ok().is_some_and(|u| {
            u.as_sip()
                .is_some_and(|s| s.user.is_none() && self.proxy.ours().is_our_host(&s.host))
        })
    }

    /// True for a request to this server itself (our domain or address, no user).
    fn addressed_to_server(&self) -> bool {
        let Ok(uri) = self.msg.request_uri() else {
            return false;
        };
        uri.as_sip()
            .is_some_and(|u| u.user.is_none() && self.proxy.ours().is_our_host(&u.host))
    }

    /// RFC 3261 §16.3 step 4: a Via of ours whose branch carries this request's hash.
    fn looped(&self, hash: u64) -> bool {
        let interfaces = &self.proxy.shared.interfaces;
        self.msg.vias().flatten().any(|v| {
            interfaces.is_ours(&v.host, v.port, v.transport.is_secure())
                && v.branch.and_then(route::branch_hash) == Some(hash)
        })
    }

    /// RFC 3261 §16.4.
    fn preprocess(&self, call_id: &str) -> Option<Routing> {
        let ours = self.proxy.ours();
        let mut routes = route::routes_of(self.msg)?;
        let mut request_uri = std::str::from_utf8(self.msg.request_uri_bytes())
            .ok()?
            .to_owned();
        let mut ruri_changed = false;
        let mut routes_changed = false;
        let mut popped = Vec::new();
        // A strict router before us put our Record-Route URI in the Request-URI.
        let strict = Uri::parse(&request_uri).ok().is_some_and(|u| {
            u.as_sip()
                .is_some_and(|s| s.lr && s.user.is_none() && ours.is_ours(s))
        });
        if strict {
            if let Some(last) = routes.pop() {
                if let Some(r) = ours.our_route(&request_uri, call_id) {
                    popped.push(r);
                }
                request_uri = last.uri;
                ruri_changed = true;
                routes_changed = true;
            }
        }
        // Loose routing: remove every leading Route that names us.
        while let Some(first) = routes.first() {
            let Some(r) = ours.our_route(&first.uri, call_id) else {
                break;
            };
            popped.push(r);
            routes.remove(0);
            routes_changed = true;
        }
        // maddr naming us: strip it (with port and transport) and go on.
        let parsed = Uri::parse(&request_uri).ok()?;
        if let Some(u) = parsed.as_sip() {
            if let Some(maddr) = u.maddr_host() {
                if ours.is_our_host(&maddr) {
                    request_uri = route::strip_maddr(u);
                    ruri_changed = true;
                }
            }
        }
        Some(Routing {
            request_uri,
            ruri_changed,
            routes,
            routes_changed,
            popped,
        })
    }

    /// RFC 3261 §16.5: where the request goes.
    fn destination(&self, ruri: &Uri<'_>, routing: &Routing) -> Destination {
        if !routing.routes.is_empty() {
            return Destination::Onward;
        }
        let Some(u) = ruri.as_sip() else {
            return Destination::Nowhere;
        };
        if u.maddr.is_some() {
            return Destination::Onward;
        }
        let Some(domain) = self.proxy.shared.domains.canonical(&u.host) else {
            return Destination::Onward;
        };
        // Our host on a port we do not listen on is someone else (a user agent on the
        // same machine, say): not a lookup.
        if u.port
            .is_some_and(|p| !self.proxy.shared.interfaces.has_port(p))
        {
            return Destination::Onward;
        }
        match u
            .user_decoded()
            .and_then(|b| String::from_utf8(b.into_owned()).ok())
        {
            Some(user) if !user.is_empty() => Destination::Local {
                aor: format!("sip:{user}@{domain}"),
            },
            _ => Destination::Server,
        }
    }

    /// A branch toward one binding of a local user.
    fn binding_branch(&self, b: &Binding, routing: &Routing, secure: bool) -> Option<Branch> {
        let mut routes = route::path_entries(&b.path)?;
        routes.extend(routing.routes.iter().cloned());
        let changed = !b.path.is_empty() || routing.routes_changed;
        let mut edits = TargetEdits {
            request_uri: Some(b.contact.clone()),
            routes: changed.then_some(routes),
            strict_next_hop: false,
        };
        if edits.routes.is_none() && routing.routes.first().is_some_and(|r| !r.lr) {
            edits.routes = Some(routing.routes.clone());
        }
        edits.strict_fixup(&b.contact);
        let uri = edits.next_hop_uri(&b.contact);
        let transport = match Transport::from_name(&b.transport) {
            Transport::Other => route::uri_text_transport(&uri),
            t => Some(t),
        };
        let hop = NextHop {
            uri,
            transport,
            flow: b.flow.clone(),
            secure_only: secure,
        };
        Some(Branch::new(edits, hop))
    }

    /// The single branch toward the Request-URI or the remaining routes.
    fn onward_branch(&self, routing: &Routing, secure: bool) -> Branch {
        let mut edits = TargetEdits {
            request_uri: routing.ruri_changed.then(|| routing.request_uri.clone()),
            routes: routing.routes_changed.then(|| routing.routes.clone()),
            strict_next_hop: false,
        };
        if edits.routes.is_none() && routing.routes.first().is_some_and(|r| !r.lr) {
            edits.routes = Some(routing.routes.clone());
        }
        edits.strict_fixup(&routing.request_uri);
        let uri = if edits.routes.is_none() && !edits.strict_next_hop {
            // Routes untouched: the first one as received, else the Request-URI.
            routing
                .routes
                .first()
                .map(|r| r.uri.clone())
                .or_else(|| edits.request_uri.clone())
                .unwrap_or_else(|| routing.request_uri.clone())
        } else {
            edits.next_hop_uri(&routing.request_uri)
        };
        // The last of our routes popped faces the next hop: its transport and flow.
        let ours = routing.popped.iter().rev().find(|r| r.mac_ok);
        let inbound_flow = self.inb.flow;
        let flow = ours
            .and_then(|r| r.flow.clone())
            .filter(|f| Some(f.as_str()) != inbound_flow);
        let transport = ours
            .and_then(|r| r.transport)
            .or_else(|| route::uri_text_transport(&uri));
        let hop = NextHop {
            uri,
            transport,
            flow,
            secure_only: secure,
        };
        Branch::new(edits, hop)
    }

    /// SDES keys in the body restrict every hop to TLS (resolution must find one).
    fn offer_needs_tls(&self, offer: &Body) -> bool {
        let policy = &self.proxy.shared.config.media_policy;
        policy.sdes_requires_tls_hop
            && match offer {
                Body::Sdp(s) => s.exposes_keys(),
                Body::Unreadable => sipwarden_sdp::contains_sdes_keys(self.msg.body()),
                Body::Absent => false,
            }
    }

    /// Digest for a local caller (RFC 3261 §22.3): `Ok(Ok(..))` with the account, the
    /// algorithm and the Proxy-Authorization fields to drop, or `Ok(Err(decision))` with
    /// the 407/403 to send.
    #[allow(clippy::type_complexity)]
    fn authenticate(
        &mut self,
        realm: &str,
        lookup: &dyn Lookup,
    ) -> Result<Result<(String, &'static str, Vec<usize>), Decision>, ProxyError> {
        let msg = self.msg;
        let mut credentials = None;
        let mut fields = Vec::new();
        for (i, f) in msg.headers().iter().enumerate() {
            if f.name != HeaderName::ProxyAuthorization {
                continue;
            }
            let Ok(c) = sipwarden_wire::headers::Credentials::parse(
                HeaderName::ProxyAuthorization,
                msg.slice(f.value),
            ) else {
                continue;
            };
            let Ok(dc) = DigestCredentials::from_wire(&c) else {
                continue;
            };
            if dc.realm.eq_ignore_ascii_case(realm) {
                fields.push(i);
                if credentials.is_none() {
                    credentials = Some(dc);
                }
            }
        }
        let Some(credentials) = credentials else {
            return Ok(Err(self.challenge(realm, false, AuthEvent::Challenged)?));
        };
        let stored = if credentials.userhash {
            None
        } else {
            lookup.credentials(realm, &credentials.username)?
        };
        let known = stored.is_some();
        let source = self.inb.source.ip();
        let proxy = self.proxy;
        let observer = proxy.observer.as_deref();
        // A hashed user name cannot be locked by name; its failures count for the source.
        let gate_open = credentials.userhash
            || observer.is_none_or(|o| o.may_verify(source, &credentials.username, realm));
        if !gate_open {
            if let Some(o) = observer {
                o.failed(source, &credentials.username, realm, known);
            }
            let e = AuthEvent::Failed {
                claimed_user: credentials.username.chars().take(64).collect(),
                reason: "account locked for this source".to_owned(),
            };
            return Ok(Err(self.challenge(realm, false, e)?));
        }
        let ctx = RequestContext {
            method: std::str::from_utf8(msg.method_bytes()).unwrap_or_default(),
            request_uri: if self.digest_uri_names_us(&credentials.uri) {
                &credentials.uri
            } else {
                std::str::from_utf8(msg.request_uri_bytes()).unwrap_or_default()
            },
            body: msg.body(),
            realm,
            source: self.inb.source.ip(),
            now: Timestamp::from_unix_secs(self.inb.unix_time),
        };
        let outcome = {
            let mut nc = self
                .proxy
                .nonce_counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.proxy
                .digest
                .verify(&credentials, &ctx, stored.as_ref(), &mut *nc)
        };
        let claimed_user: String = credentials.username.chars().take(64).collect();
        let (username, algorithm) = match outcome {
            Outcome::Ok {
                username,
                algorithm,
                ..
            } => (username.to_owned(), algorithm.token()),
            Outcome::Stale => return Ok(Err(self.challenge(realm, true, AuthEvent::Stale)?)),
            Outcome::Replay => {
                // A replay proves nothing about the account: it counts for the source.
                if let Some(o) = observer {
                    o.failed(source, &credentials.username, realm, false);
                }
                let e = AuthEvent::Replay { claimed_user };
                return Ok(Err(self.challenge(realm, false, e)?));
            }
            Outcome::Failed(reason) => {
                if let Some(o) = observer {
                    o.failed(
                        source,
                        &credentials.username,
                        realm,
                        known && !credentials.userhash,
                    );
                }
                let e = AuthEvent::Failed {
                    claimed_user,
                    reason: reason.to_string(),
                };
                return Ok(Err(self.challenge(realm, false, e)?));
            }
        };
        if let Some(o) = observer {
            o.succeeded(source, &username, realm);
        }
        let account = format!("{username}@{realm}");
        self.events.push(Event::Auth(AuthEvent::Succeeded {
            account: account.clone(),
        }));
        if self.proxy.shared.config.from_must_match_credentials {
            let from_user = msg
                .from()
                .ok()
                .and_then(|f| f.uri.as_sip().and_then(|u| u.user_decoded()))
                .and_then(|u| String::from_utf8(u.into_owned()).ok());
            if from_user.as_deref() != Some(username.as_str()) {
                let mut b = response_to(msg, 403, "Forbidden (From is not your address)")
                    .to_tag(self.inb.to_tag);
                b = b.header(
                    "Warning",
                    format!(
                        "399 {} \"identity mismatch\"",
                        self.proxy.shared.warning_host
                    ),
                );
                self.events.push(Event::Refused {
                    code: 403,
                    cause: Cause::IdentityMismatch,
                });
                return Ok(Err(Decision {
                    outcome: RequestOutcome::Respond(Reply {
                        code: 403,
                        response: b.build()?,
                    }),
                    events: std::mem::take(&mut self.events),
                }));
            }
        }
        Ok(Ok((account, algorithm, fields)))
    }

    fn challenge(
        &mut self,
        realm: &str,
        stale: bool,
        event: AuthEvent,
    ) -> Result<Decision, ProxyError> {
        let challenge = self.proxy.digest.challenge(
            ChallengeKind::Proxy,
            &ChallengeRequest {
                realm,
                source: self.inb.source.ip(),
                now: Timestamp::from_unix_secs(self.inb.unix_time),
                salt: self.inb.salt,
                has_body: !self.msg.body().is_empty(),
                stale,
            },
        );
        let values = crate::compat::challenge_values(
            self.msg,
            &self.proxy.shared.config.client_profiles,
            &challenge.values,
        );
        let mut b =
            response_to(self.msg, 407, "Proxy Authentication Required").to_tag(self.inb.to_tag);
        for v in values {
            b = b.header(challenge.header_name(), v);
        }
        let mut events = std::mem::take(&mut self.events);
        events.push(Event::Auth(event));
        events.push(Event::Refused {
            code: 407,
            cause: Cause::AuthRequired,
        });
        Ok(Decision {
            outcome: RequestOutcome::Respond(Reply {
                code: 407,
                response: b.build()?,
            }),
            events,
        })
    }

    /// An ACK for a 2xx, forwarded without a transaction (RFC 3261 §16.11).
    fn stateless_ack(
        mut self,
        plan: Plan,
        mut branches: Vec<Branch>,
        inbound_index: usize,
        body: &Body,
    ) -> Result<Decision, ProxyError> {
        if branches.is_empty() {
            return self.done(RequestOutcome::Discard);
        }
        let branch = branches.remove(0);
        let shared = Arc::clone(&self.proxy.shared);
        // A late-offer answer travels in the ACK; its keys obey the policy too.
        if let Some(t) = branch.hop.transport {
            let tls = t.is_secure() && self.inb.transport.is_secure();
            if let Err(r) = media::check(&shared.config.media_policy, body, self.msg.body(), tls) {
                self.events.push(Event::Withheld {
                    code: 0,
                    cause: Cause::Media(r),
                });
                return self.done(RequestOutcome::Discard);
            }
        }
        let fwd = StatelessForward {
            shared,
            request: self.msg.clone(),
            plan,
            edits: branch.edits,
            inbound: (inbound_index, self.inb.flow.map(str::to_owned)),
            hop: branch.hop,
        };
        self.done(RequestOutcome::Stateless(Box::new(fwd)))
    }
}
