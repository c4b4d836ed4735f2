//! Security events of the registrar path: what a REGISTER's authentication came to, and
//! which contact bindings it added or removed.
//!
//! Claimed user names, URIs and User-Agents are attacker-controlled: they only ever go
//! into the event as escaped `Text`, never into a decision. Nothing here sees a password,
//! an HA1 or a nonce key.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sipwarden_auth::DigestCredentials;
use sipwarden_core::{AuthEvent, ServiceReply};
use sipwarden_events::{AuthFailureReason, Detail, RemovalReason, SecurityEvent, Text};
use sipwarden_store::{Binding, LocationStore, StoreError};
use sipwarden_transport::tu::IncomingRequest;
use sipwarden_wire::Message;

use crate::ops::Ops;

/// Emits the authentication event a registrar reply stands for (none for requests
/// refused before authentication).
pub fn registrar_events(ops: &Ops, request: &IncomingRequest, reply: &ServiceReply) {
    let msg = &request.message;
    let method = Text::new("REGISTER");
    let creds = credentials(msg);
    let realm_of_creds = creds.as_ref().map(|c| Text::new(&c.realm));
    let detail = match &reply.auth {
        AuthEvent::NotAttempted => return,
        AuthEvent::Challenged => Detail::Challenge {
            method,
            realm: challenge_realm(&reply.response).unwrap_or_default(),
            status: reply.code,
        },
        AuthEvent::Succeeded { account } => {
            let realm = account.rsplit_once('@').map_or("", |(_, d)| d);
            let algorithm = creds
                .as_ref()
                .map_or("", |c| c.algorithm.token())
                .to_owned();
            let success = Detail::AuthSuccess {
                method: method.clone(),
                realm: Text::new(realm),
                algorithm: Text::new(&algorithm),
            };
            emit(ops, request, success, Some(account), reply);
            if reply.code == 403 && identity_refused(&reply.response) {
                let refused = Detail::AuthFailure {
                    method,
                    realm: Text::new(realm),
                    reason: AuthFailureReason::IdentityMismatch,
                };
                emit(ops, request, refused, Some(account), reply);
            }
            return;
        }
        AuthEvent::Failed {
            claimed_user,
            reason,
        } => {
            let detail = Detail::AuthFailure {
                method,
                realm: realm_of_creds.unwrap_or_default(),
                reason: failure_reason(reason),
            };
            emit(ops, request, detail, Some(claimed_user), reply);
            return;
        }
        AuthEvent::Stale => Detail::StaleNonce { method },
        AuthEvent::Replay { claimed_user } => {
            emit(
                ops,
                request,
                Detail::ReplayRefused { method },
                Some(claimed_user),
                reply,
            );
            return;
        }
    };
    let claimed = creds.as_ref().map(|c| c.username.to_string());
    emit(ops, request, detail, claimed.as_ref(), reply);
}

fn emit(
    ops: &Ops,
    request: &IncomingRequest,
    detail: Detail,
    account: Option<&String>,
    reply: &ServiceReply,
) {
    ops.emit_from(
        request.flow.transport,
        request.flow.remote,
        detail,
        |mut e| {
            if let Some(a) = account {
                e = e.with_account(a);
            }
            if let Some(aor) = &reply.aor {
                e = e.with_aor(aor);
            } else if let Ok(to) = request.message.to() {
                e = e.with_aor(to.uri.as_str());
            }
            if let Ok(call_id) = request.message.call_id() {
                e = e.with_call_id(call_id);
            }
            e
        },
    );
}

/// The first Digest credentials of the request that parse.
fn credentials(msg: &Message) -> Option<DigestCredentials<'_>> {
    msg.authorizations()
        .filter_map(Result::ok)
        .find_map(|c| DigestCredentials::from_wire(&c).ok())
}

/// The realm of the first challenge in a 401 we built.
fn challenge_realm(response: &bytes::Bytes) -> Option<Text> {
    let msg = Message::parse(response.clone()).ok()?;
    let challenge = msg.www_authenticates().find_map(Result::ok)?;
    let digest = sipwarden_auth::DigestChallenge::from_wire(&challenge).ok()?;
    Some(Text::new(&digest.realm))
}

/// Whether a 403 after a successful authentication refused the identity (someone else's
/// AOR, or a From that differs from To), rather than a limit.
fn identity_refused(response: &[u8]) -> bool {
    let line_end = memchr_crlf(response);
    let first = response.get(..line_end).unwrap_or_default();
    contains(first, b"not your address-of-record") || contains(first, b"From differs from To")
}

fn memchr_crlf(bytes: &[u8]) -> usize {
    bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(bytes.len())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Maps the verifier's reason (its `Display`) onto the log's closed set. Unknown and
/// known users are deliberately indistinguishable: both are `bad_credentials`.
fn failure_reason(reason: &str) -> AuthFailureReason {
    match reason {
        "response does not match" => AuthFailureReason::BadCredentials,
        "digest algorithm not allowed" | "qop required" => AuthFailureReason::AlgorithmRefused,
        "wrong realm" => AuthFailureReason::WrongRealm,
        r if r.contains("nonce") || r.contains("mismatch") || r.contains("match") => {
            AuthFailureReason::Malformed
        }
        _ => AuthFailureReason::Other,
    }
}

/// A location store that reports the bindings it gains and loses as security events and
/// keeps the registrations gauge current.
pub struct ObservedLocation {
    inner: Arc<dyn LocationStore>,
    ops: Arc<Ops>,
    count: AtomicI64,
}

impl ObservedLocation {
    /// Wraps `inner`; the gauge starts from its current count.
    pub fn new(inner: Arc<dyn LocationStore>, ops: Arc<Ops>) -> ObservedLocation {
        let observed = ObservedLocation {
            inner,
            ops,
            count: AtomicI64::new(0),
        };
        observed.resync();
        observed
    }

    /// Recounts the unexpired bindings (expiry removes them without an event).
    pub fn resync(&self) {
        match self.inner.count(unix_now()) {
            Ok(n) => {
                self.count
                    .store(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
                self.ops.metrics.set_registrations(n as u64);
            }
            Err(err) => tracing::warn!(%err, "cannot count registrations"),
        }
    }

    /// Removes bindings of `aor` for an operator: the one whose key is `key`, or all of
    /// them; returns how many went. Each is logged as removed by the operator.
    pub fn remove_by_operator(&self, aor: &str, key: Option<&str>) -> Result<usize, StoreError> {
        let before = self.inner.bindings(aor, unix_now())?;
        let gone: Vec<&Binding> = before
            .iter()
            .filter(|b| key.is_none_or(|k| b.key == k))
            .collect();
        if gone.is_empty() {
            return Ok(0);
        }
        match key {
            Some(k) => self.inner.apply(aor, &[], &[k.to_owned()])?,
            None => {
                self.inner.remove_aor(aor)?;
            }
        }
        for b in &gone {
            let detail = Detail::RegistrationRemoved {
                contact: Text::new(&b.contact),
                reason: RemovalReason::Operator,
            };
            self.ops
                .emit(&SecurityEvent::internal(SystemTime::now(), detail).with_aor(&b.aor));
        }
        self.adjust(-i64::try_from(gone.len()).unwrap_or(0));
        Ok(gone.len())
    }

    fn adjust(&self, delta: i64) {
        let now = self.count.fetch_add(delta, Ordering::Relaxed) + delta;
        self.ops
            .metrics
            .set_registrations(u64::try_from(now).unwrap_or(0));
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn binding_event(b: &Binding, detail: Detail) -> SecurityEvent {
    let transport = b
        .transport
        .parse::<sipwarden_transport::Transport>()
        .ok()
        .map(crate::ops::event_transport);
    let source = b.source.parse::<SocketAddr>().ok();
    let mut e = SecurityEvent::internal(SystemTime::now(), detail).with_aor(&b.aor);
    e.transport = transport;
    e.source = source;
    if !b.call_id.is_empty() {
        e = e.with_call_id(&b.call_id);
    }
    e
}

impl LocationStore for ObservedLocation {
    fn when_durable(&self, then: sipwarden_store::DurableCallback) {
        self.inner.when_durable(then);
    }

    fn count(&self, now: u64) -> Result<usize, StoreError> {
        self.inner.count(now)
    }

    fn bindings(&self, aor: &str, now: u64) -> Result<Vec<Binding>, StoreError> {
        self.inner.bindings(aor, now)
    }

    fn apply(&self, aor: &str, upserts: &[Binding], removals: &[String]) -> Result<(), StoreError> {
        let now = unix_now();
        let before = self.inner.bindings(aor, now)?;
        self.inner.apply(aor, upserts, removals)?;
        let mut delta = 0i64;
        for u in upserts {
            if !before.iter().any(|b| b.key == u.key) {
                delta += 1;
                let detail = Detail::RegistrationAdded {
                    contact: Text::new(&u.contact),
                    expires_s: u32::try_from(u.expires_at.saturating_sub(now)).unwrap_or(u32::MAX),
                    user_agent: u.user_agent.as_deref().map(Text::new),
                };
                self.ops.emit(&binding_event(u, detail));
            }
        }
        for key in removals {
            if let Some(b) = before.iter().find(|b| &b.key == key) {
                delta -= 1;
                let detail = Detail::RegistrationRemoved {
                    contact: Text::new(&b.contact),
                    reason: RemovalReason::Unregistered,
                };
                self.ops.emit(&binding_event(b, detail));
            }
        }
        if delta != 0 {
            self.adjust(delta);
        }
        Ok(())
    }

    fn remove_aor(&self, aor: &str) -> Result<usize, StoreError> {
        let n = self.inner.remove_aor(aor)?;
        self.adjust(-i64::try_from(n).unwrap_or(0));
        Ok(n)
    }

    fn purge_expired(&self, now: u64) -> Result<usize, StoreError> {
        let n = self.inner.purge_expired(now)?;
        self.resync();
        Ok(n)
    }

    fn all_bindings(&self, now: u64) -> Result<Vec<Binding>, StoreError> {
        self.inner.all_bindings(now)
    }

    fn count_from_ip(&self, ip: &str, now: u64) -> Result<usize, StoreError> {
        self.inner.count_from_ip(ip, now)
    }
}

#[cfg(test)]
#[path = "events_wiring_tests.rs"]
mod tests;
