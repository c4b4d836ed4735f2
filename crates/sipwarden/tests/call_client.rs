//! `sipwarden call` end to end: the caller's INVITE is challenged, answered with Digest,
//! routed by the proxy to a callee registered over UDP, acknowledged and hung up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sipwarden_auth::DigestChallenge;
use sipwarden_wire::build::{response_to, RequestBuilder};
use sipwarden_wire::{HeaderName, Message, Method};

/// Registers `user` with this socket's address as its Contact.
fn register(server: &Server, sock: &UdpSocket, user: &str, password: &str) {
    let local = sock.local_addr().unwrap();
    let build = |cseq: u32, auth: Option<&str>| {
        let mut b = RequestBuilder::new("REGISTER", "sip:127.0.0.1")
            .via("UDP", &local.to_string(), &format!("z9hG4bK-reg-{cseq}"))
            .from(&format!("<sip:{user}@127.0.0.1>"), "rt")
            .to(&format!("<sip:{user}@127.0.0.1>"))
            .call_id("callee-registration")
            .cseq(cseq)
            .header("Contact", format!("<sip:{user}@{local}>"))
            .header("Expires", "300");
        if let Some(a) = auth {
            b = b.header("Authorization", a);
        }
        b.build().unwrap()
    };
    let addr = server.udp.unwrap();
    sock.send_to(&build(1, None), addr).unwrap();
    let challenge = udp_recv(sock);
    let wire: Vec<_> = challenge.www_authenticates().map(|c| c.unwrap()).collect();
    let chosen = DigestChallenge::from_wire(&wire[0]).unwrap();
    let mut client = digest_client(&chosen, user, password);
    let auth = client.authorization("REGISTER", "sip:127.0.0.1", b"", "c0ffee");
    sock.send_to(&build(2, Some(&auth)), addr).unwrap();
    assert_eq!(udp_recv(sock).status_code(), Some(200));
}

#[test]
fn the_call_client_places_and_ends_a_call_through_the_proxy() {
    let server = Server::start(
        &["udp"],
        Some("[policy]\nallow_cidrs = [\"127.0.0.0/8\"]\n"),
        &[],
    );
    add_user(&server.dir.path().join("data"), "alice", "Alice-Pw-7781");
    add_user(&server.dir.path().join("data"), "bob", "Bob-Pw-5512");
    let callee = udp_client();
    register(&server, &callee, "bob", "Bob-Pw-5512");

    // The callee answers the INVITE and the BYE, and notes what it saw.
    let local = callee.local_addr().unwrap();
    let answering = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = vec![0u8; 65_536];
        callee
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        while Instant::now() < deadline && !seen.contains(&"BYE") {
            let Ok((n, from)) = callee.recv_from(&mut buf) else {
                continue;
            };
            let Ok(msg) = Message::parse(buf[..n].to_vec()) else {
                continue;
            };
            let reply = match msg.method() {
                Some(Method::Invite) => {
                    seen.push("INVITE");
                    let mut b = response_to(&msg, 200, "OK").to_tag("callee1");
                    for rr in msg.header_values(HeaderName::RecordRoute) {
                        b = b.header("Record-Route", rr);
                    }
                    b.header("Contact", format!("<sip:bob@{local}>"))
                        .body(
                            "application/sdp",
                            "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n",
                        )
                        .build()
                        .ok()
                }
                Some(Method::Ack) => {
                    seen.push("ACK");
                    None
                }
                Some(Method::Bye) => {
                    seen.push("BYE");
                    response_to(&msg, 200, "OK").build().ok()
                }
                _ => None,
            };
            if let Some(r) = reply {
                callee.send_to(&r, from).unwrap();
            }
        }
        seen
    });

    let mut child = Command::new(bin())
        .args([
            "call",
            "sip:bob@127.0.0.1",
            "--user",
            "alice",
            "--password-stdin",
        ])
        .args([
            "--server",
            &server.udp.unwrap().to_string(),
            "--hold",
            "0.3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "Alice-Pw-7781").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen = answering.join().unwrap();
    assert!(
        out.status.success(),
        "call failed: {:?}\n{stdout}\n{}\nserver:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
    assert!(stdout.starts_with("SIP/2.0 200"), "{stdout}");
    assert_eq!(seen, ["INVITE", "ACK", "BYE"], "{stdout}");
}
