//! The events, their kinds and the JSON line they become.

use std::net::SocketAddr;
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::EventError;
use crate::text::{sanitize_json, Text};
use crate::time::Timestamp;

/// Declares a closed set of labels with a stable spelling (an enum with `ALL`, `as_str`,
/// `Display` and `Serialize`), for the log and for metrics (bounded label values). Other
/// crates declare their label sets with it too.
#[macro_export]
macro_rules! closed_labels {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $label:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The stable spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)+
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
use closed_labels as labels;

labels! {
    /// The SIP transport a request arrived on (or a refused hop would have used).
    Transport {
        /// UDP.
        Udp => "udp",
        /// TCP.
        Tcp => "tcp",
        /// TLS over TCP.
        Tls => "tls",
        /// WebSocket.
        Ws => "ws",
        /// WebSocket over TLS.
        Wss => "wss",
    }
}

labels! {
    /// The kind of an event: the `kind` field of its line and the `kind` label of
    /// `sipwarden_security_events_total`.
    Kind {
        /// Digest authentication succeeded.
        AuthSuccess => "auth_success",
        /// Digest authentication failed.
        AuthFailure => "auth_failure",
        /// A request was challenged (401/407).
        Challenge => "challenge",
        /// An account or source was locked out after failed attempts.
        Lockout => "lockout",
        /// A lockout ended early (operator).
        LockoutLifted => "lockout_lifted",
        /// A source was banned.
        Ban => "ban",
        /// A ban was lifted.
        BanLifted => "ban_lifted",
        /// Requests were refused by a rate limit.
        RateLimited => "rate_limited",
        /// A source behaved like a scanner.
        ScannerDetected => "scanner_detected",
        /// A TLS handshake failed.
        TlsHandshakeFailed => "tls_handshake_failed",
        /// A peer certificate was refused.
        CertificateRefused => "certificate_refused",
        /// A `sips:` request was not sent over a hop without TLS.
        DowngradeRefused => "downgrade_refused",
        /// SDES keys were not forwarded.
        SdesRefused => "sdes_refused",
        /// A request was refused by policy (lists, anonymous callers).
        PolicyRefused => "policy_refused",
        /// A return-routability token was refused.
        TokenRefused => "token_refused",
        /// An anonymous (null-authenticated) caller, and what policy did with it.
        AnonymousCaller => "anonymous_caller",
        /// A replayed request (reused nonce count) was refused.
        ReplayRefused => "replay_refused",
        /// Credentials used an expired nonce (challenged again with `stale=true`).
        StaleNonce => "stale_nonce",
        /// A contact was registered.
        RegistrationAdded => "registration_added",
        /// A contact binding was removed.
        RegistrationRemoved => "registration_removed",
        /// A call ended, with its security assessment.
        CallEnded => "call_ended",
    }
}

labels! {
    /// Why authentication failed. The wire never tells these apart (no user enumeration);
    /// the log does, for the operator.
    AuthFailureReason {
        /// Wrong password (response did not match).
        BadCredentials => "bad_credentials",
        /// No such user.
        UnknownUser => "unknown_user",
        /// The Authorization header could not be used as sent.
        Malformed => "malformed",
        /// Credentials for a realm we do not serve.
        WrongRealm => "wrong_realm",
        /// A digest algorithm or qop that policy refuses.
        AlgorithmRefused => "algorithm_refused",
        /// Authenticated user does not own the AOR (REGISTER To) or the identity claimed.
        IdentityMismatch => "identity_mismatch",
        /// The account is locked out.
        AccountLocked => "account_locked",
        /// Anything else.
        Other => "other",
    }
}

labels! {
    /// What a lockout or rate limit was keyed on.
    Scope {
        /// The transport source (IPv4 address, IPv6 /64).
        Source => "source",
        /// The account.
        Account => "account",
    }
}

labels! {
    /// Why a source was banned.
    BanReason {
        /// Kept sending far over its rate limit.
        Flood => "flood",
        /// Too many failed authentication attempts.
        PasswordGuessing => "password_guessing",
        /// Behaved like a scanner.
        Scanner => "scanner",
        /// Banned by an operator.
        Manual => "manual",
    }
}

labels! {
    /// How a request marked its caller as anonymous: the `form` of `anonymous_caller` and
    /// a label of `sipwarden_anonymous_callers_total`.
    AnonymousForm {
        /// From URI user `anonymous`, at any host.
        AnonymousUser => "anonymous_user",
        /// From URI host `anonymous.invalid`.
        AnonymousHost => "anonymous_host",
        /// Display name `Anonymous` on an identity the server cannot authenticate.
        DisplayName => "display_name",
        /// `Privacy: id`, `user` or `header` without an identity the server can
        /// authenticate.
        Privacy => "privacy",
    }
}

labels! {
    /// What the anonymous-caller policy did: the `action` of `anonymous_caller` and a
    /// label of `sipwarden_anonymous_callers_total`.
    AnonymousAction {
        /// Let through.
        Allowed => "allowed",
        /// Sent through the return-routability check.
        Challenged => "challenged",
        /// Refused.
        Rejected => "rejected",
    }
}

labels! {
    /// Who or what lifted a ban or lockout.
    LiftedBy {
        /// An operator (admin API or CLI).
        Operator => "operator",
        /// It expired.
        Expiry => "expiry",
    }
}

labels! {
    /// The behaviour that marked a source as a scanner.
    ScannerSignal {
        /// Many distinct users or extensions tried.
        DistinctUsers => "distinct_users",
        /// Many OPTIONS in a short time.
        OptionsSweep => "options_sweep",
        /// Repeated requests for domains that are not ours.
        UnknownDomains => "unknown_domains",
        /// A User-Agent of a known scanning tool (a hint, never the only signal).
        UserAgent => "user_agent",
    }
}

labels! {
    /// Why a TLS handshake failed.
    TlsFailure {
        /// No common protocol version.
        ProtocolVersion => "protocol_version",
        /// No common cipher suite or group.
        NoSharedCipher => "no_shared_cipher",
        /// The peer's certificate was refused (see `certificate_refused`).
        BadCertificate => "bad_certificate",
        /// The peer refused our certificate.
        PeerRefusedCertificate => "peer_refused_certificate",
        /// Not TLS, or broken records.
        InvalidMessage => "invalid_message",
        /// The handshake did not finish in time.
        Timeout => "timeout",
        /// The peer closed the connection mid-handshake.
        UnexpectedEof => "unexpected_eof",
        /// Anything else.
        Other => "other",
    }
}

labels! {
    /// Why a certificate was refused.
    CertificateReason {
        /// Past its notAfter.
        Expired => "expired",
        /// Before its notBefore.
        NotYetValid => "not_yet_valid",
        /// Chains to no trusted CA.
        UnknownCa => "unknown_ca",
        /// No subjectAltName matches the SIP domain (RFC 5922).
        NameMismatch => "name_mismatch",
        /// A wildcard name where wildcards are not allowed.
        WildcardRefused => "wildcard_refused",
        /// Revoked (CRL).
        Revoked => "revoked",
        /// A signature in the chain does not verify.
        BadSignature => "bad_signature",
        /// DANE TLSA records do not match.
        DaneMismatch => "dane_mismatch",
        /// A federation peer's certificate domain differs from the domain it claims.
        DomainMismatch => "domain_mismatch",
        /// The peer sent no certificate where one is required.
        Missing => "missing",
        /// Anything else.
        Other => "other",
    }
}

labels! {
    /// Whose certificate: a client connecting to us, or a server we connected to.
    Direction {
        /// A peer that connected to us.
        Inbound => "inbound",
        /// A peer we connected to.
        Outbound => "outbound",
    }
}

labels! {
    /// Why SDES keys were not forwarded.
    SdesReason {
        /// The next hop has no TLS: the keys would cross it in clear.
        InsecureHop => "insecure_hop",
        /// Policy admits only DTLS-SRTP or ZRTP.
        Policy => "policy",
    }
}

labels! {
    /// Why a contact binding went away.
    RemovalReason {
        /// The user agent unregistered (Expires: 0).
        Unregistered => "unregistered",
        /// It expired.
        Expired => "expired",
        /// A newer registration replaced it.
        Replaced => "replaced",
        /// An operator removed it.
        Operator => "operator",
        /// The flow it was bound to closed (RFC 5626).
        FlowClosed => "flow_closed",
    }
}

/// What happened: one variant per [`Kind`], with stable snake_case field names.
///
/// Values that came from the network are [`Text`] (escaped, capped, keys redacted). There
/// is, by design, no variant or field that can hold a password, an HA1, a nonce key or a
/// media key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// Digest authentication succeeded.
    AuthSuccess {
        /// SIP method.
        method: Text,
        /// Realm.
        realm: Text,
        /// Digest algorithm used (`SHA-256`, `MD5` ...).
        algorithm: Text,
    },
    /// Digest authentication failed.
    AuthFailure {
        /// SIP method.
        method: Text,
        /// Realm the credentials named.
        realm: Text,
        /// Why.
        reason: AuthFailureReason,
    },
    /// A request was challenged.
    Challenge {
        /// SIP method.
        method: Text,
        /// Realm offered.
        realm: Text,
        /// 401 or 407.
        status: u16,
    },
    /// An account or source was locked out.
    Lockout {
        /// Account or source.
        scope: Scope,
        /// When the lockout ends.
        until: Timestamp,
        /// Consecutive lockouts including this one.
        lockouts: u32,
    },
    /// A lockout was lifted.
    LockoutLifted {
        /// Account or source.
        scope: Scope,
        /// Operator or expiry.
        by: LiftedBy,
    },
    /// A source was banned.
    Ban {
        /// The banned source: an IPv4 address or an IPv6 /64.
        banned: Text,
        /// Why.
        reason: BanReason,
        /// When the ban ends.
        until: Timestamp,
        /// Consecutive bans including this one.
        strikes: u32,
    },
    /// A ban was lifted.
    BanLifted {
        /// The source that was banned.
        banned: Text,
        /// Operator or expiry.
        by: LiftedBy,
    },
    /// Requests were refused by a rate limit.
    RateLimited {
        /// Source or account.
        scope: Scope,
        /// Method class the limit applies to (`register`, `invite`, `other` ...).
        method_class: Text,
        /// When a request would next be admitted, in milliseconds.
        retry_after_ms: u64,
        /// Refusals folded into this event since the previous one for the same key.
        suppressed: u32,
    },
    /// A source behaved like a scanner.
    ScannerDetected {
        /// Which behaviour.
        signal: ScannerSignal,
        /// The count that crossed the threshold.
        count: u32,
        /// The User-Agent it sent, if any (attacker-controlled).
        user_agent: Option<Text>,
    },
    /// A TLS handshake failed.
    TlsHandshakeFailed {
        /// Why.
        reason: TlsFailure,
        /// Server name the client asked for, if any.
        sni: Option<Text>,
        /// The TLS library's words, for the operator.
        detail: Option<Text>,
    },
    /// A peer certificate was refused.
    CertificateRefused {
        /// Why.
        reason: CertificateReason,
        /// Whose certificate.
        direction: Direction,
        /// The name or domain it was checked against.
        peer: Option<Text>,
        /// The verifier's words, for the operator.
        detail: Option<Text>,
    },
    /// A `sips:` request was not forwarded over a hop without TLS.
    DowngradeRefused {
        /// The target URI.
        uri: Text,
        /// The transport the next hop offered.
        next_hop_transport: Transport,
    },
    /// SDES keys were not forwarded.
    SdesRefused {
        /// Why.
        reason: SdesReason,
        /// The transport of the hop the keys would have crossed.
        next_hop_transport: Option<Transport>,
    },
    /// A request was refused by policy.
    PolicyRefused {
        /// The rule, as configured (`deny_cidr 203.0.113.0/24`, `anonymous reject` ...).
        rule: Text,
        /// Refusals folded into this event.
        suppressed: u32,
    },
    /// A return-routability token was refused.
    TokenRefused {
        /// Why (`expired`, `bad_mac`, `wrong_source` ...).
        reason: Text,
        /// Refusals folded into this event.
        suppressed: u32,
    },
    /// An anonymous (null-authenticated) caller: a caller class of its own, which the
    /// `[policy] anonymous` setting acts on.
    AnonymousCaller {
        /// How the request marked itself anonymous.
        form: AnonymousForm,
        /// What policy did with it.
        action: AnonymousAction,
        /// Anonymous requests from the same source folded into this event.
        suppressed: u32,
    },
    /// A replayed request was refused.
    ReplayRefused {
        /// SIP method.
        method: Text,
    },
    /// Credentials used an expired nonce.
    StaleNonce {
        /// SIP method.
        method: Text,
    },
    /// A contact was registered.
    RegistrationAdded {
        /// The Contact URI.
        contact: Text,
        /// Granted lifetime in seconds.
        expires_s: u32,
        /// The registering User-Agent, if any.
        user_agent: Option<Text>,
    },
    /// A contact binding was removed.
    RegistrationRemoved {
        /// The Contact URI.
        contact: Text,
        /// Why.
        reason: RemovalReason,
    },
    /// A call ended.
    CallEnded {
        /// Final status of the INVITE (200 for an answered call).
        status: u16,
        /// From answer to BYE, in milliseconds (0 if never answered).
        duration_ms: u64,
        /// The call security assessment as the caller built it. Strings are sanitised and
        /// members named like secrets dropped when the line is written.
        #[serde(serialize_with = "serialize_assessment")]
        assessment: Value,
    },
}

fn serialize_assessment<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    sanitize_json(v).serialize(s)
}

impl Detail {
    /// The kind of this event.
    pub const fn kind(&self) -> Kind {
        match self {
            Self::AuthSuccess { .. } => Kind::AuthSuccess,
            Self::AuthFailure { .. } => Kind::AuthFailure,
            Self::Challenge { .. } => Kind::Challenge,
            Self::Lockout { .. } => Kind::Lockout,
            Self::LockoutLifted { .. } => Kind::LockoutLifted,
            Self::Ban { .. } => Kind::Ban,
            Self::BanLifted { .. } => Kind::BanLifted,
            Self::RateLimited { .. } => Kind::RateLimited,
            Self::ScannerDetected { .. } => Kind::ScannerDetected,
            Self::TlsHandshakeFailed { .. } => Kind::TlsHandshakeFailed,
            Self::CertificateRefused { .. } => Kind::CertificateRefused,
            Self::DowngradeRefused { .. } => Kind::DowngradeRefused,
            Self::SdesRefused { .. } => Kind::SdesRefused,
            Self::PolicyRefused { .. } => Kind::PolicyRefused,
            Self::TokenRefused { .. } => Kind::TokenRefused,
            Self::AnonymousCaller { .. } => Kind::AnonymousCaller,
            Self::ReplayRefused { .. } => Kind::ReplayRefused,
            Self::StaleNonce { .. } => Kind::StaleNonce,
            Self::RegistrationAdded { .. } => Kind::RegistrationAdded,
            Self::RegistrationRemoved { .. } => Kind::RegistrationRemoved,
            Self::CallEnded { .. } => Kind::CallEnded,
        }
    }
}

/// One security event: the common envelope and the [`Detail`] of its kind.
///
/// Its line always holds `timestamp`, `kind`, `transport`, `source`, `account`, `aor` and
/// `call_id` (the last five `null` when they do not apply: `transport` and `source` for
/// events no request caused, such as an expiry or an operator action), then the fields of
/// its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    /// When it happened, as the caller's clock said.
    pub at: SystemTime,
    /// The transport of the request or connection that caused it.
    pub transport: Option<Transport>,
    /// The transport source (address and port) of that request or connection. Never a
    /// header value.
    pub source: Option<SocketAddr>,
    /// The account concerned: authenticated for successes, as claimed for failures.
    pub account: Option<Text>,
    /// The address-of-record concerned.
    pub aor: Option<Text>,
    /// The Call-ID concerned.
    pub call_id: Option<Text>,
    /// What happened.
    pub detail: Detail,
}

impl SecurityEvent {
    /// An event caused by a request or connection from `source` over `transport`.
    pub fn new(at: SystemTime, transport: Transport, source: SocketAddr, detail: Detail) -> Self {
        Self {
            at,
            transport: Some(transport),
            source: Some(source),
            account: None,
            aor: None,
            call_id: None,
            detail,
        }
    }

    /// An event no request caused (an expiry, an operator action).
    pub fn internal(at: SystemTime, detail: Detail) -> Self {
        Self {
            at,
            transport: None,
            source: None,
            account: None,
            aor: None,
            call_id: None,
            detail,
        }
    }

    /// Sets the account concerned.
    #[must_use]
    pub fn with_account(mut self, account: impl Into<Text>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Sets the address-of-record concerned.
    #[must_use]
    pub fn with_aor(mut self, aor: impl Into<Text>) -> Self {
        self.aor = Some(aor.into());
        self
    }

    /// Sets the Call-ID concerned.
    #[must_use]
    pub fn with_call_id(mut self, call_id: impl Into<Text>) -> Self {
        self.call_id = Some(call_id.into());
        self
    }

    /// The kind of this event.
    pub const fn kind(&self) -> Kind {
        self.detail.kind()
    }

    /// Appends this event as one JSON object and a `\n` to `out`.
    pub fn write_json_line(&self, out: &mut Vec<u8>) -> Result<(), EventError> {
        serde_json::to_writer(&mut *out, &Line::from(self))?;
        out.push(b'\n');
        Ok(())
    }

    /// This event as one JSON object, without the line end.
    pub fn to_json(&self) -> Result<String, EventError> {
        Ok(serde_json::to_string(&Line::from(self))?)
    }
}

/// The serialised shape: the envelope first, so every line starts alike.
#[derive(Serialize)]
struct Line<'a> {
    timestamp: Timestamp,
    kind: Kind,
    transport: Option<Transport>,
    source: Option<SocketAddr>,
    account: Option<&'a Text>,
    aor: Option<&'a Text>,
    call_id: Option<&'a Text>,
    #[serde(flatten)]
    detail: &'a Detail,
}

impl<'a> From<&'a SecurityEvent> for Line<'a> {
    fn from(e: &'a SecurityEvent) -> Self {
        Self {
            timestamp: Timestamp(e.at),
            kind: e.kind(),
            transport: e.transport,
            source: e.source,
            account: e.account.as_ref(),
            aor: e.aor.as_ref(),
            call_id: e.call_id.as_ref(),
            detail: &e.detail,
        }
    }
}
