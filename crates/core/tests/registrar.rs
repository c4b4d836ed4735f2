#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The registrar end to end in memory: Digest for every algorithm and qop, replay, stale
//! nonces, enumeration resistance, the REGISTER-spoofing defences, expiry, `*` removal and
//! persistence across a restart.

use std::net::SocketAddr;
use std::sync::Arc;

use sipwarden_auth::{
    Algorithm, ClientSecret, DigestAuth, DigestChallenge, DigestClient, DigestConfig, Ha1,
    NonceKeys, QopPreference,
};
use sipwarden_core::{Domains, RegistrarConfig, RegistrarService, ServiceEnv};
use sipwarden_store::{Ha1Hashes, LocationStore, SqliteStore, UserRecord, UserStore};
use sipwarden_wire::build::RequestBuilder;
use sipwarden_wire::Message;

const DOMAIN: &str = "example.com";
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
const T0: u64 = 1_800_000_000;

fn ha1s(user: &str, password: &str) -> Ha1Hashes {
    let h = |alg| {
        Some(
            Ha1::from_password(alg, user, DOMAIN, password)
                .as_hex()
                .to_owned(),
        )
    };
    Ha1Hashes {
        md5: h(Algorithm::Md5),
        sha256: h(Algorithm::Sha256),
        sha512_256: h(Algorithm::Sha512_256),
    }
}

struct Fx {
    svc: RegistrarService,
    store: Arc<SqliteStore>,
    now: u64,
    salt: u64,
}

fn service(
    store: Arc<SqliteStore>,
    cfg: RegistrarConfig,
    digest: DigestConfig,
) -> RegistrarService {
    RegistrarService::new(
        cfg,
        Domains::new(DOMAIN, &[], &["127.0.0.1".to_string()]),
        DigestAuth::new(digest, NonceKeys::new(KEY).unwrap()).unwrap(),
        store.clone(),
        store,
    )
}

fn fixture_with(cfg: RegistrarConfig, digest: DigestConfig) -> Fx {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    for (u, p) in [("alice", "Alice-Pw-7781"), ("bob", "Bob-Pw-5512")] {
        store
            .add_user(&UserRecord {
                domain: DOMAIN.into(),
                username: u.into(),
                ha1: ha1s(u, p),
            })
            .unwrap();
    }
    Fx {
        svc: service(store.clone(), cfg, digest),
        store,
        now: T0,
        salt: 1,
    }
}

fn fixture() -> Fx {
    fixture_with(RegistrarConfig::default(), DigestConfig::default())
}

fn src(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[derive(Clone)]
struct Reg {
    aor_user: String,
    from_user: String,
    contact: String,
    expires: Option<u32>,
    call_id: String,
    cseq: u32,
    body: Option<&'static str>,
    extra: Vec<(String, String)>,
}

fn reg(user: &str) -> Reg {
    Reg {
        aor_user: user.into(),
        from_user: user.into(),
        contact: "<sip:u@127.0.0.1:5070>".into(),
        expires: Some(600),
        call_id: format!("cid-{user}@127.0.0.1"),
        cseq: 1,
        body: None,
        extra: Vec::new(),
    }
}

fn build(r: &Reg, auth: Option<&str>) -> Message {
    let mut b = RequestBuilder::new("REGISTER", &format!("sip:{DOMAIN}"))
        .via(
            "UDP",
            "127.0.0.1:5070",
            &format!("z9hG4bK-{}-{}", r.call_id.len(), r.cseq),
        )
        .from(&format!("<sip:{}@{DOMAIN}>", r.from_user), "ftag")
        .to(&format!("<sip:{}@{DOMAIN}>", r.aor_user))
        .call_id(&r.call_id)
        .cseq(r.cseq);
    if !r.contact.is_empty() {
        b = b.header("Contact", &r.contact);
    }
    if let Some(e) = r.expires {
        b = b.header("Expires", e.to_string());
    }
    for (n, v) in &r.extra {
        b = b.header(n, v);
    }
    if let Some(a) = auth {
        b = b.header("Authorization", a);
    }
    if let Some(body) = r.body {
        b = b.body("text/plain", body.as_bytes().to_vec());
    }
    Message::parse(b.build().unwrap()).unwrap()
}

impl Fx {
    fn send(&mut self, msg: &Message, from: &str) -> Message {
        self.salt += 1;
        let env = ServiceEnv {
            source: src(from),
            transport: "udp",
            flow: None,
            now: self.now,
            salt: self.salt.to_be_bytes(),
            to_tag: "totag",
        };
        let reply = self.svc.handle_register(msg, &env).unwrap();
        let resp = Message::parse(reply.response).unwrap();
        assert_eq!(resp.status_code(), Some(reply.code));
        resp
    }

    /// Sends, answers the challenge with `password` using `alg`, returns (client, final).
    fn register_as(
        &mut self,
        r: &Reg,
        user: &str,
        password: &str,
        alg: Algorithm,
        from: &str,
    ) -> (DigestClient, Message, Message) {
        let first = self.send(&build(r, None), from);
        assert_eq!(first.status_code(), Some(401));
        let mut client = client_for(&first, alg, user, password);
        let mut second = r.clone();
        second.cseq += 1;
        let body = second.body.unwrap_or("").as_bytes();
        let auth = client.authorization("REGISTER", &format!("sip:{DOMAIN}"), body, "cn0nce");
        let msg = build(&second, Some(&auth));
        let resp = self.send(&msg, from);
        (client, msg, resp)
    }
}

fn client_for(challenge: &Message, alg: Algorithm, user: &str, password: &str) -> DigestClient {
    let wire: Vec<_> = challenge.www_authenticates().map(|c| c.unwrap()).collect();
    let chosen = wire
        .iter()
        .map(|c| DigestChallenge::from_wire(c).unwrap())
        .find(|c| c.algorithm == alg)
        .unwrap_or_else(|| panic!("{alg:?} not offered"));
    DigestClient::new(
        &chosen,
        user,
        ClientSecret::Password(password),
        QopPreference::default(),
    )
    .unwrap()
}

#[test]
fn challenge_offers_sha256_then_sha512_256_then_md5_with_qop_auth() {
    let mut fx = fixture();
    let resp = fx.send(&build(&reg("alice"), None), "127.0.0.1:5070");
    assert_eq!(resp.status_code(), Some(401));
    let algs: Vec<_> = resp
        .www_authenticates()
        .map(|c| DigestChallenge::from_wire(&c.unwrap()).unwrap().algorithm)
        .collect();
    assert_eq!(
        algs,
        [Algorithm::Sha256, Algorithm::Sha512_256, Algorithm::Md5]
    );
    for c in resp.www_authenticates() {
        let c = DigestChallenge::from_wire(&c.unwrap()).unwrap();
        assert!(c.qop_auth);
        assert!(!c.qop_auth_int, "no body, no auth-int");
        assert_eq!(c.realm, DOMAIN);
    }
}

#[test]
fn every_algorithm_registers() {
    for alg in Algorithm::ALL {
        let mut fx = fixture();
        let (_, _, resp) = fx.register_as(
            &reg("alice"),
            "alice",
            "Alice-Pw-7781",
            alg,
            "127.0.0.1:5070",
        );
        assert_eq!(resp.status_code(), Some(200), "{alg:?}");
        assert_eq!(resp.contacts().unwrap().as_slice().len(), 1);
        let b = fx.store.bindings("sip:alice@example.com", fx.now).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].contact, "sip:u@127.0.0.1:5070");
        assert_eq!(b[0].expires_at, T0 + 600);
    }
}

#[test]
fn md5_can_be_turned_off() {
    let mut fx = fixture_with(
        RegistrarConfig::default(),
        DigestConfig::default().without_md5(),
    );
    let resp = fx.send(&build(&reg("alice"), None), "127.0.0.1:5070");
    assert!(resp
        .www_authenticates()
        .all(|c| DigestChallenge::from_wire(&c.unwrap()).unwrap().algorithm != Algorithm::Md5));
}

#[test]
fn auth_int_is_verified_against_the_real_body() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.body = Some("hello body");
    let first = fx.send(&build(&r, None), "127.0.0.1:5070");
    let mut client = client_for(&first, Algorithm::Sha256, "alice", "Alice-Pw-7781");
    assert_eq!(client.qop(), Some(sipwarden_auth::Qop::AuthInt));
    // The real body: accepted.
    let auth = client.authorization("REGISTER", "sip:example.com", b"hello body", "cn");
    let mut good = r.clone();
    good.cseq = 2;
    assert_eq!(
        fx.send(&build(&good, Some(&auth)), "127.0.0.1:5070")
            .status_code(),
        Some(200)
    );
    // Credentials computed over the real body, sent with a tampered one: refused.
    let auth = client.authorization("REGISTER", "sip:example.com", b"hello body", "cn");
    let mut tampered = r.clone();
    tampered.cseq = 3;
    tampered.body = Some("HELLO BODY");
    assert_eq!(
        fx.send(&build(&tampered, Some(&auth)), "127.0.0.1:5070")
            .status_code(),
        Some(401)
    );
    // The same nonce count over the real body now works: the failure consumed nothing.
    let mut good = r.clone();
    good.cseq = 4;
    assert_eq!(
        fx.send(&build(&good, Some(&auth)), "127.0.0.1:5070")
            .status_code(),
        Some(200)
    );
}

#[test]
fn a_captured_register_cannot_be_replayed() {
    let mut fx = fixture();
    let (_, msg, resp) = fx.register_as(
        &reg("alice"),
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    // The same bytes again (a replay, not a retransmission the transaction layer absorbs).
    let again = fx.send(&msg, "127.0.0.1:5070");
    assert_eq!(again.status_code(), Some(401));
}

#[test]
fn an_expired_nonce_gets_stale_true() {
    let mut fx = fixture();
    let first = fx.send(&build(&reg("alice"), None), "127.0.0.1:5070");
    let mut client = client_for(&first, Algorithm::Sha256, "alice", "Alice-Pw-7781");
    fx.now += 3600;
    let mut r = reg("alice");
    r.cseq = 2;
    let auth = client.authorization("REGISTER", "sip:example.com", b"", "cn");
    let resp = fx.send(&build(&r, Some(&auth)), "127.0.0.1:5070");
    assert_eq!(resp.status_code(), Some(401));
    let stale = resp
        .www_authenticates()
        .all(|c| DigestChallenge::from_wire(&c.unwrap()).unwrap().stale);
    assert!(stale);
}

#[test]
fn a_nonce_from_another_source_address_is_refused() {
    let mut fx = fixture();
    let first = fx.send(&build(&reg("alice"), None), "127.0.0.1:5070");
    let mut client = client_for(&first, Algorithm::Sha256, "alice", "Alice-Pw-7781");
    let mut r = reg("alice");
    r.cseq = 2;
    let auth = client.authorization("REGISTER", "sip:example.com", b"", "cn");
    assert_eq!(
        fx.send(&build(&r, Some(&auth)), "127.0.0.9:5070")
            .status_code(),
        Some(401)
    );
}

#[test]
fn wrong_realm_is_challenged_again() {
    let mut fx = fixture();
    let first = fx.send(&build(&reg("alice"), None), "127.0.0.1:5070");
    let client = client_for(&first, Algorithm::Sha256, "alice", "Alice-Pw-7781");
    let mut auth = client
        .clone()
        .authorization("REGISTER", "sip:example.com", b"", "cn");
    auth = auth.replace("realm=\"example.com\"", "realm=\"other.org\"");
    let mut r = reg("alice");
    r.cseq = 2;
    assert_eq!(
        fx.send(&build(&r, Some(&auth)), "127.0.0.1:5070")
            .status_code(),
        Some(401)
    );
}

#[test]
fn unknown_user_and_wrong_password_get_identical_answers() {
    let mut fx = fixture();
    let answer = |fx: &mut Fx, user: &str, pw: &str| {
        let mut r = reg(user);
        r.call_id = "same-call@127.0.0.1".into();
        let (_, _, resp) = fx.register_as(&r, user, pw, Algorithm::Sha256, "127.0.0.1:5070");
        // Everything but the nonce must be the same.
        let text = String::from_utf8(resp.as_bytes().to_vec()).unwrap();
        let nonce_at = text.find("nonce=\"").unwrap();
        let mut masked = text.clone();
        for (i, _) in text.match_indices("nonce=\"") {
            let end = text[i + 7..].find('"').unwrap() + i + 7;
            masked.replace_range(i + 7..end, &"N".repeat(end - i - 7));
        }
        let _ = nonce_at;
        (resp.status_code(), masked.replace(user, "USER"))
    };
    let wrong_pw = answer(&mut fx, "alice", "guess");
    let unknown = answer(&mut fx, "mallory", "guess");
    assert_eq!(wrong_pw.0, Some(401));
    assert_eq!(wrong_pw, unknown);
}

#[test]
fn registering_someone_elses_aor_is_forbidden() {
    let mut fx = fixture();
    // Alice authenticates but asks for Bob's AOR.
    let mut r = reg("bob");
    r.from_user = "bob".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Sha256,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(403));
    assert!(fx
        .store
        .bindings("sip:bob@example.com", fx.now)
        .unwrap()
        .is_empty());
}

#[test]
fn from_must_match_to() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.from_user = "bob".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Sha256,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(403));
}

#[test]
fn a_foreign_contact_over_udp_is_refused() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.contact = "<sip:alice@127.0.0.99:5060>".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Sha256,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(403));
    let mut r = reg("alice");
    r.contact = "<sip:alice@victim.example.net>".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Sha256,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(403));
    // Same address, other port (sipsak, NAT-less phones with a separate listening port): fine.
    let mut r = reg("alice");
    r.contact = "<sip:alice@127.0.0.1:5999;transport=udp>".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Sha256,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
}

#[test]
fn a_foreign_contact_is_accepted_when_allowed() {
    let cfg = RegistrarConfig {
        allow_foreign_contacts: true,
        ..RegistrarConfig::default()
    };
    let mut fx = fixture_with(cfg, DigestConfig::default());
    let mut r = reg("alice");
    r.contact = "<sip:alice@127.0.0.99:5060>".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Sha256,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
}

#[test]
fn expiry_limits_and_removal() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.expires = Some(10);
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(423));
    assert_eq!(resp.min_expires().unwrap(), Some(60));

    // Too long is shortened to the maximum.
    let mut r = reg("alice");
    r.expires = Some(1_000_000);
    r.call_id = "long@h".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    let c = resp.contacts().unwrap();
    assert_eq!(c.as_slice()[0].expires, Some(7200));

    // Bindings expire by themselves.
    fx.now += 7200;
    assert!(fx
        .store
        .bindings("sip:alice@example.com", fx.now)
        .unwrap()
        .is_empty());
}

#[test]
fn wildcard_removes_every_binding_and_needs_expires_zero() {
    let mut fx = fixture();
    for (i, port) in [5071, 5072].iter().enumerate() {
        let mut r = reg("alice");
        r.contact = format!("<sip:alice@127.0.0.1:{port}>");
        r.call_id = format!("c{i}");
        let (_, _, resp) = fx.register_as(
            &r,
            "alice",
            "Alice-Pw-7781",
            Algorithm::Md5,
            "127.0.0.1:5070",
        );
        assert_eq!(resp.status_code(), Some(200));
    }
    assert_eq!(
        fx.store
            .bindings("sip:alice@example.com", fx.now)
            .unwrap()
            .len(),
        2
    );

    let mut r = reg("alice");
    r.contact = "*".into();
    r.expires = Some(5);
    r.call_id = "w".into();
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(400));

    r.expires = Some(0);
    r.cseq = 10;
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    assert!(fx
        .store
        .bindings("sip:alice@example.com", fx.now)
        .unwrap()
        .is_empty());
}

#[test]
fn out_of_order_cseq_in_the_same_call_id_is_refused() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.cseq = 20;
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    let mut older = reg("alice");
    older.cseq = 5; // register_as adds one: 6 < 21
    let (_, _, resp) = fx.register_as(
        &older,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(400));
}

#[test]
fn contacts_per_aor_are_limited() {
    let cfg = RegistrarConfig {
        max_contacts_per_aor: 2,
        ..RegistrarConfig::default()
    };
    let mut fx = fixture_with(cfg, DigestConfig::default());
    let mut codes = Vec::new();
    for port in 6000..6003 {
        let mut r = reg("alice");
        r.contact = format!("<sip:alice@127.0.0.1:{port}>");
        r.call_id = format!("c{port}");
        codes.push(
            fx.register_as(
                &r,
                "alice",
                "Alice-Pw-7781",
                Algorithm::Md5,
                "127.0.0.1:5070",
            )
            .2
            .status_code(),
        );
    }
    assert_eq!(codes, [Some(200), Some(200), Some(403)]);
}

#[test]
fn unknown_require_gets_420() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.extra.push(("Require".into(), "foo, path".into()));
    let resp = fx.send(&build(&r, None), "127.0.0.1:5070");
    assert_eq!(resp.status_code(), Some(420));
    assert_eq!(
        resp.header(sipwarden_wire::HeaderName::Unsupported),
        Some(&b"foo"[..])
    );
}

#[test]
fn foreign_domains_are_refused() {
    let mut fx = fixture();
    let msg = RequestBuilder::new("REGISTER", "sip:other.org")
        .via("UDP", "127.0.0.1:5070", "z9hG4bK-x")
        .from("<sip:alice@other.org>", "t")
        .to("<sip:alice@other.org>")
        .call_id("c")
        .cseq(1)
        .build()
        .unwrap();
    let resp = fx.send(&Message::parse(msg).unwrap(), "127.0.0.1:5070");
    assert_eq!(resp.status_code(), Some(403));
}

#[test]
fn the_server_address_is_an_alias_of_the_default_domain() {
    let mut fx = fixture();
    let msg = RequestBuilder::new("REGISTER", "sip:127.0.0.1")
        .via("UDP", "127.0.0.1:5070", "z9hG4bK-x")
        .from("<sip:alice@127.0.0.1>", "t")
        .to("<sip:alice@127.0.0.1>")
        .call_id("c")
        .cseq(1)
        .build()
        .unwrap();
    let resp = fx.send(&Message::parse(msg).unwrap(), "127.0.0.1:5070");
    assert_eq!(resp.status_code(), Some(401));
    let c = DigestChallenge::from_wire(&resp.www_authenticates().next().unwrap().unwrap()).unwrap();
    assert_eq!(c.realm, DOMAIN);
}

#[test]
fn outbound_flows_and_path_are_honoured() {
    let mut fx = fixture();
    let mut r = reg("alice");
    r.contact = "<sip:alice@127.0.0.1:5070;transport=tcp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1".into();
    r.extra.push(("Supported".into(), "outbound, path".into()));
    r.extra
        .push(("Path".into(), "<sip:edge.example.com;lr>".into()));
    let (_, _, resp) = fx.register_as(
        &r,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    assert_eq!(
        resp.header(sipwarden_wire::HeaderName::Require),
        Some(&b"outbound"[..])
    );
    assert_eq!(
        resp.header(sipwarden_wire::HeaderName::Path),
        Some(&b"<sip:edge.example.com;lr>"[..])
    );
    let b = fx.store.bindings("sip:alice@example.com", fx.now).unwrap();
    assert_eq!(b[0].reg_id, Some(1));
    assert_eq!(b[0].path, vec!["<sip:edge.example.com;lr>".to_string()]);
}

#[test]
fn registrations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        store
            .add_user(&UserRecord {
                domain: DOMAIN.into(),
                username: "alice".into(),
                ha1: ha1s("alice", "pw"),
            })
            .unwrap();
        let mut fx = Fx {
            svc: service(
                store.clone(),
                RegistrarConfig::default(),
                DigestConfig::default(),
            ),
            store,
            now: T0,
            salt: 0,
        };
        let (_, _, resp) = fx.register_as(
            &reg("alice"),
            "alice",
            "pw",
            Algorithm::Sha256,
            "127.0.0.1:5070",
        );
        assert_eq!(resp.status_code(), Some(200));
        let mut short = reg("alice");
        short.contact = "<sip:alice@127.0.0.1:5999>".into();
        short.expires = Some(60);
        short.call_id = "short".into();
        let (_, _, resp) =
            fx.register_as(&short, "alice", "pw", Algorithm::Sha256, "127.0.0.1:5070");
        assert_eq!(resp.status_code(), Some(200));
    }
    let store = SqliteStore::open(&path).unwrap();
    // 100 s later: the 600 s binding is there, the 60 s one is gone.
    let b = store.bindings("sip:alice@example.com", T0 + 100).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].contact, "sip:u@127.0.0.1:5070");
}

#[test]
fn registrations_per_source_address_are_limited() {
    let cfg = RegistrarConfig {
        max_bindings_per_source: 1,
        ..RegistrarConfig::default()
    };
    let mut fx = fixture_with(cfg, DigestConfig::default());
    let (_, _, resp) = fx.register_as(
        &reg("alice"),
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    // Refreshing the same binding is not a new one.
    let mut again = reg("alice");
    again.cseq = 5;
    let (_, _, resp) = fx.register_as(
        &again,
        "alice",
        "Alice-Pw-7781",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(200));
    let (_, _, resp) = fx.register_as(
        &reg("bob"),
        "bob",
        "Bob-Pw-5512",
        Algorithm::Md5,
        "127.0.0.1:5070",
    );
    assert_eq!(resp.status_code(), Some(403));
    // Another address is counted apart.
    let mut bob = reg("bob");
    bob.contact = "<sip:bob@127.0.0.2:5070>".into();
    let (_, _, resp) = fx.register_as(&bob, "bob", "Bob-Pw-5512", Algorithm::Md5, "127.0.0.2:5070");
    assert_eq!(resp.status_code(), Some(200));
}

#[test]
fn md5_only_clients_get_md5_alone_and_everyone_else_strongest_first() {
    let mut fx = fixture();
    let algs = |resp: &Message| -> Vec<Algorithm> {
        resp.www_authenticates()
            .map(|c| DigestChallenge::from_wire(&c.unwrap()).unwrap().algorithm)
            .collect()
    };
    let mut r = reg("alice");
    r.extra.push(("User-Agent".into(), "sipsak 0.9.8.1".into()));
    let resp = fx.send(&build(&r, None), "127.0.0.1:5070");
    assert_eq!(algs(&resp), [Algorithm::Md5]);
    let mut r = reg("alice");
    r.extra.push((
        "User-Agent".into(),
        "Linphone Daemon/5.1.65 (belle-sip/5.1)".into(),
    ));
    let resp = fx.send(&build(&r, None), "127.0.0.1:5070");
    assert_eq!(algs(&resp), [Algorithm::Sha256, Algorithm::Md5]);
    let mut r = reg("alice");
    r.extra.push(("User-Agent".into(), "SomePhone/2.0".into()));
    let resp = fx.send(&build(&r, None), "127.0.0.1:5070");
    assert_eq!(
        algs(&resp),
        [Algorithm::Sha256, Algorithm::Sha512_256, Algorithm::Md5]
    );
}
