//! The real binary on loopback, over UDP, TCP, TLS and WebSocket.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use sipwarden_wire::{HeaderName, Message};

fn assert_options_200(msg: &Message) {
    assert_eq!(
        msg.status_code(),
        Some(200),
        "{:?}",
        String::from_utf8_lossy(msg.as_bytes())
    );
    assert!(header(msg, "Allow").unwrap().contains("OPTIONS"));
    assert!(header(msg, "Supported").is_some());
    assert_eq!(header(msg, "Accept").as_deref(), Some("application/sdp"));
    assert_eq!(header(msg, "Content-Length").as_deref(), Some("0"));
}

fn top_via(msg: &Message) -> String {
    String::from_utf8_lossy(msg.header(HeaderName::Via).unwrap()).into_owned()
}

#[test]
fn options_is_answered_over_every_transport() {
    let server = Server::start(ALL, None, &[]);

    // UDP
    let udp = udp_client();
    let req = options("UDP", udp.local_addr().unwrap());
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    assert_options_200(&udp_recv(&udp));

    // TCP
    let mut tcp = tcp_connect(server.tcp.unwrap());
    let req = options("TCP", tcp.local_addr().unwrap());
    write_all(&mut tcp, req.as_bytes());
    assert_options_200(&read_messages(&mut tcp, 1)[0]);

    // TLS, verifying the development certificate against its CA
    let mut tls = tls_connect(server.tls.unwrap(), &server.ca(), "localhost");
    let req = options("TLS", tls.sock.local_addr().unwrap());
    write_all(&mut tls, req.as_bytes());
    assert_options_200(&read_messages(&mut tls, 1)[0]);
    // The same certificate also names the loopback address.
    let tls_ip = tls_connect(server.tls.unwrap(), &server.ca(), "127.0.0.1");
    drop(tls_ip);

    // WebSocket
    let ws_url = format!("ws://{}/", server.ws.unwrap());
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            ws_url.as_str(),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    let stream = TcpStream::connect(server.ws.unwrap()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (mut ws, response) = tokio_tungstenite::tungstenite::client(request, stream).unwrap();
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        "sip"
    );
    let req = options_with_via(
        &format!("SIP/2.0/WS {}.invalid;branch=z9hG4bK{}", token(), token()),
        &token(),
    );
    ws.send(tokio_tungstenite::tungstenite::Message::text(req))
        .unwrap();
    let reply = match ws.read().unwrap() {
        tokio_tungstenite::tungstenite::Message::Text(t) => parse(t.as_bytes()),
        other => panic!("unexpected {other:?}"),
    };
    assert_options_200(&reply);
    assert!(
        top_via(&reply).contains(";received=127.0.0.1"),
        "{}",
        top_via(&reply)
    );
}

#[test]
fn websocket_without_the_sip_subprotocol_is_refused() {
    let server = Server::start(&["ws"], None, &[]);
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/", server.ws.unwrap()).as_str(),
    )
    .unwrap();
    let stream = TcpStream::connect(server.ws.unwrap()).unwrap();
    let err = tokio_tungstenite::tungstenite::client(request, stream).unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
}

#[test]
fn udp_retransmissions_are_absorbed() {
    let server = Server::start(&["udp"], None, &[]);
    let udp = udp_client();
    let req = options("UDP", udp.local_addr().unwrap());
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let first = udp_recv(&udp);
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let second = udp_recv(&udp);
    // The transaction user answered once (its To tags are random per answer); the
    // transaction layer resent the same bytes.
    assert_eq!(first.as_bytes(), second.as_bytes());
    // A new request (new branch) gets a new answer with a new tag.
    let other = options("UDP", udp.local_addr().unwrap());
    udp.send_to(other.as_bytes(), server.udp.unwrap()).unwrap();
    let third = udp_recv(&udp);
    assert_ne!(header(&first, "To"), header(&third, "To"));
}

#[test]
fn tcp_pipelined_and_fragmented_messages() {
    let server = Server::start(&["tcp"], None, &[]);
    let mut tcp = tcp_connect(server.tcp.unwrap());
    let local = tcp.local_addr().unwrap();
    let (a, b, c) = (
        options("TCP", local),
        options("TCP", local),
        options("TCP", local),
    );
    // Two messages in one write, then one message in three pieces.
    write_all(&mut tcp, format!("{a}{b}").as_bytes());
    let bytes = c.as_bytes();
    for piece in [
        &bytes[..10],
        &bytes[10..bytes.len() - 5],
        &bytes[bytes.len() - 5..],
    ] {
        write_all(&mut tcp, piece);
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = read_messages(&mut tcp, 3);
    let ids: Vec<_> = got.iter().map(|m| header(m, "Call-ID").unwrap()).collect();
    let want: Vec<_> = [&a, &b, &c]
        .iter()
        .map(|r| header(&parse(r.as_bytes()), "Call-ID").unwrap())
        .collect();
    assert_eq!(ids, want);
    got.iter().for_each(assert_options_200);
}

#[test]
fn crlf_keepalive_gets_a_pong() {
    let server = Server::start(&["tcp"], None, &[]);
    let mut tcp = tcp_connect(server.tcp.unwrap());
    write_all(&mut tcp, b"\r\n\r\n");
    let mut buf = [0u8; 2];
    std::io::Read::read_exact(&mut tcp, &mut buf).unwrap();
    assert_eq!(&buf, b"\r\n");
}

const SMALL_LIMITS: &str = "[limits]\nmax_message_size = 2048\nmessage_timeout_secs = 1\n";

#[test]
fn slow_senders_are_cut_off_but_idle_connections_stay() {
    let server = Server::start(&["tcp"], Some(SMALL_LIMITS), &[]);
    let mut slow = tcp_connect(server.tcp.unwrap());
    let idle = tcp_connect(server.tcp.unwrap());
    let start = Instant::now();
    write_all(
        &mut slow,
        b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1",
    );
    let rest = read_until_closed(&mut slow, Duration::from_secs(10));
    assert!(rest.is_empty());
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed too early: {elapsed:?}"
    );
    // The idle connection (no partial message) is still served.
    let mut idle = idle;
    let req = options("TCP", idle.local_addr().unwrap());
    write_all(&mut idle, req.as_bytes());
    assert_options_200(&read_messages(&mut idle, 1)[0]);
    assert!(server.stderr().contains("message not completed in time"));
}

#[test]
fn oversized_stream_messages_get_513_and_the_connection_closes() {
    let server = Server::start(&["tcp"], Some(SMALL_LIMITS), &[]);
    let mut tcp = tcp_connect(server.tcp.unwrap());
    let req = options("TCP", tcp.local_addr().unwrap())
        .replace("Content-Length: 0", "Content-Length: 4000");
    write_all(&mut tcp, req.as_bytes());
    // The body is never sent: the head alone tells the message is too large.
    let rest = read_until_closed(&mut tcp, Duration::from_secs(10));
    let reply = parse(&rest);
    assert_eq!(reply.status_code(), Some(513));
    assert_eq!(reply.reason_phrase(), b"Message Too Large");
}

#[test]
fn oversized_datagrams_get_513() {
    let server = Server::start(&["udp"], Some(SMALL_LIMITS), &[]);
    let udp = udp_client();
    let mut req = options("UDP", udp.local_addr().unwrap())
        .replace("Content-Length: 0", "Content-Length: 3000");
    req.push_str(&"v".repeat(3000));
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let reply = udp_recv(&udp);
    assert_eq!(reply.status_code(), Some(513));
    // Oversized garbage is dropped: the next answer is for the next request.
    udp.send_to(&vec![b'z'; 3000], server.udp.unwrap()).unwrap();
    let ok = options("UDP", udp.local_addr().unwrap());
    udp.send_to(ok.as_bytes(), server.udp.unwrap()).unwrap();
    assert_options_200(&udp_recv(&udp));
}

#[test]
fn malformed_requests_get_400_with_a_reason() {
    let server = Server::start(&["udp", "tcp"], None, &[]);
    let udp = udp_client();
    let local = udp.local_addr().unwrap();
    let cases = [
        (
            "Content-Length: 0",
            "Content-Length: zero",
            400,
            "Bad Request (malformed Content-Length)",
        ),
        (
            "SIP/2.0\r\nVia",
            "SIP/7.0\r\nVia",
            505,
            "Version Not Supported",
        ),
        (
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nthis line has no colon\r\n",
            400,
            "Bad Request (malformed header line)",
        ),
        (
            "Content-Length: 0",
            "Content-Length: 0\r\nContent-Length: 0",
            400,
            "Bad Request (conflicting Content-Length)",
        ),
        ("Call-ID", "X-Call-ID", 400, "Bad Request (missing Call-ID)"),
        (
            "OPTIONS sip:127.0.0.1",
            "OPTIONS http://127.0.0.1",
            416,
            "Unsupported URI Scheme",
        ),
        (
            "CSeq: 1 OPTIONS",
            "CSeq: 1 INVITE",
            400,
            "Bad Request (CSeq method mismatch)",
        ),
    ];
    for (from, to, code, reason) in cases {
        let req = options("UDP", local).replacen(from, to, 1);
        udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
        let reply = udp_recv(&udp);
        assert_eq!(reply.status_code(), Some(code), "{to}");
        assert_eq!(String::from_utf8_lossy(reply.reason_phrase()), reason);
    }
    // Over TCP too; the connection stays usable when the framing was intact.
    let mut tcp = tcp_connect(server.tcp.unwrap());
    let bad = options("TCP", tcp.local_addr().unwrap()).replacen(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nbad\r\n",
        1,
    );
    write_all(&mut tcp, bad.as_bytes());
    let good = options("TCP", tcp.local_addr().unwrap());
    write_all(&mut tcp, good.as_bytes());
    let got = read_messages(&mut tcp, 2);
    assert_eq!(got[0].status_code(), Some(400));
    assert_options_200(&got[1]);
}

#[test]
fn rport_and_received_route_the_response() {
    let server = Server::start(&["udp"], None, &[]);
    let udp = udp_client();
    let port = udp.local_addr().unwrap().port();
    // The Via names an address we do not listen on; rport sends the answer back here.
    let req = options_with_via(
        "SIP/2.0/UDP 192.0.2.1:5099;rport;branch=z9hG4bKrport1",
        &token(),
    );
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let reply = udp_recv(&udp);
    assert_eq!(
        top_via(&reply),
        format!("SIP/2.0/UDP 192.0.2.1:5099;rport={port};branch=z9hG4bKrport1;received=127.0.0.1")
    );

    // Without rport, a Via naming our own address and port gets no received.
    let req = options_with_via(
        &format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKplain1"),
        &token(),
    );
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let reply = udp_recv(&udp);
    assert_eq!(
        top_via(&reply),
        format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKplain1")
    );

    // A received the client wrote itself is overwritten.
    let req = options_with_via(
        "SIP/2.0/UDP 192.0.2.1:5099;received=198.51.100.1;rport;branch=z9hG4bKspoof1",
        &token(),
    );
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let reply = udp_recv(&udp);
    assert!(
        top_via(&reply).contains(";received=127.0.0.1"),
        "{}",
        top_via(&reply)
    );
    assert!(!top_via(&reply).contains("198.51.100.1"));
}

#[test]
fn tcp_responses_use_the_same_connection() {
    let server = Server::start(&["tcp"], None, &[]);
    let mut tcp = tcp_connect(server.tcp.unwrap());
    // The Via claims a port nobody listens on: the answer still comes on this connection.
    let req = options_with_via("SIP/2.0/TCP 192.0.2.1:5999;branch=z9hG4bKconn1", &token());
    write_all(&mut tcp, req.as_bytes());
    let reply = &read_messages(&mut tcp, 1)[0];
    assert_options_200(reply);
    assert!(top_via(reply).ends_with(";received=127.0.0.1"));
}

#[test]
fn connections_per_source_are_limited() {
    let server = Server::start(
        &["tcp"],
        Some("[limits]\nmax_connections_per_ip = 2\n"),
        &[],
    );
    let mut a = tcp_connect(server.tcp.unwrap());
    let _b = tcp_connect(server.tcp.unwrap());
    // Make sure both are admitted before the third arrives.
    let req = options("TCP", a.local_addr().unwrap());
    write_all(&mut a, req.as_bytes());
    read_messages(&mut a, 1);
    let mut c = tcp_connect(server.tcp.unwrap());
    let _ = c.write_all(options("TCP", c.local_addr().unwrap()).as_bytes());
    assert!(read_until_closed(&mut c, Duration::from_secs(10)).is_empty());
}

#[test]
fn other_methods_get_a_clear_status() {
    let server = Server::start(&["udp"], None, &[]);
    let udp = udp_client();
    let local = udp.local_addr().unwrap();
    // REGISTER and the dialog methods have their own owners now (registrar, proxy);
    // a method nobody implements is named as such.
    let req = options("UDP", local).replace("OPTIONS", "FOO");
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let reply = udp_recv(&udp);
    assert_eq!(reply.status_code(), Some(501));
    assert!(header(&reply, "Allow").is_some());
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut server = Server::start(&["udp", "tcp"], None, &[]);
    let _open = tcp_connect(server.tcp.unwrap());
    server.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.process.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.stderr().contains("stopped"));
}

#[test]
fn the_development_pki_is_reused_on_the_next_run() {
    let server = Server::start(&["tls"], None, &[]);
    assert!(server
        .stderr()
        .contains("DEVELOPMENT certificate just generated"));
    assert!(server
        .banner
        .iter()
        .any(|l| l.starts_with("development-ca ")));
    let ca = std::fs::read(server.ca()).unwrap();
    let key = server.dir.path().join("data/dev-pki/server.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
    let Server { process, dir, .. } = server;
    drop(process);
    let again = Server::start_in(dir, &["tls"], None, &[]);
    assert!(again
        .stderr()
        .contains("DEVELOPMENT certificate generated earlier"));
    assert_eq!(std::fs::read(again.ca()).unwrap(), ca);
    let mut tls = tls_connect(again.tls.unwrap(), &again.ca(), "localhost");
    let req = options("TLS", tls.sock.local_addr().unwrap());
    write_all(&mut tls, req.as_bytes());
    assert_options_200(&read_messages(&mut tls, 1)[0]);
}

#[test]
fn sighup_serves_a_rotated_certificate_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let write_pki = |name: &str| {
        let pki = sipwarden_tls::generate_dev_pki(&[name], &[]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), &pki.cert_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &pki.key_pem).unwrap();
        let ca = dir.path().join(format!("{name}-ca.pem"));
        std::fs::write(&ca, &pki.ca_cert_pem).unwrap();
        ca
    };
    let ca1 = write_pki("one.test");
    let cert = dir.path().join("cert.pem").display().to_string();
    let key = dir.path().join("key.pem").display().to_string();
    let server = Server::start(&["tls"], None, &["--tls-cert", &cert, "--tls-key", &key]);
    let addr: SocketAddr = server.tls.unwrap();
    let mut old = tls_connect(addr, &ca1, "one.test");

    let ca2 = write_pki("two.test");
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stderr().contains("TLS certificate reloaded") {
        assert!(Instant::now() < deadline, "no reload:\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    // New connections get the new certificate...
    let mut new = tls_connect(addr, &ca2, "two.test");
    let req = options("TLS", new.sock.local_addr().unwrap());
    write_all(&mut new, req.as_bytes());
    assert_options_200(&read_messages(&mut new, 1)[0]);
    // ...and the connection made before the rotation still works.
    let req = options("TLS", old.sock.local_addr().unwrap());
    write_all(&mut old, req.as_bytes());
    assert_options_200(&read_messages(&mut old, 1)[0]);
}

#[test]
fn a_bad_listen_spec_or_config_key_is_refused() {
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "sctp:127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[limits]\nmax_mesage_size = 10\n").unwrap();
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "udp:127.0.0.1:0", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_mesage_size"));
}

#[test]
fn ipv6_loopback_over_udp_tcp_and_tls() {
    let specs: Vec<String> = ["udp", "tcp", "tls"]
        .iter()
        .map(|t| format!("{t}:[::1]:0"))
        .collect();
    let server = Server::start_specs(tempfile::tempdir().unwrap(), &specs, None, &[]);
    assert!(server.udp.unwrap().is_ipv6());

    let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Addressed to the server itself (it listens on ::1 only).
    let req = options_with_via(
        "SIP/2.0/UDP [2001:db8::9]:5060;rport;branch=z9hG4bKv6a",
        &token(),
    )
    .replace("sip:127.0.0.1", "sip:[::1]");
    udp.send_to(req.as_bytes(), server.udp.unwrap()).unwrap();
    let reply = udp_recv(&udp);
    assert_options_200(&reply);
    let port = udp.local_addr().unwrap().port();
    assert_eq!(
        top_via(&reply),
        format!("SIP/2.0/UDP [2001:db8::9]:5060;rport={port};branch=z9hG4bKv6a;received=::1")
    );

    let mut tcp = tcp_connect(server.tcp.unwrap());
    let req = options("TCP", tcp.local_addr().unwrap()).replace("sip:127.0.0.1", "sip:[::1]");
    write_all(&mut tcp, req.as_bytes());
    assert_options_200(&read_messages(&mut tcp, 1)[0]);

    // The development certificate names ::1 too.
    let mut tls = tls_connect(server.tls.unwrap(), &server.ca(), "::1");
    let req = options("TLS", tls.sock.local_addr().unwrap()).replace("sip:127.0.0.1", "sip:[::1]");
    write_all(&mut tls, req.as_bytes());
    assert_options_200(&read_messages(&mut tls, 1)[0]);
}
