//! Published test vectors: RFC 7616 §3.9.1 and §3.9.2, RFC 2617 §3.5.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{pairs, parse_header};
use sipwarden_auth::{
    compute_response, userhash, Algorithm, ClientSecret, DigestChallenge, DigestClient,
    DigestCredentials, Ha1, Ha1Set, Qop, QopPreference, ResponseInput,
};

const R7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const R7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const R7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const R7616_REALM: &str = "http-auth@example.org";

fn rfc7616(algorithm: Algorithm) -> String {
    let ha1 = Ha1::from_password(algorithm, "Mufasa", R7616_REALM, "Circle of Life");
    compute_response(&ResponseInput {
        algorithm,
        ha1: ha1.as_hex(),
        nonce: R7616_NONCE,
        nc: "00000001",
        cnonce: R7616_CNONCE,
        qop: Some(Qop::Auth),
        method: "GET",
        uri: "/dir/index.html",
        body: b"",
    })
    .as_str()
    .to_owned()
}

#[test]
fn rfc7616_md5_response() {
    assert_eq!(rfc7616(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
}

#[test]
fn rfc7616_sha256_response() {
    assert_eq!(
        rfc7616(Algorithm::Sha256),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

/// The client produces the RFC's Authorization for the RFC's challenge, and the result
/// parses back into credentials.
#[test]
fn rfc7616_client_answers_challenge() {
    for (alg, expected) in [
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ] {
        let challenge = format!(
            "Digest realm=\"{R7616_REALM}\", qop=\"auth, auth-int\", algorithm={alg}, \
             nonce=\"{R7616_NONCE}\", opaque=\"{R7616_OPAQUE}\""
        );
        let (scheme, params) = parse_header(&challenge);
        let ch = DigestChallenge::from_scheme_params(&scheme, pairs(&params)).unwrap();
        let pref = QopPreference {
            prefer_auth_int: false,
            allow_no_qop: false,
        };
        let mut client = DigestClient::new(
            &ch,
            "Mufasa",
            ClientSecret::Password("Circle of Life"),
            pref,
        )
        .unwrap();
        let auth = client.authorization("GET", "/dir/index.html", b"", R7616_CNONCE);
        let (scheme, params) = parse_header(&auth);
        let creds = DigestCredentials::from_scheme_params(&scheme, pairs(&params)).unwrap();
        assert_eq!(creds.response, expected);
        assert_eq!(creds.opaque.as_deref(), Some(R7616_OPAQUE));
        assert_eq!(creds.nc.unwrap().as_str(), "00000001");
        assert_eq!(creds.qop, Some(Qop::Auth));
        assert_eq!(creds.username, "Mufasa");
    }
}

/// RFC 7616 §3.9.2: SHA-512-256 with a hashed username.
#[test]
fn rfc7616_sha512_256_userhash() {
    let username = "J\u{e4}s\u{f8}n Doe";
    let realm = "api@example.org";
    let uh = userhash(Algorithm::Sha512_256, username, realm);
    assert_eq!(
        uh.as_str(),
        "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"
    );
    let ha1 = Ha1::from_password(Algorithm::Sha512_256, username, realm, "Secret, or not?");
    let response = compute_response(&ResponseInput {
        algorithm: Algorithm::Sha512_256,
        ha1: ha1.as_hex(),
        nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
        nc: "00000001",
        cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
        qop: Some(Qop::Auth),
        method: "GET",
        uri: "/doe.json",
        body: b"",
    });
    assert_eq!(
        response.as_str(),
        "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"
    );
}

/// RFC 2617 §3.5 (MD5, qop=auth), including the HA1.
#[test]
fn rfc2617_example() {
    let set = Ha1Set::from_password("Mufasa", "testrealm@host.com", "Circle Of Life");
    let ha1 = set.get(Algorithm::Md5).unwrap();
    assert_eq!(ha1.as_hex(), "939e7578ed9e3c518a452acee763bce9");
    let response = compute_response(&ResponseInput {
        algorithm: Algorithm::Md5,
        ha1: ha1.as_hex(),
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        nc: "00000001",
        cnonce: "0a4f113b",
        qop: Some(Qop::Auth),
        method: "GET",
        uri: "/dir/index.html",
        body: b"",
    });
    assert_eq!(response.as_str(), "6629fae49393a05397450978507c4ef1");
}

/// The client accepts an HA1 set in place of the password and gets the same answer.
#[test]
fn client_with_ha1_matches_password() {
    let params = [
        ("realm", "testrealm@host.com"),
        ("qop", "auth"),
        ("nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093"),
        ("opaque", "5ccc069c403ebaf9f0171e9517f40e41"),
    ];
    let ch = DigestChallenge::from_params(params).unwrap();
    assert_eq!(ch.algorithm, Algorithm::Md5);
    let set = Ha1Set::from_password("Mufasa", "testrealm@host.com", "Circle Of Life");
    let mut client = DigestClient::new(
        &ch,
        "Mufasa",
        ClientSecret::Ha1(&set),
        QopPreference::default(),
    )
    .unwrap();
    let auth = client.authorization("GET", "/dir/index.html", b"", "0a4f113b");
    assert!(
        auth.contains("response=\"6629fae49393a05397450978507c4ef1\""),
        "{auth}"
    );
}
