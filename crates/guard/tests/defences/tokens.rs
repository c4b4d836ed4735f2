//! Return-routability tokens and the redirect decision.

use std::time::Duration;

use sipwarden_guard::{
    mint, verify, Caller, GuardConfig, KeyError, MethodClass, PolicyConfig, PolicyLists,
    RequestFacts, RrDecision, SecurityEvent, TokenError, TokenFields, TokenKey, TransportKind,
    Verdict, TOKEN_LEN,
};

use super::{at, guard_with, ip};

const FIELDS: TokenFields<'static> = TokenFields {
    from_uri: b"sip:carol@other.example",
    to_uri: b"sip:bob@example.com",
    call_id: b"a84b4c76e66710@pc33.other.example",
};

const MAX_AGE: Duration = Duration::from_secs(32);

fn key() -> TokenKey {
    TokenKey::new(&[1; 32]).unwrap()
}

#[test]
fn valid_token_verifies() {
    let src = ip("198.51.100.60");
    let t = mint(&key(), &FIELDS, src, at(0));
    assert_eq!(t.as_str().len(), TOKEN_LEN);
    assert_eq!(TOKEN_LEN, 34);
    assert!(t
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        verify(&key(), t.as_str().as_bytes(), &FIELDS, src, at(5), MAX_AGE),
        Ok(at(0))
    );
}

#[test]
fn tampered_token_is_refused() {
    let src = ip("198.51.100.60");
    let t = mint(&key(), &FIELDS, src, at(0)).into_string();
    for i in 0..t.len() {
        let mut bytes = t.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let r = verify(&key(), &bytes, &FIELDS, src, at(1), MAX_AGE);
        assert!(
            matches!(r, Err(TokenError::BadMac | TokenError::Malformed)),
            "byte {i}: {r:?}"
        );
    }
    // Truncated, extended, wrong alphabet, empty.
    for bad in [
        &t[..33],
        &format!("{t}A")[..],
        &t.replace(|_: char| true, "=")[..34],
        "",
    ] {
        assert_eq!(
            verify(&key(), bad.as_bytes(), &FIELDS, src, at(1), MAX_AGE),
            Err(TokenError::Malformed)
        );
    }
}

#[test]
fn token_is_bound_to_headers_and_source() {
    let src = ip("198.51.100.60");
    let t = mint(&key(), &FIELDS, src, at(0));
    let t = t.as_str().as_bytes();
    let other_call = TokenFields {
        call_id: b"other",
        ..FIELDS
    };
    let other_from = TokenFields {
        from_uri: b"sip:mallory@other.example",
        ..FIELDS
    };
    let other_to = TokenFields {
        to_uri: b"sip:alice@example.com",
        ..FIELDS
    };
    for f in [other_call, other_from, other_to] {
        assert_eq!(
            verify(&key(), t, &f, src, at(1), MAX_AGE),
            Err(TokenError::BadMac)
        );
    }
    // Field boundaries are unambiguous.
    let shifted = TokenFields {
        from_uri: b"sip:carol@other.examplesip:bob@example.com",
        to_uri: b"",
        ..FIELDS
    };
    assert_eq!(
        verify(&key(), t, &shifted, src, at(1), MAX_AGE),
        Err(TokenError::BadMac)
    );
    // Another source address, even next door, fails.
    assert_eq!(
        verify(&key(), t, &FIELDS, ip("198.51.100.61"), at(1), MAX_AGE),
        Err(TokenError::BadMac)
    );
    // The same IPv4 address seen on a dual-stack socket passes.
    assert!(verify(
        &key(),
        t,
        &FIELDS,
        ip("::ffff:198.51.100.60"),
        at(1),
        MAX_AGE
    )
    .is_ok());
    // Another key fails.
    let other = TokenKey::new(&[2; 32]).unwrap();
    assert_eq!(
        verify(&other, t, &FIELDS, src, at(1), MAX_AGE),
        Err(TokenError::BadMac)
    );
}

#[test]
fn token_expires() {
    let src = ip("2001:db8::60");
    let t = mint(&key(), &FIELDS, src, at(100));
    let t = t.as_str().as_bytes();
    assert!(verify(&key(), t, &FIELDS, src, at(132), MAX_AGE).is_ok());
    assert_eq!(
        verify(&key(), t, &FIELDS, src, at(133), MAX_AGE),
        Err(TokenError::Expired)
    );
    // From the future beyond the allowed skew.
    assert!(verify(&key(), t, &FIELDS, src, at(90), MAX_AGE).is_ok());
    assert_eq!(
        verify(&key(), t, &FIELDS, src, at(89), MAX_AGE),
        Err(TokenError::FromFuture)
    );
}

#[test]
fn key_rotation_keeps_tokens_in_flight() {
    let src = ip("198.51.100.60");
    let old = mint(&key(), &FIELDS, src, at(0));
    let rotated = TokenKey::new(&[3; 32])
        .unwrap()
        .with_previous(&[1; 32])
        .unwrap();
    assert!(verify(
        &rotated,
        old.as_str().as_bytes(),
        &FIELDS,
        src,
        at(1),
        MAX_AGE
    )
    .is_ok());
    let new = mint(&rotated, &FIELDS, src, at(1));
    assert!(verify(
        &key(),
        new.as_str().as_bytes(),
        &FIELDS,
        src,
        at(1),
        MAX_AGE
    )
    .is_err());
}

#[test]
fn short_secrets_are_refused() {
    assert_eq!(
        TokenKey::new(&[0; 31]).unwrap_err(),
        KeyError::SecretTooShort { min: 32 }
    );
    assert!(format!("{:?}", key()).contains(".."), "no secret in Debug");
}

fn rr_guard() -> sipwarden_guard::Guard {
    let mut config = GuardConfig::default();
    config.return_routability.enabled = true;
    let policy = PolicyLists::from_config(&PolicyConfig {
        allow_domains: vec!["partner.example".into()],
        ..PolicyConfig::default()
    })
    .unwrap();
    guard_with(config, policy)
}

fn foreign_invite(
    src: &str,
    transport: TransportKind,
    from_domain: &'static str,
) -> RequestFacts<'static> {
    RequestFacts::new(ip(src), transport, MethodClass::Invite)
        .from(Some("carol"), from_domain, false)
        .target(Some("bob"), "example.com", true)
}

#[test]
fn check_challenges_unauthenticated_foreign_invites_over_udp_only() {
    let mut g = rr_guard();
    let udp = foreign_invite("198.51.100.70", TransportKind::Udp, "other.example");
    assert_eq!(g.check(&udp, at(0)), Verdict::Challenge);
    // A TCP or TLS handshake already proved the source.
    let tls = foreign_invite("198.51.100.70", TransportKind::Tls, "other.example");
    assert_eq!(g.check(&tls, at(0)), Verdict::Allow);
    // Callers claiming one of our domains get a Digest challenge instead (server's job).
    let local = RequestFacts::new(ip("198.51.100.70"), TransportKind::Udp, MethodClass::Invite)
        .from(Some("alice"), "example.com", true);
    assert_eq!(g.check(&local, at(0)), Verdict::Allow);
    // Partners on the allow list skip it.
    let partner = foreign_invite("198.51.100.70", TransportKind::Udp, "partner.example");
    assert_eq!(g.check(&partner, at(0)), Verdict::Allow);
    // Authenticated callers skip it.
    let a = super::acct("alice@example.com");
    assert_eq!(
        g.check(&udp.caller(Caller::Authenticated(&a)), at(0)),
        Verdict::Allow
    );
    // Only INVITE.
    let mut opt = udp;
    opt.method = MethodClass::Other;
    assert_eq!(g.check(&opt, at(0)), Verdict::Allow);
}

#[test]
fn check_does_not_challenge_when_disabled() {
    let mut g = guard_with(GuardConfig::default(), PolicyLists::default());
    let udp = foreign_invite("198.51.100.71", TransportKind::Udp, "other.example");
    assert_eq!(g.check(&udp, at(0)), Verdict::Allow);
}

#[test]
fn redirect_then_return_with_token() {
    let mut g = rr_guard();
    let src = ip("198.51.100.72");
    // First INVITE: no token, redirected at once.
    let RrDecision::Redirect { code, token } =
        g.return_routability(None, &FIELDS, src, b"z9hG4bK1", at(0))
    else {
        panic!("expected a redirect");
    };
    assert_eq!(code, 302);
    // The caller follows the redirect: served.
    assert_eq!(
        g.return_routability(
            Some(token.as_str().as_bytes()),
            &FIELDS,
            src,
            b"z9hG4bK2",
            at(1)
        ),
        RrDecision::Pass
    );
    // A spoofer sending from elsewhere with that token: refused.
    match g.return_routability(
        Some(token.as_str().as_bytes()),
        &FIELDS,
        ip("203.0.113.9"),
        b"z9hG4bK3",
        at(1),
    ) {
        RrDecision::Reject {
            code: 403,
            error: TokenError::BadMac,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    // Coming back too late: a fresh redirect, not a refusal.
    assert!(matches!(
        g.return_routability(
            Some(token.as_str().as_bytes()),
            &FIELDS,
            src,
            b"z9hG4bK4",
            at(100)
        ),
        RrDecision::Redirect { .. }
    ));
    let stats = g.stats();
    assert_eq!(
        (
            stats.tokens_minted,
            stats.tokens_accepted,
            stats.tokens_refused
        ),
        (2, 1, 1)
    );
    let events: Vec<_> = g.events().collect();
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::TokenRefused {
            reason: TokenError::BadMac,
            ..
        }
    )));
}

#[test]
fn token_refusal_events_are_coalesced() {
    let mut g = rr_guard();
    let src = ip("198.51.100.73");
    for i in 0..1000u64 {
        g.return_routability(
            Some(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            &FIELDS,
            src,
            b"z9hG4bK5",
            super::at_ms(i),
        );
    }
    let events: Vec<_> = g.events().collect();
    assert_eq!(events.len(), 1);
    assert_eq!(g.stats().tokens_refused, 1000);
}

#[test]
fn a_token_admits_one_request_and_its_retransmissions_only() {
    let mut g = rr_guard();
    let src = ip("198.51.100.74");
    let RrDecision::Redirect { token, .. } =
        g.return_routability(None, &FIELDS, src, b"z9hG4bKfirst", at(0))
    else {
        panic!("expected a redirect");
    };
    let t = token.as_str().as_bytes();
    assert_eq!(
        g.return_routability(Some(t), &FIELDS, src, b"z9hG4bKfollow", at(1)),
        RrDecision::Pass
    );
    // A retransmission of the admitted request (same branch) passes again.
    assert_eq!(
        g.return_routability(Some(t), &FIELDS, src, b"z9hG4bKfollow", at(2)),
        RrDecision::Pass
    );
    // The same token on another request is a replay.
    match g.return_routability(Some(t), &FIELDS, src, b"z9hG4bKreplay", at(3)) {
        RrDecision::Reject {
            code: 403,
            error: TokenError::Replayed,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    let events: Vec<_> = g.events().collect();
    assert!(events.iter().any(|e| matches!(
        e,
        SecurityEvent::TokenRefused {
            reason: TokenError::Replayed,
            ..
        }
    )));
    // Once the token could no longer verify, it is forgotten: it earns a fresh redirect.
    assert!(matches!(
        g.return_routability(Some(t), &FIELDS, src, b"z9hG4bKlate", at(100)),
        RrDecision::Redirect { .. }
    ));
}
