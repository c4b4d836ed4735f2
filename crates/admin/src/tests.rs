use crate::api::parse_ban_source;
use crate::auth::{bearer, Presented};
use crate::{status_label, ApiToken, Method, TokenError};

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer(b"Bearer abc"), Presented::Bearer(b"abc"));
    assert_eq!(bearer(b"bearer   abc  "), Presented::Bearer(b"abc"));
    assert_eq!(bearer(b"Basic YWJj"), Presented::Missing);
    assert_eq!(bearer(b"Bearer "), Presented::Missing);
    assert_eq!(bearer(b"Bearer"), Presented::Missing);
    assert_eq!(bearer(b""), Presented::Missing);
}

#[test]
fn token_rules() {
    assert!(matches!(
        ApiToken::new("short"),
        Err(TokenError::TooShort { min: 16, got: 5 })
    ));
    assert_eq!(
        ApiToken::new("has spaces in it, too long").err(),
        Some(TokenError::BadCharacter)
    );
    let t = ApiToken::new("0123456789abcdef-._~+/=").unwrap();
    assert!(t.verify(b"0123456789abcdef-._~+/="));
    assert!(!t.verify(b"0123456789abcdef-._~+/"));
    assert!(!t.verify(b""));
    assert_eq!(format!("{t:?}"), "ApiToken([redacted])");
}

#[test]
fn ban_sources() {
    assert_eq!(parse_ban_source("192.0.2.7"), "192.0.2.7".parse().ok());
    assert_eq!(parse_ban_source("192.0.2.7/32"), "192.0.2.7".parse().ok());
    assert_eq!(parse_ban_source("2001:db8::/64"), "2001:db8::".parse().ok());
    assert_eq!(parse_ban_source("2001:db8::1"), "2001:db8::1".parse().ok());
    assert_eq!(parse_ban_source("192.0.2.0/24"), None);
    assert_eq!(parse_ban_source("2001:db8::/48"), None);
    assert_eq!(parse_ban_source("example.com"), None);
    assert_eq!(parse_ban_source(""), None);
}

#[test]
fn methods_and_statuses_are_bounded() {
    assert_eq!(Method::from_wire(b"INVITE"), Method::Invite);
    assert_eq!(Method::from_wire(b"invite"), Method::Other);
    assert_eq!(Method::from_wire(b"other"), Method::Other);
    assert_eq!(Method::from_wire(&[0xff; 40]), Method::Other);
    assert_eq!(status_label(486), "486");
    assert_eq!(status_label(499), "4xx");
    assert_eq!(status_label(99), "other");
    assert_eq!(status_label(700), "other");
    let distinct: std::collections::BTreeSet<&str> = (0..=u16::MAX).map(status_label).collect();
    assert!(distinct.len() <= 60, "{} status labels", distinct.len());
}
