//! Operations end to end: a first run from a clean home directory and the run after it,
//! the security event log, Prometheus metrics and the admin API after real
//! registrations made with `sipwarden register`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::ProcessGuard;
use sipwarden_auth::{Algorithm, ClientSecret, DigestChallenge, DigestClient, Ha1, QopPreference};

const PASSWORD: &str = "correct-horse-42-battery";

/// A server started by hand (for the first-run test, which must not pass `--data-dir`).
struct Running {
    process: ProcessGuard,
    lines: Vec<String>,
    stderr: PathBuf,
}

impl Running {
    fn line(&self, prefix: &str) -> Option<String> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then waits (bounded) for a clean exit.
    fn stop(mut self) -> String {
        let pid = self.process.child.id();
        let ok = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.process.child.try_wait().unwrap() {
                assert!(status.success(), "exit {status:?}: {}", self.stderr());
                break;
            }
            assert!(Instant::now() < deadline, "did not stop: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stderr()
    }
}

/// Starts `cmd` and reads stdout until `listeners` listening lines came.
fn start(mut cmd: Command, stderr: PathBuf, listeners: usize) -> Running {
    cmd.stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .stdin(Stdio::null())
        .env("SIPWARDEN_LOG", "info");
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let process = ProcessGuard { child };
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let mut seen = 0;
    while seen < listeners {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "server did not start: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        if line.starts_with("listening ") {
            seen += 1;
        }
        lines.push(line);
    }
    Running {
        process,
        lines,
        stderr,
    }
}

fn first_run_command(home: &Path) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .current_dir(home);
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `sipwarden register` with the password on stdin; returns the exit code and stdout.
fn register(args: &[&str], password: &str) -> (i32, String) {
    let mut child = Command::new(common::bin())
        .arg("register")
        .args(args)
        .arg("--password-stdin")
        .args(["--timeout", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn add_user(extra: &[&str], envs: &[(&str, &Path)]) {
    let mut cmd = Command::new(common::bin());
    cmd.args(["user", "add", "alice", "--password-stdin"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn first_run_creates_everything_and_the_second_run_reuses_it() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("xdg/sipwarden");
    let serve = |log: &str| {
        let mut cmd = first_run_command(home.path());
        cmd.args([
            "serve",
            "--listen",
            "udp:127.0.0.1:0",
            "--listen",
            "tls:127.0.0.1:0",
        ]);
        start(cmd, home.path().join(log), 2)
    };

    let first = serve("first.log");
    assert_eq!(first.line("data-dir "), Some(data.display().to_string()));
    let store = data.join("sipwarden.db");
    assert_eq!(first.line("store "), Some(store.display().to_string()));
    assert!(store.is_file());
    let ca = data.join("dev-pki/ca.crt");
    assert_eq!(
        first.line("development-ca "),
        Some(ca.display().to_string())
    );
    let token = data.join("admin.token");
    assert!(token.is_file(), "no admin token generated");
    assert_eq!(mode(&token), 0o600);
    assert_eq!(mode(&data.join("dev-pki/server.key")), 0o600);
    assert_eq!(
        first.line("security-events "),
        Some(data.join("security-events.jsonl").display().to_string())
    );
    let hint = first.line("hint ").expect("no first-user hint");
    assert!(hint.contains("sipwarden user add alice"), "{hint}");
    let stderr = first.stderr();
    assert!(
        stderr.contains("DEVELOPMENT certificate just generated"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--tls-cert"),
        "no word on installing a real one"
    );

    // The first user, added as the hint says (same default data directory).
    add_user(
        &[],
        &[
            ("HOME", home.path()),
            ("XDG_DATA_HOME", &home.path().join("xdg")),
        ],
    );
    let ca_bytes = std::fs::read(&ca).unwrap();
    let token_bytes = std::fs::read(&token).unwrap();
    let stopped = first.stop();
    assert!(stopped.contains("store closed"), "{stopped}");

    let second = serve("second.log");
    assert_eq!(std::fs::read(&ca).unwrap(), ca_bytes, "CA regenerated");
    assert_eq!(
        std::fs::read(&token).unwrap(),
        token_bytes,
        "token regenerated"
    );
    assert!(second.line("hint ").is_none(), "users were lost");
    assert!(second
        .stderr()
        .contains("DEVELOPMENT certificate generated earlier"));
    // The user survived and the server authenticates it over TLS with the reused CA.
    let tls = second.line("listening tls ").unwrap();
    let port = tls.rsplit(':').next().unwrap();
    let (code, out) = register(
        &[
            &format!("sips:alice@localhost:{port}"),
            "--ca",
            ca.to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert_eq!(code, 0, "{out}");
    second.stop();
}

/// A minimal HTTP/1.1 client: returns the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
}

/// A REGISTER over an open TCP connection.
fn raw_register(local: SocketAddr, cseq: u32, call_id: &str, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:localhost SIP/2.0\r\nVia: SIP/2.0/TCP {local};rport;branch=z9hG4bK{b}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@localhost>;tag=r1\r\nTo: <sip:alice@localhost>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:alice@{local};transport=tcp>\r\nExpires: 60\r\n{auth}Content-Length: 0\r\n\r\n",
        b = common::token()
    )
}

/// Registers over raw TCP, then sends the same credentials again: the second use of
/// the nonce count is a replay. Returns the three status codes.
fn replay(addr: SocketAddr) -> [u16; 3] {
    let mut s = common::tcp_connect(addr);
    let local = s.local_addr().unwrap();
    let call_id = common::token();
    common::write_all(&mut s, raw_register(local, 1, &call_id, None).as_bytes());
    let challenge = common::read_messages(&mut s, 1).remove(0);
    let first = challenge.status_code().unwrap();
    let digest = DigestChallenge::strongest(
        challenge
            .www_authenticates()
            .filter_map(Result::ok)
            .filter_map(|c| DigestChallenge::from_wire(&c).ok()),
    )
    .unwrap();
    let mut client = DigestClient::new(
        &digest,
        "alice",
        ClientSecret::Password(PASSWORD),
        QopPreference::default(),
    )
    .unwrap();
    let auth = client.authorization("REGISTER", "sip:localhost", b"", "0a4f113b");
    common::write_all(
        &mut s,
        raw_register(local, 2, &call_id, Some(&auth)).as_bytes(),
    );
    let second = common::read_messages(&mut s, 1)[0].status_code().unwrap();
    common::write_all(
        &mut s,
        raw_register(local, 3, &call_id, Some(&auth)).as_bytes(),
    );
    let third = common::read_messages(&mut s, 1)[0].status_code().unwrap();
    [first, second, third]
}

fn sample(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn event_log_metrics_and_admin_api_after_real_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_user(&["--data-dir", data.to_str().unwrap()], &[]);
    let server = common::Server::start_specs(
        dir,
        &["tcp:127.0.0.1:0".to_owned(), "tls:127.0.0.1:0".to_owned()],
        Some("[admin]\nlisten = \"127.0.0.1:0\"\n"),
        &[],
    );
    let banner = |prefix: &str| {
        server
            .banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {:?}", server.banner))
    };
    let admin: SocketAddr = banner("admin ").parse().unwrap();
    let token_path = PathBuf::from(banner("admin-token "));
    let token = std::fs::read_to_string(&token_path)
        .unwrap()
        .trim()
        .to_owned();
    let tcp = server.tcp.unwrap();
    let tls = server.tls.unwrap();
    let ca = server.ca();

    // The API needs the token.
    assert_eq!(http(admin, "GET", "/api/v1/registrations", None).0, 401);
    assert_eq!(
        http(
            admin,
            "GET",
            "/api/v1/registrations",
            Some("not-the-token-at-all")
        )
        .0,
        401
    );
    assert_eq!(http(admin, "GET", "/health", None).0, 200);

    let aor_tcp = format!("sip:alice@127.0.0.1:{}", tcp.port());
    let (code, out) = register(&[&aor_tcp, "--transport", "tcp"], PASSWORD);
    assert_eq!(code, 0, "{out}");
    let (code, out) = register(&[&aor_tcp, "--transport", "tcp"], "wrong password");
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("SIP/2.0 401"), "{out}");
    let (code, out) = register(
        &[&aor_tcp, "--transport", "tcp", "--expires", "0"],
        PASSWORD,
    );
    assert_eq!(code, 0, "unregister: {out}");
    assert_eq!(replay(tcp), [401, 200, 401]);
    let sips = format!("sips:alice@localhost:{}", tls.port());
    let (code, out) = register(&[&sips, "--ca", ca.to_str().unwrap()], PASSWORD);
    assert_eq!(code, 0, "{out}");

    // Plain SIP sent to the TLS port: a failed handshake.
    let mut plain = common::tcp_connect(tls);
    let plain_local = plain.local_addr().unwrap();
    common::write_all(&mut plain, common::options("TCP", plain_local).as_bytes());
    let _ = common::read_until_closed(&mut plain, Duration::from_secs(10));

    // Registrations, with the token.
    let (status, body) = http(admin, "GET", "/api/v1/registrations", Some(&token));
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let regs = json["registrations"].as_array().unwrap();
    let alice = regs
        .iter()
        .find(|r| r["aor"] == "sip:alice@localhost")
        .unwrap_or_else(|| panic!("alice not listed: {body}"));
    let bindings = alice["bindings"].as_array().unwrap();
    assert!(bindings.iter().any(|b| b["transport"] == "tls"), "{body}");

    // Metrics, parsed as Prometheus text.
    let (status, text) = http(admin, "GET", "/metrics", None);
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let requests = sample(
        &scrape,
        "sipwarden_requests_total",
        &[("method", "REGISTER"), ("transport", "tcp")],
    );
    assert!(requests >= 9.0, "REGISTER over tcp counted {requests}");
    assert!(
        sample(
            &scrape,
            "sipwarden_responses_total",
            &[("method", "REGISTER"), ("status", "200")]
        ) >= 4.0
    );
    assert!(
        sample(
            &scrape,
            "sipwarden_security_events_total",
            &[("kind", "auth_failure")]
        ) >= 1.0
    );
    assert!(
        sample(
            &scrape,
            "sipwarden_security_events_total",
            &[("kind", "replay_refused")]
        ) >= 1.0
    );
    assert!(sample(&scrape, "sipwarden_registrations", &[]) >= 1.0);
    assert!(
        sample(
            &scrape,
            "sipwarden_tls_handshakes_total",
            &[("result", "success")]
        ) >= 2.0
    );
    assert!(
        sample(
            &scrape,
            "sipwarden_tls_handshakes_total",
            &[("result", "invalid_message")]
        ) >= 1.0,
        "{text}"
    );
    assert!(sample(&scrape, "sipwarden_request_duration_seconds_count", &[]) >= 9.0);

    // An operator removes the registration.
    let (status, body) = http(
        admin,
        "DELETE",
        "/api/v1/registrations/sip:alice@localhost",
        Some(&token),
    );
    assert_eq!(status, 200, "{body}");
    let (_, body) = http(admin, "GET", "/api/v1/registrations", Some(&token));
    assert!(!body.contains("sip:alice@localhost"), "{body}");

    // Stop, then read the log the run left behind.
    server.signal("TERM");
    let mut process = server.process;
    let deadline = Instant::now() + Duration::from_secs(20);
    while process.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(data.join("security-events.jsonl")).unwrap();
    let mut kinds = BTreeSet::new();
    let mut removal_reasons = BTreeSet::new();
    for line in log.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        for field in ["timestamp", "kind", "transport", "source", "account", "aor"] {
            assert!(event.get(field).is_some(), "{field} missing: {line}");
        }
        let kind = event["kind"].as_str().unwrap().to_owned();
        if kind == "registration_removed" {
            removal_reasons.insert(event["reason"].as_str().unwrap().to_owned());
        }
        kinds.insert(kind);
    }
    for kind in [
        "challenge",
        "auth_success",
        "auth_failure",
        "replay_refused",
        "registration_added",
        "registration_removed",
        "tls_handshake_failed",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in:\n{log}");
    }
    assert!(removal_reasons.contains("unregistered"), "{log}");
    assert!(removal_reasons.contains("operator"), "{log}");

    // No secret ever reaches the log.
    assert!(!log.contains(PASSWORD), "password in the log");
    assert!(
        !log.contains("wrong password"),
        "a tried password in the log"
    );
    for alg in [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256] {
        let ha1 = Ha1::from_password(alg, "alice", "localhost", PASSWORD);
        assert!(!log.contains(ha1.as_hex()), "{alg:?} HA1 in the log");
    }
    let nonce_key = std::fs::read_to_string(data.join("nonce.key")).unwrap();
    assert!(!log.contains(nonce_key.trim()), "nonce key in the log");
    assert!(!log.contains(&token), "admin token in the log");
    assert_eq!(mode(&data.join("security-events.jsonl")), 0o600);
}
