//! Two baresip instances call each other over TLS through the real binary, with SDES
//! (`srtp-mand`) and with DTLS-SRTP, using the shared interop recipe; the assessment of
//! each call must say what the media keying means, and no SDES key may reach the
//! server's output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const CONFIG: &str = "[policy]\nallow_cidrs = [\"127.0.0.0/8\"]\n";

/// Runs the recipe (a copy, since the shared folder is read-only) with `menc`; returns
/// whether it passed and its output.
fn baresip(recipes: &Path, server: &Server, menc: &str, base: u16) -> (bool, String) {
    let udp = server.udp.unwrap();
    let tls = server.tls.unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("150")
        .arg(recipes.join("baresip.sh"))
        .current_dir(recipes)
        .env("SIP_HOST", "127.0.0.1")
        .env("SIP_PORT", udp.port().to_string())
        .env("SIP_TLS_PORT", tls.port().to_string())
        .env("SIP_DOMAIN", "localhost")
        .env("SIP_TLS_NAME", "localhost")
        .env("SIP_CA", server.ca())
        .env("SIP_USER1", "alice")
        .env("SIP_PASS1", "alice-baresip-1")
        .env("SIP_USER2", "bob")
        .env("SIP_PASS2", "bob-baresip-1")
        .env("PROBE_VERIFY", "0")
        .env("CALL_SECS", "2")
        .env("BS_BASE", base.to_string())
        .env("MENC", menc);
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `inline:` key material the recipe printed from the SDP it saw.
fn keys_in(output: &str) -> Vec<String> {
    output
        .split("inline:")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| c == '|' || c.is_whitespace()).next())
        .filter(|k| k.len() >= 30)
        .map(str::to_owned)
        .collect()
}

/// Both hops of a call between two baresip over TLS: observed TLS, with the version and
/// cipher suite each connection negotiated (libre's OpenSSL and rustls agree on 1.3).
fn assert_tls13_hops(a: &serde_json::Value) {
    let hops = a["signalling"].as_array().unwrap();
    let roles: Vec<&str> = hops.iter().filter_map(|h| h["role"].as_str()).collect();
    assert_eq!(roles, ["caller-side", "callee-side"], "{a}");
    for hop in hops {
        assert_eq!(hop["transport"], "tls", "{a}");
        assert_eq!(hop["tls"]["version"], "TLSv1.3", "{a}");
        assert!(
            hop["tls"]["cipher_suite"]
                .as_str()
                .is_some_and(|c| c.starts_with("TLS_")),
            "{a}"
        );
    }
    let reasons = a["reasons"].to_string();
    assert!(
        reasons.contains("caller-side signalling hop uses TLSv1.3")
            && reasons.contains("callee-side signalling hop uses TLSv1.3"),
        "{reasons}"
    );
}

#[test]
fn baresip_over_tls_with_sdes_and_with_dtls_srtp_is_assessed_correctly() {
    if !peer_available("baresip") {
        return;
    }
    let Some(shared) = interop_dir("baresip.sh") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let recipes = work.path().join("interop");
    copy_tree(&shared, &recipes);

    let server = Server::start(&["udp", "tcp", "tls"], Some(CONFIG), &[]);
    let data = server.dir.path().join("data");
    add_user(&data, "alice", "alice-baresip-1");
    add_user(&data, "bob", "bob-baresip-1");

    // Below the ephemeral range and clear of the other peer tests, which nextest may run
    // at the same time: registrar_peers' baresip (20060–22079) and linphone (23000–23189),
    // calls_linphone (26000–26139). This uses 27060–27171 (SIP), 26060–26179 (control) and
    // 28060–28179 (RTP).
    let base = 27060;
    let (ok, sdes_out) = baresip(&recipes, &server, "srtp-mand", base);
    assert!(ok, "baresip srtp-mand:\n{sdes_out}");
    let call = last_call(&data, 1);
    assert_eq!(call["ended_by"], "bye");
    let a = &call["assessment"];
    assert_eq!(a["level"], "hop-by-hop", "{a}");
    assert_eq!(a["media"]["offer"], "sdes");
    assert_eq!(a["media"]["answer"], "sdes");
    assert_tls13_hops(a);

    let (ok, dtls_out) = baresip(&recipes, &server, "dtls_srtp", base + 100);
    assert!(ok, "baresip dtls_srtp:\n{dtls_out}");
    let call = last_call(&data, 2);
    let a = &call["assessment"];
    assert_eq!(a["level"], "end-to-end-media", "{a}");
    assert_eq!(a["media"]["offer"], "dtls-srtp");
    assert_eq!(a["media"]["level"], "end-to-end");
    assert_tls13_hops(a);

    // The SDES keys of the first call appear nowhere in the server's output.
    let keys = keys_in(&sdes_out);
    assert!(
        !keys.is_empty(),
        "the recipe printed no SDP keys:\n{sdes_out}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut outputs = vec![server.stderr()];
    for name in ["calls.log", "calls.json", "security-events.jsonl"] {
        outputs.push(std::fs::read_to_string(data.join(name)).unwrap_or_default());
    }
    let view = Command::new(bin())
        .args(["calls", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(view.status.success());
    let view = String::from_utf8_lossy(&view.stdout).into_owned();
    assert!(
        view.contains("end-to-end-media") && view.contains("hop-by-hop"),
        "{view}"
    );
    outputs.push(view);
    for key in &keys {
        for text in &outputs {
            assert!(
                !text.contains(key.as_str()),
                "an SDES key reached the server output"
            );
        }
    }
}

/// A baresip configuration directory for one user agent: SIP on `sip_port` (TLS on the
/// next port), RTP from `rtp_port`, registering with `server` over `transport`, with
/// `mediaenc` when given.
#[allow(clippy::too_many_arguments)]
fn baresip_dir(
    dir: &Path,
    server: &Server,
    user: &str,
    password: &str,
    transport: &str,
    mediaenc: Option<&str>,
    sip_port: u16,
    rtp_port: u16,
) {
    std::fs::create_dir_all(dir).unwrap();
    let modules = [
        "/usr/lib/baresip/modules",
        "/usr/lib/x86_64-linux-gnu/baresip/modules",
    ]
    .into_iter()
    .find(|d| Path::new(d).join("account.so").is_file())
    .unwrap_or("/usr/lib/baresip/modules");
    let config = format!(
        "poll_method\tepoll\nsip_listen\t127.0.0.1:{sip_port}\nsip_cafile\t{ca}\n\
         call_local_timeout\t20\nnet_interface\t127.0.0.1\naudio_player\talsa,null\n\
         audio_source\tausine,440\naudio_alert\talsa,null\nausrc_srate\t48000\n\
         auplay_srate\t48000\nausrc_channels\t2\naudio_level\tno\n\
         rtp_ports\t{rtp_port}-{rtp_end}\nrtcp_mux\tno\nmodule_path\t{modules}\n\
         module\tg711.so\nmodule\tausine.so\nmodule\talsa.so\nmodule\tsrtp.so\n\
         module_tmp\taccount.so\nmodule_app\tmenu.so\n",
        ca = server.ca().display(),
        rtp_end = rtp_port + 9,
    );
    std::fs::write(dir.join("config"), config).unwrap();
    let (port, param) = match transport {
        "tls" => (server.tls.unwrap().port(), ";transport=tls"),
        _ => (server.udp.unwrap().port(), ""),
    };
    let menc = mediaenc
        .map(|m| format!(";mediaenc={m}"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("accounts"),
        format!(
            "<sip:{user}@localhost{param}>;auth_pass={password};\
             outbound=\"sip:127.0.0.1:{port}{param}\";regint=600;answermode=auto{menc}\n"
        ),
    )
    .unwrap();
}

/// Starts baresip (SIP trace on, stopping itself after `secs`) with its output in
/// `log`; `command` is run at start.
fn start_baresip(dir: &Path, log: &Path, secs: u32, command: Option<&str>) -> ProcessGuard {
    let out = std::fs::File::create(log).unwrap();
    let mut cmd = Command::new("baresip");
    cmd.arg("-4")
        .arg("-s")
        .arg("-f")
        .arg(dir)
        .arg("-t")
        .arg(secs.to_string());
    if let Some(c) = command {
        cmd.arg("-e").arg(c);
    }
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    ProcessGuard {
        child: cmd.spawn().unwrap(),
    }
}

/// Waits until `log` holds a line containing every one of `needles`.
fn wait_for_line(log: &Path, needles: &[&str], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().any(|l| needles.iter().all(|n| l.contains(n))) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A caller over TLS offering SDES keys (`srtp-mand`) to a callee registered over UDP:
/// forwarding the offer would put the keys on a plain hop, so sipwarden refuses the call
/// with 488 and a Warning, the callee never sees the INVITE, the refusal is a security
/// event, and the key appears in none of the server's output.
#[test]
fn baresip_sdes_offer_toward_a_udp_callee_is_refused() {
    if !peer_available("baresip") {
        return;
    }
    let server = Server::start(&["udp", "tls"], Some(CONFIG), &[]);
    let data = server.dir.path().join("data");
    add_user(&data, "alice", "alice-baresip-2");
    add_user(&data, "bob", "bob-baresip-2");
    let work = tempfile::tempdir().unwrap();

    // Bob registers over UDP.
    let bob_dir = work.path().join("bob");
    let bob_log = work.path().join("bob.log");
    let bob_port = free_port(true);
    baresip_dir(
        &bob_dir,
        &server,
        "bob",
        "bob-baresip-2",
        "udp",
        None,
        bob_port,
        free_port(true),
    );
    let _bob = start_baresip(&bob_dir, &bob_log, 25, None);
    assert!(
        wait_for_line(
            &bob_log,
            &["bob@", "/UDP/", "200 OK"],
            Duration::from_secs(10)
        ),
        "bob did not register over UDP:\n{}",
        std::fs::read_to_string(&bob_log).unwrap_or_default()
    );

    // Alice calls him over TLS with mandatory SDES-SRTP.
    let alice_dir = work.path().join("alice");
    let alice_log = work.path().join("alice.log");
    baresip_dir(
        &alice_dir,
        &server,
        "alice",
        "alice-baresip-2",
        "tls",
        Some("srtp-mand"),
        free_port(false),
        free_port(true),
    );
    let alice = start_baresip(&alice_dir, &alice_log, 12, Some("/dial sip:bob@localhost"));
    let refused = wait_for_line(&alice_log, &["SIP/2.0 488"], Duration::from_secs(15));
    let alice_text = std::fs::read_to_string(&alice_log).unwrap_or_default();
    assert!(refused, "no 488 for the SDES offer:\n{alice_text}");
    drop(alice);

    // The 488 carries a Warning that says why.
    let response = alice_text
        .split("SIP/2.0 488")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next().or(Some(rest)))
        .unwrap_or_default();
    let warning = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("warning:"))
        .unwrap_or_else(|| panic!("no Warning in the 488:\n{response}"));
    println!("488 {warning}");
    let lower = warning.to_ascii_lowercase();
    assert!(
        lower.contains("key") && lower.contains("tls"),
        "the Warning does not name the reason: {warning}"
    );

    // Alice's INVITE carried SDES keys, over TLS (the trace shows them on her side).
    let keys = keys_in(&alice_text);
    assert!(!keys.is_empty(), "alice offered no SDES key:\n{alice_text}");
    println!("alice offered {} SDES key(s) over TLS", keys.len());
    assert!(alice_text.contains("RTP/SAVP"), "{alice_text}");

    // Bob never received an INVITE.
    std::thread::sleep(Duration::from_millis(500));
    let bob_text = std::fs::read_to_string(&bob_log).unwrap_or_default();
    // His SIP trace shows what he received (the registrar's answers)...
    assert!(
        bob_text.contains("SIP/2.0 200 OK"),
        "no SIP trace from bob:\n{bob_text}"
    );
    // ...and no INVITE.
    assert!(
        !bob_text.contains("INVITE sip:"),
        "the INVITE reached the UDP callee:\n{bob_text}"
    );

    // The refusal is a security event, and no key is anywhere in the server's output.
    std::thread::sleep(Duration::from_millis(1000));
    let events = std::fs::read_to_string(data.join("security-events.jsonl")).unwrap_or_default();
    assert!(
        events.contains("\"kind\":\"sdes_refused\""),
        "no sdes_refused event:\n{events}"
    );
    let mut outputs = vec![server.stderr()];
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let path = entry.path();
        let skip = path
            .extension()
            .is_some_and(|e| e == "db" || e == "db-wal" || e == "db-shm");
        if path.is_file() && !skip {
            outputs.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned());
        }
    }
    for key in &keys {
        for text in &outputs {
            assert!(
                !text.contains(key.as_str()),
                "an SDES key reached the server output"
            );
        }
    }
}
