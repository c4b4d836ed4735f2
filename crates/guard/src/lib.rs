//! Abuse defences for sipwarden: the sans-IO decision core the server consults on every
//! request.
//!
//! Owns:
//! - per-source and per-account GCRA rate limits by method class ([`RateLimiter`]) over a
//!   bounded, least-recently-seen-evicting store ([`BoundedMap`]), so memory stays at the
//!   configured capacity however many addresses an attacker uses;
//! - automatic, escalating, expiring source bans ([`BanList`]) with list and lift for the
//!   admin API;
//! - password-guessing lockout per source and per account with exponential backoff,
//!   NAT-aware (a source that authenticated recently gets a larger allowance) and
//!   owner-aware (a locked account stays open to sources its owner authenticated from);
//! - scanner detection by behaviour: many distinct target users, OPTIONS sweeps, requests
//!   for domains that are not ours;
//! - return-routability tokens, the stateless challenge for callers that cannot
//!   authenticate ([`mint`], [`verify`], [`Guard::return_routability`]);
//! - allow and deny lists by CIDR, domain and user, and the anonymous-caller policy
//!   ([`PolicyLists`]), validated as a whole and swapped as a whole;
//! - recognising anonymous callers by the RFC 3323 / RFC 3325 forms
//!   ([`recognise_anonymous`], a pure function; never a rate-limit key);
//! - typed security events and counters ([`SecurityEvent`], [`GuardStats`]).
//!
//! [`Guard`] ties these together: [`Guard::check`] gives a [`Verdict`] per request and the
//! `on_*` calls feed back what authentication and routing found.
//!
//! Refuses: any I/O, clocks, randomness, threads or async runtime: every call takes the
//! current time, and hash and MAC keys come from the caller. It never keys state on header
//! contents a sender chooses (User-Agent, From, Via): only on the transport source address
//! (IPv4 address, IPv6 /64) or on an account the server vouches for. It does not parse SIP
//! and does not build responses; the caller extracts the facts and sends the answers.

mod anonymous;
mod ban;
mod error;
mod event;
mod gcra;
mod guard;
mod key;
mod policy;
mod store;
mod time;
mod token;

pub use anonymous::{recognise_anonymous, AnonymousForm, CallerClaims};
pub use ban::{BanConfig, BanInfo, BanList, BanOutcome, BanReason};
pub use error::{ConfigError, KeyError};
pub use event::{AnonymousAction, GuardStats, LimitScope, ScannerSignal, SecurityEvent};
pub use gcra::{ClassQuotas, LimiterConfig, Quota, RateDecision, RateLimiter};
pub use guard::{
    AuthGate, Caller, Guard, GuardConfig, GuardKeys, Identity, LockInfo, LockoutConfig, Occupancy,
    RateConfig, RequestFacts, RrConfig, RrDecision, ScannerConfig, StoreUsage, Verdict,
    MAX_TRACKED_USERS, OWNER_SLOTS,
};
pub use key::{AccountKey, MethodClass, SourceKey, TransportKind, MAX_DOMAIN_LEN, MAX_USER_LEN};
pub use policy::{
    AnonymousPolicy, Cidr, CidrSet, EntryError, ListName, PolicyConfig, PolicyError, PolicyLists,
    PolicyRule,
};
pub use store::{BoundedMap, TableKey, MAX_CAPACITY};
pub use time::UnixTime;
pub use token::{
    mint, verify, RrToken, TokenError, TokenFields, TokenKey, MAX_TOKEN_SKEW, MIN_TOKEN_KEY_LEN,
    TOKEN_LEN, TOKEN_PARAM,
};
