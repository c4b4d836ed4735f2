//! Policy lists: CIDR matching, parse errors, deny/allow, anonymous callers, reload.

use std::sync::Arc;

use sipwarden_guard::{
    AnonymousPolicy, Caller, Cidr, CidrSet, EntryError, GuardConfig, ListName, MethodClass,
    PolicyConfig, PolicyLists, PolicyRule, RequestFacts, SecurityEvent, TransportKind, Verdict,
};

use super::{acct, at, at_ms, drain, guard_with, ip, register};

fn lists(config: PolicyConfig) -> PolicyLists {
    PolicyLists::from_config(&config).unwrap()
}

#[test]
fn cidr_matching_v4() {
    let c: Cidr = "10.1.0.0/16".parse().unwrap();
    assert!(c.contains(ip("10.1.255.255")));
    assert!(!c.contains(ip("10.2.0.0")));
    assert!(
        c.contains(ip("::ffff:10.1.2.3")),
        "IPv4-mapped counts as IPv4"
    );
    assert!(!c.contains(ip("2001:db8::1")));
    let all: Cidr = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains(ip("203.0.113.1")));
    let host: Cidr = "192.0.2.7".parse().unwrap();
    assert_eq!(host, Cidr::V4(0xc000_0207, 32));
    assert!(host.contains(ip("192.0.2.7")));
    assert!(!host.contains(ip("192.0.2.8")));
    assert_eq!(c.to_string(), "10.1.0.0/16");
}

#[test]
fn cidr_matching_v6() {
    let c: Cidr = "2001:db8:abcd::/48".parse().unwrap();
    assert!(c.contains(ip("2001:db8:abcd:ffff::1")));
    assert!(!c.contains(ip("2001:db8:abce::1")));
    assert!(!c.contains(ip("10.0.0.1")));
    let odd: Cidr = "2001:db8:8000::/33".parse().unwrap();
    assert!(odd.contains(ip("2001:db8:ffff::1")));
    assert!(!odd.contains(ip("2001:db8:7fff::1")));
    let all: Cidr = "::/0".parse().unwrap();
    assert!(all.contains(ip("2001:db8::1")));
    let host: Cidr = "2001:db8::1".parse().unwrap();
    assert!(host.contains(ip("2001:db8::1")));
    assert!(!host.contains(ip("2001:db8::2")));
}

#[test]
fn cidr_set_with_mixed_prefixes() {
    let mut set = CidrSet::default();
    for c in [
        "10.0.0.0/8",
        "192.0.2.0/24",
        "198.51.100.7/32",
        "2001:db8::/32",
        "2001:db8:1::/48",
    ] {
        set.insert(c.parse().unwrap());
    }
    for yes in [
        "10.200.0.1",
        "192.0.2.99",
        "198.51.100.7",
        "2001:db8:ffff::1",
    ] {
        assert!(set.contains(ip(yes)), "{yes}");
    }
    for no in ["11.0.0.1", "192.0.3.1", "198.51.100.8", "2001:db9::1"] {
        assert!(!set.contains(ip(no)), "{no}");
    }
}

#[test]
fn cidr_parse_errors() {
    assert_eq!("10.0.0.1/8".parse::<Cidr>(), Err(EntryError::HostBitsSet));
    assert_eq!(
        "10.0.0.0/33".parse::<Cidr>(),
        Err(EntryError::BadPrefix { max: 32 })
    );
    assert_eq!(
        "10.0.0.0/".parse::<Cidr>(),
        Err(EntryError::BadPrefix { max: 32 })
    );
    assert_eq!(
        "10.0.0.0/+8".parse::<Cidr>(),
        Err(EntryError::BadPrefix { max: 32 })
    );
    assert_eq!(
        "2001:db8::/129".parse::<Cidr>(),
        Err(EntryError::BadPrefix { max: 128 })
    );
    assert_eq!(
        "2001:db8::1/32".parse::<Cidr>(),
        Err(EntryError::HostBitsSet)
    );
    assert_eq!(
        "example.com/24".parse::<Cidr>(),
        Err(EntryError::NotAnAddress)
    );
    assert_eq!("".parse::<Cidr>(), Err(EntryError::NotAnAddress));
}

#[test]
fn policy_errors_name_the_entry() {
    let e = PolicyLists::from_config(&PolicyConfig {
        deny_cidrs: vec!["192.0.2.0/24".into(), "10.0.0.1/8".into()],
        ..PolicyConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.list, ListName::DenyCidrs);
    assert_eq!(e.index, 1);
    assert_eq!(e.entry, "10.0.0.1/8");
    assert_eq!(e.reason, EntryError::HostBitsSet);
    assert_eq!(
        e.to_string(),
        "policy deny_cidrs[1] \"10.0.0.1/8\": address has bits set beyond the prefix length"
    );

    let cases: [(PolicyConfig, ListName, EntryError); 5] = [
        (
            PolicyConfig {
                allow_cidrs: vec!["nonsense".into()],
                ..PolicyConfig::default()
            },
            ListName::AllowCidrs,
            EntryError::NotAnAddress,
        ),
        (
            PolicyConfig {
                deny_domains: vec!["exa mple.com".into()],
                ..PolicyConfig::default()
            },
            ListName::DenyDomains,
            EntryError::BadDomain,
        ),
        (
            PolicyConfig {
                allow_domains: vec!["a..b".into()],
                ..PolicyConfig::default()
            },
            ListName::AllowDomains,
            EntryError::BadDomain,
        ),
        (
            PolicyConfig {
                deny_users: vec!["alice".into()],
                ..PolicyConfig::default()
            },
            ListName::DenyUsers,
            EntryError::BadUser,
        ),
        (
            PolicyConfig {
                allow_users: vec!["@example.com".into()],
                ..PolicyConfig::default()
            },
            ListName::AllowUsers,
            EntryError::BadUser,
        ),
    ];
    for (config, list, reason) in cases {
        let e = PolicyLists::from_config(&config).unwrap_err();
        assert_eq!((e.list, e.index, e.reason), (list, 0, reason), "{e}");
        assert!(e.to_string().contains(list.as_str()));
    }
    assert_eq!(
        "maybe".parse::<AnonymousPolicy>(),
        Err(EntryError::UnknownAnonymousPolicy)
    );
    // Over-long entries are clipped in the error.
    let long = "x".repeat(5000);
    let e = PolicyLists::from_config(&PolicyConfig {
        deny_domains: vec![long],
        ..PolicyConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.entry.len(), 200);
}

#[test]
fn denied_sources_are_dropped_silently_and_logged_once_per_interval() {
    let policy = lists(PolicyConfig {
        deny_cidrs: vec!["198.51.100.0/24".into(), "2001:db8:bad::/48".into()],
        ..PolicyConfig::default()
    });
    let mut g = guard_with(GuardConfig::default(), policy);
    for i in 0..100 {
        assert_eq!(g.check(&register("198.51.100.1"), at_ms(i)), Verdict::Drop);
    }
    assert_eq!(
        g.check(&register("2001:db8:bad:1::1"), at(0)),
        Verdict::Drop
    );
    assert_eq!(g.check(&register("2001:db8:bae::1"), at(0)), Verdict::Allow);
    let events = drain(&mut g);
    let refusals: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                SecurityEvent::PolicyRefused {
                    rule: PolicyRule::DeniedSource,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(refusals.len(), 2, "one per source per interval: {events:?}");
    assert_eq!(g.stats().dropped_denied, 101);
    // The next interval reports what was folded.
    g.check(&register("198.51.100.1"), at(20));
    match drain(&mut g).as_slice() {
        [SecurityEvent::PolicyRefused { suppressed, .. }] => assert_eq!(*suppressed, 99),
        other => panic!("{other:?}"),
    }
}

#[test]
fn denied_domains_and_users_are_refused() {
    let policy = lists(PolicyConfig {
        deny_domains: vec!["spam.example".into(), "*.bulk.example".into()],
        deny_users: vec!["mallory@example.com".into()],
        ..PolicyConfig::default()
    });
    let mut g = guard_with(GuardConfig::default(), policy);
    let invite = |from_user: &'static str, from_domain: &'static str| {
        RequestFacts::new(ip("192.0.2.1"), TransportKind::Tls, MethodClass::Invite)
            .from(Some(from_user), from_domain, false)
            .target(Some("bob"), "example.com", true)
    };
    let forbidden = Verdict::Reject {
        code: 403,
        reason: "Forbidden",
    };
    assert_eq!(g.check(&invite("x", "spam.example"), at(0)), forbidden);
    assert_eq!(
        g.check(&invite("x", "SPAM.Example."), at(0)),
        forbidden,
        "case, trailing dot"
    );
    assert_eq!(g.check(&invite("x", "a.b.bulk.example"), at(0)), forbidden);
    assert_eq!(
        g.check(&invite("x", "bulk.example"), at(0)),
        Verdict::Allow,
        "wildcard excludes apex"
    );
    assert_eq!(
        g.check(&invite("x", "notspam.example"), at(0)),
        Verdict::Allow
    );
    assert_eq!(g.check(&invite("mallory", "EXAMPLE.com"), at(0)), forbidden);
    assert_eq!(
        g.check(&invite("Mallory", "example.com"), at(0)),
        Verdict::Allow,
        "user part is case-sensitive"
    );
    // An authenticated account on the deny list is refused whatever From says.
    let m = acct("mallory@example.com");
    let f = invite("someone", "example.com").caller(Caller::Authenticated(&m));
    assert_eq!(g.check(&f, at(0)), forbidden);
    assert_eq!(g.stats().rejected_policy, 5);
}

#[test]
fn deny_wins_over_allow() {
    let policy = lists(PolicyConfig {
        allow_cidrs: vec!["192.0.2.0/24".into()],
        deny_cidrs: vec!["192.0.2.128/25".into()],
        allow_domains: vec!["example.org".into()],
        deny_users: vec!["eve@example.org".into()],
        ..PolicyConfig::default()
    });
    assert!(policy.source_trusted(ip("192.0.2.1")));
    assert!(!policy.source_trusted(ip("192.0.2.200")));
    assert!(policy.source_denied(ip("192.0.2.200")));
    assert!(policy.caller_allowed(Some("ann"), "example.org"));
    assert!(!policy.caller_allowed(Some("eve"), "example.org"));
    assert_eq!(
        policy.caller_denied(Some("eve"), "example.org"),
        Some(PolicyRule::DeniedUser)
    );
}

fn anonymous_guard(anonymous: AnonymousPolicy) -> sipwarden_guard::Guard {
    guard_with(
        GuardConfig::default(),
        lists(PolicyConfig {
            anonymous,
            ..PolicyConfig::default()
        }),
    )
}

#[test]
fn anonymous_caller_policy() {
    let udp = RequestFacts::new(ip("192.0.2.1"), TransportKind::Udp, MethodClass::Invite)
        .caller(Caller::Anonymous);
    let tls = RequestFacts {
        transport: TransportKind::Tls,
        ..udp
    };

    let mut allow = anonymous_guard(AnonymousPolicy::Allow);
    assert_eq!(allow.check(&udp, at(0)), Verdict::Allow);

    let mut challenge = anonymous_guard(AnonymousPolicy::Challenge);
    assert_eq!(challenge.check(&udp, at(0)), Verdict::Challenge);
    assert_eq!(
        challenge.check(&tls, at(0)),
        Verdict::Allow,
        "handshake proved the source"
    );

    let mut reject = anonymous_guard(AnonymousPolicy::Reject);
    assert_eq!(
        reject.check(&tls, at(0)),
        Verdict::Reject {
            code: 403,
            reason: "Forbidden"
        }
    );
    assert!(drain(&mut reject).iter().any(|e| matches!(
        e,
        SecurityEvent::PolicyRefused {
            rule: PolicyRule::AnonymousRejected,
            ..
        }
    )));
    // The default is to challenge.
    assert_eq!(
        PolicyLists::default().anonymous(),
        AnonymousPolicy::Challenge
    );
}

#[test]
fn reload_swaps_the_lists_as_a_whole() {
    let mut g = guard_with(GuardConfig::default(), PolicyLists::default());
    assert_eq!(g.check(&register("203.0.113.1"), at(0)), Verdict::Allow);
    let new = Arc::new(lists(PolicyConfig {
        deny_cidrs: vec!["203.0.113.0/24".into()],
        ..PolicyConfig::default()
    }));
    let old = g.set_policy(Arc::clone(&new));
    assert!(old.lists_empty());
    assert_eq!(g.check(&register("203.0.113.1"), at(1)), Verdict::Drop);
    // A bad reload never reaches the guard: validation fails first.
    let bad = PolicyLists::from_config(&PolicyConfig {
        deny_cidrs: vec!["203.0.113.0/24".into(), "oops".into()],
        ..PolicyConfig::default()
    });
    assert!(bad.is_err());
    assert!(Arc::ptr_eq(g.policy(), &new));
}
