//! The registrar with real peers and the real binary: sipsak digest REGISTER over UDP,
//! TCP and TLS; persistence across kill -9; SIPp's reg_auth scenario at 1,000
//! registrations/s; baresip and linphone registering over TLS. A missing tool skips the
//! test unless `SIPWARDEN_REQUIRE_PEERS=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use sipwarden_store::{LocationStore, SqliteStore};

fn data_dir(server: &Server) -> PathBuf {
    server.dir.path().join("data")
}

/// sipsak's REGISTER test (add a binding, then remove it) for one transport.
fn sipsak_register(
    server: &Server,
    transport: &str,
    password: &str,
    expires: u32,
    contact_port: u16,
    extra: &[&str],
) -> (Option<i32>, String) {
    let addr = match transport {
        "udp" => server.udp,
        "tcp" => server.tcp,
        _ => server.tls,
    }
    .unwrap();
    let priority = server.dir.path().join("gnutls-no-tls13.conf");
    std::fs::write(&priority, "[overrides]\ndisabled-version = tls1.3\n").unwrap();
    let mut cmd = Command::new("sipsak");
    cmd.env("GNUTLS_SYSTEM_PRIORITY_FILE", &priority);
    if transport == "tls" {
        cmd.arg("-vvv")
            .arg(format!("--tls-ca-cert={}", server.ca().display()));
    } else {
        cmd.arg("-vv");
    }
    // sipsak wants -p/-r before -s, or it looks the URI host up in DNS.
    cmd.args(["-E", transport, "-p", "127.0.0.1", "-r"])
        .arg(addr.port().to_string())
        .args(extra)
        .arg("-U")
        .arg("-C")
        .arg(format!(
            "sip:alice@127.0.0.1:{contact_port};transport={transport}"
        ))
        .args(["-x", &expires.to_string(), "-u", "alice", "-a", password])
        .args(["-s", "sip:alice@localhost"]);
    run_bounded(cmd, Duration::from_secs(20))
}

#[test]
fn sipsak_registers_with_digest_over_udp_tcp_and_tls() {
    if !peer_available("sipsak") {
        return;
    }
    let server = Server::start(&["udp", "tcp", "tls"], None, &[]);
    add_user(&data_dir(&server), "alice", "Alice-Pw-7781");
    for transport in ["udp", "tcp", "tls"] {
        let (code, out) = sipsak_register(&server, transport, "Alice-Pw-7781", 60, 5999, &[]);
        assert_eq!(code, Some(0), "sipsak REGISTER over {transport}:\n{out}");
        assert!(
            out.contains("All usrloc tests completed successful"),
            "{transport}: {out}"
        );
        // It answered a Digest challenge.
        assert!(out.contains("authorizing"), "{out}");
    }
    // A wrong password is refused (from its own source address, as a guessing client).
    let (code, out) = sipsak_register(
        &server,
        "udp",
        "not-the-password",
        60,
        5999,
        &["-k", "127.0.0.73"],
    );
    assert_ne!(code, Some(0), "wrong password accepted:\n{out}");
    assert!(!out.contains("SIP/2.0 200"), "{out}");
}

#[test]
fn registrations_survive_kill_9_and_expired_ones_are_gone() {
    let server = Server::start(&["udp"], None, &[]);
    let data = data_dir(&server);
    add_user(&data, "alice", "Alice-Pw-7781");
    // sipsak's usrloc test always removes what it added, so register with our client.
    for (expires, port) in [(600u32, 6001u16), (60, 6002)] {
        register_with_own_client(&server, "alice", "Alice-Pw-7781", port, expires);
    }
    let mut guard = server.process;
    let dir = server.dir;
    // kill -9 right after the last 200, with no process spawn in between: no chance to
    // flush anything, and less time than one group commit of the store. Every binding
    // acknowledged must already be on disk.
    guard.child.kill().unwrap();
    let _ = guard.child.wait();

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let store = SqliteStore::open(&dir.path().join("data/sipwarden.db")).unwrap();
    let live = store.bindings("sip:alice@localhost", now).unwrap();
    assert_eq!(live.len(), 2, "{live:?}");
    let later = store.bindings("sip:alice@localhost", now + 120).unwrap();
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(later[0].contact.contains(":6001"));
    drop(store);

    // The server starts again on the same data and still serves the account.
    let server = Server::start_in(dir, &["udp"], None, &[]);
    register_with_own_client(&server, "alice", "Alice-Pw-7781", 6003, 600);
}

/// REGISTER with Digest through raw UDP, answering the challenge with sipwarden's own
/// Digest client; asserts the 200.
fn register_with_own_client(server: &Server, user: &str, password: &str, port: u16, expires: u32) {
    use sipwarden_auth::DigestChallenge;
    use sipwarden_wire::build::RequestBuilder;
    let sock = udp_client();
    let local = sock.local_addr().unwrap();
    let addr = server.udp.unwrap();
    let build = |cseq: u32, auth: Option<&str>| {
        let mut b = RequestBuilder::new("REGISTER", "sip:localhost")
            .via("UDP", &local.to_string(), &format!("z9hG4bK-{port}-{cseq}"))
            .from(&format!("<sip:{user}@localhost>"), "t1")
            .to(&format!("<sip:{user}@localhost>"))
            .call_id(&format!("persist-{port}@test"))
            .cseq(cseq)
            .header("Contact", format!("<sip:{user}@127.0.0.1:{port}>"))
            .header("Expires", expires.to_string());
        if let Some(a) = auth {
            b = b.header("Authorization", a);
        }
        b.build().unwrap()
    };
    sock.send_to(&build(1, None), addr).unwrap();
    let challenge = udp_recv(&sock);
    assert_eq!(challenge.status_code(), Some(401));
    let wire: Vec<_> = challenge.www_authenticates().map(|c| c.unwrap()).collect();
    let chosen = DigestChallenge::from_wire(&wire[0]).unwrap();
    let mut client = digest_client(&chosen, user, password);
    let auth = client.authorization("REGISTER", "sip:localhost", b"", "c0ffee");
    sock.send_to(&build(2, Some(&auth)), addr).unwrap();
    let ok = udp_recv(&sock);
    assert_eq!(ok.status_code(), Some(200), "{:?}", ok);
}

/// `../shared/bench` beside the repository, when it is there.
fn bench_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench");
    if dir.join("scenarios/reg_auth.xml").is_file() && dir.join("users.csv").is_file() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("SIPWARDEN_REQUIRE_PEERS").is_none(),
            "the bench material (../shared/bench) is missing"
        );
        eprintln!("SKIP: ../shared/bench not found");
        None
    }
}

#[test]
fn sipp_reg_auth_at_1000_per_second_for_30_seconds_without_failures() {
    if !peer_available("sipp") {
        return;
    }
    let Some(bench) = bench_dir() else { return };
    let server = Server::start(&["udp"], None, &[]);
    let data = data_dir(&server);
    let status = Command::new(bin())
        .args(["user", "import"])
        .arg(bench.join("users.csv"))
        .arg("--data-dir")
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());

    // The injection file the bench harness makes: user;[authentication ...].
    let csv = std::fs::read_to_string(bench.join("users.csv")).unwrap();
    let mut inf = String::from("SEQUENTIAL\n");
    for line in csv.lines().skip(1) {
        if let Some((u, p)) = line.split_once(';') {
            inf.push_str(&format!("{u};[authentication username={u} password={p}]\n"));
        }
    }
    let work = tempfile::tempdir().unwrap();
    let inf_path = work.path().join("users.inf");
    std::fs::write(&inf_path, inf).unwrap();
    let scenario = work.path().join("reg_auth.xml");
    std::fs::copy(bench.join("scenarios/reg_auth.xml"), &scenario).unwrap();
    std::fs::copy(
        bench.join("scenarios/sipp.dtd"),
        work.path().join("sipp.dtd"),
    )
    .unwrap();

    let target = server.udp.unwrap();
    let mut cmd = Command::new("sipp");
    cmd.current_dir(work.path())
        .arg("-sf")
        .arg(&scenario)
        .arg("-inf")
        .arg(&inf_path)
        .args(["-r", "1000", "-m", "30000", "-t", "u1", "-i", "127.0.0.1"])
        .arg("-p")
        .arg(free_port(true).to_string())
        .arg("-cp")
        .arg(free_port(true).to_string())
        .args(["-nostdin", "-timeout", "60s", "-buff_size", "4194304"])
        .args(["-trace_err", "-error_file"])
        .arg(work.path().join("errors.log"))
        .arg(target.to_string());
    let started = Instant::now();
    let (code, out) = run_bounded(cmd, Duration::from_secs(75));
    let errors = std::fs::read_to_string(work.path().join("errors.log")).unwrap_or_default();
    assert_eq!(
        code,
        Some(0),
        "SIPp reported failed registrations:\n{}\n{}",
        out.lines().rev().take(40).collect::<Vec<_>>().join("\n"),
        errors.chars().take(3000).collect::<String>()
    );
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "1,000/s not sustained"
    );
}

/// Runs one of the shared interop recipes (copied to a scratch dir) against `server`.
fn interop(server: &Server, script: &str, env: &[(&str, &str)]) -> Option<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop");
    if !src.join(script).is_file() {
        assert!(
            std::env::var_os("SIPWARDEN_REQUIRE_PEERS").is_none(),
            "../shared/interop is missing"
        );
        eprintln!("SKIP: ../shared/interop not found");
        return None;
    }
    let work = tempfile::tempdir().unwrap();
    copy_tree(&src, &work.path().join("interop"));
    let _ = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(work.path())
        .status();
    let dir = work.path().join("interop");
    let mut cmd = Command::new("bash");
    cmd.current_dir(&dir)
        .arg(dir.join(script))
        .env("SIP_HOST", "127.0.0.1")
        .env("SIP_PORT", server.udp.unwrap().port().to_string())
        .env("SIP_TLS_PORT", server.tls.unwrap().port().to_string())
        .env("SIP_DOMAIN", "localhost")
        .env("SIP_TLS_NAME", "localhost")
        .env("SIP_CA", server.ca())
        .env("SIP_USER1", "alice")
        .env("SIP_PASS1", "Alice-Pw-7781")
        .env("SIP_USER2", "bob")
        .env("SIP_PASS2", "Bob-Pw-5512");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (_, out) = run_bounded(cmd, Duration::from_secs(240));
    Some(out)
}

fn start_with_alice_and_bob() -> Server {
    // UDP and TCP must share a port for the recipes' SIP_PORT: pick one free for both.
    let port = free_udp_and_tcp_port();
    let dir = tempfile::tempdir().unwrap();
    let specs = [
        format!("udp:127.0.0.1:{port}"),
        format!("tcp:127.0.0.1:{port}"),
        "tls:127.0.0.1:0".to_owned(),
    ];
    let server = Server::start_specs(dir, &specs, None, &[]);
    add_user(&data_dir(&server), "alice", "Alice-Pw-7781");
    add_user(&data_dir(&server), "bob", "Bob-Pw-5512");
    server
}

#[test]
fn baresip_registers_over_tls_and_a_wrong_password_is_refused() {
    if !peer_available("baresip") {
        return;
    }
    let server = start_with_alice_and_bob();
    let Some(out) = interop(&server, "baresip.sh", &[("CALL_SECS", "2")]) else {
        return;
    };
    for line in [
        "PASS: callee bob registered over tls",
        "PASS: caller alice registered over tls",
        "PASS: wrong password: no 200 OK to REGISTER",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn linphone_registers_over_tls_and_a_wrong_password_is_refused() {
    if !peer_available("linphone-daemon") {
        return;
    }
    let server = start_with_alice_and_bob();
    let Some(out) = interop(&server, "linphone.sh", &[("CALL_SECS", "2")]) else {
        return;
    };
    for line in [
        "PASS: callee bob registered over tls",
        "PASS: caller alice registered over tls",
        "PASS: wrong password: registration refused",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}
