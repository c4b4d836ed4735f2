//! Abuse defences of the running server: no amplification over UDP, the
//! return-routability check, and SIPVicious (svmap, svwar, svcrack) against it. Attack
//! traffic comes from its own loopback addresses (127.0.0.66 and up) so that bans it
//! earns never touch the legitimate clients on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn udp_from(ip: &str) -> UdpSocket {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Waits up to `wait` for a datagram; its raw bytes.
fn recv_raw(s: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = vec![0u8; 65536];
    s.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
}

fn register(local: SocketAddr, user: &str, pad: usize) -> String {
    let extra = if pad > 0 {
        format!("X-Padding: {}\n", "p".repeat(pad))
    } else {
        String::new()
    };
    crlf(&format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK{b}\nFrom: <sip:{user}@127.0.0.1>;tag={t}\nTo: <sip:{user}@127.0.0.1>\nCall-ID: {c}\nCSeq: 1 REGISTER\nContact: <sip:{user}@{local}>\nMax-Forwards: 70\n{extra}Content-Length: 0\n\n",
        b = token(),
        t = token(),
        c = token(),
    ))
}

#[test]
fn udp_answers_to_unauthenticated_sources_never_amplify() {
    let server = start_udp_with_alice_and_bob(None);
    let target = server.udp.unwrap();
    // A source that never authenticates (as a spoofed victim address would look) sends
    // a burst of small REGISTERs: the first gets its challenge even though a 401 is a
    // little larger than a minimal request, but in all we never send it more than it
    // sent us plus the allowance (2 KiB, refilling at 64 bytes/s).
    let s = udp_from("127.0.0.81");
    let local = s.local_addr().unwrap();
    let (mut sent, mut received, mut answers) = (0usize, 0usize, 0usize);
    for _ in 0..60 {
        let req = register(local, "alice", 0);
        sent += req.len();
        s.send_to(req.as_bytes(), target).unwrap();
    }
    while let Some(r) = recv_raw(&s, Duration::from_millis(800)) {
        // Challenges, then (the burst trips the rate limit) refusals.
        assert!(
            r.starts_with(b"SIP/2.0 401 ") || r.starts_with(b"SIP/2.0 503 "),
            "{}",
            String::from_utf8_lossy(&r)
        );
        received += r.len();
        answers += 1;
    }
    println!("sent {sent} bytes in 60 REGISTERs, answered {answers} times with {received} bytes");
    assert!(answers >= 1, "the first challenge must get through");
    assert!(
        received <= sent + 2048 + 64 * 2,
        "{received} bytes answered to {sent} bytes received"
    );

    // Large requests get every challenge, strongest first.
    let s = udp_from("127.0.0.82");
    let req = register(s.local_addr().unwrap(), "alice", 1200);
    s.send_to(req.as_bytes(), target).unwrap();
    let r = recv_raw(&s, Duration::from_millis(800)).expect("a challenge");
    let challenges = String::from_utf8_lossy(&r)
        .lines()
        .filter(|l| l.starts_with("WWW-Authenticate:"))
        .count();
    assert_eq!(challenges, 3);
    assert!(r.len() <= req.len());
}

fn invite(local: SocketAddr, ruri: &str, call_id: &str, from_tag: &str, cseq: u32) -> String {
    let sdp = crlf(&format!(
        "v=0\no=- 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\nm=audio 40000 RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\n",
        ip = local.ip()
    ));
    crlf(&format!(
        "INVITE {ruri} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK{b}\nMax-Forwards: 70\nFrom: <sip:mallory@elsewhere.example>;tag={from_tag}\nTo: <sip:alice@127.0.0.1>\nCall-ID: {call_id}\nCSeq: {cseq} INVITE\nContact: <sip:mallory@{local}>\nContent-Type: application/sdp\nContent-Length: {len}\n\n{sdp}",
        b = token(),
        len = sdp.len(),
    ))
}

#[test]
fn return_routability_redirects_unknown_callers_and_admits_those_who_come_back() {
    let server = start_udp_with_alice_and_bob(Some("[guard]\nreturn_routability = true\n"));
    let target = server.udp.unwrap();
    let caller = udp_from("127.0.0.1");
    let local = caller.local_addr().unwrap();
    let call_id = token();
    let tag = token();

    // First INVITE: answered at once with a 302 (no 100 Trying, no state) whose Contact
    // carries the token.
    let first = invite(local, "sip:alice@127.0.0.1", &call_id, &tag, 1);
    caller.send_to(first.as_bytes(), target).unwrap();
    let raw = recv_raw(&caller, Duration::from_secs(5)).expect("no answer to the INVITE");
    assert!(raw.len() <= first.len(), "amplifying redirect");
    let resp = parse(&raw);
    assert_eq!(
        resp.status_code(),
        Some(302),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let contact = header(&resp, "Contact").unwrap();
    assert!(contact.contains(";sw-rr="), "{contact}");
    let redirect = contact
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    // A retransmission of the first INVITE is redirected again, statelessly.
    caller.send_to(first.as_bytes(), target).unwrap();
    let again = parse(&recv_raw(&caller, Duration::from_secs(5)).unwrap());
    assert_eq!(again.status_code(), Some(302));

    // A spoofer cannot see the 302: a made-up token is refused ...
    let forged = invite(
        local,
        "sip:alice@127.0.0.1;sw-rr=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &call_id,
        &tag,
        2,
    );
    caller.send_to(forged.as_bytes(), target).unwrap();
    let r = parse(&recv_raw(&caller, Duration::from_secs(5)).unwrap());
    assert_eq!(r.status_code(), Some(403));
    // ... and so is a real token presented from another source address.
    let other = udp_from("127.0.0.9");
    let stolen = invite(other.local_addr().unwrap(), &redirect, &call_id, &tag, 2);
    other.send_to(stolen.as_bytes(), target).unwrap();
    let r = parse(&recv_raw(&other, Duration::from_secs(5)).unwrap());
    assert_eq!(r.status_code(), Some(403));

    // The real caller follows the redirect: the guard lets it through to the proxy path.
    let follow = invite(local, &redirect, &call_id, &tag, 3);
    caller.send_to(follow.as_bytes(), target).unwrap();
    let raw = recv_raw(&caller, Duration::from_secs(5)).expect("no answer to the follow-up");
    let r = parse(&raw);
    println!(
        "follow-up answered: {}",
        String::from_utf8_lossy(&raw).lines().next().unwrap()
    );
    assert_ne!(r.status_code(), Some(302), "redirected again");
    assert_ne!(r.status_code(), Some(403), "token refused");
    let log = event_log(&server);
    assert!(log.contains("token_refused"), "refusals are logged:\n{log}");
}

// ---------------------------------------------------------------------------------------
// SIPVicious

/// Rebinds SIPVicious' wildcard binds to `SV_SRC` (its `-b` option is ignored by svwar
/// and svcrack), then runs the tool named first on the command line.
const SV_WRAPPER: &str = r#"
import os, runpy, shutil, socket, sys
src = os.environ["SV_SRC"]
_bind = socket.socket.bind
def bind(self, addr):
    if isinstance(addr, tuple) and addr[0] in ("", "0.0.0.0"):
        addr = (src,) + tuple(addr[1:])
    return _bind(self, addr)
socket.socket.bind = bind
if any(a in ("-R", "--reportback") for a in sys.argv):
    sys.exit("refusing --reportback")
path = os.path.realpath(shutil.which(sys.argv[1]))
sys.path.insert(0, os.path.dirname(path))
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name="__main__")
"#;

/// Runs a SIPVicious tool from `src` against the server, bounded; its output.
fn sv(work: &Path, src: &str, tool: &str, args: &[&str], server: SocketAddr) -> String {
    let wrapper = work.join("svrun.py");
    std::fs::write(&wrapper, SV_WRAPPER).unwrap();
    let out = work.join(format!("{tool}-{src}.out"));
    let file = std::fs::File::create(&out).unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg("python3")
        .arg(&wrapper)
        .arg(tool)
        .args(["-x", src, "-p", &server.port().to_string()])
        .args(["-P", &free_port(true).to_string()])
        .args(args)
        .arg(server.ip().to_string())
        .env("SV_SRC", src)
        .env("HOME", work)
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let mut guard = ProcessGuard {
        child: cmd.spawn().unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(70);
    while guard.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(guard);
    std::fs::read_to_string(&out).unwrap_or_default()
}

/// Result rows of a SIPVicious table (header rows left out).
fn rows(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("| "))
        .filter(|l| !l.starts_with("| SIP Device") && !l.starts_with("| Extension"))
        .map(str::to_owned)
        .collect()
}

fn lists_user(out: &str, user: &str) -> bool {
    rows(out).iter().any(|r| {
        r.trim_start_matches("| ")
            .split_whitespace()
            .next()
            .is_some_and(|w| w == user)
    })
}

/// Registers `user` from 127.0.0.1 with SIPp's Digest client; true on success.
fn sipp_register(server: SocketAddr, user: &str, password: &str) -> bool {
    let work = tempfile::tempdir().unwrap();
    let inf = work.path().join("user.csv");
    std::fs::write(
        &inf,
        format!("SEQUENTIAL\n{user};[authentication username={user} password={password}]\n"),
    )
    .unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/abuse_register.xml");
    let status = Command::new("timeout")
        .arg("30")
        .arg("sipp")
        .current_dir(work.path())
        .args(["-sf", scenario, "-inf"])
        .arg(&inf)
        .args(["-t", "u1", "-m", "1", "-i", "127.0.0.1", "-p", "0"])
        .args(["-cp", &free_port(true).to_string()])
        .args(["-nostdin", "-timeout", "20s"])
        .arg(server.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    status.success()
}

#[test]
fn sipvicious_cannot_enumerate_users_or_crack_a_password() {
    if !peer_available("svwar") || !peer_available("svcrack") || !peer_available("svmap") {
        return;
    }
    let server = start_udp_with_alice_and_bob(None);
    let target = server.udp.unwrap();
    let work = tempfile::tempdir().unwrap();
    let wp = work.path();

    // svmap may see a SIP server: that is allowed, not required.
    let out = sv(wp, "127.0.0.66", "svmap", &[], target);
    println!("svmap:\n{}", rows(&out).join("\n"));

    // svwar, one fresh source per method so each run gets answers: real and fake users
    // must look the same.
    let exts = wp.join("extensions.txt");
    std::fs::write(
        &exts,
        "alice\nbob\nnosuchuser1\nghost\nadmin\nroot\n100\n101\n1000\n2000\ntest\nguest\noperator\nsales\n",
    )
    .unwrap();
    let exts = exts.to_str().unwrap().to_owned();
    for (src, args) in [
        ("127.0.0.67", vec!["-m", "REGISTER"]),
        ("127.0.0.68", vec!["-m", "INVITE"]),
        ("127.0.0.69", vec!["-m", "OPTIONS"]),
        ("127.0.0.70", vec!["--force"]),
    ] {
        let mut a = args.clone();
        a.extend(["-d", &exts, "--domain", "localhost"]);
        let out = sv(wp, src, "svwar", &a, target);
        println!(
            "svwar {args:?}:\n{}",
            out.lines().rev().take(6).collect::<Vec<_>>().join("\n")
        );
        assert!(
            !lists_user(&out, "alice") && !lists_user(&out, "bob"),
            "svwar {args:?} told real users apart:\n{out}"
        );
    }

    // svcrack: alice's password is word 26 of the list.
    let words = wp.join("words.txt");
    let mut list: Vec<String> = (1..=25).map(|i| format!("guess-{i}")).collect();
    list.push(ALICE_PW.to_owned());
    list.push("guess-after".to_owned());
    std::fs::write(&words, list.join("\n") + "\n").unwrap();
    let started = Instant::now();
    let out = sv(
        wp,
        "127.0.0.71",
        "svcrack",
        &[
            "-u",
            "alice",
            "-d",
            words.to_str().unwrap(),
            "--domain",
            "localhost",
        ],
        target,
    );
    println!(
        "svcrack ran {:?}:\n{}",
        started.elapsed(),
        out.lines().rev().take(6).collect::<Vec<_>>().join("\n")
    );
    assert!(
        !out.contains(ALICE_PW),
        "svcrack found the password:\n{out}"
    );

    // SIPVicious' requests (340-400 bytes) are smaller than any 401 the server could
    // send, so over UDP they get silence. A guesser with phone-sized requests gets
    // challenges, and is banned after a few wrong passwords: its right guess, word 26,
    // is never checked.
    let mut guesses: Vec<&str> = (1..=25).map(|_| "wrong-password").collect();
    guesses.push(ALICE_PW);
    let ok = sipp_guess(target, "127.0.0.72", "alice", &guesses);
    assert_eq!(ok, 0, "a guess got through");
    let log = event_log(&server);
    assert!(
        log.contains("password_guessing"),
        "the guesser was banned, and the ban logged:\n{log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("auth_success") && l.contains("127.0.0.72")),
        "the guesser authenticated:\n{log}"
    );

    // The owner still registers from her own address.
    assert!(
        sipp_register(target, "alice", ALICE_PW),
        "alice cannot register after the attack:\n{}",
        server.stderr()
    );
}

/// Tries `passwords` for `user` from `src` with SIPp, several at once; how many
/// registrations succeeded.
fn sipp_guess(server: SocketAddr, src: &str, user: &str, passwords: &[&str]) -> usize {
    let work = tempfile::tempdir().unwrap();
    let inf = work.path().join("guesses.csv");
    let mut text = String::from("SEQUENTIAL\n");
    for p in passwords {
        text.push_str(&format!(
            "{user};[authentication username={user} password={p}]\n"
        ));
    }
    std::fs::write(&inf, text).unwrap();
    let stat = work.path().join("stat.csv");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/abuse_register.xml");
    let _ = Command::new("timeout")
        .arg("40")
        .arg("sipp")
        .current_dir(work.path())
        .args(["-sf", scenario, "-inf"])
        .arg(&inf)
        .args(["-t", "u1", "-i", src, "-p", "0"])
        .args(["-m", &passwords.len().to_string(), "-r", "20", "-l", "40"])
        .args(["-cp", &free_port(true).to_string()])
        .args(["-recv_timeout", "3000", "-timeout", "30s", "-nostdin"])
        .args(["-trace_stat", "-stf"])
        .arg(&stat)
        .arg(server.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    successful_calls(&std::fs::read_to_string(&stat).unwrap_or_default())
}

/// `SuccessfulCall(C)` of the last line of a SIPp statistics file.
fn successful_calls(csv: &str) -> usize {
    let mut lines = csv.lines();
    let Some(head) = lines.next() else { return 0 };
    let Some(col) = head.split(';').position(|h| h == "SuccessfulCall(C)") else {
        return 0;
    };
    lines
        .last()
        .and_then(|l| l.split(';').nth(col))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
