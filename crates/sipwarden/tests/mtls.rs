//! Mutual TLS on the real binary: with `[tls] client_auth = "required"`, a client
//! without a certificate from the configured CA is refused at the handshake, and one
//! with such a certificate is served. Certificates are made with the openssl tool.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?}");
}

/// A CA and a client certificate it signed (`ca.pem`, `client.pem`, `client.key`).
fn client_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-out",
            "ca.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=Peer CA",
            "-days",
            "2",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-out",
            "client.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "client.key",
            "-subj",
            "/CN=peer.example.net",
            "-out",
            "client.csr",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:peer.example.net,URI:sip:peer.example.net\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "client.pem",
        ],
    );
}

#[test]
fn required_client_certificates_are_verified() {
    if !peer_available("openssl") {
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    client_pki(pki.path());
    let config = format!(
        "[tls]\nclient_auth = \"required\"\nclient_ca = \"{}\"\n",
        pki.path().join("ca.pem").display()
    );
    let server = Server::start(&["tls"], Some(&config), &[]);
    let addr = server.tls.unwrap();

    // No client certificate: the handshake fails.
    let (client, name) = tls_client(&server.ca(), "127.0.0.1");
    let conn = rustls::ClientConnection::new(client, name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp_connect(addr));
    tls.sock
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let refused = (|| -> std::io::Result<Vec<u8>> {
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        // TLS 1.3 reports the refusal on the first read after the handshake.
        tls.write_all(options("TLS", tls.sock.local_addr()?).as_bytes())?;
        let mut buf = vec![0u8; 2048];
        let n = std::io::Read::read(&mut tls, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    })();
    match refused {
        Err(_) => {}
        Ok(bytes) => assert!(
            !bytes.starts_with(b"SIP/2.0"),
            "served without a client certificate: {}",
            String::from_utf8_lossy(&bytes)
        ),
    }

    // With a certificate from the configured CA: served.
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect"])
        .arg(addr.to_string())
        .arg("-cert")
        .arg(pki.path().join("client.pem"))
        .arg("-key")
        .arg(pki.path().join("client.key"))
        .arg("-CAfile")
        .arg(server.ca())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let request = options("TLS", "127.0.0.1:5061".parse().unwrap());
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let guard = ProcessGuard { child };
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        let n = std::io::Read::read(&mut stdout, &mut buf).unwrap_or(0);
        buf.truncate(n);
        buf
    });
    let start = std::time::Instant::now();
    while !reader.is_finished() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(guard);
    let answer = reader.join().unwrap();
    assert!(
        answer.starts_with(b"SIP/2.0 200"),
        "not served with a client certificate: {}",
        String::from_utf8_lossy(&answer)
    );
}
