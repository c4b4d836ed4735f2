//! Source and account keys.

use std::net::IpAddr;

use sipwarden_guard::{AccountKey, KeyError, MethodClass, SourceKey};

use super::ip;

#[test]
fn ipv4_is_keyed_per_address() {
    let a = SourceKey::from_ip(ip("192.0.2.1"));
    let b = SourceKey::from_ip(ip("192.0.2.2"));
    assert_ne!(a, b);
    assert_eq!(a.to_string(), "192.0.2.1");
}

#[test]
fn ipv6_is_keyed_per_64() {
    let a = SourceKey::from_ip(ip("2001:db8:1:2::1"));
    let b = SourceKey::from_ip(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    let c = SourceKey::from_ip(ip("2001:db8:1:3::1"));
    assert_eq!(a, b, "same /64");
    assert_ne!(a, c, "neighbouring /64");
    assert_eq!(a.to_string(), "2001:db8:1:2::/64");
    assert!(a.contains(ip("2001:db8:1:2::abcd")));
}

#[test]
fn ipv4_mapped_ipv6_is_the_ipv4_address() {
    let mapped: IpAddr = ip("::ffff:192.0.2.7");
    assert_eq!(
        SourceKey::from_ip(mapped),
        SourceKey::from_ip(ip("192.0.2.7"))
    );
}

#[test]
fn source_key_round_trips_through_text() {
    for s in ["192.0.2.1", "2001:db8:1:2::/64"] {
        let k: SourceKey = s.parse().unwrap();
        assert_eq!(k.to_string(), s);
    }
    let k: SourceKey = "2001:db8:1:2::99".parse().unwrap();
    assert_eq!(k.to_string(), "2001:db8:1:2::/64");
    assert_eq!(
        "192.0.2.1/64".parse::<SourceKey>(),
        Err(KeyError::BadSource)
    );
    assert_eq!("example.com".parse::<SourceKey>(), Err(KeyError::BadSource));
}

#[test]
fn account_key_normalises_domain_only() {
    let a = AccountKey::new("Alice", "Example.COM").unwrap();
    assert_eq!(a.as_str(), "Alice@example.com");
    assert_eq!(a.user(), "Alice");
    assert_eq!(a.domain(), "example.com");
    assert_ne!(a, AccountKey::new("alice", "example.com").unwrap());
    assert_eq!(a, "Alice@EXAMPLE.com".parse().unwrap());
}

#[test]
fn account_key_rejects_bad_parts() {
    assert_eq!(AccountKey::new("", "example.com"), Err(KeyError::BadUser));
    assert_eq!(
        AccountKey::new("a@b", "example.com"),
        Err(KeyError::BadUser)
    );
    assert_eq!(
        AccountKey::new("a\nb", "example.com"),
        Err(KeyError::BadUser)
    );
    assert_eq!(
        AccountKey::new(&"x".repeat(129), "example.com"),
        Err(KeyError::BadUser)
    );
    assert_eq!(AccountKey::new("a", ""), Err(KeyError::BadDomain));
    assert_eq!(
        AccountKey::new("a", "exa mple.com"),
        Err(KeyError::BadDomain)
    );
    assert_eq!(
        AccountKey::new("a", &"d".repeat(254)),
        Err(KeyError::BadDomain)
    );
    assert_eq!("nobody".parse::<AccountKey>(), Err(KeyError::BadUser));
}

#[test]
fn method_classes() {
    assert_eq!(MethodClass::of(b"REGISTER"), MethodClass::Register);
    assert_eq!(MethodClass::of(b"INVITE"), MethodClass::Invite);
    assert_eq!(MethodClass::of(b"OPTIONS"), MethodClass::Options);
    assert_eq!(MethodClass::of(b"BYE"), MethodClass::Other);
    // Methods are case-sensitive.
    assert_eq!(MethodClass::of(b"invite"), MethodClass::Other);
}
