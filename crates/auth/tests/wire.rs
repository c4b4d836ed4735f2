//! End to end through the wire layer's header decoding.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::borrow::Cow;

use common::*;
use sipwarden_auth::{
    Algorithm, ChallengeKind, ClientSecret, DigestChallenge, DigestClient, DigestConfig,
    DigestCredentials, Ha1Set, NonceCounts, Outcome, Qop, QopPreference,
};
use sipwarden_wire::headers::{Challenge, Credentials};
use sipwarden_wire::HeaderName;

fn round_trip(username: &str, kind: ChallengeKind) {
    let auth = server(DigestConfig {
        opaque: Some("o-1".into()),
        ..DigestConfig::default()
    });
    let user = Ha1Set::from_password(username, REALM, "pw");
    let ch = auth.challenge(kind, &challenge_req(T0, 3, true));
    let challenge_header = HeaderName::from_bytes(ch.header_name().as_bytes());
    let parsed: Vec<_> = ch
        .values
        .iter()
        .map(|v| Challenge::parse(challenge_header, v.as_bytes()).unwrap())
        .collect();
    let best = DigestChallenge::strongest(
        parsed
            .iter()
            .map(|c| DigestChallenge::from_wire(c).unwrap()),
    )
    .unwrap();
    assert_eq!(best.algorithm, Algorithm::Sha512_256);
    assert!(best.qop_auth && best.qop_auth_int);
    assert!(matches!(best.nonce, Cow::Borrowed(_)));

    let mut client = DigestClient::new(
        &best,
        username,
        ClientSecret::Password("pw"),
        QopPreference::default(),
    )
    .unwrap();
    let body = b"hello";
    let header = client.authorization("INVITE", URI, body, "cn0nce");
    let creds_header = HeaderName::from_bytes(kind.credentials_header().as_bytes());
    let wire = Credentials::parse(creds_header, header.as_bytes()).unwrap();
    let creds = DigestCredentials::from_wire(&wire).unwrap();
    assert_eq!(creds.username, username);
    let mut store = NonceCounts::default();
    let out = auth.verify(&creds, &ctx("INVITE", body, T0), Some(&user), &mut store);
    assert_eq!(
        out,
        Outcome::Ok {
            username,
            algorithm: Algorithm::Sha512_256,
            qop: Some(Qop::AuthInt)
        }
    );
    let out = auth.verify(&creds, &ctx("INVITE", body, T0), Some(&user), &mut store);
    assert_eq!(out, Outcome::Replay);
}

#[test]
fn plain_username_borrows() {
    round_trip("alice", ChallengeKind::Www);
}

#[test]
fn escaped_username_is_unescaped_before_hashing() {
    // Sent as "al\"i\\ce": the hash covers the unescaped name.
    round_trip("al\"i\\ce", ChallengeKind::Proxy);
}

#[test]
fn non_digest_and_malformed_headers() {
    let wire = Credentials::parse(HeaderName::Authorization, b"Basic realm=\"x\"").unwrap();
    assert!(DigestCredentials::from_wire(&wire).is_err());
    // Duplicates are refused already by the wire layer.
    assert!(Credentials::parse(
        HeaderName::Authorization,
        b"Digest username=\"a\", USERNAME=\"b\""
    )
    .is_err());
    let wire = Credentials::parse(HeaderName::Authorization, b"Digest username=\"a\"").unwrap();
    assert!(DigestCredentials::from_wire(&wire).is_err());
}
