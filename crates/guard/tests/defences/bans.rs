//! Bans: expiry, escalation, admin list and lift, bounds.

use std::time::Duration;

use sipwarden_guard::{
    BanConfig, BanList, BanOutcome, BanReason, SecurityEvent, SourceKey, TableKey, Verdict,
};

use super::{at, drain, guard, ip, register};

fn key(s: &str) -> SourceKey {
    SourceKey::from_ip(ip(s))
}

fn list() -> BanList {
    BanList::new(BanConfig::default(), TableKey([1; 16]))
}

#[test]
fn bans_expire() {
    let mut b = list();
    let k = key("198.51.100.1");
    let info = *b.ban(k, BanReason::Scanner, at(0)).info();
    assert_eq!(info.until, at(60));
    assert!(b.is_banned(k, at(59)));
    assert!(!b.is_banned(k, at(60)));
    assert!(b.list(at(60)).is_empty());
}

#[test]
fn repeat_bans_escalate_and_cap() {
    let mut b = BanList::new(
        BanConfig {
            max: Duration::from_secs(600),
            ..BanConfig::default()
        },
        TableKey([1; 16]),
    );
    let k = key("198.51.100.2");
    let mut now = at(0);
    let mut lengths = Vec::new();
    for _ in 0..6 {
        let info = *b.ban(k, BanReason::PasswordGuessing, now).info();
        lengths.push(info.until.since(now).as_secs());
        now = info.until.plus(Duration::from_secs(1));
    }
    assert_eq!(lengths, [60, 120, 240, 480, 600, 600]);
}

#[test]
fn escalation_is_forgotten_after_a_quiet_day() {
    let mut b = list();
    let k = key("198.51.100.3");
    b.ban(k, BanReason::Flood, at(0));
    let second = *b.ban(k, BanReason::Flood, at(100)).info();
    assert_eq!(second.strikes, 2);
    let fresh = *b.ban(k, BanReason::Flood, at(100 + 120 + 24 * 3600)).info();
    assert_eq!(fresh.strikes, 1);
    assert_eq!(fresh.until.since(fresh.since), Duration::from_secs(60));
}

#[test]
fn a_running_ban_is_not_extended_by_another() {
    let mut b = list();
    let k = key("198.51.100.4");
    b.ban(k, BanReason::Flood, at(0));
    match b.ban(k, BanReason::Scanner, at(10)) {
        BanOutcome::AlreadyBanned(info) => {
            assert_eq!(info.reason, BanReason::Flood);
            assert_eq!(info.until, at(60));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn list_lift_and_manual_bans() {
    let mut g = guard();
    let a = key("198.51.100.5");
    let b = key("2001:db8:5::1");
    g.ban_source(a, Duration::from_secs(300), at(0));
    g.ban_source(b, Duration::from_secs(100), at(0));
    let bans = g.bans(at(1));
    assert_eq!(bans.len(), 2);
    assert_eq!(bans[0].source, b, "soonest to end first");
    assert_eq!(bans[1].reason, BanReason::Manual);
    assert_eq!(g.check(&register("198.51.100.5"), at(2)), Verdict::Drop);
    assert_eq!(g.check(&register("198.51.100.5"), at(3)), Verdict::Drop);
    assert_eq!(g.bans(at(4))[1].dropped, 2);
    assert!(g.lift_ban(a, at(5)));
    assert!(!g.lift_ban(a, at(5)), "already lifted");
    assert_eq!(g.check(&register("198.51.100.5"), at(6)), Verdict::Allow);
    let events = drain(&mut g);
    assert!(events
        .iter()
        .any(|e| e.kind() == "ban_lifted" && e.source() == Some(a)));
    assert_eq!(events.iter().filter(|e| e.kind() == "ban").count(), 2);
}

#[test]
fn banned_ipv6_source_covers_its_whole_64() {
    let mut g = guard();
    g.ban_source(key("2001:db8:7:7::1"), Duration::from_secs(60), at(0));
    assert_eq!(g.check(&register("2001:db8:7:7::2"), at(1)), Verdict::Drop);
    assert_eq!(g.check(&register("2001:db8:7:8::2"), at(1)), Verdict::Allow);
}

#[test]
fn ban_list_is_bounded_and_keeps_active_attackers() {
    let mut b = BanList::new(
        BanConfig {
            capacity: 100,
            ..BanConfig::default()
        },
        TableKey([1; 16]),
    );
    let attacker = key("198.51.100.200");
    b.ban(attacker, BanReason::Flood, at(0));
    for i in 0..10_000u32 {
        let k = SourceKey::from_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
            0x0a00_0000 + i,
        )));
        b.ban(k, BanReason::Scanner, at(1));
        // The attacker keeps sending, so its ban stays fresh.
        assert!(b.hit(attacker, at(1)));
    }
    assert_eq!(b.len(), 100);
    assert!(b.is_banned(attacker, at(2)));
}

#[test]
fn purge_drops_forgotten_history_only() {
    let mut b = list();
    b.ban(key("198.51.100.6"), BanReason::Flood, at(0));
    b.ban(key("198.51.100.7"), BanReason::Flood, at(24 * 3600));
    b.purge(at(24 * 3600 + 100));
    assert_eq!(b.len(), 1);
    assert!(b.get(key("198.51.100.7"), at(24 * 3600 + 30)).is_some());
}

#[test]
fn ban_events_have_stable_fields() {
    let mut g = guard();
    g.ban_source(key("198.51.100.8"), Duration::from_secs(60), at(0));
    let events = drain(&mut g);
    match &events[..] {
        [SecurityEvent::Banned {
            at: t,
            source,
            reason,
            until,
            strikes,
        }] => {
            assert_eq!(*t, at(0));
            assert_eq!(source.to_string(), "198.51.100.8");
            assert_eq!(reason.as_str(), "manual");
            assert_eq!(*until, at(60));
            assert_eq!(*strikes, 1);
        }
        other => panic!("{other:?}"),
    }
}
