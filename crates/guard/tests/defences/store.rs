//! The bounded store, and memory under a million distinct keys.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sipwarden_guard::{
    BoundedMap, ClassQuotas, GuardConfig, LimiterConfig, MethodClass, PolicyLists, Quota,
    RateLimiter, RequestFacts, SourceKey, TableKey, TransportKind,
};

use super::{at_ms, guard_with};

const MILLION: u32 = 1_000_000;

fn v6_key(i: u32) -> SourceKey {
    // A distinct /64 per i.
    let addr = Ipv6Addr::from((0x2001_0db8_0000_0000_u128 | u128::from(i)) << 64 | 1);
    SourceKey::from_ip(IpAddr::V6(addr))
}

#[test]
fn evicts_least_recently_seen() {
    let mut m: BoundedMap<u32, &str> = BoundedMap::new(3, TableKey([1; 16]));
    m.insert(1, "a");
    m.insert(2, "b");
    m.insert(3, "c");
    assert_eq!(m.get(&1), Some(&mut "a")); // 1 is now the most recent
    m.insert(4, "d");
    assert!(m.peek(&2).is_none(), "2 was seen least recently");
    assert_eq!(m.len(), 3);
    assert_eq!(m.evictions(), 1);
    assert_eq!(m.oldest(), Some(&3));
    // peek does not refresh.
    assert_eq!(m.peek(&3), Some(&"c"));
    m.insert(5, "e");
    assert!(m.peek(&3).is_none());
}

#[test]
fn matches_a_reference_model_under_mixed_operations() {
    // Small capacities crowd the index (wrap-around probe runs, backward shifts); larger
    // key spaces force evictions.
    for (cap, keys) in [(1, 4), (3, 10), (17, 40), (64, 200), (100, 100)] {
        model_check(cap, keys);
    }
}

fn model_check(cap: usize, keys: u64) {
    // Deterministic pseudo-random operations against a plain recency list.
    let mut m: BoundedMap<u32, u32> = BoundedMap::new(cap, TableKey([2; 16]));
    let mut model: VecDeque<(u32, u32)> = VecDeque::new(); // front = most recent
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for step in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = (x % keys) as u32;
        match x >> 60 {
            0..=5 => {
                m.insert(key, step);
                if let Some(p) = model.iter().position(|(k, _)| *k == key) {
                    model.remove(p);
                } else if model.len() == cap {
                    model.pop_back();
                }
                model.push_front((key, step));
            }
            6..=9 => {
                let got = m.get(&key).map(|v| *v);
                let want = model.iter().position(|(k, _)| *k == key).map(|p| {
                    let e = model.remove(p).unwrap();
                    model.push_front(e);
                    e.1
                });
                assert_eq!(got, want, "get {key} at step {step}");
            }
            10..=12 => {
                let got = m.remove(&key);
                let want = model
                    .iter()
                    .position(|(k, _)| *k == key)
                    .map(|p| model.remove(p).unwrap().1);
                assert_eq!(got, want, "remove {key} at step {step}");
            }
            _ => {
                let got = m.get_or_insert_with(&key, || step).map(|v| *v);
                let want = match model.iter().position(|(k, _)| *k == key) {
                    Some(p) => {
                        let e = model.remove(p).unwrap();
                        model.push_front(e);
                        e.1
                    }
                    None => {
                        if model.len() == cap {
                            model.pop_back();
                        }
                        model.push_front((key, step));
                        step
                    }
                };
                assert_eq!(got, Some(want), "get_or_insert {key} at step {step}");
            }
        }
        assert_eq!(m.len(), model.len());
        assert_eq!(m.oldest(), model.back().map(|(k, _)| k));
    }
    let mut all: Vec<(u32, u32)> = m.iter().map(|(k, v)| (*k, *v)).collect();
    let mut want: Vec<(u32, u32)> = model.into_iter().collect();
    all.sort_unstable();
    want.sort_unstable();
    assert_eq!(all, want);
}

#[test]
fn retain_and_clear() {
    let mut m: BoundedMap<u32, u32> = BoundedMap::new(10, TableKey([3; 16]));
    for i in 0..10 {
        m.insert(i, i);
    }
    m.retain(|_, v| v % 2 == 0);
    assert_eq!(m.len(), 5);
    assert!(m.iter().all(|(_, v)| v % 2 == 0));
    m.insert(100, 1);
    assert_eq!(m.get(&100), Some(&mut 1));
    m.clear();
    assert!(m.is_empty());
    assert!(m.allocation_unchanged());
}

#[test]
fn store_stays_at_capacity_under_a_million_distinct_keys() {
    let cap = 4096;
    let mut m: BoundedMap<SourceKey, u64> = BoundedMap::new(cap, TableKey([4; 16]));
    let index_before = m.index_buckets();
    let slab_before = m.slab_capacity();
    for i in 0..MILLION {
        let key = if i % 2 == 0 {
            SourceKey::from_ip(IpAddr::V4(Ipv4Addr::from(i)))
        } else {
            v6_key(i)
        };
        *m.get_or_insert_with(&key, || 0).unwrap() += 1;
        assert!(m.len() <= cap);
    }
    assert_eq!(m.len(), cap);
    assert_eq!(m.capacity(), cap);
    assert_eq!(m.index_buckets(), index_before, "hash index reallocated");
    assert_eq!(m.slab_capacity(), slab_before, "slab reallocated");
    assert!(m.allocation_unchanged());
    assert_eq!(m.evictions(), u64::from(MILLION) - cap as u64);
    // The survivors are the most recent keys.
    assert!(m.peek(&v6_key(MILLION - 1)).is_some());
    assert!(m.peek(&v6_key(1)).is_none());
}

#[test]
fn limiter_stays_at_capacity_under_a_million_distinct_keys() {
    let q = ClassQuotas {
        register: Quota::per_second(1),
        invite: Quota::per_second(1),
        options: Quota::per_second(1),
        other: Quota::per_second(1),
    };
    let cfg = LimiterConfig {
        capacity: 2048,
        quotas: q,
        relaxed: q,
        violation_decay: std::time::Duration::from_millis(100),
        notice_interval: std::time::Duration::from_secs(10),
    };
    let mut l: RateLimiter<SourceKey> = RateLimiter::new(&cfg, TableKey([5; 16]));
    for i in 0..MILLION {
        l.check(
            &v6_key(i),
            MethodClass::Invite,
            false,
            at_ms(u64::from(i / 1000)),
        );
    }
    assert_eq!(l.len(), 2048);
    assert_eq!(l.capacity(), 2048);
    assert!(l.allocation_unchanged());
    assert_eq!(l.evictions(), u64::from(MILLION) - 2048);
}

#[test]
fn guard_stays_at_capacity_under_a_million_distinct_sources() {
    let mut config = GuardConfig::default();
    config.limits.capacity = 1024;
    config.sources_capacity = 1024;
    config.trusted_capacity = 256;
    config.accounts_capacity = 256;
    config.bans.capacity = 512;
    config.event_capacity = 100;
    let mut g = guard_with(config, PolicyLists::default());
    let users = ["100", "101", "102", "103"];
    for i in 0..MILLION {
        let source = if i % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from(i.wrapping_mul(2_654_435_761)))
        } else {
            IpAddr::V6(Ipv6Addr::from(u128::from(i) << 64))
        };
        let user = users[(i % 4) as usize];
        let facts = RequestFacts::new(source, TransportKind::Udp, MethodClass::Register).target(
            Some(user),
            "example.com",
            i % 7 != 0,
        );
        g.check(&facts, at_ms(u64::from(i / 100)));
        if i % 1000 == 0 {
            // Some sources also fail authentication and get banned.
            for _ in 0..6 {
                g.on_auth_failure(source, None, at_ms(u64::from(i / 100)));
            }
        }
    }
    let o = g.occupancy();
    for (name, u) in [
        ("source_limits", o.source_limits),
        ("account_limits", o.account_limits),
        ("sources", o.sources),
        ("trusted", o.trusted),
        ("accounts", o.accounts),
        ("bans", o.bans),
    ] {
        assert!(u.len <= u.capacity, "{name}: {u:?}");
        assert!(u.allocation_unchanged, "{name} reallocated: {u:?}");
    }
    assert_eq!(o.source_limits.len, 1024);
    assert_eq!(o.sources.len, 1024);
    assert_eq!(o.bans.len, 512);
    // The event queue is bounded too.
    assert!(g.pending_events() <= g.config().event_capacity);
    assert!(g.stats().events_dropped > 0);
}
