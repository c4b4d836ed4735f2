//! GCRA limits, per source and per account.

use std::time::Duration;

use sipwarden_guard::{
    BanReason, Caller, ClassQuotas, GuardConfig, LimitScope, LimiterConfig, MethodClass,
    PolicyConfig, PolicyLists, Quota, RateDecision, RateLimiter, RequestFacts, SecurityEvent,
    SourceKey, TableKey, TransportKind, Verdict,
};

use super::{acct, at, at_ms, drain, guard, guard_with, ip, register};

fn quotas(q: Quota) -> ClassQuotas {
    ClassQuotas {
        register: q,
        invite: q,
        options: q,
        other: q,
    }
}

fn limiter(q: Quota, relaxed: Quota) -> RateLimiter<SourceKey> {
    RateLimiter::new(
        &LimiterConfig {
            capacity: 64,
            quotas: quotas(q),
            relaxed: quotas(relaxed),
            violation_decay: Duration::from_secs(1),
            notice_interval: Duration::from_secs(10),
        },
        TableKey([9; 16]),
    )
}

fn key(s: &str) -> SourceKey {
    SourceKey::from_ip(ip(s))
}

#[test]
fn burst_then_steady_rate() {
    // 10 per second, bursts of 3.
    let mut l = limiter(Quota::per_second(10).with_burst(3), Quota::per_second(10));
    let k = key("192.0.2.1");
    for _ in 0..3 {
        assert_eq!(
            l.check(&k, MethodClass::Invite, false, at(0)),
            RateDecision::Allowed
        );
    }
    match l.check(&k, MethodClass::Invite, false, at(0)) {
        RateDecision::Limited { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_millis(100));
        }
        other => panic!("{other:?}"),
    }
    // One emission interval later, exactly one more.
    assert_eq!(
        l.check(&k, MethodClass::Invite, false, at_ms(100)),
        RateDecision::Allowed
    );
    assert!(matches!(
        l.check(&k, MethodClass::Invite, false, at_ms(100)),
        RateDecision::Limited { .. }
    ));
    // After a quiet second the full burst is back.
    for _ in 0..3 {
        assert_eq!(
            l.check(&k, MethodClass::Invite, false, at(2)),
            RateDecision::Allowed
        );
    }
}

#[test]
fn classes_and_keys_are_independent() {
    let mut l = limiter(Quota::per_second(1), Quota::per_second(1));
    let a = key("192.0.2.1");
    let b = key("192.0.2.2");
    assert_eq!(
        l.check(&a, MethodClass::Invite, false, at(0)),
        RateDecision::Allowed
    );
    assert!(matches!(
        l.check(&a, MethodClass::Invite, false, at(0)),
        RateDecision::Limited { .. }
    ));
    assert_eq!(
        l.check(&a, MethodClass::Register, false, at(0)),
        RateDecision::Allowed
    );
    assert_eq!(
        l.check(&b, MethodClass::Invite, false, at(0)),
        RateDecision::Allowed
    );
}

#[test]
fn relaxed_quotas_for_vouched_keys() {
    let mut l = limiter(Quota::per_second(2), Quota::per_second(100));
    let k = key("192.0.2.1");
    let allowed = (0..100)
        .filter(|_| l.check(&k, MethodClass::Register, true, at(0)) == RateDecision::Allowed)
        .count();
    assert_eq!(allowed, 100);
    let k2 = key("192.0.2.2");
    let allowed = (0..100)
        .filter(|_| l.check(&k2, MethodClass::Register, false, at(0)) == RateDecision::Allowed)
        .count();
    assert_eq!(allowed, 2);
}

#[test]
fn violations_accumulate_and_notices_are_coalesced() {
    let mut l = limiter(Quota::per_second(1), Quota::per_second(1));
    let k = key("192.0.2.1");
    l.check(&k, MethodClass::Invite, false, at(0));
    let mut notices = 0;
    let mut last = 0;
    for i in 0..50 {
        if let RateDecision::Limited {
            violations,
            notify,
            suppressed,
            ..
        } = l.check(&k, MethodClass::Invite, false, at_ms(i))
        {
            if notify {
                notices += 1;
                assert_eq!(suppressed, 0);
            }
            last = violations;
        }
    }
    assert_eq!(notices, 1, "one notice per interval");
    assert_eq!(last, 50);
    // Eleven seconds on: the next refusal is noticed with the 49 folded into it, and
    // the violation count has leaked away (one per second).
    l.check(&k, MethodClass::Invite, false, at(11));
    match l.check(&k, MethodClass::Invite, false, at(11)) {
        RateDecision::Limited {
            notify,
            suppressed,
            violations,
            ..
        } => {
            assert!(notify);
            assert_eq!(suppressed, 49);
            assert_eq!(violations, 40);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn zero_quota_is_a_config_error() {
    let mut c = GuardConfig::default();
    c.limits.source.invite = Quota::per_second(0);
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "limits.source.invite");
    let mut c = GuardConfig::default();
    c.limits.account.options = Quota::per_second(5).with_burst(0);
    assert_eq!(c.validate().unwrap_err().field, "limits.account.options");
    let mut c = GuardConfig::default();
    c.scanner.distinct_users = 17;
    assert_eq!(c.validate().unwrap_err().field, "scanner.distinct_users");
}

#[test]
fn source_flood_is_rate_limited_then_banned() {
    let mut g = guard();
    let facts = register("198.51.100.9");
    let mut limited = 0;
    let mut dropped_at = None;
    // 100 requests per millisecond: far over 20/s.
    for i in 0..2_000u64 {
        match g.check(&facts, at_ms(i / 100)) {
            Verdict::Allow => {}
            Verdict::RateLimited { .. } => limited += 1,
            Verdict::Drop => {
                dropped_at = Some(i);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        limited, 200,
        "banned once refusals exceed ban_after_violations"
    );
    assert!(dropped_at.is_some());
    assert!(g.is_banned(key("198.51.100.9"), at(1)));
    // Banned: silence from now on.
    assert_eq!(g.check(&facts, at(30)), Verdict::Drop);
    let events = drain(&mut g);
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::RateLimited {
            scope: LimitScope::Source(_),
            class: MethodClass::Register,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::Banned {
            reason: BanReason::Flood,
            strikes: 1,
            ..
        }
    )));
    // Rate-limit events were coalesced: far fewer events than refusals.
    assert!(events.len() < 5, "{events:?}");
    // After the ban (60 s) the source is served again.
    assert_eq!(g.check(&facts, at(61)), Verdict::Allow);
}

#[test]
fn a_source_slightly_over_its_rate_is_limited_but_not_banned() {
    let mut g = guard();
    // 15 OPTIONS a second for ten minutes against a quota of 10/s. Authenticated, so the
    // OPTIONS-sweep detector (which watches unauthenticated sources) stays out of it.
    let a = acct("alice@example.com");
    let facts = RequestFacts::new(
        ip("198.51.100.10"),
        TransportKind::Udp,
        MethodClass::Options,
    )
    .caller(Caller::Authenticated(&a));
    let mut limited = 0;
    for ms in (0..600_000u64).step_by(66) {
        match g.check(&facts, at_ms(ms)) {
            Verdict::Allow => {}
            Verdict::RateLimited { .. } => limited += 1,
            other => panic!("at {ms} ms: {other:?}"),
        }
    }
    assert!(limited > 0);
    assert!(!g.is_banned(key("198.51.100.10"), at(600)));
}

#[test]
fn account_limits_apply_to_authenticated_requests() {
    let mut config = GuardConfig::default();
    config.limits.account.invite = Quota::per_second(1).with_burst(2);
    let mut g = guard_with(config, PolicyLists::default());
    let a = acct("alice@example.com");
    // From two sources, the account's quota is shared.
    let f1 = RequestFacts::new(ip("192.0.2.1"), TransportKind::Tls, MethodClass::Invite)
        .caller(Caller::Authenticated(&a));
    let f2 = RequestFacts::new(ip("192.0.2.2"), TransportKind::Tls, MethodClass::Invite)
        .caller(Caller::Authenticated(&a));
    assert_eq!(g.check(&f1, at(0)), Verdict::Allow);
    assert_eq!(g.check(&f2, at(0)), Verdict::Allow);
    assert!(matches!(g.check(&f1, at(0)), Verdict::RateLimited { .. }));
    let events = drain(&mut g);
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::RateLimited { scope: LimitScope::Account(k), .. } if *k == a
    )));
    // Accounts are never banned for rate; the sources are not either.
    assert!(!g.is_banned(key("192.0.2.1"), at(0)));
    assert_eq!(g.check(&f1, at(1)), Verdict::Allow);
}

#[test]
fn recently_authenticated_source_gets_relaxed_quotas() {
    let mut g = guard();
    let src = "203.0.113.5";
    let a = acct("alice@example.com");
    g.on_auth_success(ip(src), &a, at(0));
    let facts = register(src);
    // 500 REGISTERs in one second from one NAT: within the trusted quota.
    let allowed = (0..500u64)
        .filter(|i| g.check(&facts, at_ms(1000 + i * 2)) == Verdict::Allow)
        .count();
    assert_eq!(allowed, 500);
    // Once trust lapses, the ordinary quota applies again.
    let later = at(25 * 3600);
    let allowed = (0..100)
        .filter(|_| g.check(&facts, later) == Verdict::Allow)
        .count();
    assert_eq!(allowed, 50);
}

#[test]
fn allow_listed_sources_are_never_banned_for_flooding() {
    let policy = PolicyLists::from_config(&PolicyConfig {
        allow_cidrs: vec!["192.0.2.0/24".into()],
        ..PolicyConfig::default()
    })
    .unwrap();
    let mut g = guard_with(GuardConfig::default(), policy);
    let facts = RequestFacts::new(ip("192.0.2.50"), TransportKind::Udp, MethodClass::Invite);
    for i in 0..20_000u64 {
        let v = g.check(&facts, at_ms(i / 100));
        assert_ne!(v, Verdict::Drop);
    }
    assert!(!g.is_banned(key("192.0.2.50"), at(1)));
}

#[test]
fn check_account_after_digest_verifies() {
    let mut config = GuardConfig::default();
    config.limits.account.register = Quota::per_second(1).with_burst(1);
    let policy = PolicyLists::from_config(&PolicyConfig {
        deny_users: vec!["mallory@example.com".into()],
        ..PolicyConfig::default()
    })
    .unwrap();
    let mut g = guard_with(config, policy);
    let a = acct("alice@example.com");
    let src = ip("192.0.2.40");
    assert_eq!(g.check(&register("192.0.2.40"), at(0)), Verdict::Allow);
    assert_eq!(
        g.check_account(src, &a, MethodClass::Register, at(0)),
        Verdict::Allow
    );
    assert!(matches!(
        g.check_account(src, &a, MethodClass::Register, at(0)),
        Verdict::RateLimited { .. }
    ));
    assert_eq!(
        g.check_account(
            src,
            &acct("mallory@example.com"),
            MethodClass::Register,
            at(0)
        ),
        Verdict::Reject {
            code: 403,
            reason: "Forbidden"
        }
    );
}

#[test]
fn guard_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<sipwarden_guard::Guard>();
}
