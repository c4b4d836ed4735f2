//! The registrar as a service: validation, domain checks, Digest authentication, the
//! REGISTER-spoofing checks, the location-store update and the response — for one
//! REGISTER at a time. Deterministic: the caller passes time, source and salt.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sipwarden_auth::{
    Algorithm, ChallengeKind, ChallengeRequest, DigestAuth, DigestCredentials, Ha1, Ha1Set,
    NonceCounts, Outcome, RequestContext, Timestamp,
};
use sipwarden_store::{Binding, LocationStore, StoreError, UserStore};
use sipwarden_wire::build::{response_to, BuildError};
use sipwarden_wire::uri::Uri;
use sipwarden_wire::{Message, Method};

use crate::auth_observer::AuthObserver;
use crate::date::http_date;
use crate::domains::Domains;
use crate::registrar::{decide, RegisterContext, RegistrarConfig, Rejection};

/// Option tags the registrar understands in Require.
pub const SUPPORTED_OPTION_TAGS: &[&str] = &["path", "outbound"];

/// A failure that is the server's fault, not the client's (answered 500).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A response could not be built.
    #[error("building a response: {0}")]
    Build(#[from] BuildError),
}

/// What authentication made of a request, for the security event log and the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthEvent {
    /// Refused before authentication (malformed, not our domain, ...).
    NotAttempted,
    /// No credentials for our realm: challenged.
    Challenged,
    /// Authenticated as `user@domain`.
    Succeeded {
        /// `user@domain`.
        account: String,
    },
    /// Credentials were wrong (or the user unknown — deliberately indistinguishable).
    Failed {
        /// The username the client claimed (attacker-controlled: escape before logging).
        claimed_user: String,
        /// Why, for logs only.
        reason: String,
    },
    /// Right credentials, expired nonce: challenged with `stale=true`.
    Stale,
    /// A nonce count was reused: a replayed request.
    Replay {
        /// The username the client claimed.
        claimed_user: String,
    },
}

/// Per-request facts from the transport.
#[derive(Debug, Clone, Copy)]
pub struct ServiceEnv<'a> {
    /// Transport source.
    pub source: SocketAddr,
    /// `udp`, `tcp`, `tls`, `ws` or `wss`.
    pub transport: &'a str,
    /// Connection identifier for connection-oriented transports.
    pub flow: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub now: u64,
    /// Fresh random bytes for the nonce.
    pub salt: [u8; 8],
    /// To tag for responses that need one.
    pub to_tag: &'a str,
}

/// The registrar's answer.
#[derive(Debug, Clone)]
pub struct ServiceReply {
    /// The complete response to send.
    pub response: Bytes,
    /// Its status code.
    pub code: u16,
    /// What authentication made of the request.
    pub auth: AuthEvent,
    /// The address-of-record concerned, once known.
    pub aor: Option<String>,
}

/// The registrar with its stores and Digest state.
pub struct RegistrarService {
    config: RegistrarConfig,
    domains: Domains,
    digest: DigestAuth,
    users: Arc<dyn UserStore>,
    location: Arc<dyn LocationStore>,
    nonce_counts: Mutex<NonceCounts>,
    observer: Option<Arc<dyn AuthObserver>>,
}

impl std::fmt::Debug for RegistrarService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrarService")
            .field("config", &self.config)
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
}

impl RegistrarService {
    /// A registrar over the given stores.
    pub fn new(
        config: RegistrarConfig,
        domains: Domains,
        digest: DigestAuth,
        users: Arc<dyn UserStore>,
        location: Arc<dyn LocationStore>,
    ) -> RegistrarService {
        RegistrarService {
            config,
            domains,
            digest,
            users,
            location,
            nonce_counts: Mutex::new(NonceCounts::with_capacity(65_536)),
            observer: None,
        }
    }

    /// Reports every credential check to `observer` and lets it refuse checks (account
    /// lockout).
    #[must_use]
    pub fn with_auth_observer(mut self, observer: Arc<dyn AuthObserver>) -> RegistrarService {
        self.observer = Some(observer);
        self
    }

    /// The domains served.
    pub fn domains(&self) -> &Domains {
        &self.domains
    }

    /// The location store.
    pub fn location(&self) -> &Arc<dyn LocationStore> {
        &self.location
    }

    /// Handles one REGISTER and returns the response to send.
    pub fn handle_register(
        &self,
        msg: &Message,
        env: &ServiceEnv<'_>,
    ) -> Result<ServiceReply, ServiceError> {
        let reply =
            |code: u16, reason: &str, auth: AuthEvent| -> Result<ServiceReply, ServiceError> {
                Ok(ServiceReply {
                    response: response_to(msg, code, reason).to_tag(env.to_tag).build()?,
                    code,
                    auth,
                    aor: None,
                })
            };
        if msg.method() != Some(Method::Register) {
            return reply(405, "Method Not Allowed", AuthEvent::NotAttempted);
        }
        if let Err(e) = msg.validate_request() {
            let (code, reason) = e.status();
            return reply(code, reason, AuthEvent::NotAttempted);
        }
        match msg.unsupported_option_tags(SUPPORTED_OPTION_TAGS) {
            Ok(tags) if !tags.is_empty() => {
                let list = tags.join(", ");
                return Ok(ServiceReply {
                    response: response_to(msg, 420, "Bad Extension")
                        .to_tag(env.to_tag)
                        .header("Unsupported", list)
                        .build()?,
                    code: 420,
                    auth: AuthEvent::NotAttempted,
                    aor: None,
                });
            }
            Ok(_) => {}
            Err(e) => {
                let (code, reason) = e.status();
                return reply(code, reason, AuthEvent::NotAttempted);
            }
        }

        // The registrar's domain (Request-URI) and the AOR's (To) must both be ours.
        let Ok(ruri) = msg.request_uri() else {
            return reply(
                400,
                "Bad Request (malformed Request-URI)",
                AuthEvent::NotAttempted,
            );
        };
        let Some(ruri_domain) = ruri.host().and_then(|h| self.domains.canonical(h)) else {
            return reply(
                403,
                "Forbidden (not a domain served here)",
                AuthEvent::NotAttempted,
            );
        };
        let Ok(to) = msg.to() else {
            return reply(400, "Bad Request (malformed To)", AuthEvent::NotAttempted);
        };
        let Some((to_user, realm)) = self.aor_parts(&to.uri) else {
            return reply(
                403,
                "Forbidden (To is not an address of a domain served here)",
                AuthEvent::NotAttempted,
            );
        };
        if realm != ruri_domain {
            return reply(
                403,
                "Forbidden (To and Request-URI name different domains)",
                AuthEvent::NotAttempted,
            );
        }
        let realm = realm.to_owned();
        let aor = format!("sip:{to_user}@{realm}");

        // Digest authentication.
        let mut credentials = None;
        for c in msg.authorizations() {
            let Ok(c) = c else {
                return reply(
                    400,
                    "Bad Request (malformed Authorization)",
                    AuthEvent::NotAttempted,
                );
            };
            let Ok(dc) = DigestCredentials::from_wire(&c) else {
                continue;
            };
            if dc.realm.eq_ignore_ascii_case(&realm) {
                credentials = Some(dc);
                break;
            }
        }
        let Some(credentials) = credentials else {
            return self.challenge(msg, env, &realm, false, AuthEvent::Challenged);
        };
        let stored = if credentials.userhash {
            None
        } else {
            self.users.user(&realm, &credentials.username)?
        };
        let known = stored.is_some();
        let source = env.source.ip();
        let observer = self.observer.as_deref();
        // A hashed user name cannot be locked by name; its failures count for the source.
        let gate_open = credentials.userhash
            || observer.is_none_or(|o| o.may_verify(source, &credentials.username, &realm));
        if !gate_open {
            if let Some(o) = observer {
                o.failed(source, &credentials.username, &realm, known);
            }
            let event = AuthEvent::Failed {
                claimed_user: credentials.username.chars().take(64).collect(),
                reason: "account locked for this source".to_owned(),
            };
            return self.challenge(msg, env, &realm, false, event);
        }
        let ha1 = stored.as_ref().map(|u| ha1_set(&u.ha1));
        let request_uri = std::str::from_utf8(msg.request_uri_bytes()).unwrap_or("");
        let ctx = RequestContext {
            method: "REGISTER",
            request_uri,
            body: msg.body(),
            realm: &realm,
            source: env.source.ip(),
            now: Timestamp::from_unix_secs(env.now),
        };
        let outcome = {
            let mut nc = self
                .nonce_counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.digest
                .verify(&credentials, &ctx, ha1.as_ref(), &mut *nc)
        };
        let claimed_user: String = credentials.username.chars().take(64).collect();
        let username = match outcome {
            Outcome::Ok { username, .. } => username.to_owned(),
            Outcome::Stale => return self.challenge(msg, env, &realm, true, AuthEvent::Stale),
            Outcome::Replay => {
                // A replay proves nothing about the account: it counts for the source.
                if let Some(o) = observer {
                    o.failed(source, &credentials.username, &realm, false);
                }
                return self.challenge(msg, env, &realm, false, AuthEvent::Replay { claimed_user });
            }
            Outcome::Failed(reason) => {
                if let Some(o) = observer {
                    o.failed(
                        source,
                        &credentials.username,
                        &realm,
                        known && !credentials.userhash,
                    );
                }
                let event = AuthEvent::Failed {
                    claimed_user,
                    reason: reason.to_string(),
                };
                return self.challenge(msg, env, &realm, false, event);
            }
        };
        if let Some(o) = observer {
            o.succeeded(source, &username, &realm);
        }
        let account = format!("{username}@{realm}");
        let succeeded = AuthEvent::Succeeded {
            account: account.clone(),
        };

        // REGISTER spoofing: the authenticated user must own the AOR, and From must name it.
        if to_user != username {
            return reply(403, "Forbidden (not your address-of-record)", succeeded);
        }
        if self.config.require_from_matches_to {
            let same = msg
                .from()
                .ok()
                .and_then(|f| self.aor_parts(&f.uri).map(|(u, d)| (u, d.to_owned())))
                .is_some_and(|(u, d)| u == to_user && d == realm);
            if !same {
                return reply(403, "Forbidden (From differs from To)", succeeded);
            }
        }

        let existing = self.location.bindings(&aor, env.now)?;
        let rctx = RegisterContext {
            source: env.source,
            transport: env.transport,
            flow: env.flow,
            now: env.now,
        };
        match decide(msg, &aor, &existing, &rctx, &self.config) {
            Err(rejection) => Ok(ServiceReply {
                response: self.rejection(msg, env, &rejection)?,
                code: rejection.code,
                auth: succeeded,
                aor: Some(aor),
            }),
            Ok(decision) => {
                let added = decision
                    .upserts
                    .iter()
                    .filter(|u| !existing.iter().any(|e| e.key == u.key))
                    .count();
                if added > 0 {
                    let ip = env.source.ip().to_string();
                    let held = self.location.count_from_ip(&ip, env.now)?;
                    if held.saturating_add(added) > self.config.max_bindings_per_source {
                        return reply(
                            403,
                            "Forbidden (too many registrations from this address)",
                            succeeded,
                        );
                    }
                }
                if !decision.upserts.is_empty() || !decision.removals.is_empty() {
                    self.location
                        .apply(&aor, &decision.upserts, &decision.removals)?;
                }
                let mut b = response_to(msg, 200, "OK").to_tag(env.to_tag);
                for binding in &decision.current {
                    b = b.header("Contact", contact_value(binding, env.now));
                }
                for p in &decision.path_echo {
                    b = b.header("Path", p);
                }
                if decision.outbound {
                    b = b.header("Require", "outbound");
                }
                b = b.header("Date", http_date(env.now));
                Ok(ServiceReply {
                    response: b.build()?,
                    code: 200,
                    auth: succeeded,
                    aor: Some(aor),
                })
            }
        }
    }

    /// The (decoded user, canonical domain) of a SIP/SIPS URI in one of our domains.
    fn aor_parts(&self, uri: &Uri<'_>) -> Option<(String, &str)> {
        let sip = uri.as_sip()?;
        let domain = self.domains.canonical(&sip.host)?;
        let user = sip.user_decoded()?;
        let user = String::from_utf8(user.into_owned()).ok()?;
        if user.is_empty() {
            return None;
        }
        Some((user, domain))
    }

    fn challenge(
        &self,
        msg: &Message,
        env: &ServiceEnv<'_>,
        realm: &str,
        stale: bool,
        auth: AuthEvent,
    ) -> Result<ServiceReply, ServiceError> {
        let challenge = self.digest.challenge(
            ChallengeKind::Www,
            &ChallengeRequest {
                realm,
                source: env.source.ip(),
                now: Timestamp::from_unix_secs(env.now),
                salt: env.salt,
                has_body: !msg.body().is_empty(),
                stale,
            },
        );
        let values =
            crate::compat::challenge_values(msg, &self.config.client_profiles, &challenge.values);
        let mut b = response_to(msg, 401, "Unauthorized").to_tag(env.to_tag);
        for v in values {
            b = b.header(challenge.header_name(), v);
        }
        Ok(ServiceReply {
            response: b.build()?,
            code: 401,
            auth,
            aor: None,
        })
    }

    fn rejection(
        &self,
        msg: &Message,
        env: &ServiceEnv<'_>,
        r: &Rejection,
    ) -> Result<Bytes, ServiceError> {
        let mut b = response_to(msg, r.code, r.reason).to_tag(env.to_tag);
        for (name, value) in &r.headers {
            b = b.header(name, value);
        }
        Ok(b.build()?)
    }
}

fn contact_value(b: &Binding, now: u64) -> String {
    let mut v = format!(
        "<{}>;expires={}",
        b.contact,
        b.expires_at.saturating_sub(now)
    );
    if let (Some(instance), Some(reg_id)) = (&b.instance, b.reg_id) {
        v.push_str(&format!(";+sip.instance=\"{instance}\";reg-id={reg_id}"));
    }
    v
}

/// The stored HA1 hex strings as a set; entries that do not decode are left out (and so
/// fail like a wrong password).
fn ha1_set(h: &sipwarden_store::Ha1Hashes) -> Ha1Set {
    let mut set = Ha1Set::new();
    for (alg, hex) in [
        (Algorithm::Md5, &h.md5),
        (Algorithm::Sha256, &h.sha256),
        (Algorithm::Sha512_256, &h.sha512_256),
    ] {
        if let Some(ha1) = hex.as_deref().and_then(|x| Ha1::from_hex(alg, x).ok()) {
            set.insert(ha1);
        }
    }
    set
}
