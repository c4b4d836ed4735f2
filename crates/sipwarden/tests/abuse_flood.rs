//! Flood while serving: unauthenticated INVITEs and REGISTERs as fast as the flooder can
//! send them, while SIPp registers legitimate users from 127.0.0.1 at 200 per second.
//! At least 99.9 % of the legitimate registrations must succeed, the server's memory
//! must stay flat, and the flooding sources must end up banned (silenced).
//!
//! Bounded: each test runs `ABUSE_FLOOD_SECS` (default 45) seconds of flood plus a few
//! seconds of setup; every child process is killed by PID.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bin, free_port, peer_available, ProcessGuard};

const LEGIT_USERS: usize = 1000;
const LEGIT_RATE: u64 = 200;

fn flood_secs() -> u64 {
    std::env::var("ABUSE_FLOOD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(45)
        .clamp(5, 60)
}

/// The server, logging at `info` (per-request debug logs would measure the logger).
struct Srv {
    process: ProcessGuard,
    dir: tempfile::TempDir,
    udp: SocketAddr,
}

impl Srv {
    fn start() -> Srv {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut users = String::new();
        for i in 0..LEGIT_USERS {
            users.push_str(&format!("{}\n", legit(i)));
        }
        let file = dir.path().join("users.txt");
        std::fs::write(&file, users).unwrap();
        let ok = Command::new(bin())
            .args(["user", "import"])
            .arg(&file)
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "udp:127.0.0.1:0", "--data-dir"])
            .arg(&data)
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
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let udp = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("server did not start");
            if let Some(addr) = line.strip_prefix("listening udp ") {
                break addr.parse().unwrap();
            }
        };
        Srv { process, dir, udp }
    }

    fn pid(&self) -> u32 {
        self.process.child.id()
    }

    fn stderr_tail(&self) -> String {
        let all = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = all.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn events(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/security-events.jsonl"))
            .unwrap_or_default()
    }
}

fn legit(i: usize) -> String {
    format!("fl{i:04};pw-flood-{i:04}-legit")
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Starts the legitimate registrations from 127.0.0.1: `secs` seconds at 200/s.
fn start_legit(work: &Path, server: SocketAddr, secs: u64) -> (ProcessGuard, PathBuf) {
    let inf = work.join("legit.csv");
    let mut text = String::from("SEQUENTIAL\n");
    for i in 0..LEGIT_USERS {
        let l = legit(i);
        let (user, pw) = l.split_once(';').unwrap();
        text.push_str(&format!(
            "{user};[authentication username={user} password={pw}]\n"
        ));
    }
    std::fs::write(&inf, text).unwrap();
    let stat = work.join("legit-stat.csv");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/abuse_register.xml");
    let child = Command::new("sipp")
        .current_dir(work)
        .args(["-sf", scenario, "-inf"])
        .arg(&inf)
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", "0"])
        .args([
            "-r",
            &LEGIT_RATE.to_string(),
            "-m",
            &(LEGIT_RATE * secs).to_string(),
        ])
        .args(["-l", "4000", "-cp", &free_port(true).to_string()])
        .args(["-timeout", &format!("{}s", secs + 25), "-nostdin"])
        .args(["-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat)
        .arg(server.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (ProcessGuard { child }, stat)
}

/// Waits for a child to end, at most `limit`.
fn wait(guard: &mut ProcessGuard, limit: Duration) {
    let deadline = Instant::now() + limit;
    while guard.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A column of the last line of a SIPp statistics file.
fn stat(csv: &str, column: &str) -> u64 {
    let mut lines = csv.lines();
    let Some(head) = lines.next() else { return 0 };
    let Some(col) = head.split(';').position(|h| h == column) else {
        return 0;
    };
    lines
        .last()
        .and_then(|l| l.split(';').nth(col))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Samples RSS every second while `running`.
fn sample_rss(pid: u32, running: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        while running.load(Ordering::Relaxed) {
            out.push(rss_kib(pid));
            std::thread::sleep(Duration::from_secs(1));
        }
        out
    })
}

/// Checks the legitimate run and the memory, and prints the numbers.
fn verdict(label: &str, legit_csv: &str, secs: u64, before: u64, during: &[u64], after: u64) {
    let ok = stat(legit_csv, "SuccessfulCall(C)");
    // Every registration SIPp was asked for counts, whether it ran to the end or not.
    let total = LEGIT_RATE * secs;
    let peak = during.iter().copied().max().unwrap_or(0);
    println!(
        "{label}: legitimate registrations {ok}/{total} succeeded ({:.3} %); RSS before {before} KiB, during max {peak} KiB, after {after} KiB",
        if total == 0 { 0.0 } else { ok as f64 * 100.0 / total as f64 }
    );
    assert!(
        ok * 1000 >= total * 999,
        "{label}: only {ok} of {total} legitimate registrations succeeded"
    );
    // Flat: the guard's tables are allocated at start; growth comes from the legitimate
    // transactions only and is bounded well below this.
    assert!(
        peak <= before + 96 * 1024,
        "{label}: RSS grew from {before} KiB to {peak} KiB"
    );
}

/// An OPTIONS from `src`: whether the server answered at all.
fn answered(server: SocketAddr, src: &str) -> bool {
    let s = UdpSocket::bind((src, 0)).unwrap();
    let local = s.local_addr().unwrap();
    let req = common::crlf(&format!(
        "OPTIONS sip:{server} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK{b}\nFrom: <sip:probe@{local}>;tag={t}\nTo: <sip:{server}>\nCall-ID: {c}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nUser-Agent: probe probe probe probe probe probe probe probe probe probe\nAccept: application/sdp\nContent-Length: 0\n\n",
        b = common::token(),
        t = common::token(),
        c = common::token(),
    ));
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    s.send_to(req.as_bytes(), server).unwrap();
    let mut buf = [0u8; 4096];
    s.recv_from(&mut buf).is_ok()
}

#[test]
fn sipp_flood_from_one_address_while_users_register() {
    if !peer_available("sipp") {
        return;
    }
    let secs = flood_secs();
    let srv = Srv::start();
    let work = tempfile::tempdir().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(srv.pid());
    let running = Arc::new(AtomicBool::new(true));
    let sampler = sample_rss(srv.pid(), Arc::clone(&running));

    let (mut legit, legit_stat) = start_legit(work.path(), srv.udp, secs);
    std::thread::sleep(Duration::from_secs(1));
    let flood_stat = work.path().join("flood-stat.csv");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/abuse_flood.xml");
    let mut flood = ProcessGuard {
        child: Command::new("sipp")
            .current_dir(work.path())
            .args(["-sf", scenario, "-t", "u1", "-i", "127.0.0.50", "-p", "0"])
            .args(["-r", "100000"])
            .args(["-cp", &free_port(true).to_string()])
            .args(["-timeout", &format!("{}s", secs - 1), "-nostdin"])
            .args(["-trace_stat", "-fd", "1", "-stf"])
            .arg(&flood_stat)
            .arg(srv.udp.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    wait(&mut flood, Duration::from_secs(secs + 5));
    drop(flood);
    // The flooder is silenced: banned.
    let silenced = !answered(srv.udp, "127.0.0.50");
    wait(&mut legit, Duration::from_secs(30));
    drop(legit);
    running.store(false, Ordering::Relaxed);
    let during = sampler.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(srv.pid());

    let flood_csv = std::fs::read_to_string(&flood_stat).unwrap_or_default();
    let sent = stat(&flood_csv, "OutgoingCall(C)") * 2;
    println!(
        "flood from 127.0.0.50: {sent} requests in about {secs} s ({} per second)",
        sent / secs
    );
    let events = srv.events();
    let banned = events
        .lines()
        .any(|l| l.contains("\"ban\"") && l.contains("127.0.0.50") && l.contains("flood"));
    assert!(
        banned,
        "no flood ban of 127.0.0.50 in the event log; server log:\n{}\nflood stats:\n{flood_csv}",
        srv.stderr_tail()
    );
    assert!(silenced, "the flooding source is still answered");
    verdict(
        "single-source flood",
        &std::fs::read_to_string(&legit_stat).unwrap_or_default(),
        secs,
        before,
        &during,
        after,
    );
}

/// Prebuilt unauthenticated INVITEs and REGISTERs for a flooding socket, for targets
/// `victim{n}-{k}` with k in 0..32 (floods go for many targets, as the SIPp one does).
fn flood_requests(local: SocketAddr, server: SocketAddr, n: usize) -> Vec<Vec<u8>> {
    (0..32)
        .flat_map(|k| flood_pair(local, server, &format!("{n}-{k}")))
        .collect()
}

fn flood_pair(local: SocketAddr, server: SocketAddr, n: &str) -> [Vec<u8>; 2] {
    let sdp = common::crlf(&format!(
        "v=0\no=- 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
        ip = local.ip()
    ));
    let invite = common::crlf(&format!(
        "INVITE sip:victim{n}@{server} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bKfl{n}\nMax-Forwards: 70\nFrom: <sip:flood@{local}>;tag=f{n}\nTo: <sip:victim{n}@{server}>\nCall-ID: fi{n}\nCSeq: 1 INVITE\nContact: <sip:flood@{local}>\nContent-Type: application/sdp\nContent-Length: {}\n\n{sdp}",
        sdp.len()
    ));
    let register = common::crlf(&format!(
        "REGISTER sip:{server} SIP/2.0\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bKfr{n}\nMax-Forwards: 70\nFrom: <sip:flood{n}@{server}>;tag=r{n}\nTo: <sip:flood{n}@{server}>\nCall-ID: fr{n}\nCSeq: 1 REGISTER\nContact: <sip:flood@{local}>\nContent-Length: 0\n\n"
    ));
    [invite.into_bytes(), register.into_bytes()]
}

#[test]
fn flood_from_200_addresses_while_users_register() {
    if !peer_available("sipp") {
        return;
    }
    let secs = flood_secs();
    let srv = Srv::start();
    let work = tempfile::tempdir().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(srv.pid());
    let running = Arc::new(AtomicBool::new(true));
    let sampler = sample_rss(srv.pid(), Arc::clone(&running));
    let (mut legit, legit_stat) = start_legit(work.path(), srv.udp, secs);
    std::thread::sleep(Duration::from_secs(1));

    // 200 sockets on 127.0.1.1 ..= 127.0.1.200, sending in turn as fast as one thread can.
    let sockets: Vec<(UdpSocket, Vec<Vec<u8>>)> = (1..=200)
        .map(|i| {
            let s = UdpSocket::bind(format!("127.0.1.{i}:0")).unwrap();
            s.set_nonblocking(true).unwrap();
            let reqs = flood_requests(s.local_addr().unwrap(), srv.udp, i);
            (s, reqs)
        })
        .collect();
    let sent = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + Duration::from_secs(secs - 1);
    let counter = Arc::clone(&sent);
    let target = srv.udp;
    let flooder = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        let mut round = 0usize;
        while Instant::now() < stop_at {
            round = round.wrapping_add(1);
            for (s, reqs) in &sockets {
                let r = &reqs[round % reqs.len()];
                if s.send_to(r, target).is_ok() {
                    n += 1;
                }
                // Drain whatever came back so the socket buffers never block sending.
                while s.recv_from(&mut buf).is_ok() {}
            }
        }
        counter.store(n, Ordering::Relaxed);
    });
    flooder.join().unwrap();
    let silenced = ["127.0.1.7", "127.0.1.100", "127.0.1.199"]
        .iter()
        .filter(|a| !answered(srv.udp, a))
        .count();
    wait(&mut legit, Duration::from_secs(30));
    drop(legit);
    running.store(false, Ordering::Relaxed);
    let during = sampler.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(srv.pid());

    let sent = sent.load(Ordering::Relaxed);
    println!(
        "flood from 200 addresses: {sent} requests in about {secs} s ({} per second)",
        sent / secs
    );
    let events = srv.events();
    let bans = events
        .lines()
        .filter(|l| l.contains("\"ban\"") && l.contains("127.0.1."))
        .count();
    println!("bans of flooding addresses logged: {bans}");
    assert!(
        bans >= 190,
        "only {bans} of 200 flooding addresses banned; server log:\n{}\nevents:\n{}",
        srv.stderr_tail(),
        events.lines().take(5).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(silenced, 3, "flooding addresses are still answered");
    verdict(
        "200-address flood",
        &std::fs::read_to_string(&legit_stat).unwrap_or_default(),
        secs,
        before,
        &during,
        after,
    );
}
