//! Server verification: every algorithm and qop, nonce binding, replay, enumeration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::*;
use sipwarden_auth::{
    Algorithm, ChallengeKind, ClientSecret, Deferred, DigestChallenge, DigestClient, DigestConfig,
    DigestCredentials, FailReason, Ha1Set, NcVerdict, NonceCounts, NonceError, NonceKeys, Outcome,
    Qop, QopPreference, Timestamp,
};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
const BODY: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n";

fn alice() -> Ha1Set {
    Ha1Set::from_password(USER, REALM, PASSWORD)
}

/// A client answering the challenge value for `alg` from `values`.
fn client_for(
    values: &[String],
    alg: Algorithm,
    password: &str,
    pref: QopPreference,
) -> DigestClient {
    let value = values
        .iter()
        .find(|v| v.contains(&format!("algorithm={}", alg.token())))
        .unwrap();
    let (scheme, params) = parse_header(value);
    let ch = DigestChallenge::from_scheme_params(&scheme, pairs(&params)).unwrap();
    assert_eq!(ch.algorithm, alg);
    DigestClient::new(&ch, USER, ClientSecret::Password(password), pref).unwrap()
}

fn pref(qop: Qop) -> QopPreference {
    QopPreference {
        prefer_auth_int: qop == Qop::AuthInt,
        allow_no_qop: false,
    }
}

fn verify_header(
    auth: &sipwarden_auth::DigestAuth,
    header: &str,
    method: &str,
    body: &[u8],
    now: Timestamp,
    user: Option<&Ha1Set>,
    store: &mut NonceCounts,
) -> Outcome<'static> {
    let (scheme, params) = parse_header(header);
    let creds = DigestCredentials::from_scheme_params(&scheme, pairs(&params)).unwrap();
    match auth.verify(&creds, &ctx(method, body, now), user, store) {
        Outcome::Ok {
            algorithm,
            qop,
            username,
        } => {
            assert_eq!(username, USER);
            Outcome::Ok {
                username: USER,
                algorithm,
                qop,
            }
        }
        Outcome::Stale => Outcome::Stale,
        Outcome::Replay => Outcome::Replay,
        Outcome::Failed(r) => Outcome::Failed(r),
    }
}

#[test]
fn challenge_lists_configured_algorithms_in_order() {
    let auth = server(DigestConfig::default());
    let ch = auth.challenge(ChallengeKind::Www, &challenge_req(T0, 1, false));
    assert_eq!(ch.status(), 401);
    assert_eq!(ch.header_name(), "WWW-Authenticate");
    assert_eq!(ch.values.len(), 3);
    assert!(ch.values[0].contains("algorithm=SHA-256,"));
    assert!(ch.values[1].contains("algorithm=SHA-512-256"));
    assert!(ch.values[2].contains("algorithm=MD5"));
    for v in &ch.values {
        assert!(v.starts_with("Digest realm=\"example.com\""), "{v}");
        assert!(v.contains("qop=\"auth\""), "{v}");
        assert!(v.contains(&format!("nonce=\"{}\"", ch.nonce)), "{v}");
        assert!(!v.contains("stale"), "{v}");
        assert!(!v.contains("opaque"), "{v}");
    }
    let mut req = challenge_req(T0, 1, true);
    req.stale = true;
    let ch = auth.challenge(ChallengeKind::Proxy, &req);
    assert_eq!(ch.status(), 407);
    assert_eq!(ch.header_name(), "Proxy-Authenticate");
    for v in &ch.values {
        assert!(v.contains("qop=\"auth,auth-int\""), "{v}");
        assert!(v.ends_with(", stale=true"), "{v}");
    }
    let no_md5 = server(DigestConfig::default().without_md5());
    let values = challenge_values(&no_md5, T0, false);
    assert_eq!(values.len(), 2);
    assert!(values.iter().all(|v| !v.contains("MD5")));
}

#[test]
fn every_algorithm_and_qop_verifies() {
    let auth = server(DigestConfig::default());
    let user = alice();
    for alg in Algorithm::ALL {
        for qop in [Qop::Auth, Qop::AuthInt] {
            let mut store = NonceCounts::default();
            let values = challenge_values(&auth, T0, true);
            let mut client = client_for(&values, alg, PASSWORD, pref(qop));
            assert_eq!(client.qop(), Some(qop));
            let h = client.authorization("INVITE", URI, BODY, "c1");
            let out = verify_header(
                &auth,
                &h,
                "INVITE",
                BODY,
                T0.plus_secs(1),
                Some(&user),
                &mut store,
            );
            assert_eq!(
                out,
                Outcome::Ok {
                    username: USER,
                    algorithm: alg,
                    qop: Some(qop)
                },
                "{alg} {qop}"
            );
            // The next request on the same nonce, nc=2.
            let h = client.authorization("INVITE", URI, BODY, "c2");
            let out = verify_header(
                &auth,
                &h,
                "INVITE",
                BODY,
                T0.plus_secs(2),
                Some(&user),
                &mut store,
            );
            assert!(
                matches!(out, Outcome::Ok { .. }),
                "{alg} {qop} nc=2: {out:?}"
            );
        }
    }
}

#[test]
fn auth_int_detects_tampered_body_and_auth_does_not_cover_it() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let tampered: &[u8] = b"v=0\r\no=- 1 1 IN IP4 203.0.113.66\r\n";
    for alg in Algorithm::ALL {
        let mut store = NonceCounts::default();
        let values = challenge_values(&auth, T0, true);
        let mut client = client_for(&values, alg, PASSWORD, pref(Qop::AuthInt));
        let h = client.authorization("INVITE", URI, BODY, "c1");
        let out = verify_header(&auth, &h, "INVITE", tampered, T0, Some(&user), &mut store);
        assert_eq!(out, Outcome::Failed(FailReason::BadResponse), "{alg}");
        // A failed attempt does not consume the nonce count: the genuine request still passes.
        let out = verify_header(&auth, &h, "INVITE", BODY, T0, Some(&user), &mut store);
        assert!(
            matches!(
                out,
                Outcome::Ok {
                    qop: Some(Qop::AuthInt),
                    ..
                }
            ),
            "{alg}"
        );

        let mut client = client_for(&values, alg, PASSWORD, pref(Qop::Auth));
        let h = client.authorization("INVITE", URI, BODY, "c9");
        let mut store = NonceCounts::default();
        let out = verify_header(&auth, &h, "INVITE", tampered, T0, Some(&user), &mut store);
        assert!(
            matches!(
                out,
                Outcome::Ok {
                    qop: Some(Qop::Auth),
                    ..
                }
            ),
            "{alg}"
        );
    }
}

#[test]
fn method_is_covered() {
    let auth = server(DigestConfig::default());
    let mut store = NonceCounts::default();
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let out = verify_header(&auth, &h, "INVITE", b"", T0, Some(&alice()), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::BadResponse));
}

#[test]
fn expired_nonce_is_stale_only_with_right_password() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    let lifetime = auth.config().nonce_lifetime_secs;
    for alg in Algorithm::ALL {
        let mut client = client_for(&values, alg, PASSWORD, pref(Qop::Auth));
        let h = client.authorization("REGISTER", URI, b"", "c1");
        let mut store = NonceCounts::default();
        // Last valid second.
        let out = verify_header(
            &auth,
            &h,
            "REGISTER",
            b"",
            T0.plus_secs(lifetime),
            Some(&user),
            &mut store,
        );
        assert!(matches!(out, Outcome::Ok { .. }));
        let h = client.authorization("REGISTER", URI, b"", "c2");
        let late = T0.plus_secs(lifetime + 1);
        let out = verify_header(&auth, &h, "REGISTER", b"", late, Some(&user), &mut store);
        assert_eq!(out, Outcome::Stale, "{alg}");
        // The stale nonce with a wrong password: plain failure, no stale hint.
        let mut wrong = client_for(&values, alg, "guess", pref(Qop::Auth));
        let h = wrong.authorization("REGISTER", URI, b"", "c3");
        let out = verify_header(&auth, &h, "REGISTER", b"", late, Some(&user), &mut store);
        assert_eq!(out, Outcome::Failed(FailReason::BadResponse), "{alg}");
    }
}

#[test]
fn nonce_bound_to_source_address() {
    let auth = server(DigestConfig::default());
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let (scheme, params) = parse_header(&h);
    let creds = DigestCredentials::from_scheme_params(&scheme, pairs(&params)).unwrap();
    let mut store = NonceCounts::default();
    let user = alice();

    let mut req = ctx("REGISTER", b"", T0);
    req.source = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    let out = auth.verify(&creds, &req, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::Nonce(NonceError::BadMac)));
    assert!(store.is_empty());

    // The same IPv4 peer seen through a dual-stack socket is the same source.
    req.source = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped());
    assert!(matches!(
        auth.verify(&creds, &req, Some(&user), &mut store),
        Outcome::Ok { .. }
    ));
    req.source = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let out = auth.verify(&creds, &req, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::Nonce(NonceError::BadMac)));
}

#[test]
fn tampered_or_foreign_nonce_refused() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    let (_, params) = parse_header(&values[0]);
    let nonce = params.iter().find(|(n, _)| n == "nonce").unwrap().1.clone();
    assert_eq!(nonce.len(), 43);
    // Every single-character change is caught, whether it hits time, salt or tag.
    for i in 0..nonce.len() {
        let mut bytes = nonce.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(bytes).unwrap();
        let res = auth.keys().check(&forged, REALM, src(), T0, 300, 30);
        assert!(
            matches!(res, Err(NonceError::BadMac | NonceError::Malformed)),
            "position {i}: {res:?}"
        );
    }
    // A client that computes a correct response over a forged nonce still fails.
    let forged_challenge = values[0].replace(&nonce, &format!("{}A", &nonce[..42]));
    let mut client = client_for(
        &[forged_challenge],
        Algorithm::Sha256,
        PASSWORD,
        pref(Qop::Auth),
    );
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let mut store = NonceCounts::default();
    let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert!(
        matches!(out, Outcome::Failed(FailReason::Nonce(_))),
        "{out:?}"
    );

    // A nonce from a server with another key.
    let other = sipwarden_auth::DigestAuth::new(
        DigestConfig::default(),
        NonceKeys::new(&OTHER_KEY).unwrap(),
    )
    .unwrap();
    let values = challenge_values(&other, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::Nonce(NonceError::BadMac)));

    // Garbage and a nonce for another realm.
    assert_eq!(
        auth.keys().check("", REALM, src(), T0, 300, 30),
        Err(NonceError::Malformed)
    );
    assert_eq!(
        auth.keys().check("!!!", REALM, src(), T0, 300, 30),
        Err(NonceError::Malformed)
    );
    assert_eq!(
        auth.keys()
            .check(&nonce, "other.example", src(), T0, 300, 30),
        Err(NonceError::BadMac)
    );
}

#[test]
fn nonce_from_the_future_refused() {
    let auth = server(DigestConfig::default());
    let nonce = auth.issue_nonce(REALM, src(), T0.plus_secs(31), [0; 8]);
    assert_eq!(
        auth.keys().check(&nonce, REALM, src(), T0, 300, 30),
        Err(NonceError::FromFuture)
    );
    let nonce = auth.issue_nonce(REALM, src(), T0.plus_secs(30), [0; 8]);
    assert!(auth.keys().check(&nonce, REALM, src(), T0, 300, 30).is_ok());
}

#[test]
fn replay_of_same_nc_refused() {
    let auth = server(DigestConfig::default());
    let user = alice();
    for alg in Algorithm::ALL {
        let mut store = NonceCounts::default();
        let values = challenge_values(&auth, T0, false);
        let mut client = client_for(&values, alg, PASSWORD, pref(Qop::Auth));
        let captured = client.authorization("REGISTER", URI, b"", "c1");
        let out = verify_header(
            &auth,
            &captured,
            "REGISTER",
            b"",
            T0,
            Some(&user),
            &mut store,
        );
        assert!(matches!(out, Outcome::Ok { .. }));
        let out = verify_header(
            &auth,
            &captured,
            "REGISTER",
            b"",
            T0.plus_secs(5),
            Some(&user),
            &mut store,
        );
        assert_eq!(out, Outcome::Replay, "{alg}");
    }
}

#[test]
fn out_of_order_nc_accepted_once_each() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let mut store = NonceCounts::default();
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let headers: Vec<String> = (0..5)
        .map(|i| client.authorization("REGISTER", URI, b"", &format!("c{i}")))
        .collect();
    // nc=1 first (an unknown nonce is only accepted at nc=1), then 5, 3, 2, 4.
    for i in [0, 4, 2, 1, 3] {
        let out = verify_header(
            &auth,
            &headers[i],
            "REGISTER",
            b"",
            T0,
            Some(&user),
            &mut store,
        );
        assert!(matches!(out, Outcome::Ok { .. }), "nc={}: {out:?}", i + 1);
    }
    for (i, h) in headers.iter().enumerate() {
        let out = verify_header(&auth, h, "REGISTER", b"", T0, Some(&user), &mut store);
        assert_eq!(out, Outcome::Replay, "nc={}", i + 1);
    }
}

#[test]
fn unknown_nonce_with_nc_above_one_is_stale() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let _first = client.authorization("REGISTER", URI, b"", "c1");
    let second = client.authorization("REGISTER", URI, b"", "c2");
    // A store that never saw (or already evicted) this nonce.
    let mut store = NonceCounts::default();
    let out = verify_header(&auth, &second, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(out, Outcome::Stale);
}

#[test]
fn wrong_realm_and_wrong_uri_refused() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let (scheme, params) = parse_header(&h);
    let creds = DigestCredentials::from_scheme_params(&scheme, pairs(&params)).unwrap();
    let mut store = NonceCounts::default();

    let mut req = ctx("REGISTER", b"", T0);
    req.realm = "other.example";
    assert_eq!(
        auth.verify(&creds, &req, Some(&user), &mut store),
        Outcome::Failed(FailReason::WrongRealm)
    );
    let mut req = ctx("REGISTER", b"", T0);
    req.request_uri = "sip:other.example";
    assert_eq!(
        auth.verify(&creds, &req, Some(&user), &mut store),
        Outcome::Failed(FailReason::UriMismatch)
    );
    // A client that signed another uri than the Request-URI.
    let h = client.authorization("REGISTER", "sip:elsewhere.example", b"", "c2");
    let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::UriMismatch));
    // Realm rewritten in the credentials.
    let forged = with_param(&params, "realm", Some("other.example"));
    let creds = DigestCredentials::from_params(pairs(&forged)).unwrap();
    assert_eq!(
        auth.verify(&creds, &ctx("REGISTER", b"", T0), Some(&user), &mut store),
        Outcome::Failed(FailReason::WrongRealm)
    );
    assert!(store.is_empty());
}

#[test]
fn unknown_user_is_indistinguishable_from_wrong_password() {
    let auth = server(DigestConfig::default());
    let user = alice();
    for alg in Algorithm::ALL {
        for qop in [Qop::Auth, Qop::AuthInt] {
            let values = challenge_values(&auth, T0, true);
            let mut store = NonceCounts::default();
            let mut wrong = client_for(&values, alg, "not the password", pref(qop));
            let h = wrong.authorization("INVITE", URI, BODY, "c1");
            let wrong_password =
                verify_header(&auth, &h, "INVITE", BODY, T0, Some(&user), &mut store);
            let unknown_user = verify_header(&auth, &h, "INVITE", BODY, T0, None, &mut store);
            // Even the right password of another account changes nothing.
            let mut right = client_for(&values, alg, PASSWORD, pref(qop));
            let h = right.authorization("INVITE", URI, BODY, "c1");
            let unknown_right_pw = verify_header(&auth, &h, "INVITE", BODY, T0, None, &mut store);
            // An expired nonce: stale is never hinted for an unknown user.
            let late = T0.plus_secs(10_000);
            let unknown_late = verify_header(&auth, &h, "INVITE", BODY, late, None, &mut store);
            let h = wrong.authorization("INVITE", URI, BODY, "c2");
            let wrong_late =
                verify_header(&auth, &h, "INVITE", BODY, late, Some(&user), &mut store);

            let expected = Outcome::Failed(FailReason::BadResponse);
            assert_eq!(wrong_password, expected);
            assert_eq!(unknown_user, expected);
            assert_eq!(unknown_right_pw, expected);
            assert_eq!(unknown_late, expected);
            assert_eq!(wrong_late, expected);
            assert!(store.is_empty());
        }
    }
    // A known user without an HA1 for the algorithm fails the same way.
    let md5_only = Ha1Set::new().with(*alice().get(Algorithm::Md5).unwrap());
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let mut store = NonceCounts::default();
    let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&md5_only), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::BadResponse));
}

#[test]
fn md5_off_refuses_md5_credentials() {
    let with_md5 = server(DigestConfig::default());
    let without = server(DigestConfig::default().without_md5());
    let user = alice();
    let values = challenge_values(&with_md5, T0, false);
    let mut client = client_for(&values, Algorithm::Md5, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let mut store = NonceCounts::default();
    let out = verify_header(&without, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::AlgorithmNotAllowed));
    // Credentials without an algorithm parameter mean MD5, refused too.
    let (_, params) = parse_header(&h);
    let stripped = with_param(&params, "algorithm", None);
    let creds = DigestCredentials::from_params(pairs(&stripped)).unwrap();
    assert_eq!(creds.algorithm, Algorithm::Md5);
    assert_eq!(
        without.verify(&creds, &ctx("REGISTER", b"", T0), Some(&user), &mut store),
        Outcome::Failed(FailReason::AlgorithmNotAllowed)
    );
    // The same credentials pass where MD5 is on.
    assert!(matches!(
        with_md5.verify(&creds, &ctx("REGISTER", b"", T0), Some(&user), &mut store),
        Outcome::Ok {
            algorithm: Algorithm::Md5,
            ..
        }
    ));
}

#[test]
fn rfc2069_refused_by_default_allowed_when_configured() {
    let strict = server(DigestConfig::default());
    let lax = server(DigestConfig {
        allow_no_qop: true,
        ..DigestConfig::default()
    });
    let user = alice();
    let values = challenge_values(&strict, T0, false);
    let stripped: Vec<String> = values
        .iter()
        .map(|v| v.replace(", qop=\"auth\"", ""))
        .collect();
    let value = stripped.iter().find(|v| v.contains("SHA-256")).unwrap();
    let (scheme, params) = parse_header(value);
    let ch = DigestChallenge::from_scheme_params(&scheme, pairs(&params)).unwrap();
    assert_eq!(
        DigestClient::new(
            &ch,
            USER,
            ClientSecret::Password(PASSWORD),
            QopPreference::default()
        )
        .unwrap_err(),
        sipwarden_auth::ClientError::NoQop
    );
    let mut client = DigestClient::new(
        &ch,
        USER,
        ClientSecret::Password(PASSWORD),
        QopPreference {
            prefer_auth_int: true,
            allow_no_qop: true,
        },
    )
    .unwrap();
    let h = client.authorization("REGISTER", URI, b"", "unused");
    assert!(!h.contains("nc="));
    let mut store = NonceCounts::default();
    let out = verify_header(&strict, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::QopRequired));
    let out = verify_header(&lax, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(
        out,
        Outcome::Ok {
            username: USER,
            algorithm: Algorithm::Sha256,
            qop: None
        }
    );
}

#[test]
fn opaque_must_come_back() {
    let auth = server(DigestConfig {
        opaque: Some("op4que".into()),
        ..DigestConfig::default()
    });
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    assert!(values.iter().all(|v| v.contains("opaque=\"op4que\"")));
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let (_, params) = parse_header(&h);
    let mut store = NonceCounts::default();
    for bad in [None, Some("other")] {
        let p = with_param(&params, "opaque", bad);
        let creds = DigestCredentials::from_params(pairs(&p)).unwrap();
        assert_eq!(
            auth.verify(&creds, &ctx("REGISTER", b"", T0), Some(&user), &mut store),
            Outcome::Failed(FailReason::OpaqueMismatch)
        );
    }
    let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert!(matches!(out, Outcome::Ok { .. }));
}

#[test]
fn key_rotation_accepts_previous_key_only() {
    let mut auth = server(DigestConfig::default());
    let user = alice();
    let old_values = challenge_values(&auth, T0, false);
    auth.rotate_key(&OTHER_KEY).unwrap();
    let new_values = challenge_values(&auth, T0, false);
    let mut store = NonceCounts::default();
    for values in [&old_values, &new_values] {
        let mut client = client_for(values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
        let h = client.authorization("REGISTER", URI, b"", "c1");
        let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&user), &mut store);
        assert!(matches!(out, Outcome::Ok { .. }), "{out:?}");
    }
    auth.rotate_key(&[3; 32]).unwrap();
    let mut client = client_for(&old_values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    client.authorization("REGISTER", URI, b"", "c1");
    let h = client.authorization("REGISTER", URI, b"", "c2");
    let out = verify_header(&auth, &h, "REGISTER", b"", T0, Some(&user), &mut store);
    assert_eq!(out, Outcome::Failed(FailReason::Nonce(NonceError::BadMac)));
    assert!(auth.rotate_key(&[1; 16]).is_err());
}

#[test]
fn deferred_verification_for_async_stores() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    let mut client = client_for(&values, Algorithm::Sha512_256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let (scheme, params) = parse_header(&h);
    let creds = DigestCredentials::from_scheme_params(&scheme, pairs(&params)).unwrap();
    let Deferred::NeedsNonceCount(claim) =
        auth.verify_deferred(&creds, &ctx("REGISTER", b"", T0), Some(&user))
    else {
        panic!("expected a nonce-count claim");
    };
    assert_eq!(claim.nc, 1);
    assert_eq!(claim.nonce.expires, T0.plus_secs(300));
    assert_eq!(claim.nonce.issued, T0);
    assert!(matches!(
        claim.resolve(NcVerdict::Fresh),
        Outcome::Ok { .. }
    ));
    assert_eq!(claim.resolve(NcVerdict::Replay), Outcome::Replay);
    assert_eq!(claim.resolve(NcVerdict::Unknown), Outcome::Stale);
    // A wrong password never reaches the store.
    let mut wrong = client_for(&values, Algorithm::Sha512_256, "x", pref(Qop::Auth));
    let h = wrong.authorization("REGISTER", URI, b"", "c1");
    let (_, params) = parse_header(&h);
    let creds = DigestCredentials::from_params(pairs(&params)).unwrap();
    assert_eq!(
        auth.verify_deferred(&creds, &ctx("REGISTER", b"", T0), Some(&user)),
        Deferred::Done(Outcome::Failed(FailReason::BadResponse))
    );
}

#[test]
fn authentication_info_rspauth() {
    let auth = server(DigestConfig::default());
    let user = alice();
    let values = challenge_values(&auth, T0, true);
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let (_, params) = parse_header(&h);
    let creds = DigestCredentials::from_params(pairs(&params)).unwrap();
    let next = auth.issue_nonce(REALM, src(), T0, [5; 8]);
    let info = auth
        .authentication_info(&creds, &user, b"", Some(&next))
        .unwrap();
    let (_, p) = parse_header(&format!("X {info}"));
    let get = |n: &str| p.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(get("nextnonce"), next);
    assert_eq!(get("qop"), "auth");
    assert_eq!(get("nc"), "00000001");
    assert_eq!(get("cnonce"), "c1");
    // rspauth = KD(HA1, nonce:nc:cnonce:qop:H(":" uri)) — the response with an empty method.
    let expected = sipwarden_auth::compute_response(&sipwarden_auth::ResponseInput {
        algorithm: Algorithm::Sha256,
        ha1: user.get(Algorithm::Sha256).unwrap().as_hex(),
        nonce: &creds.nonce,
        nc: "00000001",
        cnonce: "c1",
        qop: Some(Qop::Auth),
        method: "",
        uri: URI,
        body: b"",
    });
    assert_eq!(get("rspauth"), expected.as_str());
    assert_ne!(get("rspauth"), creds.response);
    assert!(auth
        .authentication_info(&creds, &Ha1Set::new(), b"", None)
        .is_none());
}

#[test]
fn config_validation() {
    let keys = || NonceKeys::new(&KEY).unwrap();
    let bad = [
        DigestConfig {
            algorithms: vec![],
            ..DigestConfig::default()
        },
        DigestConfig {
            algorithms: vec![Algorithm::Sha256, Algorithm::Sha256],
            ..DigestConfig::default()
        },
        DigestConfig {
            nonce_lifetime_secs: 0,
            ..DigestConfig::default()
        },
        DigestConfig {
            opaque: Some("a\"b".into()),
            ..DigestConfig::default()
        },
        DigestConfig {
            opaque: Some("a\r\nb".into()),
            ..DigestConfig::default()
        },
        DigestConfig {
            opaque: Some(String::new()),
            ..DigestConfig::default()
        },
    ];
    for c in bad {
        assert!(sipwarden_auth::DigestAuth::new(c, keys()).is_err());
    }
    assert!(NonceKeys::new(&[0; 31]).is_err());
    // Keys never show up in debug output.
    let dbg = format!("{:?}", server(DigestConfig::default()));
    assert!(dbg.contains("redacted"));
    assert!(!format!("{:?}", alice()).contains(alice().get(Algorithm::Md5).unwrap().as_hex()));
}

#[test]
fn userhash_offered_and_verified() {
    let auth = server(DigestConfig {
        offer_userhash: true,
        ..DigestConfig::default()
    });
    let user = alice();
    let values = challenge_values(&auth, T0, false);
    assert!(values.iter().all(|v| v.contains("userhash=true")));
    let mut client = client_for(&values, Algorithm::Sha256, PASSWORD, pref(Qop::Auth));
    let h = client.authorization("REGISTER", URI, b"", "c1");
    let (scheme, params) = parse_header(&h);
    let creds = DigestCredentials::from_scheme_params(&scheme, pairs(&params)).unwrap();
    assert!(creds.userhash);
    let hashed = sipwarden_auth::userhash(Algorithm::Sha256, USER, REALM);
    assert_eq!(creds.username, hashed.as_str());
    let mut store = NonceCounts::default();
    let out = auth.verify(&creds, &ctx("REGISTER", b"", T0), Some(&user), &mut store);
    assert!(matches!(out, Outcome::Ok { username, .. } if username == hashed.as_str()));
}

#[test]
fn strongest_challenge_chosen() {
    let auth = server(DigestConfig::default());
    let mut values = challenge_values(&auth, T0, false);
    values.reverse();
    let parsed: Vec<_> = values.iter().map(|v| parse_header(v)).collect();
    let challenges = parsed
        .iter()
        .map(|(s, p)| DigestChallenge::from_scheme_params(s, pairs(p)).unwrap());
    let best = DigestChallenge::strongest(challenges).unwrap();
    assert_eq!(best.algorithm, Algorithm::Sha512_256);
}
