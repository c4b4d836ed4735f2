//! Shared fixtures for the proxy tests: a proxy for `example.com` on 192.0.2.10, an
//! in-memory lookup, request builders and functions to drive response contexts.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwarden_auth::{
    ClientSecret, DigestAuth, DigestChallenge, DigestClient, DigestConfig, Ha1Set, NonceKeys,
    QopPreference,
};
use sipwarden_core::assessment::TlsFacts;
use sipwarden_core::proxy::{
    Action, Decision, Inbound, Interface, Lookup, Proxy, ProxyConfig, RequestOutcome,
    ResponseContext,
};
use sipwarden_core::Domains;
use sipwarden_store::{Binding, StoreError};
use sipwarden_wire::build::response_to;
use sipwarden_wire::{HeaderName, Message, Transport};

pub const DOMAIN: &str = "example.com";
pub const IP: &str = "192.0.2.10";
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-proxy-test-key";
pub const T0: u64 = 1_800_000_000;

pub fn config() -> ProxyConfig {
    ProxyConfig::new(
        vec![
            Interface::new(Transport::Udp, IP, 5060),
            Interface::new(Transport::Tcp, IP, 5060),
            Interface::new(Transport::Tls, IP, 5061),
        ],
        *b"sixteen byte key",
    )
}

pub fn proxy_with(cfg: ProxyConfig) -> Proxy {
    Proxy::new(
        cfg,
        Domains::new(DOMAIN, &[], &[IP.to_owned()]),
        DigestAuth::new(DigestConfig::default(), NonceKeys::new(KEY).unwrap()).unwrap(),
    )
    .unwrap()
}

pub fn proxy() -> Proxy {
    proxy_with(config())
}

/// Bindings and credentials in memory.
#[derive(Default)]
pub struct Users {
    pub bindings: HashMap<String, Vec<Binding>>,
    pub creds: HashMap<(String, String), Ha1Set>,
}

impl Users {
    pub fn new() -> Users {
        let mut u = Users::default();
        for (name, pw) in [("alice", "Alice-Pw-1"), ("bob", "Bob-Pw-2")] {
            u.creds.insert(
                (DOMAIN.to_owned(), name.to_owned()),
                Ha1Set::from_password(name, DOMAIN, pw),
            );
        }
        u
    }

    pub fn bind(&mut self, user: &str, b: Binding) {
        self.bindings
            .entry(format!("sip:{user}@{DOMAIN}"))
            .or_default()
            .push(b);
    }
}

impl Lookup for Users {
    fn bindings(&self, aor: &str) -> Result<Vec<Binding>, StoreError> {
        Ok(self.bindings.get(aor).cloned().unwrap_or_default())
    }
    fn credentials(&self, realm: &str, username: &str) -> Result<Option<Ha1Set>, StoreError> {
        Ok(self
            .creds
            .get(&(realm.to_owned(), username.to_owned()))
            .cloned())
    }
}

pub fn binding(user: &str, contact: &str, q: u16, transport: &str, flow: Option<&str>) -> Binding {
    Binding {
        aor: format!("sip:{user}@{DOMAIN}"),
        key: contact.to_owned(),
        contact: contact.to_owned(),
        expires_at: T0 + 3600,
        q,
        call_id: "reg-1".to_owned(),
        cseq: 1,
        path: Vec::new(),
        instance: None,
        reg_id: None,
        source: "198.51.100.20:5060".to_owned(),
        transport: transport.to_owned(),
        flow: flow.map(str::to_owned),
        user_agent: None,
    }
}

/// Where a request comes from.
pub struct Origin {
    pub transport: Transport,
    pub flow: Option<String>,
    pub tls: Option<TlsFacts>,
    pub now: Instant,
}

impl Origin {
    pub fn udp(now: Instant) -> Origin {
        Origin {
            transport: Transport::Udp,
            flow: None,
            tls: None,
            now,
        }
    }
    pub fn tls(now: Instant, flow: &str) -> Origin {
        Origin {
            transport: Transport::Tls,
            flow: Some(flow.to_owned()),
            tls: None,
            now,
        }
    }
    pub fn inbound(&self) -> Inbound<'_> {
        Inbound {
            transport: self.transport,
            source: "198.51.100.1:5060".parse::<SocketAddr>().unwrap(),
            flow: self.flow.as_deref(),
            tls: self.tls.as_ref(),
            now: self.now,
            unix_time: T0,
            salt: [7; 8],
            to_tag: "proxytag1",
        }
    }
}

/// A request as raw text. `headers` go after CSeq; `body` gets Content-Type application/sdp.
pub fn request(
    method: &str,
    ruri: &str,
    from: &str,
    to: &str,
    headers: &[&str],
    body: Option<&[u8]>,
) -> Message {
    let mut s = format!(
        "{method} {ruri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKclient1\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Call-ID: call-1@198.51.100.1\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:caller@198.51.100.1:5060>\r\n"
    );
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    let mut bytes = s.into_bytes();
    match body {
        Some(b) => {
            bytes.extend_from_slice(
                format!(
                    "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                )
                .as_bytes(),
            );
            bytes.extend_from_slice(b);
        }
        None => bytes.extend_from_slice(b"Content-Length: 0\r\n\r\n"),
    }
    Message::parse(bytes).unwrap()
}

/// An INVITE from outside (carol@elsewhere.test) to bob.
pub fn invite_to_bob(body: Option<&[u8]>) -> Message {
    request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>",
        &[],
        body,
    )
}

pub fn decide(p: &Proxy, msg: &Message, from: &Origin, users: &Users) -> Decision {
    p.on_request(msg, &from.inbound(), users).unwrap()
}

pub fn context(d: Decision) -> Box<ResponseContext> {
    match d.outcome {
        RequestOutcome::Proxy(c) => c,
        other => panic!("expected a context, got {other:?} / {:?}", d.events),
    }
}

pub fn reply(d: &Decision) -> (u16, Message) {
    match &d.outcome {
        RequestOutcome::Respond(r) => (r.code, Message::parse(r.response.clone()).unwrap()),
        other => panic!("expected a reply, got {other:?}"),
    }
}

pub fn drain(ctx: &mut ResponseContext) -> Vec<Action> {
    std::iter::from_fn(|| ctx.poll_action()).collect()
}

/// The requests forwarded, by branch.
pub fn forwards(actions: &[Action]) -> Vec<(usize, Message, sipwarden_core::proxy::NextHop)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Forward {
                branch,
                request,
                hop,
            } => Some((
                *branch,
                Message::parse(request.clone()).unwrap(),
                hop.clone(),
            )),
            _ => None,
        })
        .collect()
}

pub fn responds(actions: &[Action]) -> Vec<(u16, Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Respond { code, response } => {
                Some((*code, Message::parse(response.clone()).unwrap()))
            }
            _ => None,
        })
        .collect()
}

pub fn cancels(actions: &[Action]) -> Vec<usize> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Cancel { branch, .. } => Some(*branch),
            _ => None,
        })
        .collect()
}

/// A response from the next hop to a request we forwarded.
pub fn answer(forwarded: &Message, code: u16, tag: &str, headers: &[(&str, &str)]) -> Message {
    answer_with_body(forwarded, code, tag, headers, None)
}

pub fn answer_with_body(
    forwarded: &Message,
    code: u16,
    tag: &str,
    headers: &[(&str, &str)],
    body: Option<&'static [u8]>,
) -> Message {
    let mut b = response_to(forwarded, code, "Whatever");
    if code > 100 {
        b = b.to_tag(tag);
    }
    for (n, v) in headers {
        b = b.header(n, v);
    }
    if let Some(body) = body {
        b = b.body("application/sdp", Bytes::from_static(body));
    }
    Message::parse(b.build().unwrap()).unwrap()
}

/// Header values of a message, as strings.
pub fn values(m: &Message, name: HeaderName) -> Vec<String> {
    m.header_values(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

pub fn other(m: &Message, name: &str) -> Vec<String> {
    m.other_header_values(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// Answers a 407 for `user` and returns the Proxy-Authorization value.
pub fn authorize(challenge_response: &Message, user: &str, pw: &str, req: &Message) -> String {
    authorize_nc(challenge_response, user, pw, req, 1)
}

/// As [`authorize`], with nonce count `nc`.
pub fn authorize_nc(
    challenge_response: &Message,
    user: &str,
    pw: &str,
    req: &Message,
    nc: u32,
) -> String {
    let c = challenge_response
        .proxy_authenticates()
        .next()
        .unwrap()
        .unwrap();
    let ch = DigestChallenge::from_wire(&c).unwrap();
    let mut client = DigestClient::new(
        &ch,
        user,
        ClientSecret::Password(pw),
        QopPreference {
            prefer_auth_int: false,
            allow_no_qop: false,
        },
    )
    .unwrap();
    let method = std::str::from_utf8(req.method_bytes()).unwrap();
    let uri = std::str::from_utf8(req.request_uri_bytes()).unwrap();
    for _ in 1..nc {
        client.authorization(method, uri, req.body(), "cn0nce");
    }
    client.authorization(method, uri, req.body(), "cn0nce")
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
