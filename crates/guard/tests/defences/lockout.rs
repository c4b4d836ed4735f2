//! Password guessing: per-source and per-account lockout, backoff, NAT allowance,
//! owner exemption.

use std::time::Duration;

use sipwarden_guard::{
    AuthGate, BanReason, Caller, GuardConfig, PolicyLists, SecurityEvent, SourceKey, Verdict,
};

use super::{acct, at, at_ms, drain, guard, guard_with, ip, register};

fn key(s: &str) -> SourceKey {
    SourceKey::from_ip(ip(s))
}

#[test]
fn source_is_banned_after_its_allowance() {
    let mut g = guard();
    let src = ip("198.51.100.20");
    let alice = acct("alice@example.com");
    for i in 0..5 {
        assert_eq!(
            g.on_auth_failure(src, Some(&alice), at(i)),
            Verdict::Allow,
            "try {i}"
        );
    }
    assert_eq!(g.on_auth_failure(src, Some(&alice), at(5)), Verdict::Drop);
    assert!(g.is_banned(key("198.51.100.20"), at(6)));
    assert_eq!(g.check(&register("198.51.100.20"), at(6)), Verdict::Drop);
    let events = drain(&mut g);
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::Banned {
            reason: BanReason::PasswordGuessing,
            ..
        }
    )));
    // Six failures did not reach the account's allowance of ten.
    assert_eq!(
        g.auth_gate(ip("192.0.2.99"), &alice, at(7)),
        AuthGate::Proceed
    );
}

#[test]
fn source_lockout_backs_off_exponentially() {
    let mut g = guard();
    let src = ip("198.51.100.21");
    let mut now = at(0);
    let mut lengths = Vec::new();
    for _ in 0..4 {
        // A new round of guesses as soon as the previous ban ends.
        loop {
            if g.on_auth_failure(src, None, now) == Verdict::Drop {
                break;
            }
            now = now.plus(Duration::from_millis(10));
        }
        let ban = g.bans(now)[0];
        lengths.push(ban.until.since(ban.since).as_secs());
        now = ban.until;
    }
    assert_eq!(lengths, [60, 120, 240, 480]);
}

#[test]
fn failures_are_forgiven_over_time() {
    let mut g = guard();
    let src = ip("198.51.100.22");
    // A failure a minute for an hour never adds up to a ban: one is forgiven per minute.
    for i in 0..60 {
        assert_eq!(
            g.on_auth_failure(src, None, at(i * 60)),
            Verdict::Allow,
            "{i}"
        );
    }
    // Five at once fill the allowance; one more bans.
    for _ in 0..5 {
        assert_eq!(g.on_auth_failure(src, None, at(10_000)), Verdict::Allow);
    }
    assert_eq!(g.on_auth_failure(src, None, at(10_000)), Verdict::Drop);
}

#[test]
fn nat_burst_after_failures_is_not_banned_but_a_scanner_is() {
    let mut g = guard();
    let office = "203.0.113.10";
    let scanner = "198.51.100.23";
    let phones: Vec<_> = (0..200)
        .map(|i| acct(&format!("{}@example.com", 1000 + i)))
        .collect();

    // Yesterday the office's phones registered fine.
    for p in &phones {
        g.on_auth_success(ip(office), p, at(0));
    }
    // After an outage (12 h later) they all come back at once. Three phones carry a stale
    // password and keep retrying: 24 failures, well over an untrusted allowance.
    let back = 12 * 3600;
    for i in 0..24u64 {
        let who = &phones[(i % 3) as usize];
        assert_eq!(
            g.on_auth_failure(ip(office), Some(who), at_ms(back * 1000 + i * 50)),
            Verdict::Allow
        );
    }
    // And the burst of valid re-registrations: first the challenge round, then success.
    for (i, p) in phones.iter().enumerate() {
        let now = at_ms(back * 1000 + 2000 + i as u64 * 5);
        let facts = register(office).target(Some(p.user()), "example.com", true);
        assert_eq!(
            g.check(&facts, now),
            Verdict::Allow,
            "challenge round of {p}"
        );
        let facts = facts.caller(Caller::Authenticated(p));
        assert_eq!(
            g.check(&facts, now),
            Verdict::Allow,
            "authenticated round of {p}"
        );
        g.on_auth_success(ip(office), p, now);
    }
    assert!(!g.is_banned(key(office), at(back + 60)));
    assert_eq!(g.check(&register(office), at(back + 60)), Verdict::Allow);

    // The same failure pattern from a source that never authenticated is a guesser.
    let mut banned_after = None;
    for i in 0..24u64 {
        if g.on_auth_failure(ip(scanner), Some(&phones[0]), at_ms(back * 1000 + i * 50))
            == Verdict::Drop
        {
            banned_after = Some(i + 1);
            break;
        }
    }
    assert_eq!(banned_after, Some(6));
}

#[test]
fn even_a_trusted_source_has_a_limit() {
    let mut g = guard();
    let src = ip("203.0.113.11");
    g.on_auth_success(src, &acct("bob@example.com"), at(0));
    let mut n = 0;
    while g.on_auth_failure(src, None, at(10)) == Verdict::Allow {
        n += 1;
        assert!(n < 1000);
    }
    assert_eq!(n, 50, "trusted_source_failures");
}

#[test]
fn account_locks_after_distributed_guessing_and_owner_stays_in() {
    let mut g = guard();
    let alice = acct("alice@example.com");
    let home = ip("192.0.2.10");
    g.on_auth_success(home, &alice, at(0));

    // Eleven guesses from eleven addresses: no source reaches its own allowance.
    for i in 0..11u32 {
        let attacker = ip(&format!("198.51.100.{}", 100 + i));
        assert_eq!(g.auth_gate(attacker, &alice, at(60)), AuthGate::Proceed);
        assert_eq!(
            g.on_auth_failure(attacker, Some(&alice), at(60)),
            Verdict::Allow
        );
    }
    let until = g.locked_until(&alice, at(60)).expect("locked");
    assert_eq!(until, at(60 + 120));
    // A fresh address gets one try (an owner's new phone, or one more guess from a
    // distributed guesser); once it has failed, it is refused before its credentials are
    // even checked...
    let fresh = ip("198.51.100.200");
    assert_eq!(g.auth_gate(fresh, &alice, at(61)), AuthGate::Proceed);
    assert_eq!(
        g.on_auth_failure(fresh, Some(&alice), at(61)),
        Verdict::Allow
    );
    assert_eq!(
        g.auth_gate(fresh, &alice, at(61)),
        AuthGate::Locked { until }
    );
    // ...and so is an address that guessed before.
    assert_eq!(
        g.auth_gate(ip("198.51.100.100"), &alice, at(61)),
        AuthGate::Locked { until }
    );
    // ...while the owner's phone, which authenticated from home within the hour, is not.
    assert_eq!(g.auth_gate(home, &alice, at(61)), AuthGate::Proceed);
    g.on_auth_success(home, &alice, at(61));
    // Other accounts are unaffected.
    assert_eq!(
        g.auth_gate(ip("198.51.100.200"), &acct("bob@example.com"), at(61)),
        AuthGate::Proceed
    );
    // The lock ends.
    assert_eq!(
        g.auth_gate(ip("198.51.100.200"), &alice, at(180)),
        AuthGate::Proceed
    );

    let events = drain(&mut g);
    let locks: Vec<_> = events.iter().filter(|e| e.kind() == "lockout").collect();
    assert_eq!(locks.len(), 1);
    match locks[0] {
        SecurityEvent::AccountLocked {
            account, lockouts, ..
        } => {
            assert_eq!(account, &alice);
            assert_eq!(*lockouts, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn owner_exemption_expires() {
    let mut g = guard();
    let alice = acct("alice@example.com");
    let home = ip("192.0.2.11");
    g.on_auth_success(home, &alice, at(0));
    for i in 0..11u32 {
        g.on_auth_failure(ip(&format!("198.51.100.{i}")), Some(&alice), at(7200));
    }
    // Past the owner window, home is just another address: once it has failed too, the
    // lock applies to it.
    g.on_auth_failure(home, Some(&alice), at(7200));
    assert!(matches!(
        g.auth_gate(home, &alice, at(7201)),
        AuthGate::Locked { .. }
    ));
}

#[test]
fn account_lock_escalates_and_attempts_while_locked_do_not_extend_it() {
    let mut g = guard();
    let alice = acct("alice@example.com");
    let mut now = at(0);
    let mut lengths = Vec::new();
    let mut n = 0u32;
    for _ in 0..3 {
        while g.locked_until(&alice, now).is_none() {
            n += 1;
            g.on_auth_failure(
                ip(&format!("10.{}.{}.1", n / 250, n % 250)),
                Some(&alice),
                now,
            );
        }
        let until = g.locked_until(&alice, now).unwrap();
        lengths.push(until.since(now).as_secs());
        // Guessing on during the lock changes nothing.
        for k in 0..20u32 {
            g.on_auth_failure(ip(&format!("172.16.0.{k}")), Some(&alice), now);
        }
        assert_eq!(g.locked_until(&alice, now), Some(until));
        now = until;
    }
    assert_eq!(lengths, [120, 240, 480]);
}

#[test]
fn owner_mistakes_do_not_lock_the_account() {
    let mut g = guard();
    let alice = acct("alice@example.com");
    let home = ip("192.0.2.12");
    g.on_auth_success(home, &alice, at(0));
    // Her second phone at home has a stale password and retries slowly.
    for i in 0..40 {
        g.on_auth_failure(home, Some(&alice), at(10 + i * 30));
    }
    assert_eq!(g.locked_until(&alice, at(1300)), None);
}

#[test]
fn unknown_users_count_against_the_source_only() {
    let mut g = guard();
    let src = ip("198.51.100.30");
    for i in 0..5 {
        g.on_auth_failure(src, None, at(i));
    }
    assert_eq!(g.occupancy().accounts.len, 0);
    assert_eq!(g.on_auth_failure(src, None, at(5)), Verdict::Drop);
}

#[test]
fn operator_can_unlock() {
    let mut g = guard();
    let alice = acct("alice@example.com");
    for i in 0..11u32 {
        g.on_auth_failure(ip(&format!("198.51.100.{i}")), Some(&alice), at(0));
    }
    assert_eq!(g.locked_accounts(at(1)).len(), 1);
    assert!(g.unlock_account(&alice, at(1)));
    assert!(g.locked_accounts(at(1)).is_empty());
    assert_eq!(
        g.auth_gate(ip("198.51.100.50"), &alice, at(1)),
        AuthGate::Proceed
    );
    assert!(drain(&mut g).iter().any(|e| e.kind() == "unlock"));
}

#[test]
fn custom_allowances() {
    let mut config = GuardConfig::default();
    config.lockout.source_failures = 2;
    config.lockout.trusted_source_failures = 3;
    let mut g = guard_with(config, PolicyLists::default());
    let src = ip("198.51.100.31");
    assert_eq!(g.on_auth_failure(src, None, at(0)), Verdict::Allow);
    assert_eq!(g.on_auth_failure(src, None, at(0)), Verdict::Allow);
    assert_eq!(g.on_auth_failure(src, None, at(0)), Verdict::Drop);
}
