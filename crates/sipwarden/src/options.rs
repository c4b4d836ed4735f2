//! `sipwarden options URI`: a small client that sends OPTIONS and prints the answer.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use sipwarden_tls::{ClientTlsConfig, ReferenceName, TrustRoots};
use sipwarden_transport::client::{exchange, ClientTarget};
use sipwarden_transport::reply::random_hex;
use sipwarden_transport::Transport;
use sipwarden_wire::build::RequestBuilder;

use crate::OptionsArgs;

/// Sends the request; exit 0 on 2xx, 1 on another final response, 2 on failure.
pub fn run(args: &OptionsArgs) -> ExitCode {
    run_client(options(args), |code| (200..300).contains(&code))
}

/// Runs one of the probing clients on a single-threaded runtime: exit 0 when `ok` holds
/// for its outcome, 1 when it does not, 2 (with the error) when it could not finish.
pub(crate) fn run_client<T>(
    client: impl std::future::Future<Output = anyhow::Result<T>>,
    ok: impl FnOnce(T) -> bool,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("sipwarden: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(client) {
        Ok(outcome) => {
            if ok(outcome) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("sipwarden: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The parts of a SIP URI the client needs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UriTarget {
    pub(crate) secure: bool,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) transport: Option<Transport>,
}

/// Reads `sip:` / `sips:` URIs: `[user@]host[:port][;params]`, IPv6 in brackets.
pub(crate) fn parse_uri(uri: &str) -> anyhow::Result<UriTarget> {
    let (secure, rest) = if let Some(r) = uri.strip_prefix("sips:") {
        (true, r)
    } else if let Some(r) = uri.strip_prefix("sip:") {
        (false, r)
    } else {
        anyhow::bail!("{uri}: only sip: and sips: URIs are supported");
    };
    let rest = rest.split_once('?').map_or(rest, |(a, _)| a);
    let (hostport, params) = rest.split_once(';').unwrap_or((rest, ""));
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').context("unterminated IPv6 reference")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().context("bad port")?),
            None if after.is_empty() => None,
            None => anyhow::bail!("junk after IPv6 reference"),
        };
        (h.to_owned(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p.parse::<u16>().context("bad port")?)),
            None => (hostport.to_owned(), None),
        }
    };
    anyhow::ensure!(!host.is_empty(), "{uri}: no host");
    let transport = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("transport"))
        .map(|(_, v)| v.parse::<Transport>())
        .transpose()?;
    Ok(UriTarget {
        secure,
        host,
        port,
        transport,
    })
}

async fn options(args: &OptionsArgs) -> anyhow::Result<u16> {
    let target = parse_uri(&args.uri)?;
    let transport = args
        .transport
        .or(target.transport)
        .unwrap_or(if target.secure {
            Transport::Tls
        } else {
            Transport::Udp
        });
    if target.secure && !transport.is_secure() {
        anyhow::bail!("a sips: URI is only reached over TLS or WSS");
    }
    let server = match &args.server {
        Some(s) => resolve(s).await?,
        None => {
            let port = target.port.unwrap_or_else(|| transport.default_port());
            let host = target.host.clone();
            resolve(&format_hostport(&host, port)).await?
        }
    };
    let tls = if transport.is_secure() {
        let roots = match &args.ca {
            Some(path) => TrustRoots::from_pem_file(path)
                .with_context(|| format!("cannot read CA file {}", path.display()))?,
            None => TrustRoots::system().context("cannot load the system's trust roots")?,
        };
        let name = ReferenceName::parse(&target.host)?;
        let config = ClientTlsConfig::new(roots).verifying(std::slice::from_ref(&name))?;
        Some((config, name.to_server_name()?))
    } else {
        None
    };
    let client_target = ClientTarget {
        transport,
        server,
        tls,
        ws_resource: format!("{}/", format_hostport(&target.host, server.port())),
    };
    let uri = args.uri.clone();
    let build = move |local: SocketAddr| -> Bytes {
        let sent_by = if transport.is_websocket() {
            // RFC 7118 §5: a browser-like client has no reachable address.
            format!("{}.invalid", random_hex(6))
        } else {
            local.to_string()
        };
        let local_uri = format!(
            "sip:options@{}",
            format_hostport(&local.ip().to_string(), local.port())
        );
        RequestBuilder::new("OPTIONS", &uri)
            .rport()
            .via(
                transport.via_token(),
                &sent_by,
                &format!("z9hG4bK{}", random_hex(10)),
            )
            .from(&local_uri, &random_hex(6))
            .to(&uri)
            .call_id(&random_hex(12))
            .cseq(1)
            .header("Accept", "application/sdp")
            .build()
            .unwrap_or_default()
    };
    let timeout = Duration::try_from_secs_f64(args.timeout).unwrap_or(Duration::from_secs(10));
    let response = exchange(&client_target, build, timeout).await?;
    let code = response.status_code().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    out.write_all(printable(response.as_bytes()).as_bytes())?;
    out.flush()?;
    Ok(code)
}

pub(crate) fn format_hostport(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        _ => format!("{host}:{port}"),
    }
}

pub(crate) async fn resolve(hostport: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = hostport.parse::<SocketAddr>() {
        return Ok(addr);
    }
    tokio::net::lookup_host(hostport)
        .await
        .with_context(|| format!("cannot resolve {hostport}"))?
        .next()
        .with_context(|| format!("{hostport} has no address"))
}

/// A message as text: line ends as newlines, other control bytes and non-ASCII escaped
/// so a hostile server cannot drive the terminal.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        match b {
            b'\r' if iter.peek() == Some(&&b'\n') => {}
            b'\n' | b'\t' | 0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}
