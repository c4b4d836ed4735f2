//! The transaction user the server runs: REGISTER goes to the registrar, requests for
//! the server itself (OPTIONS to our domain without a user) to the basic responder, and
//! everything else — with ACKs for 2xx, CANCELs and stray responses — to the proxy.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sipwarden_core::{AuthEvent, RegistrarService, ServiceEnv};
use sipwarden_transport::basic::BasicTu;
use sipwarden_transport::reply::random_hex;
use sipwarden_transport::tu::{IncomingRequest, Responder, TransactionUser};
use sipwarden_wire::build::response_to;
use sipwarden_wire::Method;

/// Methods the server serves.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE, INFO, MESSAGE, \
                         PRACK, SUBSCRIBE, NOTIFY, REFER";

/// Dispatches requests to the registrar or the basic responder.
pub struct SipTu {
    basic: BasicTu,
    registrar: Arc<RegistrarService>,
    ops: Arc<crate::ops::Ops>,
    proxy: Option<crate::proxy_tu::ProxyTu>,
}

impl SipTu {
    /// A transaction user over this registrar; security events go to `ops`.
    pub fn new(
        basic: BasicTu,
        registrar: Arc<RegistrarService>,
        ops: Arc<crate::ops::Ops>,
    ) -> SipTu {
        SipTu {
            basic,
            registrar,
            ops,
            proxy: None,
        }
    }

    /// Sends requests that are not for the registrar or the server itself to `proxy`.
    pub fn with_proxy(mut self, proxy: crate::proxy_tu::ProxyTu) -> SipTu {
        self.proxy = Some(proxy);
        self
    }

    fn register(&self, request: &IncomingRequest, responder: &Responder) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut salt = [0u8; 8];
        sipwarden_transport::reply::random_bytes(&mut salt);
        let tag = random_hex(8);
        let transport = request.flow.transport.to_string();
        let flow = request.flow.id.map(|id| id.to_string());
        let env = ServiceEnv {
            source: request.flow.remote,
            transport: &transport,
            flow: flow.as_deref(),
            now,
            salt,
            to_tag: &tag,
        };
        let (response, wrote) = match self.registrar.handle_register(&request.message, &env) {
            Ok(reply) => {
                log_auth(&reply.auth, &request.flow.to_string(), reply.code);
                crate::events_wiring::registrar_events(&self.ops, request, &reply);
                (reply.response, (200..300).contains(&reply.code))
            }
            Err(err) => {
                tracing::error!(%err, flow = %request.flow, "registrar failed");
                match response_to(&request.message, 500, "Server Internal Error")
                    .to_tag(&tag)
                    .build()
                {
                    Ok(r) => (r, false),
                    Err(_) => return,
                }
            }
        };
        let flow = request.flow;
        let responder = responder.clone();
        let send = move || {
            if let Err(err) = responder.respond(response) {
                tracing::debug!(%err, %flow, "response not sent");
            }
        };
        if !wrote {
            send();
            return;
        }
        // A 200 leaves only once its bindings are on disk, so an acknowledged
        // registration survives a crash; the store may run this on its writer thread.
        let runtime = tokio::runtime::Handle::try_current().ok();
        self.registrar.location().when_durable(Box::new(move || {
            let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
            send();
        }));
    }
}

/// Authentication outcomes in the log. Claimed user names are attacker-controlled:
/// `tracing` escapes them as field values, and they never key any action here.
fn log_auth(auth: &AuthEvent, flow: &str, code: u16) {
    match auth {
        AuthEvent::Succeeded { account } => {
            tracing::debug!(%flow, %account, code, "registration authenticated");
        }
        AuthEvent::Failed {
            claimed_user,
            reason,
        } => {
            tracing::warn!(%flow, user = ?claimed_user, %reason, "authentication failed");
        }
        AuthEvent::Replay { claimed_user } => {
            tracing::warn!(%flow, user = ?claimed_user, "replayed credentials refused");
        }
        AuthEvent::Stale => tracing::debug!(%flow, "stale nonce, challenged again"),
        AuthEvent::Challenged | AuthEvent::NotAttempted => {}
    }
}

impl TransactionUser for SipTu {
    fn on_request(&self, request: IncomingRequest, responder: Responder) {
        if request.message.method() == Some(Method::Register) {
            self.register(&request, &responder);
            return;
        }
        match &self.proxy {
            Some(p) if !p.is_for_server(&request.message) => p.on_request(request, responder),
            _ => self.basic.on_request(request, responder),
        }
    }

    fn on_ack(&self, ack: IncomingRequest) {
        if let Some(p) = &self.proxy {
            p.on_ack(ack);
        }
    }

    fn on_cancel(&self, cancel: IncomingRequest, invite: Responder) {
        if let Some(p) = &self.proxy {
            p.on_cancel(cancel, invite);
        }
    }

    fn on_stray_response(
        &self,
        response: sipwarden_wire::Message,
        flow: sipwarden_transport::Flow,
    ) {
        if let Some(p) = &self.proxy {
            p.on_stray_response(response, flow);
        }
    }
}
