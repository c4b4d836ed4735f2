//! Abuse defences on the call path, end to end through the real binary with callees
//! really registered: password guessing with INVITEs meets the account lockout, the
//! return-routability check keeps spoofed callers away from the callee while a caller
//! that follows the redirect reaches it, and anonymous callers are a class of their own
//! that the `[policy] anonymous` setting acts on. Attack traffic comes from its own
//! loopback addresses (127.0.0.100 and up) so that what it earns never touches the
//! legitimate clients on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::*;
use sipwarden_auth::DigestChallenge;
use sipwarden_wire::build::response_to;
use sipwarden_wire::headers::Challenge;
use sipwarden_wire::{HeaderName, Message};

/// A blocking SIP user agent on one UDP socket.
struct Ua {
    sock: UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
}

impl Ua {
    fn bind(ip: &str, server: &Server) -> Ua {
        let sock = UdpSocket::bind((ip, 0)).unwrap();
        let local = sock.local_addr().unwrap();
        Ua {
            sock,
            local,
            server: server.udp.unwrap(),
        }
    }

    fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.server).unwrap();
    }

    /// The next message within `wait`.
    fn recv(&self, wait: Duration) -> Option<Message> {
        udp_try_recv(&self.sock, wait)
    }

    /// The final response for `call_id` and CSeq `cseq` within `wait` (provisional
    /// responses, retransmissions for earlier transactions and requests are skipped).
    fn final_for(&self, call_id: &str, cseq: u32, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(m) = self.recv(left.min(Duration::from_millis(200))) else {
                continue;
            };
            let cseq_ok = header(&m, "CSeq")
                .and_then(|c| c.split_whitespace().next()?.parse::<u32>().ok())
                == Some(cseq);
            if m.status_code().is_some_and(|c| c >= 200)
                && m.call_id().ok() == Some(call_id)
                && cseq_ok
            {
                return Some(m);
            }
        }
        None
    }

    /// An INVITE for the callee registered from this agent, if one arrives within `wait`;
    /// it is answered with `486 Busy Here`.
    fn incoming_invite(&self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(m) = self.recv(left.min(Duration::from_millis(200))) else {
                continue;
            };
            if m.method_bytes() == b"INVITE" {
                let busy = response_to(&m, 486, "Busy Here")
                    .to_tag(&token())
                    .build()
                    .unwrap();
                self.sock.send_to(&busy, self.server).unwrap();
                return Some(m);
            }
        }
        None
    }
}

/// One request as a phone would send it. `auth` is a complete header line; the padding
/// makes it phone-sized, so the UDP byte credit never silences the sender first.
#[allow(clippy::too_many_arguments)]
fn request(
    method: &str,
    ruri: &str,
    local: SocketAddr,
    from: &str,
    to: &str,
    call_id: &str,
    cseq: u32,
    extra: &str,
) -> String {
    let body = if method == "INVITE" {
        crlf(&format!(
            "v=0\no=- 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\nm=audio 40000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
            ip = local.ip()
        ))
    } else {
        String::new()
    };
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\n"
    };
    crlf(&format!(
        "{method} {ruri} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK{b}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\nCall-ID: {call_id}\nCSeq: {cseq} {method}\nContact: <sip:ua@{local}>\nX-Pad: {pad}\n{extra}{content_type}Content-Length: {len}\n\n",
        b = token(),
        pad = "p".repeat(700),
        len = body.len(),
    )) + &body
}

/// The ACK for a non-2xx final response to the INVITE `call_id`/`cseq` from `ua`.
fn ack(ua: &Ua, response: &Message, ruri: &str, from: &str, call_id: &str, cseq: u32) {
    let to = header(response, "To").unwrap();
    let via = header(response, "Via").unwrap();
    let via = via.split(";received").next().unwrap_or(&via).to_owned();
    ua.send(&crlf(&format!(
        "ACK {ruri} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\nCall-ID: {call_id}\nCSeq: {cseq} ACK\nContent-Length: 0\n\n"
    )));
}

/// The Digest answer to the strongest challenge of a 401/407, as a header line.
fn answer(
    challenge: &Message,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    body: &[u8],
) -> String {
    let (name, header_name) = match challenge.status_code() {
        Some(401) => (HeaderName::WwwAuthenticate, "Authorization"),
        Some(407) => (HeaderName::ProxyAuthenticate, "Proxy-Authorization"),
        other => panic!("not a challenge: {other:?}"),
    };
    let challenges: Vec<DigestChallenge<'_>> = challenge
        .fields(name)
        .filter_map(|f| Challenge::parse(name, challenge.slice(f.value)).ok())
        .filter_map(|c| DigestChallenge::from_wire(&c).ok())
        .collect();
    let chosen = DigestChallenge::strongest(challenges).expect("a Digest challenge");
    let mut client = digest_client(&chosen, user, password);
    format!(
        "{header_name}: {}\n",
        client.authorization(method, uri, body, &token())
    )
}

/// The SDP body `request` puts in an INVITE from `local`.
fn invite_body(local: SocketAddr) -> String {
    let text = request("INVITE", "sip:x@localhost", local, "", "", "", 1, "");
    text.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// REGISTERs `user` with `password` from `ua` (contact: the agent itself); the final code.
fn register(ua: &Ua, user: &str, password: &str) -> u16 {
    let uri = format!("sip:{}", ua.server);
    let from = format!("<sip:{user}@localhost>;tag={}", token());
    let to = format!("<sip:{user}@localhost>");
    let call_id = token();
    let expires = "Expires: 600\n";
    ua.send(&request(
        "REGISTER", &uri, ua.local, &from, &to, &call_id, 1, expires,
    ));
    let r = ua
        .final_for(&call_id, 1, Duration::from_secs(5))
        .expect("no answer to REGISTER");
    if r.status_code() != Some(401) {
        return r.status_code().unwrap();
    }
    let auth = answer(&r, user, password, "REGISTER", &uri, b"");
    ua.send(&request(
        "REGISTER",
        &uri,
        ua.local,
        &from,
        &to,
        &call_id,
        2,
        &format!("{auth}{expires}"),
    ));
    ua.final_for(&call_id, 2, Duration::from_secs(5))
        .expect("no answer to the authenticated REGISTER")
        .status_code()
        .unwrap()
}

/// An INVITE from local user `user` to `ruri`, answering the 407 with `password`: the
/// final response to the authenticated INVITE, or `None` if there was none (silence).
fn call(ua: &Ua, user: &str, password: &str, ruri: &str) -> Option<Message> {
    let from = format!("<sip:{user}@localhost>;tag={}", token());
    let to = format!("<{ruri}>");
    let call_id = token();
    ua.send(&request(
        "INVITE", ruri, ua.local, &from, &to, &call_id, 1, "",
    ));
    let r = ua.final_for(&call_id, 1, Duration::from_secs(3))?;
    ack(ua, &r, ruri, &from, &call_id, 1);
    if r.status_code() != Some(407) {
        return Some(r);
    }
    let body = invite_body(ua.local);
    let auth = answer(&r, user, password, "INVITE", ruri, body.as_bytes());
    ua.send(&request(
        "INVITE", ruri, ua.local, &from, &to, &call_id, 2, &auth,
    ));
    let r = ua.final_for(&call_id, 2, Duration::from_secs(3))?;
    ack(ua, &r, ruri, &from, &call_id, 2);
    Some(r)
}

// ---------------------------------------------------------------------------------------
// Password guessing with INVITEs

#[test]
fn guessing_a_password_with_invites_locks_the_account_but_not_its_owner() {
    let server = start_udp_with_alice_and_bob(None);
    // Bob is the callee; alice's phone registers from her usual address first.
    let bob = Ua::bind("127.0.0.1", &server);
    assert_eq!(register(&bob, "bob", BOB_PW), 200);
    let alice_phone = Ua::bind("127.0.0.1", &server);
    assert_eq!(register(&alice_phone, "alice", ALICE_PW), 200);

    // Six guessers, two wrong passwords each: each source stays under its own ban
    // threshold (5), so only the account lockout (10 failures) can stop them.
    let ruri = "sip:bob@localhost";
    for n in 101..=106 {
        let guesser = Ua::bind(&format!("127.0.0.{n}"), &server);
        for attempt in 0..2 {
            let r = call(&guesser, "alice", &format!("guess-{n}-{attempt}"), ruri)
                .expect("a guess was not answered");
            assert_eq!(r.status_code(), Some(407), "guess {n}/{attempt}");
        }
    }
    assert!(
        bob.incoming_invite(Duration::from_millis(300)).is_none(),
        "a guess reached the callee"
    );

    // The account is locked: the right password from a guessing source is answered
    // exactly as a wrong one, with INVITE ...
    let guesser = Ua::bind("127.0.0.101", &server);
    let r = call(&guesser, "alice", ALICE_PW, ruri);
    assert_eq!(
        r.and_then(|m| m.status_code()),
        Some(407),
        "the right password got through a locked account:\n{}",
        server.stderr()
    );
    assert!(
        bob.incoming_invite(Duration::from_millis(500)).is_none(),
        "a call from a locked account reached the callee"
    );
    // ... and with REGISTER: it is the same lock.
    let guesser = Ua::bind("127.0.0.102", &server);
    assert_eq!(register(&guesser, "alice", ALICE_PW), 401);

    let log = event_log(&server);
    assert!(
        log.lines()
            .any(|l| l.contains("\"kind\":\"lockout\"") && l.contains("alice")),
        "no lockout of alice in the event log:\n{log}"
    );
    assert!(
        !log.lines().any(|l| l.contains("\"kind\":\"ban\"")),
        "a guesser was banned, so the lockout was not what stopped them:\n{log}"
    );

    // The owner's phone, at the address it authenticated from, still calls ...
    let r = call(&alice_phone, "alice", ALICE_PW, ruri);
    let invite = bob.incoming_invite(Duration::from_secs(5));
    assert!(
        invite.is_some(),
        "alice's own phone cannot call while her account is locked: {:?}\n{}",
        r.map(|m| m.status_code()),
        server.stderr()
    );
    // ... and re-registers; and from an address never used before, the owner can
    // register too.
    assert_eq!(register(&alice_phone, "alice", ALICE_PW), 200);
    let laptop = Ua::bind("127.0.0.120", &server);
    assert_eq!(register(&laptop, "alice", ALICE_PW), 200);
}

// ---------------------------------------------------------------------------------------
// The return-routability check, caller to callee

/// An INVITE from a caller of another domain, who cannot authenticate here.
fn foreign_invite(ua: &Ua, ruri: &str, call_id: &str, from_tag: &str, cseq: u32) -> String {
    request(
        "INVITE",
        ruri,
        ua.local,
        &format!("<sip:mallory@elsewhere.example>;tag={from_tag}"),
        "<sip:alice@localhost>",
        call_id,
        cseq,
        "",
    )
}

/// The redirect target of a 302 (its Contact URI).
fn redirect_target(r: &Message) -> String {
    assert_eq!(r.status_code(), Some(302), "not redirected");
    let contact = header(r, "Contact").unwrap();
    assert!(contact.contains(";sw-rr="), "{contact}");
    contact
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

#[test]
fn return_routability_keeps_spoofed_callers_from_the_callee_and_lets_real_ones_through() {
    let server = start_udp_with_alice_and_bob(Some(
        "[guard]\nreturn_routability = true\ntoken_max_age_secs = 2\n",
    ));
    // Alice is really registered, with Digest, from her own socket.
    let alice = Ua::bind("127.0.0.1", &server);
    assert_eq!(register(&alice, "alice", ALICE_PW), 200);
    let ruri = "sip:alice@localhost";
    let quiet = Duration::from_millis(700);

    // (a) Spoofed sources: the first INVITE is answered at once with a 302 that a spoofer
    // never sees; nothing reaches the callee.
    for n in 1..=20 {
        let spoofed = Ua::bind(&format!("127.0.1.{n}"), &server);
        let call_id = token();
        spoofed.send(&foreign_invite(&spoofed, ruri, &call_id, &token(), 1));
        let r = spoofed
            .final_for(&call_id, 1, Duration::from_secs(3))
            .expect("no answer to the first INVITE");
        redirect_target(&r);
    }
    assert!(
        alice.incoming_invite(quiet).is_none(),
        "a spoofed-source INVITE reached the callee"
    );

    // The real caller's first INVITE is redirected too.
    let caller = Ua::bind("127.0.0.77", &server);
    let call_id = token();
    let tag = token();
    caller.send(&foreign_invite(&caller, ruri, &call_id, &tag, 1));
    let r = caller
        .final_for(&call_id, 1, Duration::from_secs(3))
        .expect("no answer to the first INVITE");
    let target = redirect_target(&r);

    // (c) Before it follows: a forged token and the token from another address are
    // refused, and reach no one. (Refusal events are coalesced per source, so each
    // refusal whose event is checked comes from its own address.)
    let forger = Ua::bind("127.0.0.79", &server);
    let forged = format!("{ruri};sw-rr={}", "A".repeat(34));
    forger.send(&foreign_invite(&forger, &forged, &call_id, &tag, 2));
    let r = forger
        .final_for(&call_id, 2, Duration::from_secs(3))
        .unwrap();
    assert_eq!(r.status_code(), Some(403), "forged token");
    let thief = Ua::bind("127.0.0.78", &server);
    thief.send(&foreign_invite(&thief, &target, &call_id, &tag, 2));
    let r = thief
        .final_for(&call_id, 2, Duration::from_secs(3))
        .unwrap();
    assert_eq!(r.status_code(), Some(403), "token from another address");
    assert!(
        alice.incoming_invite(quiet).is_none(),
        "a refused token reached the callee"
    );

    // (b) The caller follows the redirect: the INVITE reaches the callee, whose answer
    // comes back.
    caller.send(&foreign_invite(&caller, &target, &call_id, &tag, 3));
    let invite = alice
        .incoming_invite(Duration::from_secs(5))
        .unwrap_or_else(|| {
            panic!(
                "the caller that followed the redirect did not reach the callee:\n{}",
                server.stderr()
            )
        });
    assert_eq!(invite.call_id().ok(), Some(call_id.as_str()));
    let reached = std::str::from_utf8(invite.request_uri_bytes()).unwrap();
    assert!(
        !reached.contains("sw-rr"),
        "the token was passed on to the callee: {reached}"
    );
    let r = caller
        .final_for(&call_id, 3, Duration::from_secs(5))
        .expect("the callee's answer did not come back");
    assert_eq!(r.status_code(), Some(486));
    ack(
        &caller,
        &r,
        &target,
        &format!("<sip:mallory@elsewhere.example>;tag={tag}"),
        &call_id,
        3,
    );

    // (c) The same token on a new request is a replay: refused, and the callee sees
    // nothing.
    caller.send(&foreign_invite(&caller, &target, &call_id, &tag, 4));
    let r = caller
        .final_for(&call_id, 4, Duration::from_secs(3))
        .unwrap();
    assert_eq!(r.status_code(), Some(403), "replayed token");
    // So is the token carried over to another call.
    let other_call = token();
    caller.send(&foreign_invite(&caller, &target, &other_call, &tag, 1));
    let r = caller
        .final_for(&other_call, 1, Duration::from_secs(3))
        .unwrap();
    assert_eq!(r.status_code(), Some(403), "token carried to another call");
    assert!(
        alice.incoming_invite(quiet).is_none(),
        "a replayed token reached the callee"
    );

    // (c) An expired token earns a fresh redirect, never the callee.
    let late_call = token();
    caller.send(&foreign_invite(&caller, ruri, &late_call, &tag, 1));
    let r = caller
        .final_for(&late_call, 1, Duration::from_secs(3))
        .unwrap();
    let late_target = redirect_target(&r);
    std::thread::sleep(Duration::from_millis(3200));
    caller.send(&foreign_invite(&caller, &late_target, &late_call, &tag, 2));
    let r = caller
        .final_for(&late_call, 2, Duration::from_secs(3))
        .unwrap();
    assert_ne!(redirect_target(&r), late_target, "the same token again");
    assert!(
        alice.incoming_invite(quiet).is_none(),
        "an expired token reached the callee"
    );

    let log = event_log(&server);
    for reason in ["malformed", "bad_mac", "replayed"] {
        assert!(
            log.lines()
                .any(|l| l.contains("token_refused") && l.contains(reason)),
            "no token_refused ({reason}) in the event log:\n{log}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Anonymous callers

/// `/metrics` from the server's admin listener.
fn metrics(server: &Server) -> String {
    use std::io::{Read, Write};
    let admin: SocketAddr = server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("admin "))
        .expect("no admin listener")
        .parse()
        .unwrap();
    let mut s = std::net::TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {admin}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// The value of one `sipwarden_anonymous_callers_total` series.
fn anonymous_count(metrics: &str, form: &str, action: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("sipwarden_anonymous_callers_total{"))
        .find(|l| {
            l.contains(&format!("form=\"{form}\"")) && l.contains(&format!("action=\"{action}\""))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// An INVITE to alice from `from`, with extra header lines.
fn invite_from(ua: &Ua, from: &str, call_id: &str, extra: &str) -> String {
    request(
        "INVITE",
        "sip:alice@localhost",
        ua.local,
        &format!("{from};tag={}", token()),
        "<sip:alice@localhost>",
        call_id,
        1,
        extra,
    )
}

/// A server with `[policy] anonymous = policy`, alice registered from her own socket.
fn anonymous_setup(policy: &str) -> (Server, Ua) {
    let server = start_udp_with_alice_and_bob(Some(&format!(
        "[policy]\nanonymous = \"{policy}\"\n[admin]\nlisten = \"127.0.0.1:0\"\n"
    )));
    let alice = Ua::bind("127.0.0.1", &server);
    assert_eq!(register(&alice, "alice", ALICE_PW), 200);
    (server, alice)
}

const CLASSIC: &str = "\"Anonymous\" <sip:anonymous@anonymous.invalid>";

fn anonymous_events(server: &Server) -> Vec<String> {
    event_log(server)
        .lines()
        .filter(|l| l.contains("\"kind\":\"anonymous_caller\""))
        .map(str::to_owned)
        .collect()
}

#[test]
fn anonymous_callers_policy_allow() {
    let (server, alice) = anonymous_setup("allow");
    let caller = Ua::bind("127.0.0.131", &server);
    caller.send(&invite_from(&caller, CLASSIC, &token(), ""));
    assert!(
        alice.incoming_invite(Duration::from_secs(5)).is_some(),
        "an allowed anonymous caller did not reach the callee"
    );
    let events = anonymous_events(&server);
    assert!(
        events
            .iter()
            .any(|l| l.contains("\"form\":\"anonymous_user\"")
                && l.contains("\"action\":\"allowed\"")
                && l.contains("127.0.0.131")),
        "{events:?}"
    );
    assert_eq!(
        anonymous_count(&metrics(&server), "anonymous_user", "allowed"),
        1
    );
}

#[test]
fn anonymous_callers_policy_challenge() {
    let (server, alice) = anonymous_setup("challenge");
    // Over UDP the anonymous caller must prove its source first.
    let caller = Ua::bind("127.0.0.132", &server);
    let call_id = token();
    let first = invite_from(&caller, CLASSIC, &call_id, "");
    caller.send(&first);
    let r = caller
        .final_for(&call_id, 1, Duration::from_secs(3))
        .expect("no answer");
    let target = redirect_target(&r);
    assert!(
        alice.incoming_invite(Duration::from_millis(700)).is_none(),
        "an anonymous caller reached the callee before proving its source"
    );
    // Following the redirect (same From, To, Call-ID) gets it through.
    let tag = header(&parse(first.as_bytes()), "From")
        .unwrap()
        .rsplit("tag=")
        .next()
        .unwrap()
        .to_owned();
    caller.send(&request(
        "INVITE",
        &target,
        caller.local,
        &format!("{CLASSIC};tag={tag}"),
        "<sip:alice@localhost>",
        &call_id,
        2,
        "",
    ));
    assert!(
        alice.incoming_invite(Duration::from_secs(5)).is_some(),
        "the anonymous caller that followed the redirect did not reach the callee:\n{}",
        server.stderr()
    );
    let events = anonymous_events(&server);
    assert!(
        events
            .iter()
            .any(|l| l.contains("\"action\":\"challenged\"") && l.contains("127.0.0.132")),
        "{events:?}"
    );
    assert!(anonymous_count(&metrics(&server), "anonymous_user", "challenged") >= 1);
}

#[test]
fn anonymous_callers_policy_reject() {
    let (server, alice) = anonymous_setup("reject");
    let forms: [(&str, &str, &str); 4] = [
        ("127.0.0.133", CLASSIC, ""),
        ("127.0.0.134", "<sip:Anonymous@carrier.example>", ""),
        (
            "127.0.0.135",
            "\"Anonymous\" <sip:c8oqz84zk7z@privacy.example>",
            "",
        ),
        (
            "127.0.0.136",
            "\"Bob\" <sip:+15551234@carrier.example>",
            "Privacy: id;critical\n",
        ),
    ];
    for (ip, from, extra) in forms {
        let caller = Ua::bind(ip, &server);
        let call_id = token();
        caller.send(&invite_from(&caller, from, &call_id, extra));
        let r = caller
            .final_for(&call_id, 1, Duration::from_secs(3))
            .unwrap_or_else(|| panic!("no answer for {from}"));
        assert_eq!(r.status_code(), Some(403), "{from} {extra}");
    }
    assert!(
        alice.incoming_invite(Duration::from_millis(700)).is_none(),
        "a rejected anonymous caller reached the callee"
    );
    let events = anonymous_events(&server);
    for (form, ip) in [
        ("anonymous_user", "127.0.0.133"),
        ("anonymous_user", "127.0.0.134"),
        ("display_name", "127.0.0.135"),
        ("privacy", "127.0.0.136"),
    ] {
        assert!(
            events
                .iter()
                .any(|l| l.contains(&format!("\"form\":\"{form}\""))
                    && l.contains("\"action\":\"rejected\"")
                    && l.contains(ip)),
            "no {form} from {ip}: {events:?}"
        );
    }
    assert!(event_log(&server).contains("anonymous_rejected"));
    let m = metrics(&server);
    assert_eq!(anonymous_count(&m, "anonymous_user", "rejected"), 2);
    assert_eq!(anonymous_count(&m, "display_name", "rejected"), 1);
    assert_eq!(anonymous_count(&m, "privacy", "rejected"), 1);

    // Not anonymous: a caller of another domain who asks for no identity privacy, and
    // alice herself asking for privacy (the proxy authenticates her as usual).
    let caller = Ua::bind("127.0.0.137", &server);
    caller.send(&invite_from(
        &caller,
        "\"Bob\" <sip:bob@carrier.example>",
        &token(),
        "Privacy: none\n",
    ));
    assert!(
        alice.incoming_invite(Duration::from_secs(5)).is_some(),
        "an ordinary caller of another domain was treated as anonymous"
    );
    let bob = Ua::bind("127.0.0.1", &server);
    let call_id = token();
    bob.send(&invite_from(
        &bob,
        "<sip:bob@localhost>",
        &call_id,
        "Privacy: id\n",
    ));
    let r = bob
        .final_for(&call_id, 1, Duration::from_secs(3))
        .expect("no answer");
    assert_eq!(
        r.status_code(),
        Some(407),
        "a local caller asking for privacy is authenticated, not refused"
    );
}
