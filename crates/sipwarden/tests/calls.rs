//! Calls through the real binary: SIPp caller and callee through the proxy (407,
//! Record-Route, ACK and BYE routed), "sips means every hop", the SDES-over-UDP refusal,
//! the calls view and the call-ended record, and that no media key ever reaches the
//! server's output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sipwarden_auth::{ClientSecret, DigestChallenge, DigestClient, QopPreference};
use sipwarden_wire::headers::Challenge;
use sipwarden_wire::{HeaderName, Message};

/// Loopback never banned: the tests send many users from one address.
const CONFIG: &str = "[policy]\nallow_cidrs = [\"127.0.0.0/8\"]\n";

/// An SDES key that must never be seen in the server's output.
const SDES_KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

fn add_user(server: &Server, user: &str, password: &str) {
    let mut child = Command::new(bin())
        .args(["user", "add", user, "--password-stdin", "--data-dir"])
        .arg(server.dir.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// Sends `build(None)`; when challenged (401/407), answers the challenge once with
/// `build(Some(header line))`. Returns the final response.
fn with_digest(
    udp: &UdpSocket,
    to: SocketAddr,
    (user, password): (&str, &str),
    method: &str,
    uri: &str,
    body: &str,
    build: impl Fn(Option<&str>, u32) -> String,
) -> Message {
    udp.send_to(build(None, 1).as_bytes(), to).unwrap();
    let first = final_response(udp);
    let code = first.status_code().unwrap();
    let (name, header) = match code {
        401 => (HeaderName::WwwAuthenticate, "Authorization"),
        407 => (HeaderName::ProxyAuthenticate, "Proxy-Authorization"),
        _ => return first,
    };
    if method == "INVITE" {
        // The ACK for the challenge.
        let ack = ack_for(&first, &build(None, 1));
        udp.send_to(ack.as_bytes(), to).unwrap();
    }
    let challenges: Vec<DigestChallenge<'_>> = first
        .fields(name)
        .filter_map(|f| Challenge::parse(name, first.slice(f.value)).ok())
        .filter_map(|c| DigestChallenge::from_wire(&c).ok())
        .collect();
    let challenge = DigestChallenge::strongest(challenges).unwrap();
    let mut client = DigestClient::new(
        &challenge,
        user,
        ClientSecret::Password(password),
        QopPreference::default(),
    )
    .unwrap();
    let auth = client.authorization(method, uri, body.as_bytes(), &token());
    udp.send_to(build(Some(&format!("{header}: {auth}")), 2).as_bytes(), to)
        .unwrap();
    final_response(udp)
}

fn final_response(udp: &UdpSocket) -> Message {
    loop {
        let msg = udp_recv(udp);
        if msg.status_code().is_some_and(|c| c >= 200) {
            return msg;
        }
    }
}

/// The ACK for a non-2xx final response to `invite` (same branch, To from the response).
fn ack_for(response: &Message, invite: &str) -> String {
    let to = header(response, "To").unwrap();
    let mut out = String::new();
    let mut lines = invite.split("\r\n");
    let first = lines.next().unwrap();
    out.push_str(&first.replacen("INVITE", "ACK", 1));
    out.push_str("\r\n");
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("via:")
            || lower.starts_with("from:")
            || lower.starts_with("call-id:")
            || lower.starts_with("max-forwards:")
        {
            out.push_str(line);
            out.push_str("\r\n");
        } else if lower.starts_with("cseq:") {
            out.push_str(&line.replace("INVITE", "ACK"));
            out.push_str("\r\n");
        } else if lower.starts_with("to:") {
            out.push_str(&format!("To: {to}\r\n"));
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// Registers `user` with the contact being `udp`'s own address.
fn register_udp(server: &Server, udp: &UdpSocket, user: &str, password: &str) {
    let to = server.udp.unwrap();
    let local = udp.local_addr().unwrap();
    let call_id = token();
    let from_tag = token();
    let uri = format!("sip:{}", to);
    let resp = with_digest(
        udp,
        to,
        (user, password),
        "REGISTER",
        &uri,
        "",
        |auth, cseq| {
            crlf(&format!(
            "REGISTER {uri} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK{b}\nFrom: <sip:{user}@localhost>;tag={from_tag}\nTo: <sip:{user}@localhost>\nCall-ID: {call_id}\nCSeq: {cseq} REGISTER\nContact: <sip:{user}@{local}>\nExpires: 600\nMax-Forwards: 70\n{auth}Content-Length: 0\n\n",
            b = token(),
            auth = auth.map(|a| format!("{a}\n")).unwrap_or_default(),
        ))
        },
    );
    assert_eq!(resp.status_code(), Some(200), "REGISTER {user}");
}

fn sdp(crypto: bool) -> String {
    let mut s =
        String::from("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");
    if crypto {
        s.push_str("m=audio 40000 RTP/SAVP 0\r\n");
        s.push_str(&format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{SDES_KEY}\r\n"
        ));
    } else {
        s.push_str("m=audio 40000 RTP/AVP 0\r\n");
    }
    s.push_str("a=rtpmap:0 PCMU/8000\r\n");
    s
}

/// Places an authenticated INVITE from `caller` (over `udp`) to `ruri`.
fn invite(
    server: &Server,
    udp: &UdpSocket,
    caller: &str,
    password: &str,
    ruri: &str,
    body: &str,
) -> Message {
    let to = server.udp.unwrap();
    let local = udp.local_addr().unwrap();
    let call_id = token();
    let from_tag = token();
    let branch = format!("z9hG4bK{}", token());
    let branch2 = format!("z9hG4bK{}", token());
    with_digest(
        udp,
        to,
        (caller, password),
        "INVITE",
        ruri,
        body,
        |auth, cseq| {
            let b = if cseq == 1 { &branch } else { &branch2 };
            crlf(&format!(
            "INVITE {ruri} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch={b}\nFrom: <sip:{caller}@localhost>;tag={from_tag}\nTo: <{ruri}>\nCall-ID: {call_id}\nCSeq: {cseq} INVITE\nContact: <sip:{caller}@{local}>\nMax-Forwards: 70\n{auth}Content-Type: application/sdp\nContent-Length: {len}\n\n",
            auth = auth.map(|a| format!("{a}\n")).unwrap_or_default(),
            len = body.len(),
        )) + body
        },
    )
}

#[test]
fn a_sips_request_to_a_callee_registered_over_udp_fails_and_is_not_downgraded() {
    let server = Server::start(&["udp"], Some(CONFIG), &[]);
    add_user(&server, "alice", "alice-secret-1");
    add_user(&server, "bob", "bob-secret-1");
    let bob = udp_client();
    register_udp(&server, &bob, "bob", "bob-secret-1");
    let alice = udp_client();
    let resp = invite(
        &server,
        &alice,
        "alice",
        "alice-secret-1",
        "sips:bob@localhost",
        &sdp(false),
    );
    assert_eq!(resp.status_code(), Some(480), "{resp:?}");
    let warning = header(&resp, "Warning").expect("a Warning says why");
    assert!(
        warning.contains("not downgraded") || warning.contains("TLS"),
        "{warning}"
    );
    // Nothing reached the callee over plain UDP.
    assert!(udp_try_recv(&bob, Duration::from_millis(300)).is_none());
    // The refusal is a security event.
    assert!(
        security_events(&server).contains("\"kind\":\"downgrade_refused\""),
        "{}",
        security_events(&server)
    );
}

/// The server's security event log.
fn security_events(server: &Server) -> String {
    std::fs::read_to_string(server.dir.path().join("data/security-events.jsonl"))
        .unwrap_or_default()
}

#[test]
fn sdes_keys_are_not_sent_over_udp_and_never_logged() {
    let server = Server::start(&["udp"], Some(CONFIG), &[]);
    add_user(&server, "alice", "alice-secret-1");
    add_user(&server, "bob", "bob-secret-1");
    let bob = udp_client();
    register_udp(&server, &bob, "bob", "bob-secret-1");
    let alice = udp_client();
    let resp = invite(
        &server,
        &alice,
        "alice",
        "alice-secret-1",
        "sip:bob@localhost",
        &sdp(true),
    );
    assert_eq!(resp.status_code(), Some(488), "{resp:?}");
    let warning = header(&resp, "Warning").expect("a Warning says why");
    assert!(
        warning.to_ascii_lowercase().contains("tls") || warning.contains("key"),
        "{warning}"
    );
    assert!(udp_try_recv(&bob, Duration::from_millis(300)).is_none());
    // The key appears in no output of the server (its debug log included).
    std::thread::sleep(Duration::from_millis(200));
    assert_no_key_anywhere(&server);
    // The refusal is a security event.
    assert!(
        security_events(&server).contains("\"kind\":\"sdes_refused\""),
        "{}",
        security_events(&server)
    );
}

/// Greps every file the server wrote and its whole log for the SDES key.
fn assert_no_key_anywhere(server: &Server) {
    let stderr = server.stderr();
    assert!(!stderr.is_empty());
    assert!(!stderr.contains(SDES_KEY), "key in the server log");
    for entry in walk(server.dir.path()) {
        if entry
            .extension()
            .is_some_and(|e| e == "toml" || e == "db" || e == "db-wal")
        {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SDES_KEY), "key in {}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// ----- SIPp through the proxy ---------------------------------------------------------

/// The shared bench folder beside the repository, if present.
fn bench_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench");
    if dir.join("scenarios/uac_call.xml").is_file() {
        return Some(dir);
    }
    if std::env::var("SIPWARDEN_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("the shared bench folder is missing and SIPWARDEN_REQUIRE_PEERS=1");
    }
    println!("SKIP: the shared bench folder is not beside the repository");
    None
}

/// A SIPp run: its exit, stdout and the working directory.
struct SippRun {
    ok: bool,
    out: String,
}

fn sipp(dir: &Path, args: &[String], limit: Duration) -> SippRun {
    let mut cmd = Command::new("sipp");
    cmd.current_dir(dir)
        .args(args)
        .args(["-nostdin", "-trace_err"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let guard = ProcessGuard { child };
    let pid = guard.child.id();
    let start = Instant::now();
    let mut guard = guard;
    loop {
        if let Some(status) = guard.child.try_wait().unwrap() {
            let mut out = String::new();
            use std::io::Read;
            if let Some(mut s) = guard.child.stdout.take() {
                let _ = s.read_to_string(&mut out);
            }
            return SippRun {
                ok: status.success(),
                out,
            };
        }
        if start.elapsed() > limit {
            panic!("sipp (pid {pid}) ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Counts a SIPp statistics line (`Successful call | x | y`): the cumulative column.
fn sipp_count(out: &str, label: &str) -> u64 {
    out.lines()
        .filter(|l| l.trim_start().starts_with(label))
        .filter_map(|l| l.split('|').nth(2))
        .filter_map(|v| v.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

/// The SIPp bench: users imported from `users.csv`, callees registered from the UAS
/// port, the UAS started, then `calls` calls at `rate`/s. Returns the UAC's statistics.
fn sipp_bench(server: &Server, bench: &Path, users: usize, calls: u64, rate: u64) -> SippRun {
    let work = server.dir.path().join("sipp");
    std::fs::create_dir_all(&work).unwrap();
    let csv: Vec<String> = std::fs::read_to_string(bench.join("users.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with('#') && l.contains(';'))
        .take(users)
        .map(str::to_owned)
        .collect();
    let csv_path = work.join("users.csv");
    std::fs::write(&csv_path, format!("SEQUENTIAL\n{}\n", csv.join("\n"))).unwrap();
    let status = Command::new(bin())
        .args(["user", "import"])
        .arg(&csv_path)
        .arg("--data-dir")
        .arg(server.dir.path().join("data"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let half = csv.len() / 2;
    let auth = |line: &str| {
        let (u, p) = line.split_once(';').unwrap();
        (
            u.to_owned(),
            format!("[authentication username={u} password={p}]"),
        )
    };
    let mut callees = String::from("SEQUENTIAL\n");
    for line in &csv[half..] {
        let (u, a) = auth(line);
        callees.push_str(&format!("{u};{a}\n"));
    }
    let mut calls_inf = String::from("SEQUENTIAL\n");
    for (i, line) in csv[..half].iter().enumerate() {
        let (u, a) = auth(line);
        let (callee, _) = auth(&csv[half + i]);
        calls_inf.push_str(&format!("{u};{a};{callee}\n"));
    }
    std::fs::write(work.join("callees.inf"), callees).unwrap();
    std::fs::write(work.join("calls.inf"), calls_inf).unwrap();
    let target = server.udp.unwrap().to_string();
    let uas_port = free_port(true).to_string();
    let uac_port = free_port(true).to_string();
    let scen = |n: &str| bench.join("scenarios").join(n).display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();

    let n = (csv.len() - half).to_string();
    let reg = sipp(
        &work,
        &s(&[
            &target,
            "-sf",
            &scen("reg_auth.xml"),
            "-inf",
            "callees.inf",
            "-p",
            &uas_port,
            "-i",
            "127.0.0.1",
            "-m",
            &n,
            "-r",
            "200",
            "-timeout",
            "30s",
        ]),
        Duration::from_secs(40),
    );
    assert_eq!(
        sipp_count(&reg.out, "Successful call"),
        (csv.len() - half) as u64,
        "callee registrations:\n{}",
        reg.out
    );

    let uas = Command::new("sipp")
        .current_dir(&work)
        .args(s(&[
            "-sf",
            &scen("uas.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            &uas_port,
            "-nostdin",
            "-timeout",
            "120s",
            "-buff_size",
            "4194304",
        ]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _uas = ProcessGuard { child: uas };
    std::thread::sleep(Duration::from_millis(300));
    let secs = calls / rate + 30;
    sipp(
        &work,
        &s(&[
            &target,
            "-sf",
            &scen("uac_call.xml"),
            "-inf",
            "calls.inf",
            "-p",
            &uac_port,
            "-i",
            "127.0.0.1",
            "-m",
            &calls.to_string(),
            "-r",
            &rate.to_string(),
            "-rp",
            "1000",
            "-l",
            &(rate * 3 + 200).to_string(),
            "-d",
            "0",
            "-pause_msg_ign",
            "-recv_timeout",
            "5000",
            "-timeout",
            &format!("{secs}s"),
            "-buff_size",
            "4194304",
        ]),
        Duration::from_secs(secs + 15),
    )
}

#[test]
fn sipp_calls_are_authenticated_record_routed_and_ended_through_the_proxy() {
    if !peer_available("sipp") {
        return;
    }
    let Some(bench) = bench_dir() else { return };
    let server = Server::start(&["udp"], Some(CONFIG), &[]);
    let run = sipp_bench(&server, &bench, 40, 20, 10);
    assert_eq!(sipp_count(&run.out, "Successful call"), 20, "{}", run.out);
    assert_eq!(sipp_count(&run.out, "Failed call"), 0, "{}", run.out);
    assert!(run.ok, "{}", run.out);

    // Each call ended with one structured line carrying its assessment.
    let data = server.dir.path().join("data");
    let deadline = Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let log = std::fs::read_to_string(data.join("calls.log")).unwrap_or_default();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= 20 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(lines.len(), 20);
    for l in &lines {
        assert_eq!(l["event"], "call_ended");
        assert_eq!(l["ended_by"], "bye");
        assert_eq!(l["status"], 200);
        // UDP on both sides, plain RTP: level none, with the reasons.
        assert_eq!(l["assessment"]["level"], "none");
        assert_eq!(l["assessment"]["caller_auth"]["method"], "digest");
        assert_eq!(l["assessment"]["signalling"].as_array().unwrap().len(), 2);
    }
    // `sipwarden calls` reads the running server's view.
    std::thread::sleep(Duration::from_millis(1500));
    let out = Command::new(bin())
        .args(["calls", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 active, 20 recent"), "{text}");
    assert!(text.contains("ended-by=bye"), "{text}");
}

/// 200 calls/s for 30 s with zero failures. Run by `scripts/test` in release mode
/// (`SIPWARDEN_LOAD_TESTS=1`); skipped otherwise, as it needs both cores for 45 s.
#[test]
fn sipp_load_200_calls_per_second_for_30_seconds() {
    if std::env::var("SIPWARDEN_LOAD_TESTS").as_deref() != Ok("1") {
        println!("SKIP: set SIPWARDEN_LOAD_TESTS=1 (release build) to run the load test");
        return;
    }
    if !peer_available("sipp") {
        return;
    }
    let Some(bench) = bench_dir() else { return };
    let server = start_quiet_udp_server();
    let run = sipp_bench(&server, &bench, 2000, 6000, 200);
    assert_eq!(sipp_count(&run.out, "Successful call"), 6000, "{}", run.out);
    assert_eq!(sipp_count(&run.out, "Failed call"), 0, "{}", run.out);
}

/// A UDP server logging at `info` (the shared helper logs at `debug`, which would
/// dominate the server's CPU under load).
fn start_quiet_udp_server() -> Server {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sipwarden.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new(bin())
        .args(["serve", "--listen", "udp:127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("SIPWARDEN_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let process = ProcessGuard { child };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let udp = loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        if let Some(addr) = line.strip_prefix("listening udp ") {
            break addr.parse().unwrap();
        }
    };
    Server {
        process,
        dir,
        udp: Some(udp),
        tcp: None,
        tls: None,
        ws: None,
        wss: None,
        banner: Vec::new(),
    }
}

/// Outbound TLS to another server is verified (RFC 5922): with the right trust root the
/// request reaches it; with another CA the handshake is refused and the reason logged.
#[test]
fn outbound_tls_is_verified_and_a_failure_is_refused_with_its_reason() {
    let far = Server::start(&["tls"], Some(CONFIG), &[]);
    let far_tls = far.tls.unwrap();
    let other = Server::start(&["tls"], Some(CONFIG), &[]);
    for (trust_far, expect_reached) in [(true, true), (false, false)] {
        let dir = tempfile::tempdir().unwrap();
        let ca = if trust_far {
            far.ca()
        } else {
            // Another development CA, which did not sign the far server's certificate.
            other.ca()
        };
        let config = format!("{CONFIG}[proxy]\nca_file = \"{}\"\n", ca.display());
        let near = Server::start_in(dir, &["udp", "tls"], Some(&config), &[]);
        add_user(&near, "alice", "alice-secret-1");
        let alice = udp_client();
        let ruri = format!("sip:bob@{far_tls};transport=tls");
        let resp = invite(&near, &alice, "alice", "alice-secret-1", &ruri, &sdp(false));
        let code = resp.status_code().unwrap();
        if expect_reached {
            // The far server (whose domain is also `localhost`) challenges the caller.
            assert_eq!(code, 407, "{resp:?}");
        } else {
            assert!(code >= 500, "{resp:?}");
            std::thread::sleep(Duration::from_millis(200));
            let log = near.stderr();
            // The verifier's reason is logged (two development CAs share their subject
            // name, so webpki reports the signature rather than an unknown issuer).
            assert!(
                log.lines()
                    .any(|l| l.contains("peer certificate failed verification")
                        && l.contains("reason=")),
                "no refusal with its reason in the log"
            );
            let events = security_events(&near);
            assert!(
                events.contains("\"kind\":\"certificate_refused\"")
                    && events.contains("\"direction\":\"outbound\""),
                "{events}"
            );
        }
    }
}

#[test]
fn guessing_passwords_with_invites_gets_the_source_banned() {
    // The guard as shipped: no allow list.
    let server = Server::start(&["udp"], None, &[]);
    add_user(&server, "alice", "alice-secret-1");
    let guesser = UdpSocket::bind("127.0.0.92:0").unwrap();
    let local = guesser.local_addr().unwrap();
    let to = server.udp.unwrap();
    let mut silenced = false;
    for attempt in 0..15u32 {
        let call_id = token();
        let build = |auth: Option<&str>, cseq: u32| {
            crlf(&format!(
                "INVITE sip:bob@localhost SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK{}\nFrom: <sip:alice@localhost>;tag=g{attempt}\nTo: <sip:bob@localhost>\nCall-ID: {call_id}\nCSeq: {cseq} INVITE\nContact: <sip:alice@{local}>\nMax-Forwards: 70\nUser-Agent: guesser\nX-Pad: {}\n{}Content-Length: 0\n\n",
                token(),
                // Phone-sized requests, so the UDP byte credit never silences the
                // guesser first: what is tested here is the ban.
                "p".repeat(900),
                auth.map(|a| format!("Proxy-Authorization: {a}\n")).unwrap_or_default(),
            ))
        };
        guesser.send_to(build(None, 1).as_bytes(), to).unwrap();
        // Earlier challenges are retransmitted (they were never acknowledged): only an
        // answer to this attempt's Call-ID counts.
        let deadline = std::time::Instant::now() + Duration::from_millis(1500);
        let mut answer = None;
        while std::time::Instant::now() < deadline {
            if let Some(m) = udp_try_recv(&guesser, Duration::from_millis(200)) {
                if m.call_id().ok() == Some(call_id.as_str()) && m.status_code() == Some(407) {
                    answer = Some(m);
                    break;
                }
            }
        }
        let Some(challenge) = answer else {
            silenced = true;
            break;
        };
        let challenges: Vec<DigestChallenge<'_>> = challenge
            .fields(HeaderName::ProxyAuthenticate)
            .filter_map(|f| {
                Challenge::parse(HeaderName::ProxyAuthenticate, challenge.slice(f.value)).ok()
            })
            .filter_map(|c| DigestChallenge::from_wire(&c).ok())
            .collect();
        let Some(chosen) = DigestChallenge::strongest(challenges) else {
            continue;
        };
        let mut client = DigestClient::new(
            &chosen,
            "alice",
            ClientSecret::Password(&format!("guess-{attempt}")),
            QopPreference::default(),
        )
        .unwrap();
        let auth = client.authorization("INVITE", "sip:bob@localhost", b"", &token());
        guesser
            .send_to(build(Some(&auth), 2).as_bytes(), to)
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        silenced,
        "the guesser was never silenced:\n{}",
        server
            .stderr()
            .lines()
            .filter(|l| l.contains("guard") || l.contains("ban"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let log = server.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("kind=\"ban\"") && l.contains("127.0.0.92")),
        "no ban of the guesser in the log"
    );
}

// ----- TLS versions in the assessment ---------------------------------------------------

/// A user agent on one TLS connection, speaking the TLS versions it is given.
struct TlsUa {
    stream: rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>,
    framer: sipwarden_wire::framing::StreamFramer,
    local: SocketAddr,
}

impl TlsUa {
    fn connect(server: &Server, versions: sipwarden_tls::TlsVersions) -> TlsUa {
        let roots = sipwarden_tls::TrustRoots::from_pem_file(server.ca()).unwrap();
        let name = sipwarden_tls::ReferenceName::parse("localhost").unwrap();
        let config = sipwarden_tls::ClientTlsConfig::new(roots)
            .versions(versions)
            .verifying(std::slice::from_ref(&name))
            .unwrap();
        let conn = rustls::ClientConnection::new(config, name.to_server_name().unwrap()).unwrap();
        let tcp = tcp_connect(server.tls.unwrap());
        let local = tcp.local_addr().unwrap();
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock).unwrap();
        }
        TlsUa {
            stream,
            framer: sipwarden_wire::framing::StreamFramer::new(sipwarden_wire::Limits::default()),
            local,
        }
    }

    fn version(&self) -> rustls::ProtocolVersion {
        self.stream.conn.protocol_version().unwrap()
    }

    fn send(&mut self, bytes: &[u8]) {
        write_all(&mut self.stream, bytes);
    }

    fn next(&mut self) -> Message {
        use sipwarden_wire::framing::StreamEvent;
        let mut buf = [0u8; 8192];
        loop {
            if let StreamEvent::Message(frame) = self.framer.next_event().unwrap() {
                return Message::parse_frame(frame, &sipwarden_wire::Limits::default()).unwrap();
            }
            let n = std::io::Read::read(&mut self.stream, &mut buf).unwrap();
            assert!(n > 0, "connection closed");
            self.framer.push(&buf[..n]);
        }
    }

    fn next_final(&mut self) -> Message {
        loop {
            let msg = self.next();
            if msg.status_code().is_some_and(|c| c >= 200) {
                return msg;
            }
        }
    }

    fn next_request(&mut self, method: sipwarden_wire::Method) -> Message {
        loop {
            let msg = self.next();
            if msg.method() == Some(method) {
                return msg;
            }
        }
    }
}

/// The `Authorization`/`Proxy-Authorization` line answering a 401/407.
fn answer_challenge(
    challenge: &Message,
    (user, password): (&str, &str),
    method: &str,
    uri: &str,
    body: &str,
) -> String {
    let (name, header) = match challenge.status_code() {
        Some(401) => (HeaderName::WwwAuthenticate, "Authorization"),
        _ => (HeaderName::ProxyAuthenticate, "Proxy-Authorization"),
    };
    let challenges: Vec<DigestChallenge<'_>> = challenge
        .fields(name)
        .filter_map(|f| Challenge::parse(name, challenge.slice(f.value)).ok())
        .filter_map(|c| DigestChallenge::from_wire(&c).ok())
        .collect();
    let chosen = DigestChallenge::strongest(challenges).unwrap();
    let mut client = DigestClient::new(
        &chosen,
        user,
        ClientSecret::Password(password),
        QopPreference::default(),
    )
    .unwrap();
    // A template line: `crlf` turns its newline into CRLF.
    format!(
        "{header}: {}\n",
        client.authorization(method, uri, body.as_bytes(), &token())
    )
}

fn register_tls(ua: &mut TlsUa, user: &str, password: &str) {
    let local = ua.local;
    let call_id = token();
    let tag = token();
    let build = |cseq: u32, auth: &str| {
        crlf(&format!(
            "REGISTER sip:localhost SIP/2.0\nVia: SIP/2.0/TLS {local};rport;branch=z9hG4bK{b}\nFrom: <sip:{user}@localhost>;tag={tag}\nTo: <sip:{user}@localhost>\nCall-ID: {call_id}\nCSeq: {cseq} REGISTER\nContact: <sip:{user}@{local};transport=tls>\nExpires: 600\nMax-Forwards: 70\n{auth}Content-Length: 0\n\n",
            b = token(),
        ))
    };
    ua.send(build(1, "").as_bytes());
    let challenge = ua.next_final();
    assert_eq!(challenge.status_code(), Some(401), "{challenge:?}");
    let auth = answer_challenge(
        &challenge,
        (user, password),
        "REGISTER",
        "sip:localhost",
        "",
    );
    ua.send(build(2, &auth).as_bytes());
    let done = ua.next_final();
    assert_eq!(done.status_code(), Some(200), "REGISTER {user}: {done:?}");
}

/// The caller speaks TLS 1.2 only, the callee TLS 1.3: each hop of the call's
/// assessment says the version (and cipher suite) its own connection negotiated, in the
/// calls view and in `sipwarden calls`.
#[test]
fn each_tls_hop_of_the_assessment_names_its_negotiated_version() {
    use sipwarden_tls::TlsVersions;
    let server = Server::start(&["udp", "tls"], Some(CONFIG), &[]);
    add_user(&server, "alice", "alice-secret-1");
    add_user(&server, "bob", "bob-secret-1");

    let mut bob = TlsUa::connect(&server, TlsVersions::Tls13Only);
    assert_eq!(bob.version(), rustls::ProtocolVersion::TLSv1_3);
    register_tls(&mut bob, "bob", "bob-secret-1");
    let mut alice = TlsUa::connect(&server, TlsVersions::Tls12Only);
    assert_eq!(alice.version(), rustls::ProtocolVersion::TLSv1_2);

    let offer = include_str!("../../sdp/tests/vectors/baresip/baresip-dtls_srtp-offer.sdp");
    let answer = include_str!("../../sdp/tests/vectors/baresip/baresip-dtls_srtp-answer.sdp");
    let local = alice.local;
    let call_id = token();
    let from_tag = token();
    let ruri = "sip:bob@localhost";
    let first_branch = format!("z9hG4bK{}", token());
    let invite = |branch: &str, cseq: u32, auth: &str| {
        crlf(&format!(
            "INVITE {ruri} SIP/2.0\nVia: SIP/2.0/TLS {local};rport;branch={branch}\nFrom: <sip:alice@localhost>;tag={from_tag}\nTo: <{ruri}>\nCall-ID: {call_id}\nCSeq: {cseq} INVITE\nContact: <sip:alice@{local};transport=tls>\nMax-Forwards: 70\n{auth}Content-Type: application/sdp\nContent-Length: {len}\n\n",
            len = offer.len(),
        )) + offer
    };
    let first = invite(&first_branch, 1, "");
    alice.send(first.as_bytes());
    let challenge = alice.next_final();
    assert_eq!(challenge.status_code(), Some(407), "{challenge:?}");
    alice.send(ack_for(&challenge, &first).as_bytes());
    let auth = answer_challenge(
        &challenge,
        ("alice", "alice-secret-1"),
        "INVITE",
        ruri,
        offer,
    );
    alice.send(invite(&format!("z9hG4bK{}", token()), 2, &auth).as_bytes());

    // Bob answers over his own TLS 1.3 connection.
    let incoming = bob.next_request(sipwarden_wire::Method::Invite);
    let mut ok = sipwarden_wire::build::response_to(&incoming, 200, "OK")
        .to_tag("bob-tag-1")
        .header(
            "Contact",
            format!("<sip:bob@{};transport=tls>", bob.local).as_bytes(),
        );
    let record_routes: Vec<Vec<u8>> = incoming
        .fields(HeaderName::RecordRoute)
        .map(|f| incoming.slice(f.value).to_vec())
        .collect();
    for rr in &record_routes {
        ok = ok.header("Record-Route", rr);
    }
    let ok = ok
        .body("application/sdp", answer.as_bytes().to_vec())
        .build()
        .unwrap();
    bob.send(&ok);
    let answered = alice.next_final();
    assert_eq!(answered.status_code(), Some(200), "{answered:?}");

    // The calls view (rewritten about once a second) holds the active call.
    let data = server.dir.path().join("data");
    let deadline = Instant::now() + Duration::from_secs(10);
    let view = loop {
        let out = Command::new(bin())
            .args(["calls", "--json", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            if v["active"].as_array().is_some_and(|a| !a.is_empty()) {
                break v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no active call in the view: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let a = &view["active"][0]["assessment"];
    assert_eq!(a["level"], "end-to-end-media", "{a}");
    let hops = a["signalling"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "{a}");
    assert_eq!(hops[0]["role"], "caller-side");
    assert_eq!(hops[0]["transport"], "tls");
    assert_eq!(hops[0]["tls"]["version"], "TLSv1.2", "{a}");
    assert!(
        hops[0]["tls"]["cipher_suite"]
            .as_str()
            .is_some_and(|c| c.starts_with("TLS_ECDHE_")),
        "{a}"
    );
    assert_eq!(hops[1]["role"], "callee-side");
    assert_eq!(hops[1]["tls"]["version"], "TLSv1.3", "{a}");
    assert!(
        hops[1]["tls"]["cipher_suite"]
            .as_str()
            .is_some_and(|c| c.starts_with("TLS_AES_") || c.starts_with("TLS_CHACHA20_")),
        "{a}"
    );
    let reasons = a["reasons"].to_string();
    assert!(
        reasons.contains("caller-side signalling hop uses TLSv1.2 (TLS_ECDHE_"),
        "{reasons}"
    );
    assert!(
        reasons.contains("callee-side signalling hop uses TLSv1.3 (TLS_"),
        "{reasons}"
    );

    // The human view names the versions too.
    let out = Command::new(bin())
        .args(["calls", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("signalling=tls(TLSv1.2),tls(TLSv1.3)"),
        "{text}"
    );
}
