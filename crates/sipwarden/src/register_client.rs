//! `sipwarden register URI`: registers a contact for an account, answering the Digest
//! challenge, and prints the final response.
//!
//! The password is read from standard input or a terminal prompt, never from the command
//! line (where `ps` would show it), and is never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use sipwarden_auth::{ClientSecret, DigestChallenge, DigestClient, QopPreference};
use sipwarden_tls::{ClientTlsConfig, ReferenceName, TrustRoots};
use sipwarden_transport::client::{exchange, ClientTarget};
use sipwarden_transport::reply::random_hex;
use sipwarden_transport::Transport;
use sipwarden_wire::build::RequestBuilder;
use sipwarden_wire::Message;

use crate::options::{format_hostport, parse_uri, printable, resolve, UriTarget};

/// `sipwarden register`
#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// The address-of-record or registrar, e.g. `sip:alice@127.0.0.1:5060` or
    /// `sips:example.com`. Its host is the registrar's domain; its user part, if any, is
    /// the account (else `--user`).
    pub uri: String,
    /// Digest user name (default: the URI's user part).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Transport; default from the URI (`sips:` → tls, `;transport=`), else udp.
    #[arg(long, value_name = "udp|tcp|tls|ws|wss")]
    pub transport: Option<Transport>,
    /// CA certificate(s) to trust for TLS (PEM); default: the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Send to this address instead of the URI's host and port.
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// Registration lifetime asked for, seconds; 0 removes every binding of the AOR
    /// (`Contact: *`).
    #[arg(long, default_value_t = 600)]
    pub expires: u32,
    /// Seconds to wait for each final response.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

/// Registers; exit 0 on 2xx, 1 on another final response, 2 when no answer came or
/// the arguments are unusable.
pub fn run(args: &RegisterArgs) -> ExitCode {
    crate::options::run_client(register(args), |code| (200..300).contains(&code))
}

pub(crate) fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!pw.is_empty(), "empty password on standard input");
        return Ok(pw);
    }
    rpassword::prompt_password("Password: ").context("cannot read the password")
}

/// The user part of a `sip:user@host` URI, if any.
fn uri_user(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':')?.1;
    let (user, _) = rest.split_once('@')?;
    let user = user.split_once(':').map_or(user, |(u, _)| u);
    Some(user).filter(|u| !u.is_empty())
}

async fn register(args: &RegisterArgs) -> anyhow::Result<u16> {
    let target = parse_uri(&args.uri)?;
    let user = args
        .user
        .clone()
        .or_else(|| uri_user(&args.uri).map(str::to_owned))
        .context("no user: give --user or put it in the URI (sip:alice@host)")?;
    anyhow::ensure!(
        !user.is_empty()
            && user
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"@:<>;\"".contains(&b)),
        "--user: {user:?} is not a plain user name"
    );
    let password = read_password(args.password_stdin)?;
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
    let client_target =
        client_target(args.server.as_deref(), args.ca.as_ref(), &target, transport).await?;
    let scheme = if target.secure { "sips" } else { "sip" };
    let host = format_hostport_opt(&target.host, target.port);
    let request_uri = format!("{scheme}:{host}");
    let aor = format!("{scheme}:{user}@{}", bracket(&target.host));
    let call_id = random_hex(12);
    let from_tag = random_hex(6);
    let timeout = Duration::try_from_secs_f64(args.timeout).unwrap_or(Duration::from_secs(10));

    let request = Request {
        transport,
        request_uri: request_uri.clone(),
        aor: aor.clone(),
        user: user.clone(),
        call_id,
        from_tag,
        expires: args.expires,
    };
    let first = exchange(&client_target, request.build(1, None), timeout).await?;
    let mut response = first;
    if response.status_code() == Some(401) {
        let authorization = {
            let challenge = DigestChallenge::strongest(
                response
                    .www_authenticates()
                    .filter_map(Result::ok)
                    .filter_map(|c| DigestChallenge::from_wire(&c).ok()),
            )
            .context("the 401 holds no usable Digest challenge")?;
            let mut client = DigestClient::new(
                &challenge,
                &user,
                ClientSecret::Password(&password),
                QopPreference::default(),
            )?;
            client.authorization("REGISTER", &request_uri, b"", &random_hex(8))
        };
        response = exchange(
            &client_target,
            request.build(2, Some(authorization)),
            timeout,
        )
        .await?;
    }
    print_response(&response)?;
    Ok(response.status_code().unwrap_or(0))
}

pub(crate) fn print_response(response: &Message) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(printable(response.as_bytes()).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// What stays the same between the unauthenticated and the authenticated REGISTER.
struct Request {
    transport: Transport,
    request_uri: String,
    aor: String,
    user: String,
    call_id: String,
    from_tag: String,
    expires: u32,
}

impl Request {
    fn build(&self, cseq: u32, authorization: Option<String>) -> impl FnOnce(SocketAddr) -> Bytes {
        let transport = self.transport;
        let request_uri = self.request_uri.clone();
        let aor = self.aor.clone();
        let user = self.user.clone();
        let call_id = self.call_id.clone();
        let from_tag = self.from_tag.clone();
        let expires = self.expires;
        move |local: SocketAddr| -> Bytes {
            let sent_by = if transport.is_websocket() {
                format!("{}.invalid", random_hex(6))
            } else {
                local.to_string()
            };
            let contact_host = if transport.is_websocket() {
                sent_by.clone()
            } else {
                format_hostport(&local.ip().to_string(), local.port())
            };
            // Expires 0 removes every binding of the AOR (RFC 3261 section 10.2.2): this
            // connection's own contact was never registered.
            let contact = if expires == 0 {
                "*".to_owned()
            } else {
                format!(
                    "<sip:{user}@{contact_host};transport={}>",
                    transport.via_token().to_ascii_lowercase()
                )
            };
            let mut b = RequestBuilder::new("REGISTER", &request_uri)
                .rport()
                .via(
                    transport.via_token(),
                    &sent_by,
                    &format!("z9hG4bK{}", random_hex(10)),
                )
                .from(&aor, &from_tag)
                .to(&aor)
                .call_id(&call_id)
                .cseq(cseq)
                .contact(&contact)
                .header("Expires", expires.to_string())
                .header("User-Agent", "sipwarden-register");
            if let Some(a) = &authorization {
                b = b.header("Authorization", a);
            }
            b.build().unwrap_or_default()
        }
    }
}

pub(crate) fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

pub(crate) fn format_hostport_opt(host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format_hostport(host, p),
        None => bracket(host),
    }
}

pub(crate) async fn client_target(
    server: Option<&str>,
    ca: Option<&PathBuf>,
    target: &UriTarget,
    transport: Transport,
) -> anyhow::Result<ClientTarget> {
    let server = match server {
        Some(s) => resolve(s).await?,
        None => {
            let port = target.port.unwrap_or_else(|| transport.default_port());
            resolve(&format_hostport(&target.host, port)).await?
        }
    };
    let tls = if transport.is_secure() {
        let roots = match ca {
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
    Ok(ClientTarget {
        transport,
        server,
        tls,
        ws_resource: format!("{}/", format_hostport(&target.host, server.port())),
    })
}
