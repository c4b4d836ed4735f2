//! Parsing credentials and challenges from parameter pairs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sipwarden_auth::{
    Algorithm, ChallengeError, CredentialsError, DigestChallenge, DigestCredentials, Qop,
};

const MD5_RESP: &str = "6629fae49393a05397450978507c4ef1";
const SHA_RESP: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("username", "Mufasa"),
        ("realm", "testrealm@host.com"),
        ("nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093"),
        ("uri", "/dir/index.html"),
        ("qop", "auth"),
        ("nc", "00000001"),
        ("cnonce", "0a4f113b"),
        ("response", MD5_RESP),
        ("opaque", "5ccc069c403ebaf9f0171e9517f40e41"),
    ]
}

fn without(name: &str) -> Vec<(&'static str, &'static str)> {
    base().into_iter().filter(|(n, _)| *n != name).collect()
}

fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut v = without(name);
    v.push((name, value));
    v
}

#[test]
fn parses_rfc2617_credentials() {
    let c = DigestCredentials::from_scheme_params("digest", base()).unwrap();
    assert_eq!(c.username, "Mufasa");
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.qop, Some(Qop::Auth));
    assert_eq!(c.nc.unwrap().value(), 1);
    assert_eq!(c.cnonce.as_deref(), Some("0a4f113b"));
    assert!(!c.userhash);
}

#[test]
fn names_are_case_insensitive_and_unknown_ignored() {
    let mut p: Vec<_> = base()
        .into_iter()
        .map(|(n, v)| (if n == "uri" { "URI" } else { n }, v))
        .collect();
    p.push(("future-param", "x"));
    p.push(("algorithm", "sha-512-256"));
    let p: Vec<_> = p
        .into_iter()
        .map(|(n, v)| (n, if n == "response" { SHA_RESP } else { v }))
        .collect();
    let c = DigestCredentials::from_params(p).unwrap();
    assert_eq!(c.uri, "/dir/index.html");
    assert_eq!(c.algorithm, Algorithm::Sha512_256);
}

#[test]
fn wrong_scheme() {
    assert_eq!(
        DigestCredentials::from_scheme_params("Basic", base()),
        Err(CredentialsError::NotDigest)
    );
}

#[test]
fn duplicates_refused() {
    for name in [
        "username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce", "opaque",
    ] {
        let mut p = base();
        let dup = p.iter().find(|(n, _)| *n == name).copied().unwrap();
        p.push(dup);
        assert_eq!(
            DigestCredentials::from_params(p),
            Err(CredentialsError::Duplicate(name)),
            "{name}"
        );
    }
    let mut p = base();
    p.push(("Realm", "evil"));
    assert_eq!(
        DigestCredentials::from_params(p),
        Err(CredentialsError::Duplicate("realm"))
    );
}

#[test]
fn missing_refused() {
    for name in [
        "username", "realm", "nonce", "uri", "response", "nc", "cnonce",
    ] {
        assert_eq!(
            DigestCredentials::from_params(without(name)),
            Err(CredentialsError::Missing(name)),
            "{name}"
        );
    }
    // cnonce/nc without qop are refused, not silently ignored.
    assert_eq!(
        DigestCredentials::from_params(without("qop")),
        Err(CredentialsError::Missing("qop"))
    );
    let p: Vec<_> = base()
        .into_iter()
        .filter(|(n, _)| !["qop", "nc", "cnonce"].contains(n))
        .collect();
    let c = DigestCredentials::from_params(p).unwrap();
    assert_eq!(c.qop, None);
    assert_eq!(c.nc, None);
}

#[test]
fn invalid_values_refused() {
    let cases: [(&str, &str, CredentialsError); 12] = [
        ("nc", "1", CredentialsError::Invalid("nc")),
        ("nc", "000000001", CredentialsError::Invalid("nc")),
        ("nc", "0000000g", CredentialsError::Invalid("nc")),
        ("nc", "00000000", CredentialsError::Invalid("nc")),
        (
            "response",
            "6629fae49393a05397450978507c4ef",
            CredentialsError::Invalid("response"),
        ),
        (
            "response",
            "6629fae49393a05397450978507c4efz",
            CredentialsError::Invalid("response"),
        ),
        ("username", "", CredentialsError::Invalid("username")),
        ("cnonce", "", CredentialsError::Invalid("cnonce")),
        (
            "algorithm",
            "MD5-sess",
            CredentialsError::UnsupportedAlgorithm,
        ),
        ("algorithm", "SHA-1", CredentialsError::UnsupportedAlgorithm),
        ("qop", "auth,auth-int", CredentialsError::UnsupportedQop),
        ("userhash", "yes", CredentialsError::Invalid("userhash")),
    ];
    for (name, value, err) in cases {
        assert_eq!(
            DigestCredentials::from_params(with(name, value)),
            Err(err),
            "{name}={value}"
        );
    }
    // A SHA-256 algorithm with an MD5-length response.
    assert_eq!(
        DigestCredentials::from_params(with("algorithm", "SHA-256")),
        Err(CredentialsError::Invalid("response"))
    );
    let mut p = base();
    p.push(("username*", "UTF-8''J%C3%A4s%C3%B8n"));
    assert_eq!(
        DigestCredentials::from_params(p),
        Err(CredentialsError::Unsupported("username*"))
    );
    // Uppercase hex is accepted as sent.
    let c = DigestCredentials::from_params(with("nc", "0000000A")).unwrap();
    assert_eq!(c.nc.unwrap().value(), 10);
    assert_eq!(c.nc.unwrap().as_str(), "0000000A");
}

#[test]
fn challenge_parsing() {
    let p = [
        ("realm", "r"),
        ("nonce", "n"),
        ("qop", "auth-int, auth, x-future"),
        ("algorithm", "SHA-256"),
        ("stale", "TRUE"),
        ("domain", "sip:example.com"),
    ];
    let c = DigestChallenge::from_scheme_params("Digest", p).unwrap();
    assert!(c.qop_auth && c.qop_auth_int && c.stale && !c.userhash);
    assert_eq!(c.algorithm, Algorithm::Sha256);

    let c =
        DigestChallenge::from_params([("realm", "r"), ("nonce", "n"), ("stale", "maybe")]).unwrap();
    assert!(!c.stale && !c.qop_auth && !c.qop_auth_int);
    assert_eq!(c.algorithm, Algorithm::Md5);

    assert_eq!(
        DigestChallenge::from_scheme_params("Basic", [("realm", "r")]),
        Err(ChallengeError::NotDigest)
    );
    assert_eq!(
        DigestChallenge::from_params([("realm", "r")]),
        Err(ChallengeError::Missing("nonce"))
    );
    assert_eq!(
        DigestChallenge::from_params([("nonce", "n"), ("realm", "r"), ("NONCE", "m")]),
        Err(ChallengeError::Duplicate("nonce"))
    );
    assert_eq!(
        DigestChallenge::from_params([("realm", "r"), ("nonce", "n"), ("qop", "x")]),
        Err(ChallengeError::Invalid("qop"))
    );
    assert_eq!(
        DigestChallenge::from_params([
            ("realm", "r"),
            ("nonce", "n"),
            ("algorithm", "SHA-256-sess")
        ]),
        Err(ChallengeError::UnsupportedAlgorithm)
    );
}
