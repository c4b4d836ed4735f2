//! Scanner detection by behaviour.

use sipwarden_guard::{
    BanReason, Caller, GuardConfig, MethodClass, PolicyConfig, PolicyLists, RequestFacts,
    ScannerSignal, SecurityEvent, SourceKey, TransportKind, Verdict,
};

use super::{acct, at, at_ms, drain, guard, guard_with, ip, register};

fn key(s: &str) -> SourceKey {
    SourceKey::from_ip(ip(s))
}

/// What svwar does: one unauthenticated REGISTER per extension, ten a second.
fn extension_scan(g: &mut sipwarden_guard::Guard, src: &str, from_ms: u64, n: u32) -> Vec<Verdict> {
    (0..n)
        .map(|i| {
            let user = format!("{}", 100 + i);
            let facts = register(src).target(Some(&user), "example.com", true);
            g.check(&facts, at_ms(from_ms + u64::from(i) * 100))
        })
        .collect()
}

#[test]
fn extension_scan_is_banned_after_grace() {
    let mut g = guard();
    let src = "198.51.100.40";
    let verdicts = extension_scan(&mut g, src, 0, 400);
    // Ten distinct users make it a suspect; five seconds later, with no successful
    // authentication in between, its next request gets it banned and goes unanswered.
    let first_drop = verdicts.iter().position(|v| *v == Verdict::Drop).unwrap();
    assert_eq!(
        first_drop,
        9 + 50,
        "suspect at the 10th, grace 5 s at 100 ms apart"
    );
    assert!(verdicts[..first_drop].iter().all(|v| *v == Verdict::Allow));
    assert!(verdicts[first_drop..].iter().all(|v| *v == Verdict::Drop));
    let events = drain(&mut g);
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::ScannerDetected {
            signal: ScannerSignal::DistinctUsers,
            count: 10,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::Banned {
            reason: BanReason::Scanner,
            ..
        }
    )));
    assert!(g.is_banned(key(src), at(10)));
}

#[test]
fn the_same_user_over_and_over_is_not_an_extension_scan() {
    let mut g = guard();
    let src = "198.51.100.41";
    for i in 0..1000u64 {
        let facts = register(src).target(Some("alice"), "example.com", true);
        // Slow enough for the rate limit.
        assert_eq!(g.check(&facts, at_ms(i * 100)), Verdict::Allow);
    }
}

#[test]
fn office_reregistering_many_users_is_not_a_scanner() {
    let mut g = guard();
    let src = "203.0.113.20";
    // Fifty phones come up at once, none trusted yet: fifty distinct users in a second.
    for i in 0..50u64 {
        let user = format!("{}", 2000 + i);
        let facts = register(src).target(Some(&user), "example.com", true);
        assert_eq!(g.check(&facts, at_ms(i * 20)), Verdict::Allow);
    }
    // Each answers its challenge; the first success clears the suspicion.
    for i in 0..50u64 {
        let a = acct(&format!("{}@example.com", 2000 + i));
        let facts = register(src)
            .target(Some(a.user()), "example.com", true)
            .caller(Caller::Authenticated(&a));
        assert_eq!(g.check(&facts, at_ms(1000 + i * 20)), Verdict::Allow);
        g.on_auth_success(ip(src), &a, at_ms(1000 + i * 20));
    }
    // Long after the grace, the office is still served.
    for i in 0..50u64 {
        let user = format!("{}", 2000 + i);
        let facts = register(src).target(Some(&user), "example.com", true);
        assert_eq!(
            g.check(&facts, at(3600).plus(std::time::Duration::from_millis(i))),
            Verdict::Allow
        );
    }
    assert!(!g.is_banned(key(src), at(3601)));
}

#[test]
fn options_sweep_is_detected() {
    let mut g = guard();
    let src = "198.51.100.42";
    let facts = RequestFacts::new(ip(src), TransportKind::Udp, MethodClass::Options);
    // One OPTIONS is fine: svmap may see a SIP server.
    assert_eq!(g.check(&facts, at(0)), Verdict::Allow);
    let mut dropped = None;
    for i in 1..200u64 {
        if g.check(&facts, at_ms(i * 200)) == Verdict::Drop {
            dropped = Some(i);
            break;
        }
    }
    // Suspect at the 30th OPTIONS (5.8 s), banned at the first one 5 s later.
    assert_eq!(dropped, Some(29 + 25));
    assert!(drain(&mut g).iter().any(|e| matches!(
        e,
        SecurityEvent::ScannerDetected {
            signal: ScannerSignal::OptionsSweep,
            ..
        }
    )));
}

#[test]
fn requests_for_foreign_domains_are_detected() {
    let mut g = guard();
    let src = "198.51.100.43";
    let mut verdicts = Vec::new();
    for i in 0..10u64 {
        let facts = RequestFacts::new(ip(src), TransportKind::Udp, MethodClass::Invite).target(
            Some("bob"),
            "not-ours.example",
            false,
        );
        verdicts.push(g.check(&facts, at(i * 2)));
    }
    // Suspect at the fifth (8 s); banned at the first request 5 s after that (the 8th).
    assert_eq!(verdicts.iter().position(|v| *v == Verdict::Drop), Some(7));
    assert!(drain(&mut g).iter().any(|e| matches!(
        e,
        SecurityEvent::ScannerDetected {
            signal: ScannerSignal::UnknownDomains,
            count: 5,
            ..
        }
    )));
}

#[test]
fn on_unknown_domain_feeds_the_same_detector() {
    let mut config = GuardConfig::default();
    config.scanner.grace = std::time::Duration::ZERO;
    let mut g = guard_with(config, PolicyLists::default());
    let src = ip("198.51.100.44");
    for i in 0..4 {
        assert_eq!(g.on_unknown_domain(src, at(i)), Verdict::Allow);
    }
    assert_eq!(g.on_unknown_domain(src, at(4)), Verdict::Drop);
    assert!(g.is_banned(key("198.51.100.44"), at(5)));
}

#[test]
fn authenticated_callers_to_other_domains_are_not_scanners() {
    let mut g = guard();
    let a = acct("alice@example.com");
    for i in 0..100u64 {
        let user = format!("{i}");
        let facts = RequestFacts::new(ip("192.0.2.30"), TransportKind::Tls, MethodClass::Invite)
            .caller(Caller::Authenticated(&a))
            .target(Some(&user), "elsewhere.example", false);
        assert_eq!(g.check(&facts, at(i)), Verdict::Allow);
    }
}

#[test]
fn a_suspect_that_goes_quiet_is_let_off() {
    let mut g = guard();
    let src = "198.51.100.45";
    extension_scan(&mut g, src, 0, 10);
    // Back two minutes later (after grace plus a whole window): served, not banned.
    let facts = register(src).target(Some("alice"), "example.com", true);
    assert_eq!(g.check(&facts, at(120)), Verdict::Allow);
    assert!(!g.is_banned(key(src), at(121)));
}

#[test]
fn allow_listed_sources_are_not_tracked() {
    let policy = PolicyLists::from_config(&PolicyConfig {
        allow_cidrs: vec!["198.51.100.0/24".into()],
        ..PolicyConfig::default()
    })
    .unwrap();
    let mut g = guard_with(GuardConfig::default(), policy);
    let verdicts = extension_scan(&mut g, "198.51.100.46", 0, 400);
    assert!(verdicts.iter().all(|v| *v == Verdict::Allow));
}

#[test]
fn distinct_users_are_counted_per_window() {
    let mut g = guard();
    let src = "198.51.100.47";
    // Nine users a minute, every minute, never reaches ten in one window.
    for minute in 0..10u64 {
        for i in 0..9u64 {
            let user = format!("{}", minute * 100 + i);
            let facts = register(src).target(Some(&user), "example.com", true);
            assert_eq!(g.check(&facts, at(minute * 61 + i)), Verdict::Allow);
        }
    }
}
