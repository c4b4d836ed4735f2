//! The server side: challenges, verification and `Authentication-Info`.

use std::net::IpAddr;

use aws_lc_rs::constant_time;
use thiserror::Error;

use crate::algorithm::{compute_response, Algorithm, HexHash, Qop, ResponseInput};
use crate::credentials::{DigestCredentials, NonceCount};
use crate::encoding::{has_control, push_quoted};
use crate::error::{ConfigError, KeyError};
use crate::ha1::{Ha1, Ha1Set};
use crate::nc::{NcVerdict, NonceCountStore};
use crate::nonce::{NonceError, NonceInfo, NonceKeys, Timestamp};

/// Whether the challenge is a 401 from a registrar/UAS or a 407 from a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// 401 with `WWW-Authenticate`; the client answers with `Authorization`.
    Www,
    /// 407 with `Proxy-Authenticate`; the client answers with `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    /// The response status that carries the challenge.
    pub const fn status(self) -> u16 {
        match self {
            ChallengeKind::Www => 401,
            ChallengeKind::Proxy => 407,
        }
    }

    /// The header that carries the challenge.
    pub const fn challenge_header(self) -> &'static str {
        match self {
            ChallengeKind::Www => "WWW-Authenticate",
            ChallengeKind::Proxy => "Proxy-Authenticate",
        }
    }

    /// The header in which the client answers.
    pub const fn credentials_header(self) -> &'static str {
        match self {
            ChallengeKind::Www => "Authorization",
            ChallengeKind::Proxy => "Proxy-Authorization",
        }
    }
}

/// Digest policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// Algorithms offered, in the order offered; credentials with any other are refused.
    /// Default: SHA-512-256, SHA-256, MD5.
    pub algorithms: Vec<Algorithm>,
    /// Seconds a nonce stays fresh; older authentic nonces get `stale=true`. Default 300.
    pub nonce_lifetime_secs: u64,
    /// Seconds a nonce's issue time may lie ahead of `now` (clock differences between
    /// instances sharing keys). Default 30.
    pub max_clock_skew_secs: u64,
    /// Accept credentials without `qop` (RFC 2069 style, no nonce count, so replayable for
    /// the nonce lifetime). Default false.
    pub allow_no_qop: bool,
    /// An `opaque` value sent in challenges and required back unchanged. Default none.
    pub opaque: Option<String>,
    /// Send `userhash=true` in challenges (RFC 7616 §3.4.4). Default false: few SIP clients
    /// implement it.
    pub offer_userhash: bool,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            nonce_lifetime_secs: 300,
            max_clock_skew_secs: 30,
            allow_no_qop: false,
            opaque: None,
            offer_userhash: false,
        }
    }
}

/// The algorithms challenged with by default, in order: SHA-256 first because clients
/// that read only the first challenge (liblinphone 5, which sends no useful User-Agent)
/// implement it while few implement SHA-512-256; both are far stronger than MD5, which
/// comes last and only for compatibility.
pub const DEFAULT_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::Sha256, Algorithm::Sha512_256, Algorithm::Md5];

impl DigestConfig {
    /// The same configuration with MD5 neither offered nor accepted.
    #[must_use]
    pub fn without_md5(mut self) -> Self {
        self.algorithms.retain(|a| *a != Algorithm::Md5);
        self
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        for (i, a) in self.algorithms.iter().enumerate() {
            if self.algorithms.iter().skip(i + 1).any(|b| b == a) {
                return Err(ConfigError::DuplicateAlgorithm(*a));
            }
        }
        if self.nonce_lifetime_secs == 0 {
            return Err(ConfigError::ZeroLifetime);
        }
        if let Some(opaque) = &self.opaque {
            if opaque.is_empty() || has_control(opaque) || opaque.contains(['"', '\\']) {
                return Err(ConfigError::InvalidOpaque);
            }
        }
        Ok(())
    }
}

/// What a challenge depends on.
#[derive(Debug, Clone, Copy)]
pub struct ChallengeRequest<'a> {
    /// Realm to authenticate in.
    pub realm: &'a str,
    /// Transport source address of the request being challenged.
    pub source: IpAddr,
    /// Current time.
    pub now: Timestamp,
    /// Salt for the nonce, chosen by the caller (random bytes or a counter).
    pub salt: [u8; 8],
    /// The request has a body: offer `auth-int` besides `auth`.
    pub has_body: bool,
    /// Add `stale=true` (the previous credentials were right but the nonce was too old).
    pub stale: bool,
}

/// Challenge header values, one per configured algorithm in configured order, all with the
/// same nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// 401 or 407.
    pub kind: ChallengeKind,
    /// The nonce shared by every value.
    pub nonce: String,
    /// One header value per algorithm (`Digest realm="…", …`).
    pub values: Vec<String>,
}

impl Challenge {
    /// The header name for every value.
    pub fn header_name(&self) -> &'static str {
        self.kind.challenge_header()
    }

    /// The response status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

/// The request the credentials arrived on.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// Request method (`REGISTER`, `INVITE`, …).
    pub method: &'a str,
    /// The Request-URI exactly as in the request line; the `uri` parameter must equal it.
    pub request_uri: &'a str,
    /// The message body (hashed for `auth-int`).
    pub body: &'a [u8],
    /// The realm this server expects for the request (per domain).
    pub realm: &'a str,
    /// Transport source address.
    pub source: IpAddr,
    /// Current time.
    pub now: Timestamp,
}

/// Why credentials failed. For logs only: callers answer every failure alike (a fresh
/// challenge), and an unknown user is reported exactly like a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FailReason {
    /// The algorithm is not in the configured list (e.g. MD5 turned off).
    #[error("digest algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The `realm` is not the expected one.
    #[error("wrong realm")]
    WrongRealm,
    /// The `uri` parameter differs from the Request-URI.
    #[error("uri parameter does not match the Request-URI")]
    UriMismatch,
    /// The `opaque` value was not returned unchanged.
    #[error("opaque mismatch")]
    OpaqueMismatch,
    /// No `qop` while RFC 2069 mode is off.
    #[error("qop required")]
    QopRequired,
    /// The nonce is not ours for this realm and source.
    #[error(transparent)]
    Nonce(#[from] NonceError),
    /// The response does not match (wrong password, unknown user, tampered body or method).
    #[error("response does not match")]
    BadResponse,
}

/// Result of verifying credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome<'a> {
    /// Authenticated.
    Ok {
        /// The `username` parameter (the userhash when the client used `userhash=true`).
        username: &'a str,
        /// Algorithm used.
        algorithm: Algorithm,
        /// Protection used; `None` only when RFC 2069 mode is allowed.
        qop: Option<Qop>,
    },
    /// The credentials are right but the nonce is too old or no longer tracked: challenge
    /// again with `stale=true`.
    Stale,
    /// The credentials are right but this nonce count was already used: a replay.
    Replay,
    /// Not authenticated; challenge again without `stale`.
    Failed(FailReason),
}

/// A verified response that still needs its nonce count checked, for stores that cannot be
/// called synchronously (an async shared store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct NcClaim<'a> {
    /// The verified nonce (identity, issue and expiry time).
    pub nonce: NonceInfo,
    /// Its count in these credentials.
    pub nc: u32,
    /// The time of the request.
    pub now: Timestamp,
    username: &'a str,
    algorithm: Algorithm,
    qop: Option<Qop>,
}

impl<'a> NcClaim<'a> {
    /// The final outcome given the store's verdict for `(nonce, nc)`.
    pub fn resolve(self, verdict: NcVerdict) -> Outcome<'a> {
        match verdict {
            NcVerdict::Fresh => Outcome::Ok {
                username: self.username,
                algorithm: self.algorithm,
                qop: self.qop,
            },
            NcVerdict::Replay => Outcome::Replay,
            NcVerdict::Unknown => Outcome::Stale,
        }
    }
}

/// Verification up to, but not including, the nonce-count store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Deferred<'a> {
    /// Decided without the store.
    Done(Outcome<'a>),
    /// Everything else verified: record the nonce count, then [`NcClaim::resolve`].
    NeedsNonceCount(NcClaim<'a>),
}

/// HA1 values derived from the nonce key, used in place of an unknown user's so that the
/// work done and the answer are the same as for a wrong password.
#[derive(Clone, Copy)]
struct DummyHa1 {
    md5: Ha1,
    sha256: Ha1,
    sha512_256: Ha1,
}

impl DummyHa1 {
    fn derive(keys: &NonceKeys) -> Self {
        let make = |algorithm: Algorithm| {
            let tag = keys.derive(algorithm.token().as_bytes());
            let bytes = tag.as_ref();
            let len = algorithm.hex_len() / 2;
            Ha1::from_hash(
                algorithm,
                HexHash::from_digest(bytes.get(..len).unwrap_or(bytes)),
            )
        };
        Self {
            md5: make(Algorithm::Md5),
            sha256: make(Algorithm::Sha256),
            sha512_256: make(Algorithm::Sha512_256),
        }
    }

    fn get(&self, algorithm: Algorithm) -> &Ha1 {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
            Algorithm::Sha512_256 => &self.sha512_256,
        }
    }
}

/// The Digest server: issues challenges and verifies credentials. Holds configuration and
/// keys only; per-nonce state lives in a [`NonceCountStore`].
#[derive(Clone)]
pub struct DigestAuth {
    config: DigestConfig,
    keys: NonceKeys,
    dummy: DummyHa1,
}

impl core::fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DigestAuth")
            .field("config", &self.config)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl DigestAuth {
    /// A server with `config` and nonce `keys`.
    ///
    /// # Errors
    /// [`ConfigError`] for an empty or duplicated algorithm list, a zero lifetime or an
    /// unusable opaque value.
    pub fn new(config: DigestConfig, keys: NonceKeys) -> Result<Self, ConfigError> {
        config.validate()?;
        let dummy = DummyHa1::derive(&keys);
        Ok(Self {
            config,
            keys,
            dummy,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DigestConfig {
        &self.config
    }

    /// The nonce keys.
    pub fn keys(&self) -> &NonceKeys {
        &self.keys
    }

    /// Rotates the nonce key: nonces signed with the old current key stay valid until they
    /// expire.
    ///
    /// # Errors
    /// [`KeyError`] if the key is too short; nothing changes then.
    pub fn rotate_key(&mut self, new_current: &[u8]) -> Result<(), KeyError> {
        self.keys.rotate(new_current)?;
        self.dummy = DummyHa1::derive(&self.keys);
        Ok(())
    }

    /// Builds the challenge header values for a request.
    pub fn challenge(&self, kind: ChallengeKind, req: &ChallengeRequest<'_>) -> Challenge {
        let nonce = self.keys.issue(req.realm, req.source, req.now, req.salt);
        let qop = if req.has_body {
            "auth,auth-int"
        } else {
            "auth"
        };
        let values = self
            .config
            .algorithms
            .iter()
            .map(|algorithm| {
                let mut v = String::with_capacity(160);
                v.push_str("Digest realm=");
                push_quoted(&mut v, req.realm);
                v.push_str(", nonce=");
                push_quoted(&mut v, &nonce);
                if let Some(opaque) = &self.config.opaque {
                    v.push_str(", opaque=");
                    push_quoted(&mut v, opaque);
                }
                v.push_str(", algorithm=");
                v.push_str(algorithm.token());
                v.push_str(", qop=\"");
                v.push_str(qop);
                v.push('"');
                if req.stale {
                    v.push_str(", stale=true");
                }
                if self.config.offer_userhash {
                    v.push_str(", userhash=true");
                }
                v
            })
            .collect();
        Challenge {
            kind,
            nonce,
            values,
        }
    }

    /// Verifies credentials completely, recording the nonce count in `store`.
    ///
    /// `user` is the stored HA1 set of the user named (or hashed) in the credentials, or
    /// `None` if there is no such user: then the response is checked against a dummy HA1 so
    /// that the work and the outcome are those of a wrong password.
    pub fn verify<'c, S>(
        &self,
        credentials: &'c DigestCredentials<'_>,
        request: &RequestContext<'_>,
        user: Option<&Ha1Set>,
        store: &mut S,
    ) -> Outcome<'c>
    where
        S: NonceCountStore + ?Sized,
    {
        match self.verify_deferred(credentials, request, user) {
            Deferred::Done(outcome) => outcome,
            Deferred::NeedsNonceCount(claim) => {
                let verdict = store.check_and_record(&claim.nonce, claim.nc, claim.now);
                claim.resolve(verdict)
            }
        }
    }

    /// Verifies everything but the nonce count; see [`DigestAuth::verify`].
    ///
    /// Order: checks that do not depend on the user (algorithm, realm, uri, opaque, qop,
    /// nonce MAC), then the response against the user's or the dummy HA1 in constant time;
    /// only a correct response can yield `Stale` or reach the nonce-count store, so garbage
    /// sent with a victim's nonce neither consumes its counts nor earns `stale=true`.
    pub fn verify_deferred<'c>(
        &self,
        credentials: &'c DigestCredentials<'_>,
        request: &RequestContext<'_>,
        user: Option<&Ha1Set>,
    ) -> Deferred<'c> {
        let fail = |reason| Deferred::Done(Outcome::Failed(reason));
        let algorithm = credentials.algorithm;
        if !self.config.algorithms.contains(&algorithm) {
            return fail(FailReason::AlgorithmNotAllowed);
        }
        if credentials.realm != request.realm {
            return fail(FailReason::WrongRealm);
        }
        if credentials.uri != request.request_uri {
            return fail(FailReason::UriMismatch);
        }
        if let Some(opaque) = &self.config.opaque {
            if credentials.opaque.as_deref() != Some(opaque.as_str()) {
                return fail(FailReason::OpaqueMismatch);
            }
        }
        if credentials.qop.is_none() && !self.config.allow_no_qop {
            return fail(FailReason::QopRequired);
        }
        let nonce = match self.keys.check(
            &credentials.nonce,
            request.realm,
            request.source,
            request.now,
            self.config.nonce_lifetime_secs,
            self.config.max_clock_skew_secs,
        ) {
            Ok(info) => info,
            Err(e) => return fail(FailReason::Nonce(e)),
        };

        let ha1 = user
            .and_then(|set| set.get(algorithm))
            .unwrap_or_else(|| self.dummy.get(algorithm));
        let expected = compute_response(&ResponseInput {
            algorithm,
            ha1: ha1.as_hex(),
            nonce: &credentials.nonce,
            nc: credentials.nc.as_ref().map_or("", NonceCount::as_str),
            cnonce: credentials.cnonce.as_deref().unwrap_or(""),
            qop: credentials.qop,
            method: request.method,
            uri: &credentials.uri,
            body: request.body,
        });
        let given = HexHash::from_hex(credentials.response.as_bytes());
        let matches = given.is_some_and(|given| {
            constant_time::verify_slices_are_equal(expected.as_bytes(), given.as_bytes()).is_ok()
        });
        if !matches {
            return fail(FailReason::BadResponse);
        }
        if nonce.expired {
            return Deferred::Done(Outcome::Stale);
        }
        let (Some(qop), Some(nc)) = (credentials.qop, credentials.nc) else {
            // RFC 2069 mode, allowed by configuration: nothing to count.
            return Deferred::Done(Outcome::Ok {
                username: &credentials.username,
                algorithm,
                qop: None,
            });
        };
        Deferred::NeedsNonceCount(NcClaim {
            nonce,
            nc: nc.value(),
            now: request.now,
            username: &credentials.username,
            algorithm,
            qop: Some(qop),
        })
    }

    /// Issues a nonce without building a challenge (for `nextnonce`).
    pub fn issue_nonce(
        &self,
        realm: &str,
        source: IpAddr,
        now: Timestamp,
        salt: [u8; 8],
    ) -> String {
        self.keys.issue(realm, source, now, salt)
    }

    /// The `Authentication-Info` value for a response to credentials that verified: `rspauth`
    /// proves the server knows the HA1 too (mutual authentication), computed over the
    /// response body for `auth-int`. `None` when `user` lacks the algorithm's HA1, or when
    /// there is no qop and no `next_nonce`.
    pub fn authentication_info(
        &self,
        credentials: &DigestCredentials<'_>,
        user: &Ha1Set,
        response_body: &[u8],
        next_nonce: Option<&str>,
    ) -> Option<String> {
        let mut v = String::with_capacity(160);
        if let Some(next) = next_nonce {
            v.push_str("nextnonce=");
            push_quoted(&mut v, next);
        }
        let (Some(qop), Some(nc), Some(cnonce)) = (
            credentials.qop,
            credentials.nc.as_ref(),
            credentials.cnonce.as_deref(),
        ) else {
            return (!v.is_empty()).then_some(v);
        };
        let ha1 = user.get(credentials.algorithm)?;
        let rspauth = compute_response(&ResponseInput {
            algorithm: credentials.algorithm,
            ha1: ha1.as_hex(),
            nonce: &credentials.nonce,
            nc: nc.as_str(),
            cnonce,
            qop: Some(qop),
            method: "",
            uri: &credentials.uri,
            body: response_body,
        });
        if !v.is_empty() {
            v.push_str(", ");
        }
        v.push_str("qop=");
        v.push_str(qop.token());
        v.push_str(", rspauth=");
        push_quoted(&mut v, rspauth.as_str());
        v.push_str(", cnonce=");
        push_quoted(&mut v, cnonce);
        v.push_str(", nc=");
        v.push_str(nc.as_str());
        Some(v)
    }
}
