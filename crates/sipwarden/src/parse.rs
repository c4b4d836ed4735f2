//! `sipwarden parse FILE`: shows how the server reads a message, or why it refuses it
//! and what it would answer.

use std::io::Write;
use std::process::ExitCode;

use bytes::Bytes;
use sipwarden_transport::via::{Rport, TopVia};
use sipwarden_wire::{HeaderName, Limits, Message, StartLine};

use crate::ParseArgs;

/// Parses the file and prints the result; exit 1 when the message is refused.
pub fn run(args: &ParseArgs) -> ExitCode {
    let data = match std::fs::read(&args.file) {
        Ok(d) => d,
        Err(err) => {
            eprintln!("sipwarden: cannot read {}: {err}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let data = if args.crlf { to_crlf(&data) } else { data };
    let buf = Bytes::from(data);
    let limits = Limits::default();
    let parsed = if args.stream {
        Message::parse_frame(buf, &limits)
    } else {
        Message::parse_datagram(buf, &limits)
    };
    let mut out = std::io::stdout().lock();
    let result = match parsed {
        Ok(msg) => print_message(&mut out, &msg).map(|()| ExitCode::SUCCESS),
        Err(err) => {
            let (code, reason) = err.status();
            writeln!(out, "error: {err}")
                .and_then(|()| writeln!(out, "status: {code} {reason}"))
                .map(|()| ExitCode::FAILURE)
        }
    };
    result.unwrap_or(ExitCode::from(2))
}

/// Bare LF line ends become CRLF; existing CRLFs stay.
fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Bytes as text with control characters escaped, so a hostile file cannot drive the
/// terminal.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn print_message(out: &mut impl Write, msg: &Message) -> std::io::Result<()> {
    match msg.start_line() {
        StartLine::Request { method, .. } => writeln!(
            out,
            "request: method={} ({:?}) uri={}",
            show(msg.method_bytes()),
            method,
            show(msg.request_uri_bytes())
        )?,
        StartLine::Response { code, .. } => {
            writeln!(
                out,
                "response: code={code} reason={}",
                show(msg.reason_phrase())
            )?;
        }
    }
    writeln!(out, "headers: {}", msg.headers().len())?;
    for field in msg.headers() {
        let name = match field.name {
            HeaderName::Other => show(msg.slice(field.name_span)),
            known => known.as_str().to_owned(),
        };
        writeln!(
            out,
            "  [{}..{}] {}: {}",
            field.line.start,
            field.line.end,
            name,
            show(msg.slice(field.value))
        )?;
    }
    match TopVia::parse(msg) {
        Ok(via) => writeln!(
            out,
            "top via: transport={} host={} port={} branch={} rport={} received={}",
            via.transport_token,
            show(via.host.as_bytes()),
            via.port.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            via.branch
                .as_deref()
                .map_or_else(|| "-".to_owned(), |b| show(b.as_bytes())),
            match via.rport {
                Rport::Absent => "-".to_owned(),
                Rport::Requested => "requested".to_owned(),
                Rport::Value(p) => p.to_string(),
            },
            via.received
                .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        )?,
        Err(err) => writeln!(out, "top via: {err}")?,
    }
    writeln!(
        out,
        "content-length: {}",
        msg.content_length()
            .map_or_else(|| "absent".to_owned(), |n| n.to_string())
    )?;
    writeln!(out, "body: {} bytes", msg.body().len())
}
