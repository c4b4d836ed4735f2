//! Starts the real `sipwarden` binary on loopback with ephemeral ports and a temporary
//! data directory, and small blocking SIP clients to talk to it. Every spawned process
//! is killed by PID when its guard drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwarden_auth::{ClientSecret, DigestChallenge, DigestClient, QopPreference};
use sipwarden_wire::framing::{StreamEvent, StreamFramer};
use sipwarden_wire::{Limits, Message};

/// The binary under test: the one Cargo built for these tests, or `SIPWARDEN_BIN` when
/// the test script points at a release build.
pub fn bin() -> PathBuf {
    std::env::var_os("SIPWARDEN_BIN")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sipwarden")))
}

/// A child process killed (by its PID) when dropped.
pub struct ProcessGuard {
    pub child: Child,
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running server.
pub struct Server {
    pub process: ProcessGuard,
    pub dir: tempfile::TempDir,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    pub ws: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
    /// Every stdout line seen before the server was ready.
    pub banner: Vec<String>,
}

/// The default test listeners: every transport on an ephemeral loopback port.
pub const ALL: &[&str] = &["udp", "tcp", "tls", "ws"];

impl Server {
    /// Starts `sipwarden serve` with these transports on 127.0.0.1:0, an optional
    /// configuration file body and extra arguments.
    pub fn start(transports: &[&str], config: Option<&str>, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::start_in(dir, transports, config, extra)
    }

    pub fn start_in(
        dir: tempfile::TempDir,
        transports: &[&str],
        config: Option<&str>,
        extra: &[&str],
    ) -> Server {
        let specs: Vec<String> = transports
            .iter()
            .map(|t| format!("{t}:127.0.0.1:0"))
            .collect();
        Server::start_specs(dir, &specs, config, extra)
    }

    /// Starts the server on explicit listen specs (e.g. `udp:[::1]:0`).
    pub fn start_specs(
        dir: tempfile::TempDir,
        specs: &[String],
        config: Option<&str>,
        extra: &[&str],
    ) -> Server {
        let transports = specs;
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"));
        for spec in specs {
            cmd.arg("--listen").arg(spec);
        }
        if let Some(body) = config {
            let path = dir.path().join("sipwarden.toml");
            std::fs::write(&path, body).unwrap();
            cmd.arg("--config").arg(path);
        }
        cmd.args(extra);
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        cmd.stdout(Stdio::piped())
            .stderr(stderr)
            .stdin(Stdio::null());
        cmd.env("SIPWARDEN_LOG", "debug");
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let process = ProcessGuard { child };

        // Read stdout on a thread for the whole life of the process, so the pipe never
        // fills; the listening lines are passed back.
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Keep draining after the test stopped listening.
                    continue;
                }
            }
        });
        let mut server = Server {
            process,
            dir,
            udp: None,
            tcp: None,
            tls: None,
            ws: None,
            wss: None,
            banner: Vec::new(),
        };
        let mut seen = 0;
        while seen < transports.len() {
            let line = match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => l,
                Err(_) => panic!(
                    "server did not start; stderr:\n{}",
                    std::fs::read_to_string(server.dir.path().join("stderr.log"))
                        .unwrap_or_default()
                ),
            };
            server.banner.push(line.clone());
            let parts: Vec<&str> = line.split(' ').collect();
            if let ["listening", transport, addr] = parts[..] {
                let addr: SocketAddr = addr.parse().unwrap();
                match transport {
                    "udp" => server.udp = Some(addr),
                    "tcp" => server.tcp = Some(addr),
                    "tls" => server.tls = Some(addr),
                    "ws" => server.ws = Some(addr),
                    "wss" => server.wss = Some(addr),
                    other => panic!("unknown transport {other}"),
                }
                seen += 1;
            }
        }
        server
    }

    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// The development CA the server generated.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("data/dev-pki/ca.crt")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Sends a signal by PID with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// `\n` → `\r\n`.
pub fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

/// A fresh token for branches, tags and Call-IDs.
pub fn token() -> String {
    sipwarden_transport::reply::random_hex(8)
}

/// An OPTIONS request with the given top Via (`{branch}` is not substituted).
pub fn options_with_via(via: &str, call_id: &str) -> String {
    crlf(&format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\nVia: {via}\nFrom: <sip:test@127.0.0.1>;tag={tag}\nTo: <sip:127.0.0.1>\nCall-ID: {call_id}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nAccept: application/sdp\nContent-Length: 0\n\n",
        tag = token()
    ))
}

/// An OPTIONS request over `transport` from `local`, asking for rport.
pub fn options(transport: &str, local: SocketAddr) -> String {
    options_with_via(
        &format!(
            "SIP/2.0/{transport} {local};rport;branch=z9hG4bK{}",
            token()
        ),
        &token(),
    )
}

pub fn parse(bytes: &[u8]) -> Message {
    Message::parse(Bytes::copy_from_slice(bytes)).unwrap()
}

pub fn header(msg: &Message, name: &str) -> Option<String> {
    msg.headers()
        .iter()
        .find(|h| msg.slice(h.name_span).eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| String::from_utf8_lossy(msg.slice(h.value)).into_owned())
}

/// A UDP client socket on loopback.
pub fn udp_client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

pub fn udp_recv(s: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 65536];
    let (n, _) = s.recv_from(&mut buf).unwrap();
    parse(&buf[..n])
}

/// Waits up to `wait` for a datagram; `None` if nothing came.
pub fn udp_try_recv(s: &UdpSocket, wait: Duration) -> Option<Message> {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = vec![0u8; 65536];
    let got = s.recv_from(&mut buf).ok().map(|(n, _)| parse(&buf[..n]));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    got
}

pub fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads `n` SIP messages from a stream.
pub fn read_messages(stream: &mut impl Read, n: usize) -> Vec<Message> {
    let mut framer = StreamFramer::new(Limits::default());
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while out.len() < n {
        let read = stream.read(&mut buf).unwrap();
        assert!(
            read > 0,
            "connection closed after {} of {n} messages",
            out.len()
        );
        framer.push(&buf[..read]);
        while let StreamEvent::Message(frame) = framer.next_event().unwrap() {
            out.push(Message::parse_frame(frame, &Limits::default()).unwrap());
        }
    }
    out
}

/// Reads until the peer closes; returns what arrived (errors such as a reset count as
/// closed).
pub fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!(
                    "still open after {wait:?}; got {:?}",
                    String::from_utf8_lossy(&all)
                )
            }
            Err(_) => return all,
        }
    }
}

/// A rustls client configuration trusting `ca` and verifying `name` per RFC 5922.
pub fn tls_client(
    ca: &Path,
    name: &str,
) -> (
    Arc<rustls::ClientConfig>,
    rustls::pki_types::ServerName<'static>,
) {
    let roots = sipwarden_tls::TrustRoots::from_pem_file(ca).unwrap();
    let reference = sipwarden_tls::ReferenceName::parse(name).unwrap();
    let config = sipwarden_tls::ClientTlsConfig::new(roots)
        .verifying(std::slice::from_ref(&reference))
        .unwrap();
    (config, reference.to_server_name().unwrap())
}

/// A blocking TLS connection.
pub fn tls_connect(
    addr: SocketAddr,
    ca: &Path,
    name: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let (config, server_name) = tls_client(ca, name);
    let conn = rustls::ClientConnection::new(config, server_name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp_connect(addr));
    // Drive the handshake now so failures show here.
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    tls
}

pub fn write_all(stream: &mut impl Write, data: &[u8]) {
    stream.write_all(data).unwrap();
    stream.flush().unwrap();
}

/// Whether an executable is on PATH.
pub fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// For tests that need an external tool: `true` to go on, `false` to skip (printed),
/// and a failure when `SIPWARDEN_REQUIRE_PEERS=1` demands the tool.
pub fn peer_available(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    if std::env::var("SIPWARDEN_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{tool} is not installed and SIPWARDEN_REQUIRE_PEERS=1");
    }
    println!("SKIP: {tool} is not installed");
    false
}

/// A free loopback port (for tools that need one given; the tiny race with other
/// processes is acceptable in tests).
pub fn free_port(udp: bool) -> u16 {
    if udp {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// Runs a command under a deadline, killing it by PID if it overruns; returns its exit
/// code and combined output.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    let file = std::fs::File::create(&log).unwrap();
    cmd.stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null());
    let mut guard = ProcessGuard {
        child: cmd.spawn().unwrap(),
    };
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = guard.child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(guard);
    let out = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    (status.and_then(|s| s.code()), out)
}

/// A loopback port free for both UDP and TCP, for tools given one port for the two.
pub fn free_udp_and_tcp_port() -> u16 {
    loop {
        let p = free_port(true);
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            break p;
        }
    }
}

/// Copies the tree `from` to `to` with `cp -r`.
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Adds an account with `sipwarden user add`, the password on stdin.
pub fn add_user(data: &Path, user: &str, password: &str) {
    let mut child = Command::new(bin())
        .args(["user", "add", user, "--password-stdin", "--data-dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success(), "user add {user}");
}

pub const ALICE_PW: &str = "alice-Secret-7781";
pub const BOB_PW: &str = "bob-Secret-2245";

/// A server on UDP with alice and bob (`ALICE_PW`, `BOB_PW`) provisioned.
pub fn start_udp_with_alice_and_bob(config: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, format!("alice;{ALICE_PW}\nbob;{BOB_PW}\n")).unwrap();
    let status = Command::new(bin())
        .args(["user", "import"])
        .arg(&users)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    Server::start_in(dir, &["udp"], config, &[])
}

/// The security events the server wrote so far.
pub fn event_log(server: &Server) -> String {
    std::fs::read_to_string(server.dir.path().join("data/security-events.jsonl"))
        .unwrap_or_default()
}

/// The shared interop recipes beside the repository, if present (`recipe` is the script
/// the test runs).
pub fn interop_dir(recipe: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop");
    if dir.join(recipe).is_file() {
        return Some(dir);
    }
    if std::env::var("SIPWARDEN_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("the shared interop folder is missing and SIPWARDEN_REQUIRE_PEERS=1");
    }
    println!("SKIP: the shared interop folder is not beside the repository");
    None
}

/// Call-ended line `count` (from 1) of the server's call log, waiting for it a little.
pub fn last_call(data: &Path, count: usize) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(data.join("calls.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        if lines.len() >= count {
            return serde_json::from_str(lines[count - 1]).unwrap();
        }
        assert!(Instant::now() < deadline, "no call-ended line {count}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Digest client answering `challenge` for `user` with `password`.
pub fn digest_client(challenge: &DigestChallenge<'_>, user: &str, password: &str) -> DigestClient {
    DigestClient::new(
        challenge,
        user,
        ClientSecret::Password(password),
        QopPreference::default(),
    )
    .unwrap()
}
