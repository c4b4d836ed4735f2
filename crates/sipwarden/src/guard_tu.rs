//! The abuse guard in the running server: a transaction user that wraps the real one and
//! consults [`Guard`] on every request before any transaction state exists for it.
//!
//! What each verdict does:
//! - `Allow`: the request goes on to the wrapped transaction user;
//! - `Drop` (banned or deny-listed source): nothing is sent and nothing is kept;
//! - `Reject`: the status is sent statelessly;
//! - `RateLimited`: `503` with `Retry-After`, statelessly;
//! - `Challenge`: the return-routability check; a caller without a valid token gets a
//!   stateless `302` whose Contact is the Request-URI carrying a fresh token.
//!
//! No amplification over UDP: a UDP source that has not authenticated within the trust
//! window (and is not allow-listed) is never sent more bytes than it sent us, plus an
//! allowance of 2 KiB that refills at 64 bytes/s, so the first challenge gets through
//! even when it is a little larger than a minimal request (a 401 adds a To tag, the Via `received`/`rport`
//! stamps and the challenge itself: sipsak's 320-byte REGISTER gets a 410-byte 401). A
//! response beyond the remaining credit is cut down first: the `Server`, `Allow`,
//! `Accept`, `Supported` and `Date` fields go, then Digest challenges from the strongest
//! down, so the last (most widely supported) one stays — offering fewer challenges opens
//! no downgrade, the one that stays is in every full challenge anyway. If it still does
//! not fit, nothing is sent. Refusals the guard answers itself (before any transaction)
//! are never larger than the request. A spoofed flood aimed at a victim therefore makes
//! us send the victim at most the flood's own bytes plus the allowance.
//!
//! Authentication feedback comes through [`AuthObserver`]: failures and successes feed
//! the lockout and trust, and a locked account is answered as for a wrong password. A
//! source banned by the failure of the request being answered gets no answer.
//!
//! Everything is keyed on the transport source address or an authenticated account,
//! never on header contents; From and the target only feed policy lists, the scanner
//! sketch and the token MAC.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sipwarden_core::{AuthObserver, Domains};
use sipwarden_events::{Detail, LiftedBy, Scope, Text, Timestamp};
use sipwarden_guard::{
    recognise_anonymous, AccountKey, AnonymousAction, AnonymousForm, AuthGate, BanReason, Caller,
    CallerClaims, Guard, GuardKeys, LimitScope, MethodClass, PolicyLists, RequestFacts, RrDecision,
    ScannerSignal, SecurityEvent, SourceKey, TableKey, TokenFields, TokenKey, TransportKind,
    UnixTime, Verdict, TOKEN_PARAM,
};
use sipwarden_transport::reply::TagMaker;
use sipwarden_transport::tu::{IncomingRequest, RespondSink, Responder, TransactionUser};
use sipwarden_transport::{Flow, RespondError, Screen, Transport};
use sipwarden_wire::build::response_to;
use sipwarden_wire::edit::Editor;
use sipwarden_wire::{HeaderName, Message};

use crate::ops::{event_transport, BanView, Ops};

/// Fields shed first when a response must shrink: none is needed to complete a request.
const SHEDDABLE: [HeaderName; 5] = [
    HeaderName::Server,
    HeaderName::Allow,
    HeaderName::Accept,
    HeaderName::Supported,
    HeaderName::Date,
];

/// The guard shared by the screening transaction user, the registrar's authentication
/// hook and the admin API.
pub struct GuardShared {
    guard: Mutex<Guard>,
    /// Per-source byte credit for UDP answers to unauthenticated sources.
    udp_credit: Mutex<UdpCredit>,
    domains: Domains,
    tags: TagMaker,
    ops: OnceLock<Arc<Ops>>,
    amplification_limit: bool,
}

impl std::fmt::Debug for GuardShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardShared").finish_non_exhaustive()
    }
}

/// The guard's clock: wall time, as its tokens and bans are shared across restarts and
/// instances.
fn now() -> UnixTime {
    UnixTime::from_system_time(SystemTime::now())
}

fn system_time(t: UnixTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(t.unix_nanos())
}

impl GuardShared {
    /// Shares `guard`; `domains` are the domains served (for the From and target facts).
    /// With `amplification_limit`, UDP responses to unauthenticated sources are held to
    /// the size of the request.
    pub fn new(guard: Guard, domains: Domains, amplification_limit: bool) -> Arc<GuardShared> {
        Arc::new(GuardShared {
            udp_credit: Mutex::new(UdpCredit::default()),
            guard: Mutex::new(guard),
            domains,
            tags: TagMaker::new(),
            ops: OnceLock::new(),
            amplification_limit,
        })
    }

    /// The guard `config` asks for, or `None` when `[guard] enabled = false`. Its table
    /// and token keys are drawn fresh: tokens live for seconds, bans for this process.
    pub fn from_config(
        config: &crate::config::Config,
        domains: Domains,
    ) -> anyhow::Result<Option<Arc<GuardShared>>> {
        if !config.guard.enabled() {
            tracing::warn!("INSECURE: [guard] enabled = false: no rate limits, bans, lockout or amplification limit");
            return Ok(None);
        }
        let guard_config = config.guard.guard_config()?;
        let policy = config.policy_lists()?;
        let mut table = [0u8; 16];
        let mut token = [0u8; 32];
        aws_lc_rs::rand::fill(&mut table)
            .and_then(|()| aws_lc_rs::rand::fill(&mut token))
            .map_err(|_| anyhow::anyhow!("no randomness available"))?;
        let keys = GuardKeys {
            table: TableKey(table),
            token: TokenKey::new(&token).map_err(|e| anyhow::anyhow!("guard token key: {e}"))?,
        };
        let guard = Guard::new(guard_config, policy, keys)
            .map_err(|e| anyhow::anyhow!("guard: {} {}", e.field, e.reason))?;
        let limit = config.guard.amplification_limit();
        if !limit {
            tracing::warn!("INSECURE: [guard] udp_amplification_limit = false: UDP responses to unauthenticated sources may be larger than the request");
        }
        Ok(Some(GuardShared::new(guard, domains, limit)))
    }

    /// Reports to `ops` (security events, the admin API's ban list) and reloads the
    /// `[policy]` lists from `config_path` on SIGHUP.
    pub fn attach(self: &Arc<Self>, ops: &Arc<Ops>, config_path: Option<PathBuf>) {
        let _ = self.ops.set(Arc::clone(ops));
        ops.set_bans(Arc::clone(self) as Arc<dyn BanView>);
        ops.on_reload("policy lists", self.policy_reloader(config_path));
    }

    fn lock(&self) -> MutexGuard<'_, Guard> {
        self.guard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the guard, then records the events it raised (outside the lock).
    fn with<R>(
        &self,
        origin: Option<(Transport, SocketAddr)>,
        f: impl FnOnce(&mut Guard) -> R,
    ) -> R {
        let (result, events) = {
            let mut g = self.lock();
            let r = f(&mut g);
            let events: Vec<SecurityEvent> = if g.pending_events() > 0 {
                g.events().collect()
            } else {
                Vec::new()
            };
            (r, events)
        };
        for e in events {
            self.record(&e, origin);
        }
        result
    }

    /// Replaces the policy lists as a whole.
    pub fn set_policy(&self, policy: PolicyLists) {
        self.lock().set_policy(Arc::new(policy));
    }

    /// Whether `ip` is banned now.
    pub fn is_banned(&self, ip: IpAddr) -> bool {
        self.lock().is_banned(SourceKey::from_ip(ip), now())
    }

    fn credit(&self) -> std::sync::MutexGuard<'_, UdpCredit> {
        self.udp_credit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.lock().is_trusted(ip, now())
    }

    /// A SIGHUP hook: re-reads `[policy]` from the configuration file and swaps it in.
    pub fn policy_reloader(
        self: &Arc<Self>,
        path: Option<PathBuf>,
    ) -> impl Fn() -> anyhow::Result<()> + Send + Sync + 'static {
        let shared = Arc::clone(self);
        move || {
            let Some(path) = &path else {
                return Ok(());
            };
            let config = crate::config::Config::load(path)?;
            let policy = config.policy_lists()?;
            shared.set_policy(policy);
            tracing::info!(config = %path.display(), "policy lists reloaded");
            Ok(())
        }
    }

    /// The verdict for one request, as a screen decision.
    fn screen(&self, request: &IncomingRequest) -> Screen {
        let msg = &request.message;
        let source = request.flow.remote.ip();
        let method = MethodClass::of(msg.method_bytes());
        let from = msg.from().ok();
        let from_parts = from.as_ref().and_then(|f| f.uri.as_sip()).map(|u| {
            (
                u.user,
                u.host_raw,
                self.domains.canonical(&u.host).is_some(),
            )
        });
        // For REGISTER the target is the address-of-record in To.
        let to = msg.to().ok();
        let ruri = msg.request_uri().ok();
        let target_uri = if method == MethodClass::Register {
            to.as_ref().map(|t| &t.uri)
        } else {
            ruri.as_ref()
        };
        let target_parts = target_uri.and_then(|u| u.as_sip()).map(|u| {
            (
                u.user,
                u.host_raw,
                self.domains.canonical(&u.host).is_some(),
            )
        });
        // Header contents select the caller class only; nothing is keyed on them.
        let anonymous = from
            .as_ref()
            .zip(from_parts)
            .and_then(|(f, (user, host, ours))| {
                let claims = CallerClaims {
                    display_name: f.display_name.as_ref().map(|d| d.raw()),
                    user,
                    host,
                    verifiable: ours,
                };
                let privacy = msg
                    .other_header_values("Privacy")
                    .filter_map(|v| std::str::from_utf8(v).ok());
                recognise_anonymous(&claims, privacy)
            });
        let mut facts = RequestFacts::new(source, transport_kind(request.flow.transport), method)
            .caller(Caller::Unauthenticated);
        if let Some(form) = anonymous {
            facts = facts.anonymous(form);
        }
        if let Some((user, domain, ours)) = from_parts {
            facts = facts.from(user, domain, ours);
        }
        if let Some((user, domain, ours)) = target_parts {
            facts = facts.target(user, domain, ours);
        }
        let origin = Some((request.flow.transport, request.flow.remote));
        let verdict = self.with(origin, |g| g.check(&facts, now()));
        match verdict {
            Verdict::Allow => Screen::Pass,
            Verdict::Drop => Screen::Drop,
            Verdict::Reject { code, reason } => self.stateless(request, code, reason, &[]),
            Verdict::RateLimited { retry_after } => {
                let secs = retry_after.as_secs().saturating_add(1).to_string();
                self.stateless(
                    request,
                    503,
                    "Service Unavailable",
                    &[("Retry-After", &secs)],
                )
            }
            Verdict::Challenge => self.return_routability(request, origin),
        }
    }

    /// The return-routability check for a request the guard challenged.
    fn return_routability(
        &self,
        request: &IncomingRequest,
        origin: Option<(Transport, SocketAddr)>,
    ) -> Screen {
        let msg = &request.message;
        let (Ok(from), Ok(to), Ok(call_id), Ok(ruri)) =
            (msg.from(), msg.to(), msg.call_id(), msg.request_uri())
        else {
            return self.stateless(request, 400, "Bad Request", &[]);
        };
        let Some(sip) = ruri.as_sip() else {
            return self.stateless(request, 403, "Forbidden", &[]);
        };
        let presented = sip.params.get(TOKEN_PARAM).and_then(|p| p.value);
        let fields = TokenFields {
            from_uri: from.uri.as_str().as_bytes(),
            to_uri: to.uri.as_str().as_bytes(),
            call_id: call_id.as_bytes(),
        };
        let source = request.flow.remote.ip();
        // Retransmissions carry the same top Via branch; anything else is a new request.
        let via = msg.top_via().ok();
        let transaction = via.as_ref().and_then(|v| v.branch).unwrap_or_default();
        let decision = self.with(origin, |g| {
            g.return_routability(
                presented.map(str::as_bytes),
                &fields,
                source,
                transaction.as_bytes(),
                now(),
            )
        });
        match decision {
            RrDecision::Pass => Screen::Pass,
            RrDecision::Reject { code, reason, .. } => self.stateless(request, code, reason, &[]),
            RrDecision::Redirect { code, token } => {
                // URI headers would land after the token; such targets are refused.
                if !sip.headers.raw().is_empty() {
                    return self.stateless(request, 403, "Forbidden", &[]);
                }
                let base = strip_param(ruri.as_str(), TOKEN_PARAM);
                let contact = format!("<{base};{TOKEN_PARAM}={}>", token.as_str());
                self.stateless(request, code, "Moved Temporarily", &[("Contact", &contact)])
            }
        }
    }

    /// A stateless response, within the amplification limit; `Drop` if it cannot fit.
    fn stateless(
        &self,
        request: &IncomingRequest,
        code: u16,
        reason: &str,
        extra: &[(&str, &str)],
    ) -> Screen {
        let msg = &request.message;
        let tag = self.tags.tag_for(msg);
        let mut b = response_to(msg, code, reason).to_tag(&tag);
        for (name, value) in extra {
            b = b.header(name, value);
        }
        let Ok(bytes) = b.build() else {
            return Screen::Drop;
        };
        match self.limit_for(&request.flow, msg) {
            Some(limit) => fit(bytes, limit).map_or(Screen::Drop, Screen::Respond),
            None => Screen::Respond(bytes),
        }
    }

    /// The largest response that may answer `msg` from `flow`, or `None` for no limit.
    fn limit_for(&self, flow: &Flow, msg: &Message) -> Option<usize> {
        (self.amplification_limit
            && flow.transport == Transport::Udp
            && !self.trusted(flow.remote.ip()))
        .then(|| msg.as_bytes().len())
    }

    /// Records one guard event in the security event log (and the process log).
    fn record(&self, event: &SecurityEvent, origin: Option<(Transport, SocketAddr)>) {
        tracing::warn!(kind = event.kind(), source = ?event.source().map(|s| s.to_string()), "guard: {event:?}");
        let Some(ops) = self.ops.get() else {
            return;
        };
        let at = system_time(event.at());
        let (detail, account) = match event {
            SecurityEvent::Banned {
                source,
                reason,
                until,
                strikes,
                ..
            } => (
                Detail::Ban {
                    banned: Text::new(&source.to_string()),
                    reason: ban_reason(*reason),
                    until: Timestamp(system_time(*until)),
                    strikes: *strikes,
                },
                None,
            ),
            SecurityEvent::BanLifted { source, .. } => (
                Detail::BanLifted {
                    banned: Text::new(&source.to_string()),
                    by: LiftedBy::Operator,
                },
                None,
            ),
            SecurityEvent::AccountLocked {
                account,
                until,
                lockouts,
                ..
            } => (
                Detail::Lockout {
                    scope: Scope::Account,
                    until: Timestamp(system_time(*until)),
                    lockouts: *lockouts,
                },
                Some(account.as_str()),
            ),
            SecurityEvent::AccountUnlocked { account, .. } => (
                Detail::LockoutLifted {
                    scope: Scope::Account,
                    by: LiftedBy::Operator,
                },
                Some(account.as_str()),
            ),
            SecurityEvent::RateLimited {
                scope,
                class,
                retry_after,
                suppressed,
                ..
            } => (
                Detail::RateLimited {
                    scope: match scope {
                        LimitScope::Source(_) => Scope::Source,
                        LimitScope::Account(_) => Scope::Account,
                    },
                    method_class: Text::new(class.as_str()),
                    retry_after_ms: u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
                    suppressed: *suppressed,
                },
                match scope {
                    LimitScope::Account(a) => Some(a.as_str()),
                    LimitScope::Source(_) => None,
                },
            ),
            SecurityEvent::ScannerDetected { signal, count, .. } => (
                Detail::ScannerDetected {
                    signal: scanner_signal(*signal),
                    count: *count,
                    user_agent: None,
                },
                None,
            ),
            SecurityEvent::PolicyRefused {
                rule, suppressed, ..
            } => (
                Detail::PolicyRefused {
                    rule: Text::new(rule.as_str()),
                    suppressed: *suppressed,
                },
                None,
            ),
            SecurityEvent::AnonymousCaller {
                form,
                action,
                suppressed,
                ..
            } => (
                Detail::AnonymousCaller {
                    form: anonymous_form(*form),
                    action: anonymous_action(*action),
                    suppressed: *suppressed,
                },
                None,
            ),
            SecurityEvent::TokenRefused {
                reason, suppressed, ..
            } => (
                Detail::TokenRefused {
                    reason: Text::new(reason.as_str()),
                    suppressed: *suppressed,
                },
                None,
            ),
        };
        // The event's own source (an IPv4 address or IPv6 /64); the request's transport
        // when the event came from handling a request.
        let source = event.source().map(|s| match s {
            SourceKey::V4(v4) => SocketAddr::new(IpAddr::V4(v4), 0),
            SourceKey::V6Prefix(p) => {
                SocketAddr::new(IpAddr::V6(Ipv6Addr::from(u128::from(p) << 64)), 0)
            }
        });
        let mut out = sipwarden_events::SecurityEvent::internal(at, detail);
        out.source = source.or(origin.map(|(_, a)| a));
        out.transport = origin.map(|(t, _)| event_transport(t));
        if let Some(a) = account {
            out = out.with_account(a);
        }
        ops.emit(&out);
    }
}

impl AuthObserver for GuardShared {
    fn may_verify(&self, source: IpAddr, user: &str, realm: &str) -> bool {
        let Ok(account) = AccountKey::new(user, realm) else {
            return true;
        };
        let gate = self.with(None, |g| g.auth_gate(source, &account, now()));
        matches!(gate, AuthGate::Proceed)
    }

    fn failed(&self, source: IpAddr, user: &str, realm: &str, known: bool) {
        let account = known.then(|| AccountKey::new(user, realm).ok()).flatten();
        // A ban this causes is seen by the responder, which then sends nothing.
        let _ = self.with(None, |g| g.on_auth_failure(source, account.as_ref(), now()));
    }

    fn succeeded(&self, source: IpAddr, user: &str, realm: &str) {
        if let Ok(account) = AccountKey::new(user, realm) {
            self.with(None, |g| g.on_auth_success(source, &account, now()));
        }
    }
}

impl BanView for GuardShared {
    fn bans(&self) -> Vec<sipwarden_admin::Ban> {
        self.lock()
            .bans(now())
            .into_iter()
            .map(|b| sipwarden_admin::Ban {
                source: b.source.to_string(),
                reason: ban_reason(b.reason),
                until: Timestamp(system_time(b.until)),
                strikes: b.strikes,
            })
            .collect()
    }

    fn lift(&self, ip: IpAddr) -> bool {
        self.with(None, |g| g.lift_ban(SourceKey::from_ip(ip), now()))
    }
}

fn ban_reason(r: BanReason) -> sipwarden_events::BanReason {
    use sipwarden_events::BanReason as E;
    match r {
        BanReason::Flood => E::Flood,
        BanReason::PasswordGuessing => E::PasswordGuessing,
        BanReason::Scanner => E::Scanner,
        BanReason::Manual => E::Manual,
    }
}

fn scanner_signal(s: ScannerSignal) -> sipwarden_events::ScannerSignal {
    use sipwarden_events::ScannerSignal as E;
    match s {
        ScannerSignal::DistinctUsers => E::DistinctUsers,
        ScannerSignal::OptionsSweep => E::OptionsSweep,
        ScannerSignal::UnknownDomains => E::UnknownDomains,
    }
}

fn anonymous_form(f: AnonymousForm) -> sipwarden_events::AnonymousForm {
    use sipwarden_events::AnonymousForm as E;
    match f {
        AnonymousForm::User => E::AnonymousUser,
        AnonymousForm::Host => E::AnonymousHost,
        AnonymousForm::DisplayName => E::DisplayName,
        AnonymousForm::Privacy => E::Privacy,
    }
}

fn anonymous_action(a: AnonymousAction) -> sipwarden_events::AnonymousAction {
    use sipwarden_events::AnonymousAction as E;
    match a {
        AnonymousAction::Allowed => E::Allowed,
        AnonymousAction::Challenged => E::Challenged,
        AnonymousAction::Rejected => E::Rejected,
    }
}

fn transport_kind(t: Transport) -> TransportKind {
    match t {
        Transport::Udp => TransportKind::Udp,
        Transport::Tcp => TransportKind::Tcp,
        Transport::Tls => TransportKind::Tls,
        Transport::Ws => TransportKind::Ws,
        Transport::Wss => TransportKind::Wss,
    }
}

/// `uri` without its `;name=...` parameter (a stale token being replaced).
fn strip_param(uri: &str, name: &str) -> String {
    let mut parts = uri.split(';');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for p in parts {
        let pname = p.split_once('=').map_or(p, |(n, _)| n);
        if !pname.eq_ignore_ascii_case(name) {
            out.push(';');
            out.push_str(p);
        }
    }
    out
}

/// Cuts `response` down to at most `limit` bytes, shedding optional fields and then
/// challenges from the strongest down (the last one always stays); `None` if it cannot
/// be made to fit.
pub fn fit(response: Bytes, limit: usize) -> Option<Bytes> {
    if response.len() <= limit {
        return Some(response);
    }
    let msg = Message::parse(response).ok()?;
    let headers = msg.headers();
    let mut shed: Vec<usize> = Vec::new();
    for name in SHEDDABLE {
        shed.extend(
            headers
                .iter()
                .enumerate()
                .filter(|(_, h)| h.name == name)
                .map(|(i, _)| i),
        );
    }
    for name in [HeaderName::WwwAuthenticate, HeaderName::ProxyAuthenticate] {
        let challenges: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.name == name)
            .map(|(i, _)| i)
            .collect();
        if let Some((_, all_but_last)) = challenges.split_last() {
            shed.extend_from_slice(all_but_last);
        }
    }
    let mut editor = Editor::new(&msg);
    for index in shed {
        editor.remove_field(index).ok()?;
        if editor.len() <= limit {
            return Some(editor.finish());
        }
    }
    None
}

/// Runs the guard before `inner`: see the module documentation.
pub struct GuardTu<T> {
    inner: T,
    shared: Arc<GuardShared>,
}

impl<T: TransactionUser> GuardTu<T> {
    /// Guards `inner` with `shared`.
    pub fn new(inner: T, shared: Arc<GuardShared>) -> GuardTu<T> {
        GuardTu { inner, shared }
    }

    fn wrap(&self, request: &IncomingRequest, responder: Responder) -> Responder {
        let limited = request.flow.transport == Transport::Udp && self.shared.amplification_limit;
        let source = request.flow.remote.ip();
        if limited {
            // The message now carries our Via `received`/`rport` stamp (at most
            // VIA_STAMP_MAX bytes): credit only what the source itself sent.
            let len = request
                .message
                .as_bytes()
                .len()
                .saturating_sub(VIA_STAMP_MAX);
            self.shared.credit().received(source, len);
        }
        Responder::new(Arc::new(LimitedSink {
            inner: responder,
            shared: Arc::clone(&self.shared),
            source,
            limited,
        }))
    }
}

impl<T: TransactionUser> TransactionUser for GuardTu<T> {
    fn screen(&self, request: &IncomingRequest) -> Screen {
        match self.shared.screen(request) {
            Screen::Pass => self.inner.screen(request),
            other => other,
        }
    }

    fn on_request(&self, request: IncomingRequest, responder: Responder) {
        let responder = self.wrap(&request, responder);
        self.inner.on_request(request, responder);
    }

    fn on_ack(&self, ack: IncomingRequest) {
        self.inner.on_ack(ack);
    }

    fn on_cancel(&self, cancel: IncomingRequest, invite: Responder) {
        let invite = self.wrap(&cancel, invite);
        self.inner.on_cancel(cancel, invite);
    }

    fn on_stray_response(&self, response: Message, flow: Flow) {
        self.inner.on_stray_response(response, flow);
    }
}

/// Holds responses over UDP to the amplification limit, and answers nothing to a source
/// that got banned while its request was handled (by the failure it caused).
struct LimitedSink {
    inner: Responder,
    shared: Arc<GuardShared>,
    source: IpAddr,
    /// A UDP request under the amplification limit.
    limited: bool,
}

impl RespondSink for LimitedSink {
    fn respond(&self, response: Bytes) -> Result<(), RespondError> {
        if self.shared.is_banned(self.source) {
            return Ok(());
        }
        if !self.limited || self.shared.trusted(self.source) {
            return self.inner.respond(response);
        }
        // Decide and debit under one lock, so concurrent answers cannot overspend.
        let answer = {
            let mut credit = self.shared.credit();
            let available = credit.available(self.source);
            let answer = if response.len() <= available {
                Some(response)
            } else {
                fit(response, available)
            };
            if let Some(bytes) = &answer {
                credit.spent(self.source, bytes.len());
            }
            answer
        };
        match answer {
            Some(bytes) => self.inner.respond(bytes),
            // Silence: the transaction times out on its own.
            None => Ok(()),
        }
    }
}

/// Bytes a UDP source that has not authenticated may still be sent: what it sent us,
/// less what we answered, plus an allowance that starts at `UDP_CREDIT_ALLOWANCE` and
/// refills slowly over time (so a monitoring OPTIONS ping every few seconds always gets
/// its full answer). The allowance lets the first challenge through even when it is a
/// little larger than a minimal request; beyond it, a spoofed flood makes us send the
/// victim no more bytes than the flood itself carried, plus the allowance.
#[derive(Debug, Default)]
struct UdpCredit {
    /// Source → (credit in bytes, when it was last updated in whole seconds).
    sources: std::collections::HashMap<IpAddr, (i64, u64)>,
}

/// Most bytes the transport's `;received=<IPv6>;rport=<port>` Via stamp adds.
const VIA_STAMP_MAX: usize = 64;
/// The allowance per source, in bytes.
const UDP_CREDIT_ALLOWANCE: i64 = 2048;
/// How fast the allowance comes back, in bytes per second.
const UDP_CREDIT_REFILL_PER_SEC: i64 = 64;
/// Credit never accumulates beyond this, so a quiet period cannot bank a burst.
const UDP_CREDIT_CAP: i64 = 8 * 1024;
/// Sources tracked at once; past it the table is cleared (everyone restarts with the
/// allowance), which bounds memory against address floods.
const UDP_CREDIT_SOURCES: usize = 65_536;

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl UdpCredit {
    fn received(&mut self, source: IpAddr, bytes: usize) {
        if self.sources.len() >= UDP_CREDIT_SOURCES && !self.sources.contains_key(&source) {
            self.sources.clear();
        }
        let now = unix_secs();
        let (credit, at) = self
            .sources
            .entry(source)
            .or_insert((UDP_CREDIT_ALLOWANCE, now));
        let elapsed = i64::try_from(now.saturating_sub(*at)).unwrap_or(i64::MAX);
        let refill = elapsed.saturating_mul(UDP_CREDIT_REFILL_PER_SEC);
        // The refill restores the allowance only; what the source sends adds on top.
        let base = (*credit).max((*credit).saturating_add(refill).min(UDP_CREDIT_ALLOWANCE));
        *credit = base
            .saturating_add(i64::try_from(bytes).unwrap_or(i64::MAX))
            .min(UDP_CREDIT_CAP);
        *at = now;
    }

    fn available(&self, source: IpAddr) -> usize {
        self.sources
            .get(&source)
            .map_or(0, |(c, _)| usize::try_from(*c).unwrap_or(0))
    }

    fn spent(&mut self, source: IpAddr, bytes: usize) {
        if let Some((credit, _)) = self.sources.get_mut(&source) {
            *credit = credit.saturating_sub(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
mod tests;
