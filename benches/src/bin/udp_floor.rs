//! The cost floor of a UDP registrar on this machine: a responder that does nothing but
//! the system calls every UDP SIP server makes (one blocking `recv_from` and one
//! `send_to` per message, on one thread) and just enough byte copying for SIPp's
//! `reg_auth.xml` scenario to complete: a REGISTER without credentials gets a canned 401
//! with an MD5 Digest challenge, one with credentials a 200. Nothing is parsed, checked,
//! stored or logged, so its CPU per 1,000 registrations is what the kernel and the
//! loopback path cost alone — the part no server can remove.
//!
//! Usage: `udp_floor [ADDR]` (default 127.0.0.1:5090); runs until killed. For
//! measurement only: it answers anyone with anything.

use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5090".to_owned());
    let socket = UdpSocket::bind(&addr)?;
    println!("listening udp {}", socket.local_addr()?);
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(2048);
    loop {
        let (len, from) = socket.recv_from(&mut buf)?;
        let request = buf.get(..len).unwrap_or_default();
        if !request.starts_with(b"REGISTER ") {
            continue;
        }
        out.clear();
        let authorized = contains(request, b"\nAuthorization:");
        out.extend_from_slice(if authorized {
            b"SIP/2.0 200 OK\r\n"
        } else {
            b"SIP/2.0 401 Unauthorized\r\n"
        });
        // Echo the headers a response must carry, in order.
        for line in request.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // Contact only in the 200, which lists the binding.
            let echo = [&b"Via:"[..], b"From:", b"Call-ID:", b"CSeq:"]
                .iter()
                .any(|h| starts_with_ignore_case(line, h))
                || (authorized && starts_with_ignore_case(line, b"Contact:"));
            if echo {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            } else if starts_with_ignore_case(line, b"To:") {
                out.extend_from_slice(line);
                out.extend_from_slice(b";tag=floor\r\n");
            }
        }
        if !authorized {
            out.extend_from_slice(
                b"WWW-Authenticate: Digest realm=\"floor\", nonce=\"0123456789abcdef\", \
                  qop=\"auth\", algorithm=MD5\r\n",
            );
        }
        out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        socket.send_to(&out, from)?;
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}
