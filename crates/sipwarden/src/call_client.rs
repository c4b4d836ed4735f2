//! `sipwarden call URI`: places a call through a server (answering its Digest challenge),
//! acknowledges the answer, holds it for a moment and hangs up — a probe of the whole
//! call path. It sends an SDP offer without media keys and plays no media.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use sipwarden_auth::{ClientSecret, DigestChallenge, DigestClient, QopPreference};
use sipwarden_transport::client::{exchange, ClientTarget};
use sipwarden_transport::reply::random_hex;
use sipwarden_transport::Transport;
use sipwarden_wire::build::{ack_for_non2xx, RequestBuilder};
use sipwarden_wire::Message;

use crate::options::{format_hostport, parse_uri};
use crate::register_client::{bracket, client_target, print_response, read_password};

/// `sipwarden call`
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// Whom to call, e.g. `sip:bob@example.com` (the host is also the caller's domain).
    pub uri: String,
    /// The caller's account (Digest user name).
    #[arg(long, value_name = "NAME")]
    pub user: String,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Transport; default from the URI (`sips:` → tls, `;transport=`), else udp.
    #[arg(long, value_name = "udp|tcp|tls")]
    pub transport: Option<Transport>,
    /// CA certificate(s) to trust for TLS (PEM); default: the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Send to this address (the server) instead of the URI's host and port.
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// Seconds to hold the call before hanging up.
    #[arg(long, default_value_t = 1.0)]
    pub hold: f64,
    /// Seconds to wait for each final response.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

/// Calls; exit 0 when the call was answered and hung up cleanly, 1 on a refusal, 2 when
/// no answer came or the arguments are unusable.
pub fn run(args: &CallArgs) -> ExitCode {
    crate::options::run_client(call(args), |answered| answered)
}

/// What stays the same between the INVITEs of one call.
struct Invite {
    transport: Transport,
    request_uri: String,
    from: String,
    user: String,
    call_id: String,
    from_tag: String,
    /// The last INVITE sent, for the ACK of a non-2xx answer.
    sent: Arc<Mutex<Option<Bytes>>>,
}

impl Invite {
    fn build(
        &self,
        cseq: u32,
        authorization: Option<String>,
    ) -> impl FnOnce(std::net::SocketAddr) -> Bytes {
        let transport = self.transport;
        let request_uri = self.request_uri.clone();
        let from = self.from.clone();
        let user = self.user.clone();
        let call_id = self.call_id.clone();
        let from_tag = self.from_tag.clone();
        let sent = Arc::clone(&self.sent);
        move |local| {
            let ip = local.ip().to_string();
            let sdp = format!(
                "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=sendrecv\r\n"
            );
            let mut b = RequestBuilder::new("INVITE", &request_uri)
                .rport()
                .via(
                    transport.via_token(),
                    &local.to_string(),
                    &format!("z9hG4bK{}", random_hex(10)),
                )
                .from(&from, &from_tag)
                .to(&format!("<{request_uri}>"))
                .call_id(&call_id)
                .cseq(cseq)
                .contact(&format!(
                    "<sip:{user}@{};transport={}>",
                    format_hostport(&ip, local.port()),
                    transport.via_token().to_ascii_lowercase()
                ))
                .header("User-Agent", "sipwarden-call");
            if let Some(a) = &authorization {
                b = b.header("Proxy-Authorization", a);
            }
            let bytes = b.body("application/sdp", sdp).build().unwrap_or_default();
            if let Ok(mut slot) = sent.lock() {
                *slot = Some(bytes.clone());
            }
            bytes
        }
    }
}

/// Sends a request that gets no answer (an ACK), without waiting long.
async fn send_only(target: &ClientTarget, build: impl FnOnce(std::net::SocketAddr) -> Bytes) {
    let _ = exchange(target, build, Duration::from_millis(200)).await;
}

async fn call(args: &CallArgs) -> anyhow::Result<bool> {
    let target = parse_uri(&args.uri)?;
    let password = read_password(args.password_stdin)?;
    let transport = args
        .transport
        .or(target.transport)
        .unwrap_or(if target.secure {
            Transport::Tls
        } else {
            Transport::Udp
        });
    anyhow::ensure!(
        matches!(transport, Transport::Udp | Transport::Tcp | Transport::Tls),
        "--transport: calls are placed over udp, tcp or tls"
    );
    if target.secure && !transport.is_secure() {
        anyhow::bail!("a sips: URI is only reached over TLS");
    }
    let client =
        client_target(args.server.as_deref(), args.ca.as_ref(), &target, transport).await?;
    let timeout = Duration::try_from_secs_f64(args.timeout).unwrap_or(Duration::from_secs(10));
    let scheme = if target.secure { "sips" } else { "sip" };
    let invite = Invite {
        transport,
        request_uri: args.uri.clone(),
        from: format!("<{scheme}:{}@{}>", args.user, bracket(&target.host)),
        user: args.user.clone(),
        call_id: random_hex(12),
        from_tag: random_hex(6),
        sent: Arc::new(Mutex::new(None)),
    };

    let mut cseq = 1;
    let mut answer = exchange(&client, invite.build(cseq, None), timeout).await?;
    if matches!(answer.status_code(), Some(401 | 407)) {
        ack_failure(&client, &invite, &answer).await;
        let challenge = DigestChallenge::strongest(
            answer
                .proxy_authenticates()
                .chain(answer.www_authenticates())
                .filter_map(Result::ok)
                .filter_map(|c| DigestChallenge::from_wire(&c).ok()),
        )
        .context("the challenge holds no usable Digest challenge")?;
        let mut digest = DigestClient::new(
            &challenge,
            &args.user,
            ClientSecret::Password(&password),
            QopPreference {
                prefer_auth_int: false,
                allow_no_qop: false,
            },
        )?;
        // qop=auth (auth-int is not preferred), so the body is not part of the response.
        let authorization = digest.authorization("INVITE", &args.uri, b"", &random_hex(8));
        cseq += 1;
        answer = exchange(&client, invite.build(cseq, Some(authorization)), timeout).await?;
    }
    print_response(&answer)?;
    let code = answer.status_code().unwrap_or(0);
    if !(200..300).contains(&code) {
        ack_failure(&client, &invite, &answer).await;
        return Ok(false);
    }

    // The dialog: remote target from Contact, route set from Record-Route (reversed).
    let remote = answer
        .contacts()
        .ok()
        .and_then(|c| c.as_slice().first().map(|c| c.addr.uri.as_str().to_owned()))
        .context("the answer has no Contact")?;
    let mut routes: Vec<String> = answer
        .record_routes()
        .filter_map(Result::ok)
        .map(|r| r.raw.trim().to_owned())
        .collect();
    routes.reverse();
    let (to_uri, to_tag) = {
        let to = answer.to().context("the answer has no usable To")?;
        (
            to.uri.as_str().to_owned(),
            to.tag.context("the answer's To has no tag")?.to_owned(),
        )
    };
    let in_dialog = |method: &str, n: u32| {
        let method = method.to_owned();
        let (remote, routes) = (remote.clone(), routes.clone());
        let (to_uri, to_tag) = (to_uri.clone(), to_tag.clone());
        let (from, tag, call_id) = (
            invite.from.clone(),
            invite.from_tag.clone(),
            invite.call_id.clone(),
        );
        move |local: std::net::SocketAddr| -> Bytes {
            let mut b = RequestBuilder::new(&method, &remote).rport().via(
                transport.via_token(),
                &local.to_string(),
                &format!("z9hG4bK{}", random_hex(10)),
            );
            for r in &routes {
                b = b.route(r);
            }
            b.from(&from, &tag)
                .to(&format!("<{to_uri}>"))
                .to_tag(&to_tag)
                .call_id(&call_id)
                .cseq(n)
                .header("User-Agent", "sipwarden-call")
                .build()
                .unwrap_or_default()
        }
    };
    send_only(&client, in_dialog("ACK", cseq)).await;
    tokio::time::sleep(Duration::try_from_secs_f64(args.hold).unwrap_or_default()).await;
    let bye = exchange(&client, in_dialog("BYE", cseq + 1), timeout).await?;
    print_response(&bye)?;
    Ok(bye.status_code().is_some_and(|c| (200..300).contains(&c)))
}

/// The ACK for a final non-2xx answer (RFC 3261 §17.1.1.3).
async fn ack_failure(client: &ClientTarget, invite: &Invite, answer: &Message) {
    let sent = invite.sent.lock().ok().and_then(|s| s.clone());
    let Some(sent) = sent else { return };
    let Ok(request) = Message::parse(sent) else {
        return;
    };
    if let Ok(ack) = ack_for_non2xx(&request, answer) {
        send_only(client, move |_| ack).await;
    }
}
