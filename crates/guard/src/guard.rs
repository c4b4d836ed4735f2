//! The entry point the server calls: one verdict per request, plus feedback from
//! authentication and routing.

use core::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::anonymous::AnonymousForm;
use crate::ban::{BanConfig, BanInfo, BanList, BanOutcome, BanReason};
use crate::error::ConfigError;
use crate::event::{
    AnonymousAction, EventQueue, GuardStats, LimitScope, ScannerSignal, SecurityEvent,
};
use crate::gcra::{ClassQuotas, Leaky, LimiterConfig, Quota, RateDecision, RateLimiter};
use crate::key::{AccountKey, MethodClass, SourceKey, TransportKind};
use crate::policy::{AnonymousPolicy, PolicyLists, PolicyRule};
use crate::store::{BoundedMap, SipBuild, TableKey};
use crate::time::UnixTime;
use crate::token::{self, RrToken, TokenError, TokenFields, TokenKey, MAX_TOKEN_SKEW, TOKEN_LEN};

/// Most distinct users one source's scanner sketch remembers per window; the
/// distinct-users threshold may not exceed it.
pub const MAX_TRACKED_USERS: usize = 16;

/// Sources remembered per account as its owner's recent sources.
pub const OWNER_SLOTS: usize = 8;

// ---------------------------------------------------------------------------------------
// Configuration

/// Rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// Most keys each limiter (sources, accounts) tracks.
    pub capacity: usize,
    /// Per source that has not authenticated recently.
    pub source: ClassQuotas,
    /// Per source that authenticated within `lockout.trust_window`, or in `allow_cidrs`:
    /// many users behind one NAT.
    pub trusted_source: ClassQuotas,
    /// Per authenticated account.
    pub account: ClassQuotas,
    /// One refused request is forgiven per this interval.
    pub violation_decay: Duration,
    /// A source whose outstanding refusals exceed this is banned for flooding.
    pub ban_after_violations: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            capacity: 65_536,
            source: ClassQuotas {
                register: Quota::per_second(20).with_burst(50),
                invite: Quota::per_second(20).with_burst(50),
                options: Quota::per_second(10).with_burst(20),
                other: Quota::per_second(50).with_burst(100),
            },
            // A source that authenticated recently: an office NAT, a session border
            // controller or a load generator carries many users' traffic. Sized for
            // thousands of registrations (two REGISTERs each) and calls per second.
            trusted_source: ClassQuotas {
                register: Quota::per_second(6000).with_burst(12000),
                invite: Quota::per_second(4000).with_burst(8000),
                options: Quota::per_second(1000).with_burst(2000),
                other: Quota::per_second(10000).with_burst(20000),
            },
            account: ClassQuotas {
                register: Quota::per_second(5).with_burst(20),
                invite: Quota::per_second(10).with_burst(30),
                options: Quota::per_second(10).with_burst(30),
                other: Quota::per_second(50).with_burst(100),
            },
            violation_decay: Duration::from_millis(100),
            ban_after_violations: 200,
        }
    }
}

/// Password-guessing lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Failures a source may have outstanding before it is banned.
    pub source_failures: u32,
    /// The same for a source that authenticated successfully within `trust_window` (an
    /// office behind one NAT whose phones come back after an outage).
    pub trusted_source_failures: u32,
    /// One source failure is forgiven per this interval.
    pub source_failure_decay: Duration,
    /// Failures an account may have outstanding (from sources other than its owner's)
    /// before it is locked.
    pub account_failures: u32,
    /// One account failure is forgiven per this interval.
    pub account_failure_decay: Duration,
    /// Length of a first account lock; each further lock doubles it.
    pub account_lock_base: Duration,
    /// Longest account lock.
    pub account_lock_max: Duration,
    /// Lock escalation restarts after this long without a lock.
    pub forget_after: Duration,
    /// How long a successful authentication makes a source trusted.
    pub trust_window: Duration,
    /// How long a source that authenticated as an account stays exempt from that
    /// account's lock.
    pub owner_window: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            source_failures: 5,
            trusted_source_failures: 50,
            source_failure_decay: Duration::from_secs(60),
            account_failures: 10,
            account_failure_decay: Duration::from_secs(60),
            account_lock_base: Duration::from_secs(120),
            account_lock_max: Duration::from_secs(3600),
            forget_after: Duration::from_secs(24 * 3600),
            trust_window: Duration::from_secs(24 * 3600),
            owner_window: Duration::from_secs(3600),
        }
    }
}

/// Scanner detection. Crossing a threshold makes a source a suspect; it is banned if it
/// sends again after `grace` without any successful authentication in between, so that
/// a NAT full of phones re-registering at once (many distinct users, all of which then
/// authenticate) is not mistaken for an extension scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannerConfig {
    /// Counting window.
    pub window: Duration,
    /// Distinct target users from one unauthenticated source per window (at most
    /// [`MAX_TRACKED_USERS`]).
    pub distinct_users: u32,
    /// OPTIONS from one unauthenticated source per window.
    pub options: u32,
    /// Requests for domains that are not ours from one unauthenticated source per window.
    pub unknown_domains: u32,
    /// Time a suspect has to authenticate before it is banned.
    pub grace: Duration,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            distinct_users: 10,
            options: 30,
            unknown_domains: 5,
            grace: Duration::from_secs(5),
        }
    }
}

/// The return-routability check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrConfig {
    /// Send unauthenticated INVITEs over UDP from callers of other domains through the
    /// check. Anonymous callers under [`AnonymousPolicy::Challenge`] go through it
    /// regardless.
    pub enabled: bool,
    /// How long a token stays good.
    pub max_age: Duration,
}

impl Default for RrConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_age: Duration::from_secs(32),
        }
    }
}

/// Everything the guard is configured with. `Default` is the recommended setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Rate limits.
    pub limits: RateConfig,
    /// Bans.
    pub bans: BanConfig,
    /// Password-guessing lockout.
    pub lockout: LockoutConfig,
    /// Scanner detection.
    pub scanner: ScannerConfig,
    /// Return-routability check.
    pub return_routability: RrConfig,
    /// Sources whose behaviour (failures, scanner sketch) is tracked.
    pub sources_capacity: usize,
    /// Sources remembered as having authenticated (only successful authentication adds
    /// one, so an attacker cannot flush it).
    pub trusted_capacity: usize,
    /// Accounts whose failures and locks are tracked.
    pub accounts_capacity: usize,
    /// Undrained events kept; later ones are counted and dropped.
    pub event_capacity: usize,
    /// Least time between two coalesced events for one key.
    pub notice_interval: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            limits: RateConfig::default(),
            bans: BanConfig::default(),
            lockout: LockoutConfig::default(),
            scanner: ScannerConfig::default(),
            return_routability: RrConfig::default(),
            sources_capacity: 65_536,
            trusted_capacity: 16_384,
            accounts_capacity: 65_536,
            event_capacity: 4_096,
            notice_interval: Duration::from_secs(10),
        }
    }
}

impl GuardConfig {
    /// Checks every value; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        nonzero(l.capacity, "limits.capacity")?;
        l.source.validate([
            "limits.source.register",
            "limits.source.invite",
            "limits.source.options",
            "limits.source.other",
        ])?;
        l.trusted_source.validate([
            "limits.trusted_source.register",
            "limits.trusted_source.invite",
            "limits.trusted_source.options",
            "limits.trusted_source.other",
        ])?;
        l.account.validate([
            "limits.account.register",
            "limits.account.invite",
            "limits.account.options",
            "limits.account.other",
        ])?;
        positive(l.violation_decay, "limits.violation_decay")?;
        nonzero(
            l.ban_after_violations as usize,
            "limits.ban_after_violations",
        )?;
        self.bans.validate()?;
        let k = &self.lockout;
        nonzero(k.source_failures as usize, "lockout.source_failures")?;
        if k.trusted_source_failures < k.source_failures {
            return Err(ConfigError::new(
                "lockout.trusted_source_failures",
                "must not be below lockout.source_failures",
            ));
        }
        positive(k.source_failure_decay, "lockout.source_failure_decay")?;
        nonzero(k.account_failures as usize, "lockout.account_failures")?;
        positive(k.account_failure_decay, "lockout.account_failure_decay")?;
        positive(k.account_lock_base, "lockout.account_lock_base")?;
        if k.account_lock_max < k.account_lock_base {
            return Err(ConfigError::new(
                "lockout.account_lock_max",
                "must not be shorter than lockout.account_lock_base",
            ));
        }
        let s = &self.scanner;
        positive(s.window, "scanner.window")?;
        nonzero(s.distinct_users as usize, "scanner.distinct_users")?;
        if s.distinct_users as usize > MAX_TRACKED_USERS {
            return Err(ConfigError::new(
                "scanner.distinct_users",
                "must not exceed 16 (the per-source sketch size)",
            ));
        }
        nonzero(s.options as usize, "scanner.options")?;
        nonzero(s.unknown_domains as usize, "scanner.unknown_domains")?;
        positive(
            self.return_routability.max_age,
            "return_routability.max_age",
        )?;
        nonzero(self.sources_capacity, "sources_capacity")?;
        nonzero(self.trusted_capacity, "trusted_capacity")?;
        nonzero(self.accounts_capacity, "accounts_capacity")?;
        nonzero(self.event_capacity, "event_capacity")?;
        Ok(())
    }
}

fn nonzero(v: usize, field: &'static str) -> Result<(), ConfigError> {
    if v == 0 {
        return Err(ConfigError::new(field, "must be at least 1"));
    }
    if v > crate::store::MAX_CAPACITY {
        return Err(ConfigError::new(field, "too large"));
    }
    Ok(())
}

fn positive(d: Duration, field: &'static str) -> Result<(), ConfigError> {
    if d.is_zero() {
        return Err(ConfigError::new(field, "must be non-zero"));
    }
    Ok(())
}

/// Secrets the guard needs, drawn by the caller.
#[derive(Debug, Clone)]
pub struct GuardKeys {
    /// Keys the hash index of every bounded store.
    pub table: TableKey,
    /// Mints and verifies return-routability tokens; share it across a cluster.
    pub token: TokenKey,
}

// ---------------------------------------------------------------------------------------
// Request facts and verdicts

/// Who the caller is, as far as the server has established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// Authenticated as this account (Digest, or a flow authenticated earlier).
    Authenticated(&'a AccountKey),
    /// Anonymous ("null") authentication: a distinct, marked class of caller.
    Anonymous,
    /// Nothing established yet.
    Unauthenticated,
}

/// A user and domain as the caller parsed them from a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// User part, if the URI has one.
    pub user: Option<&'a str>,
    /// Host part.
    pub domain: &'a str,
}

/// What the server knows about a request when it asks for a verdict. Everything the
/// guard keys state on comes from `source` (the transport address) and `caller` (an
/// authenticated account); `from` and `target` only feed policy lists and the scanner
/// sketch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// Transport source address.
    pub source: IpAddr,
    /// Transport it came on.
    pub transport: TransportKind,
    /// Method class.
    pub method: MethodClass,
    /// Caller class.
    pub caller: Caller<'a>,
    /// The From URI's user and domain.
    pub from: Option<Identity<'a>>,
    /// Whether the From domain is one we serve (such callers get a Digest challenge, not
    /// the return-routability check).
    pub from_is_ours: bool,
    /// The target (Request-URI, or To for REGISTER) user and domain.
    pub target: Option<Identity<'a>>,
    /// Whether the target domain is one we serve.
    pub target_is_ours: bool,
    /// How an anonymous caller marked itself (see
    /// [`recognise_anonymous`](crate::recognise_anonymous)), for events and metrics.
    pub anonymous: Option<AnonymousForm>,
}

impl<'a> RequestFacts<'a> {
    /// An unauthenticated request for one of our domains, with no From or target facts.
    pub fn new(source: IpAddr, transport: TransportKind, method: MethodClass) -> Self {
        Self {
            source,
            transport,
            method,
            caller: Caller::Unauthenticated,
            from: None,
            from_is_ours: false,
            target: None,
            target_is_ours: true,
            anonymous: None,
        }
    }

    /// Marks the caller as anonymous, in `form`: the caller class the anonymous policy
    /// acts on.
    #[must_use]
    pub fn anonymous(mut self, form: AnonymousForm) -> Self {
        self.caller = Caller::Anonymous;
        self.anonymous = Some(form);
        self
    }

    /// Sets the caller class.
    #[must_use]
    pub fn caller(mut self, caller: Caller<'a>) -> Self {
        self.caller = caller;
        self
    }

    /// Sets the From identity and whether its domain is ours.
    #[must_use]
    pub fn from(mut self, user: Option<&'a str>, domain: &'a str, ours: bool) -> Self {
        self.from = Some(Identity { user, domain });
        self.from_is_ours = ours;
        self
    }

    /// Sets the target identity and whether its domain is ours.
    #[must_use]
    pub fn target(mut self, user: Option<&'a str>, domain: &'a str, ours: bool) -> Self {
        self.target = Some(Identity { user, domain });
        self.target_is_ours = ours;
        self
    }
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on processing.
    Allow,
    /// Send nothing at all: the source is banned or denied. Silence makes scanners give
    /// up; an error response would confirm a server is there.
    Drop,
    /// Answer with this final response and stop.
    Reject {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: &'static str,
    },
    /// Over a rate limit: answer 503 with `Retry-After` (or nothing, over UDP, when the
    /// answer would be larger than the request), and stop.
    RateLimited {
        /// When the source or account may send this method again.
        retry_after: Duration,
    },
    /// The caller must prove return routability first: run
    /// [`Guard::return_routability`] with the token the request carries, if any.
    Challenge,
}

/// Whether credentials for an account may be checked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthGate {
    /// Check them.
    Proceed,
    /// The account is locked for this source: do not check the credentials; answer
    /// exactly as for a wrong password (so the lock reveals nothing) and report it with
    /// [`Guard::on_auth_failure`].
    Locked {
        /// When the lock ends.
        until: UnixTime,
    },
}

/// The outcome of the return-routability check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RrDecision {
    /// A valid token: serve the request.
    Pass,
    /// Answer at once (no 1xx, no transaction state) with `code` and a Contact that is the
    /// Request-URI with [`TOKEN_PARAM`](crate::TOKEN_PARAM)`=token` added.
    Redirect {
        /// 302.
        code: u16,
        /// The token for the Contact URI.
        token: RrToken,
    },
    /// A forged, tampered or misdirected token: answer `code` and stop.
    Reject {
        /// 403.
        code: u16,
        /// Reason phrase.
        reason: &'static str,
        /// Why the token failed.
        error: TokenError,
    },
}

/// An account lock as shown to an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The account.
    pub account: AccountKey,
    /// When the lock ends.
    pub until: UnixTime,
    /// Consecutive locks including this one.
    pub lockouts: u32,
}

/// Fill level of one bounded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreUsage {
    /// Entries held.
    pub len: usize,
    /// Most entries it will hold.
    pub capacity: usize,
    /// Whether its allocations are still the ones made at creation.
    pub allocation_unchanged: bool,
}

/// Fill levels of every bounded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupancy {
    /// Per-source rate limiter.
    pub source_limits: StoreUsage,
    /// Per-account rate limiter.
    pub account_limits: StoreUsage,
    /// Per-source behaviour (failures, scanner sketch).
    pub sources: StoreUsage,
    /// Recently authenticated sources.
    pub trusted: StoreUsage,
    /// Per-account failures and locks.
    pub accounts: StoreUsage,
    /// Bans (active and remembered).
    pub bans: StoreUsage,
}

// ---------------------------------------------------------------------------------------
// Per-key state

#[derive(Debug, Clone, Copy, Default)]
struct SourceEntry {
    failures: Leaky,
    window_start: UnixTime,
    users: [u32; MAX_TRACKED_USERS],
    users_len: u8,
    options: u32,
    foreign: u32,
    suspect: Option<Suspicion>,
    last_notice: Option<UnixTime>,
    suppressed: u32,
    anonymous_notice: Option<UnixTime>,
    anonymous_suppressed: u32,
}

#[derive(Debug, Clone, Copy)]
struct Suspicion {
    since: UnixTime,
    signal: ScannerSignal,
    count: u32,
}

impl SourceEntry {
    fn roll(&mut self, now: UnixTime, window: Duration) {
        if self.users_len == 0 && self.options == 0 && self.foreign == 0 {
            self.window_start = now;
        } else if now.since(self.window_start) >= window {
            self.window_start = now;
            self.users_len = 0;
            self.options = 0;
            self.foreign = 0;
        }
    }

    /// Adds a user fingerprint; returns the distinct count.
    fn note_user(&mut self, fp: u32) -> u32 {
        let len = usize::from(self.users_len);
        let seen = self.users.get(..len).is_some_and(|s| s.contains(&fp));
        if !seen {
            if let Some(slot) = self.users.get_mut(len) {
                *slot = fp;
                self.users_len = self.users_len.saturating_add(1);
            }
        }
        u32::from(self.users_len)
    }

    fn suspect(&mut self, now: UnixTime, signal: ScannerSignal, count: u32) {
        if self.suspect.is_none() {
            self.suspect = Some(Suspicion {
                since: now,
                signal,
                count,
            });
        }
    }

    fn clear_scan(&mut self) {
        self.users_len = 0;
        self.options = 0;
        self.foreign = 0;
        self.suspect = None;
    }

    /// Whether to emit a coalesced event now; returns the refusals folded into it.
    fn notice(&mut self, now: UnixTime, interval: Duration) -> Option<u32> {
        if self.last_notice.is_none_or(|t| now.since(t) >= interval) {
            self.last_notice = Some(now);
            Some(core::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct AccountEntry {
    failures: Leaky,
    locked_until: UnixTime,
    lockouts: u32,
    owners: [Option<(SourceKey, UnixTime)>; OWNER_SLOTS],
}

impl AccountEntry {
    fn is_owner(&self, source: SourceKey, now: UnixTime, window: Duration) -> bool {
        self.owners
            .iter()
            .flatten()
            .any(|(s, t)| *s == source && now.since(*t) < window)
    }

    fn record_owner(&mut self, source: SourceKey, now: UnixTime) {
        if let Some(slot) = self.owners.iter_mut().flatten().find(|(s, _)| *s == source) {
            slot.1 = now;
            return;
        }
        // An empty slot, else the one used longest ago.
        let slot = match self.owners.iter().position(Option::is_none) {
            Some(i) => self.owners.get_mut(i),
            None => self.owners.iter_mut().min_by_key(|o| o.map(|(_, t)| t)),
        };
        if let Some(slot) = slot {
            *slot = Some((source, now));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The guard

/// The abuse-defence decision core. Not thread-safe by itself: the server holds it behind
/// a lock or keeps one per shard of sources.
pub struct Guard {
    config: GuardConfig,
    policy: Arc<PolicyLists>,
    token_key: TokenKey,
    fingerprints: SipBuild,
    bans: BanList,
    source_limits: RateLimiter<SourceKey>,
    account_limits: RateLimiter<AccountKey>,
    sources: BoundedMap<SourceKey, SourceEntry>,
    trusted: BoundedMap<SourceKey, UnixTime>,
    accounts: BoundedMap<AccountKey, AccountEntry>,
    /// Tokens that admitted a request, for as long as they stay valid: only callers that
    /// proved return routability add one.
    used_tokens: BoundedMap<[u8; TOKEN_LEN], UsedToken>,
    events: EventQueue,
    stats: GuardStats,
}

/// The transaction a token admitted, and until when the token could still verify.
#[derive(Debug, Clone, Copy)]
struct UsedToken {
    transaction: u64,
    until: UnixTime,
}

impl core::fmt::Debug for Guard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Guard")
            .field("config", &self.config)
            .field("occupancy", &self.occupancy())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard with `config` (validated here), `policy` and the caller's secrets.
    pub fn new(
        config: GuardConfig,
        policy: PolicyLists,
        keys: GuardKeys,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let table = keys.table;
        let limiter = |quotas: ClassQuotas, relaxed: ClassQuotas| LimiterConfig {
            capacity: config.limits.capacity,
            quotas,
            relaxed,
            violation_decay: config.limits.violation_decay,
            notice_interval: config.notice_interval,
        };
        let l = &config.limits;
        Ok(Self {
            policy: Arc::new(policy),
            token_key: keys.token,
            fingerprints: SipBuild::new(table),
            bans: BanList::new(config.bans, table),
            source_limits: RateLimiter::new(&limiter(l.source, l.trusted_source), table),
            account_limits: RateLimiter::new(&limiter(l.account, l.account), table),
            sources: BoundedMap::new(config.sources_capacity, table),
            trusted: BoundedMap::new(config.trusted_capacity, table),
            accounts: BoundedMap::new(config.accounts_capacity, table),
            used_tokens: BoundedMap::new(config.sources_capacity, table),
            events: EventQueue::new(config.event_capacity),
            stats: GuardStats::default(),
            config,
        })
    }

    /// The verdict for one request at `now`. Call it on every request before doing any
    /// other work for it. If the request arrives already authenticated (on a flow that
    /// authenticated earlier, or with a client certificate), say so in `facts.caller`;
    /// if its Digest credentials verify only later, call
    /// [`check_account`](Self::check_account) then.
    pub fn check(&mut self, facts: &RequestFacts<'_>, now: UnixTime) -> Verdict {
        let verdict = self.decide(facts, now);
        match verdict {
            Verdict::Allow => self.stats.allowed = self.stats.allowed.saturating_add(1),
            Verdict::Challenge => self.stats.challenged = self.stats.challenged.saturating_add(1),
            Verdict::Drop | Verdict::Reject { .. } | Verdict::RateLimited { .. } => {}
        }
        verdict
    }

    fn decide(&mut self, facts: &RequestFacts<'_>, now: UnixTime) -> Verdict {
        let ip = facts.source;
        let key = SourceKey::from_ip(ip);
        let policy = Arc::clone(&self.policy);

        if policy.source_denied(ip) {
            self.stats.dropped_denied = self.stats.dropped_denied.saturating_add(1);
            self.policy_notice(key, PolicyRule::DeniedSource, now);
            return Verdict::Drop;
        }
        if self.bans.hit(key, now) {
            self.stats.dropped_banned = self.stats.dropped_banned.saturating_add(1);
            return Verdict::Drop;
        }
        let allow_listed = policy.source_trusted(ip);
        let relaxed = allow_listed || self.recently_authenticated(key, now);

        // Rate limits, per source and per authenticated account.
        let decision = self.source_limits.check(&key, facts.method, relaxed, now);
        if let RateDecision::Limited {
            retry_after,
            violations,
            notify,
            suppressed,
        } = decision
        {
            self.stats.rate_limited = self.stats.rate_limited.saturating_add(1);
            if notify {
                self.events.push(SecurityEvent::RateLimited {
                    at: now,
                    scope: LimitScope::Source(key),
                    class: facts.method,
                    retry_after,
                    suppressed,
                });
            }
            if !allow_listed && violations > self.config.limits.ban_after_violations {
                self.ban(key, BanReason::Flood, now);
                self.stats.dropped_banned = self.stats.dropped_banned.saturating_add(1);
                return Verdict::Drop;
            }
            return Verdict::RateLimited { retry_after };
        }
        if let Caller::Authenticated(account) = facts.caller {
            if let Some(v) = self.limit_account(account, facts.method, now) {
                return v;
            }
        }

        // Scanner behaviour of sources that have not authenticated this request.
        if !allow_listed && !matches!(facts.caller, Caller::Authenticated(_)) {
            if let Some(v) = self.track_scanner(key, facts, now) {
                return v;
            }
        }

        // Caller policy.
        if policy.has_caller_denies() {
            let denied = match facts.caller {
                Caller::Authenticated(a) => policy.caller_denied(Some(a.user()), a.domain()),
                Caller::Anonymous | Caller::Unauthenticated => None,
            }
            .or_else(|| {
                facts
                    .from
                    .and_then(|f| policy.caller_denied(f.user, f.domain))
            });
            if let Some(rule) = denied {
                return self.refuse(key, rule, now);
            }
        }
        let proven = allow_listed || facts.transport.is_connection_oriented();
        match facts.caller {
            Caller::Anonymous => {
                let (action, verdict) = match policy.anonymous() {
                    AnonymousPolicy::Allow => (AnonymousAction::Allowed, Verdict::Allow),
                    AnonymousPolicy::Reject => (
                        AnonymousAction::Rejected,
                        self.refuse(key, PolicyRule::AnonymousRejected, now),
                    ),
                    AnonymousPolicy::Challenge if proven => {
                        (AnonymousAction::Allowed, Verdict::Allow)
                    }
                    AnonymousPolicy::Challenge => (AnonymousAction::Challenged, Verdict::Challenge),
                };
                self.anonymous_notice(key, facts.anonymous, action, now);
                verdict
            }
            Caller::Unauthenticated
                if self.config.return_routability.enabled
                    && facts.method == MethodClass::Invite
                    && !facts.from_is_ours
                    && !proven
                    && !facts
                        .from
                        .is_some_and(|f| policy.caller_allowed(f.user, f.domain)) =>
            {
                Verdict::Challenge
            }
            Caller::Authenticated(_) | Caller::Unauthenticated => Verdict::Allow,
        }
    }

    /// The per-account rate limit; `Some(RateLimited)` when over it.
    fn limit_account(
        &mut self,
        account: &AccountKey,
        method: MethodClass,
        now: UnixTime,
    ) -> Option<Verdict> {
        let decision = self.account_limits.check(account, method, false, now);
        let RateDecision::Limited {
            retry_after,
            notify,
            suppressed,
            ..
        } = decision
        else {
            return None;
        };
        self.stats.rate_limited = self.stats.rate_limited.saturating_add(1);
        if notify {
            self.events.push(SecurityEvent::RateLimited {
                at: now,
                scope: LimitScope::Account(account.clone()),
                class: method,
                retry_after,
                suppressed,
            });
        }
        Some(Verdict::RateLimited { retry_after })
    }

    /// The second half of [`check`](Self::check) for a request whose credentials have just
    /// verified as `account`: the per-account rate limit and the user deny list. The
    /// source was already charged by `check`, so this does not charge it again.
    pub fn check_account(
        &mut self,
        source: IpAddr,
        account: &AccountKey,
        method: MethodClass,
        now: UnixTime,
    ) -> Verdict {
        if let Some(v) = self.limit_account(account, method, now) {
            return v;
        }
        if let Some(rule) = self
            .policy
            .caller_denied(Some(account.user()), account.domain())
        {
            return self.refuse(SourceKey::from_ip(source), rule, now);
        }
        Verdict::Allow
    }

    /// Updates the scanner sketch for `key`; `Some(Drop)` if this request confirmed it.
    fn track_scanner(
        &mut self,
        key: SourceKey,
        facts: &RequestFacts<'_>,
        now: UnixTime,
    ) -> Option<Verdict> {
        let cfg = self.config.scanner;
        let fp = facts.target.and_then(|t| {
            t.user
                .map(|u| self.fingerprints.fingerprint(&(u, t.domain)))
        });
        let entry = self
            .sources
            .get_or_insert_with(&key, SourceEntry::default)?;
        entry.roll(now, cfg.window);
        if let Some(fp) = fp {
            let n = entry.note_user(fp);
            if n >= cfg.distinct_users {
                entry.suspect(now, ScannerSignal::DistinctUsers, n);
            }
        }
        if facts.method == MethodClass::Options {
            entry.options = entry.options.saturating_add(1);
            if entry.options >= cfg.options {
                let n = entry.options;
                entry.suspect(now, ScannerSignal::OptionsSweep, n);
            }
        }
        if !facts.target_is_ours {
            entry.foreign = entry.foreign.saturating_add(1);
            if entry.foreign >= cfg.unknown_domains {
                let n = entry.foreign;
                entry.suspect(now, ScannerSignal::UnknownDomains, n);
            }
        }
        self.confirm_scanner(key, now)
    }

    /// Bans a suspect whose grace has run out.
    fn confirm_scanner(&mut self, key: SourceKey, now: UnixTime) -> Option<Verdict> {
        let ScannerConfig { grace, window, .. } = self.config.scanner;
        let entry = self.sources.peek_mut(&key)?;
        let s = entry.suspect.filter(|s| now.since(s.since) >= grace)?;
        entry.clear_scan();
        // A suspect that went quiet for a whole window after its grace is let off.
        if now.since(s.since) >= grace.saturating_add(window) {
            return None;
        }
        self.stats.scanners = self.stats.scanners.saturating_add(1);
        self.events.push(SecurityEvent::ScannerDetected {
            at: now,
            source: key,
            signal: s.signal,
            count: s.count,
        });
        self.ban(key, BanReason::Scanner, now);
        self.stats.dropped_banned = self.stats.dropped_banned.saturating_add(1);
        Some(Verdict::Drop)
    }

    fn recently_authenticated(&self, key: SourceKey, now: UnixTime) -> bool {
        self.trusted
            .peek(&key)
            .is_some_and(|t| now.since(*t) < self.config.lockout.trust_window)
    }

    fn refuse(&mut self, key: SourceKey, rule: PolicyRule, now: UnixTime) -> Verdict {
        self.stats.rejected_policy = self.stats.rejected_policy.saturating_add(1);
        self.policy_notice(key, rule, now);
        Verdict::Reject {
            code: 403,
            reason: "Forbidden",
        }
    }

    fn policy_notice(&mut self, key: SourceKey, rule: PolicyRule, now: UnixTime) {
        let interval = self.config.notice_interval;
        let Some(entry) = self.sources.get_or_insert_with(&key, SourceEntry::default) else {
            return;
        };
        if let Some(suppressed) = entry.notice(now, interval) {
            self.events.push(SecurityEvent::PolicyRefused {
                at: now,
                source: key,
                rule,
                suppressed,
            });
        }
    }

    /// Reports an anonymous caller, coalesced per source.
    fn anonymous_notice(
        &mut self,
        key: SourceKey,
        form: Option<AnonymousForm>,
        action: AnonymousAction,
        now: UnixTime,
    ) {
        self.stats.anonymous = self.stats.anonymous.saturating_add(1);
        let interval = self.config.notice_interval;
        let Some(entry) = self.sources.get_or_insert_with(&key, SourceEntry::default) else {
            return;
        };
        let due = entry
            .anonymous_notice
            .is_none_or(|t| now.since(t) >= interval);
        if !due {
            entry.anonymous_suppressed = entry.anonymous_suppressed.saturating_add(1);
            return;
        }
        entry.anonymous_notice = Some(now);
        let suppressed = core::mem::take(&mut entry.anonymous_suppressed);
        self.events.push(SecurityEvent::AnonymousCaller {
            at: now,
            source: key,
            // A caller marked anonymous without saying how used the classic URI.
            form: form.unwrap_or(AnonymousForm::Host),
            action,
            suppressed,
        });
    }

    fn ban(&mut self, key: SourceKey, reason: BanReason, now: UnixTime) -> BanInfo {
        let outcome = self.bans.ban(key, reason, now);
        if let BanOutcome::Started(info) = outcome {
            self.stats.bans = self.stats.bans.saturating_add(1);
            self.events.push(SecurityEvent::Banned {
                at: now,
                source: key,
                reason,
                until: info.until,
                strikes: info.strikes,
            });
        }
        *outcome.info()
    }

    // -----------------------------------------------------------------------------------
    // Authentication feedback

    /// Whether to check credentials for `account` from `source` at all. A locked account
    /// stays open to sources that authenticated as it within `lockout.owner_window`.
    pub fn auth_gate(&mut self, source: IpAddr, account: &AccountKey, now: UnixTime) -> AuthGate {
        let key = SourceKey::from_ip(source);
        let window = self.config.lockout.owner_window;
        // A locked account still lets a source with no failure on record try: that is
        // how its owner logs in from an address it has not used yet while a guesser is
        // locked out. Such a try that fails puts the source on record, so a distributed
        // guesser gets one attempt per fresh address during the lock, on top of the
        // per-source limit.
        let clean = self
            .sources
            .peek(&key)
            .is_none_or(|s| s.failures.is_empty_at(now));
        match self.accounts.peek(account) {
            Some(e) if e.locked_until > now && !e.is_owner(key, now, window) && !clean => {
                self.stats.auth_locked = self.stats.auth_locked.saturating_add(1);
                AuthGate::Locked {
                    until: e.locked_until,
                }
            }
            _ => AuthGate::Proceed,
        }
    }

    /// Reports a failed authentication from `source`. Pass the account only if it exists
    /// (unknown users count against the source alone, so they cannot crowd real accounts
    /// out of the bounded account table). Returns [`Verdict::Drop`] when this failure got
    /// the source banned: send nothing, not even the challenge.
    pub fn on_auth_failure(
        &mut self,
        source: IpAddr,
        account: Option<&AccountKey>,
        now: UnixTime,
    ) -> Verdict {
        self.stats.auth_failures = self.stats.auth_failures.saturating_add(1);
        let key = SourceKey::from_ip(source);
        if let Some(account) = account {
            self.account_failure(account, key, now);
        }
        if self.policy.source_trusted(source) {
            return Verdict::Allow;
        }
        let cfg = self.config.lockout;
        let allowance = if self.recently_authenticated(key, now) {
            cfg.trusted_source_failures
        } else {
            cfg.source_failures
        };
        let Some(entry) = self.sources.get_or_insert_with(&key, SourceEntry::default) else {
            return Verdict::Allow;
        };
        if entry.failures.add(now, cfg.source_failure_decay) > allowance {
            entry.failures.reset();
            self.ban(key, BanReason::PasswordGuessing, now);
            return Verdict::Drop;
        }
        self.confirm_scanner(key, now).unwrap_or(Verdict::Allow)
    }

    fn account_failure(&mut self, account: &AccountKey, source: SourceKey, now: UnixTime) {
        let cfg = self.config.lockout;
        let Some(entry) = self
            .accounts
            .get_or_insert_with(account, AccountEntry::default)
        else {
            return;
        };
        // Attempts refused while locked and the owner's own mistakes do not count.
        if entry.locked_until > now || entry.is_owner(source, now, cfg.owner_window) {
            return;
        }
        if entry.lockouts > 0 && now.since(entry.locked_until) >= cfg.forget_after {
            entry.lockouts = 0;
        }
        if entry.failures.add(now, cfg.account_failure_decay) <= cfg.account_failures {
            return;
        }
        entry.lockouts = entry.lockouts.saturating_add(1);
        let shift = (entry.lockouts - 1).min(31);
        let length = cfg
            .account_lock_base
            .saturating_mul(1 << shift)
            .min(cfg.account_lock_max);
        entry.locked_until = now.plus(length);
        let (until, lockouts) = (entry.locked_until, entry.lockouts);
        self.stats.lockouts = self.stats.lockouts.saturating_add(1);
        self.events.push(SecurityEvent::AccountLocked {
            at: now,
            account: account.clone(),
            until,
            lockouts,
            source,
        });
    }

    /// Reports a successful authentication as `account` from `source`: the source becomes
    /// trusted (higher failure allowance and rate quotas), an owner source of the account,
    /// and is cleared of scanner suspicion.
    pub fn on_auth_success(&mut self, source: IpAddr, account: &AccountKey, now: UnixTime) {
        let key = SourceKey::from_ip(source);
        self.trusted.insert(key, now);
        if let Some(entry) = self
            .accounts
            .get_or_insert_with(account, AccountEntry::default)
        {
            entry.record_owner(key, now);
        }
        if let Some(entry) = self.sources.peek_mut(&key) {
            entry.clear_scan();
        }
    }

    /// Reports a request from `source` for a domain we do not serve, found after
    /// [`check`](Self::check) (which counts those whose facts already said so). Returns
    /// [`Verdict::Drop`] if this confirmed the source as a scanner.
    pub fn on_unknown_domain(&mut self, source: IpAddr, now: UnixTime) -> Verdict {
        if self.policy.source_trusted(source) {
            return Verdict::Allow;
        }
        let key = SourceKey::from_ip(source);
        let cfg = self.config.scanner;
        let Some(entry) = self.sources.get_or_insert_with(&key, SourceEntry::default) else {
            return Verdict::Allow;
        };
        entry.roll(now, cfg.window);
        entry.foreign = entry.foreign.saturating_add(1);
        if entry.foreign >= cfg.unknown_domains {
            let n = entry.foreign;
            entry.suspect(now, ScannerSignal::UnknownDomains, n);
        }
        self.confirm_scanner(key, now).unwrap_or(Verdict::Allow)
    }

    // -----------------------------------------------------------------------------------
    // Return routability

    /// Runs the return-routability check on a request that got [`Verdict::Challenge`]:
    /// `presented` is the [`TOKEN_PARAM`](crate::TOKEN_PARAM) value of its Request-URI and
    /// `transaction` what identifies its transaction (the top Via branch), so that
    /// retransmissions of the request a token admitted pass again while the same token on
    /// any other request is refused as replayed. No token or an expired one earns a fresh
    /// redirect; a bad or replayed one a 403.
    pub fn return_routability(
        &mut self,
        presented: Option<&[u8]>,
        fields: &TokenFields<'_>,
        source: IpAddr,
        transaction: &[u8],
        now: UnixTime,
    ) -> RrDecision {
        let max_age = self.config.return_routability.max_age;
        let result =
            presented.map(|t| token::verify(&self.token_key, t, fields, source, now, max_age));
        match (result, presented) {
            (Some(Ok(_)), Some(text)) => match self.redeem(text, transaction, max_age, now) {
                Ok(()) => {
                    self.stats.tokens_accepted = self.stats.tokens_accepted.saturating_add(1);
                    RrDecision::Pass
                }
                Err(error) => self.refuse_token(error, source, now),
            },
            (None | Some(Err(TokenError::Expired)), _) => {
                self.stats.tokens_minted = self.stats.tokens_minted.saturating_add(1);
                RrDecision::Redirect {
                    code: 302,
                    token: token::mint(&self.token_key, fields, source, now),
                }
            }
            (Some(Err(error)), _) => self.refuse_token(error, source, now),
            // A result exists only for a presented token.
            (Some(Ok(_)), None) => self.refuse_token(TokenError::Malformed, source, now),
        }
    }

    /// Records that a verified token admitted `transaction`; `Err(Replayed)` if it already
    /// admitted another one.
    fn redeem(
        &mut self,
        text: &[u8],
        transaction: &[u8],
        max_age: Duration,
        now: UnixTime,
    ) -> Result<(), TokenError> {
        let key = <[u8; TOKEN_LEN]>::try_from(text).map_err(|_| TokenError::Malformed)?;
        let transaction = self.fingerprints.hash_one(transaction);
        // A verified token stays valid for at most this long after its first use.
        let until = now.plus(max_age.saturating_add(MAX_TOKEN_SKEW));
        let fresh = UsedToken { transaction, until };
        let Some(entry) = self.used_tokens.get_or_insert_with(&key, || fresh) else {
            return Ok(());
        };
        if entry.until <= now {
            *entry = fresh;
        }
        if entry.transaction == transaction {
            Ok(())
        } else {
            Err(TokenError::Replayed)
        }
    }

    fn refuse_token(&mut self, error: TokenError, source: IpAddr, now: UnixTime) -> RrDecision {
        self.stats.tokens_refused = self.stats.tokens_refused.saturating_add(1);
        let key = SourceKey::from_ip(source);
        let interval = self.config.notice_interval;
        let notice = self
            .sources
            .get_or_insert_with(&key, SourceEntry::default)
            .and_then(|e| e.notice(now, interval));
        if let Some(suppressed) = notice {
            self.events.push(SecurityEvent::TokenRefused {
                at: now,
                source: key,
                reason: error,
                suppressed,
            });
        }
        RrDecision::Reject {
            code: 403,
            reason: "Forbidden",
            error,
        }
    }

    /// Mints a token directly (for callers that build redirects outside
    /// [`return_routability`](Self::return_routability)).
    pub fn mint_token(&self, fields: &TokenFields<'_>, source: IpAddr, now: UnixTime) -> RrToken {
        token::mint(&self.token_key, fields, source, now)
    }

    // -----------------------------------------------------------------------------------
    // Administration

    /// Whether `source` is allow-listed or authenticated within `lockout.trust_window`:
    /// such a source has proved it receives what is sent to it.
    pub fn is_trusted(&self, source: IpAddr, now: UnixTime) -> bool {
        self.policy.source_trusted(source)
            || self.recently_authenticated(SourceKey::from_ip(source), now)
    }

    /// Whether `source` is banned at `now`.
    pub fn is_banned(&self, source: SourceKey, now: UnixTime) -> bool {
        self.bans.is_banned(source, now)
    }

    /// Bans in force, soonest to end first.
    pub fn bans(&self, now: UnixTime) -> Vec<BanInfo> {
        self.bans.list(now)
    }

    /// An operator's ban of `source` for `duration`.
    pub fn ban_source(&mut self, source: SourceKey, duration: Duration, now: UnixTime) -> BanInfo {
        let info = self.bans.ban_for(source, duration, BanReason::Manual, now);
        self.stats.bans = self.stats.bans.saturating_add(1);
        self.events.push(SecurityEvent::Banned {
            at: now,
            source,
            reason: BanReason::Manual,
            until: info.until,
            strikes: info.strikes,
        });
        info
    }

    /// Lifts a ban and forgets the source's history; true if it was banned.
    pub fn lift_ban(&mut self, source: SourceKey, now: UnixTime) -> bool {
        let lifted = self.bans.lift(source, now);
        if lifted {
            if let Some(entry) = self.sources.peek_mut(&source) {
                entry.failures.reset();
                entry.clear_scan();
            }
            self.events
                .push(SecurityEvent::BanLifted { at: now, source });
        }
        lifted
    }

    /// When `account`'s lock ends, if it is locked at `now`.
    pub fn locked_until(&self, account: &AccountKey, now: UnixTime) -> Option<UnixTime> {
        self.accounts
            .peek(account)
            .map(|e| e.locked_until)
            .filter(|u| *u > now)
    }

    /// Accounts locked at `now`, soonest to unlock first.
    pub fn locked_accounts(&self, now: UnixTime) -> Vec<LockInfo> {
        let mut out: Vec<LockInfo> = self
            .accounts
            .iter()
            .filter(|(_, e)| e.locked_until > now)
            .map(|(a, e)| LockInfo {
                account: a.clone(),
                until: e.locked_until,
                lockouts: e.lockouts,
            })
            .collect();
        out.sort_by(|a, b| (a.until, &a.account).cmp(&(b.until, &b.account)));
        out
    }

    /// Unlocks an account and clears its failures; true if it was locked.
    pub fn unlock_account(&mut self, account: &AccountKey, now: UnixTime) -> bool {
        let Some(entry) = self.accounts.peek_mut(account) else {
            return false;
        };
        let was_locked = entry.locked_until > now;
        entry.locked_until = UnixTime::EPOCH;
        entry.failures.reset();
        if was_locked {
            self.events.push(SecurityEvent::AccountUnlocked {
                at: now,
                account: account.clone(),
            });
        }
        was_locked
    }

    /// Replaces the policy lists as a whole (configuration reload); returns the old ones.
    pub fn set_policy(&mut self, policy: Arc<PolicyLists>) -> Arc<PolicyLists> {
        core::mem::replace(&mut self.policy, policy)
    }

    /// The policy lists in force.
    pub fn policy(&self) -> &Arc<PolicyLists> {
        &self.policy
    }

    /// The configuration in force.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// Drains the security events gathered since the last call, oldest first.
    pub fn events(&mut self) -> impl Iterator<Item = SecurityEvent> + '_ {
        self.events.drain()
    }

    /// Events waiting to be drained.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Counters since creation.
    pub fn stats(&self) -> GuardStats {
        GuardStats {
            events_dropped: self.events.dropped(),
            ..self.stats
        }
    }

    /// Fill level of every bounded store.
    pub fn occupancy(&self) -> Occupancy {
        Occupancy {
            source_limits: StoreUsage {
                len: self.source_limits.len(),
                capacity: self.source_limits.capacity(),
                allocation_unchanged: self.source_limits.allocation_unchanged(),
            },
            account_limits: StoreUsage {
                len: self.account_limits.len(),
                capacity: self.account_limits.capacity(),
                allocation_unchanged: self.account_limits.allocation_unchanged(),
            },
            sources: usage(&self.sources),
            trusted: usage(&self.trusted),
            accounts: usage(&self.accounts),
            bans: StoreUsage {
                len: self.bans.len(),
                capacity: self.bans.capacity(),
                allocation_unchanged: self.bans.allocation_unchanged(),
            },
        }
    }
}

fn usage<K: core::hash::Hash + Eq + Clone, V>(m: &BoundedMap<K, V>) -> StoreUsage {
    StoreUsage {
        len: m.len(),
        capacity: m.capacity(),
        allocation_unchanged: m.allocation_unchanged(),
    }
}
