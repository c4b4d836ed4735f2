//! Behaviour of the abuse defences, all in virtual time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod bans;
mod keys;
mod limits;
mod lockout;
mod policy;
mod scanner;
mod store;
mod tokens;

use std::net::IpAddr;
use std::time::Duration;

use sipwarden_guard::{
    AccountKey, Guard, GuardConfig, GuardKeys, MethodClass, PolicyLists, RequestFacts,
    SecurityEvent, TableKey, TokenKey, TransportKind, UnixTime,
};

/// A fixed start time, so every test runs on the same virtual clock.
pub const T0: UnixTime = UnixTime::from_unix_secs(1_700_000_000);

/// `T0 + ms`.
pub fn at_ms(ms: u64) -> UnixTime {
    T0.plus(Duration::from_millis(ms))
}

/// `T0 + s`.
pub fn at(s: u64) -> UnixTime {
    T0.plus(Duration::from_secs(s))
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn acct(s: &str) -> AccountKey {
    s.parse().unwrap()
}

pub fn keys() -> GuardKeys {
    GuardKeys {
        table: TableKey([7; 16]),
        token: TokenKey::new(&[42; 32]).unwrap(),
    }
}

pub fn guard_with(config: GuardConfig, policy: PolicyLists) -> Guard {
    Guard::new(config, policy, keys()).unwrap()
}

pub fn guard() -> Guard {
    guard_with(GuardConfig::default(), PolicyLists::default())
}

pub fn register(source: &str) -> RequestFacts<'static> {
    RequestFacts::new(ip(source), TransportKind::Udp, MethodClass::Register)
}

pub fn drain(g: &mut Guard) -> Vec<SecurityEvent> {
    g.events().collect()
}
