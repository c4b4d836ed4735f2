//! Identities in certificates, as RFC 5922 §7.1 reads them, and matching
//! them against the names a client expects (§7.2).
//!
//! Why not webpki's own name check: it knows dNSName and iPAddress only, it
//! accepts wildcards unconditionally, and it never looks at `sip:` URIs or the
//! subject CN. SIP needs all of those, under its own precedence rules.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use rustls_pki_types::{CertificateDer, DnsName, ServerName};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use crate::TlsError;

/// Object identifier of the subject commonName attribute (X.520, 2.5.4.3).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// A name the client is prepared to accept for the peer it connects to: the
/// SIP domain of the request, or the SRV target host when the hop was found
/// through SRV, or an IP literal when the target is one (RFC 5922 §4, §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReferenceName {
    /// A DNS domain, stored lowercased and without a trailing dot.
    Domain(String),
    /// An IP address literal; matched against iPAddress entries only.
    Ip(IpAddr),
}

impl ReferenceName {
    /// Parses a host as it appears in a SIP URI or an SRV target: a domain
    /// (a trailing dot is dropped), an IPv4 literal or an IPv6 literal with or
    /// without brackets.
    pub fn parse(host: &str) -> Result<Self, TlsError> {
        let bad = || TlsError::BadReferenceName {
            name: host.to_owned(),
        };
        let trimmed = host.trim();
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(trimmed);
        if let Ok(ip) = IpAddr::from_str(unbracketed) {
            return Ok(Self::Ip(ip));
        }
        if unbracketed.len() != trimmed.len() {
            // Brackets around something that is not an IPv6 literal.
            return Err(bad());
        }
        let domain = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if domain.is_empty() || domain.contains('*') {
            return Err(bad());
        }
        let dns = DnsName::try_from(domain).map_err(|_| bad())?;
        Ok(Self::Domain(dns.as_ref().to_ascii_lowercase()))
    }

    /// The name to put in the TLS `server_name` (SNI) for this reference.
    /// IP literals produce an IP `ServerName`, for which no SNI is sent.
    pub fn to_server_name(&self) -> Result<ServerName<'static>, TlsError> {
        match self {
            Self::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
            Self::Domain(d) => DnsName::try_from(d.as_str())
                .map(|n| ServerName::DnsName(n.to_owned()))
                .map_err(|_| TlsError::BadReferenceName { name: d.clone() }),
        }
    }

    /// Builds a reference name from the `ServerName` rustls hands to a
    /// verifier, used when the caller gave no explicit names.
    pub(crate) fn from_server_name(name: &ServerName<'_>) -> Option<Self> {
        match name {
            ServerName::DnsName(d) => Self::parse(d.as_ref()).ok(),
            ServerName::IpAddress(ip) => Some(Self::Ip(IpAddr::from(*ip))),
            _ => None,
        }
    }
}

impl fmt::Display for ReferenceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl FromStr for ReferenceName {
    type Err = TlsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Everything in a certificate that can name its holder, sorted by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PresentedNames {
    /// Hosts of `sip:`/`sips:` URI SANs without a user part (normalised).
    pub(crate) sip_domains: Vec<String>,
    /// URI SANs that do not qualify as SIP domain identities, kept verbatim
    /// for diagnostics (other schemes, or a user part).
    pub(crate) other_uris: Vec<String>,
    /// dNSName SANs (normalised).
    pub(crate) dns: Vec<String>,
    /// iPAddress SANs.
    pub(crate) ips: Vec<IpAddr>,
    /// Subject commonName values (normalised).
    pub(crate) common_names: Vec<String>,
}

impl PresentedNames {
    /// Reads the subjectAltName extension and subject CN of a DER certificate.
    pub(crate) fn from_der(der: &CertificateDer<'_>) -> Result<Self, String> {
        let cert = Certificate::from_der(der.as_ref()).map_err(|e| e.to_string())?;
        let mut names = Self::default();
        let tbs = &cert.tbs_certificate;
        if let Some((_critical, san)) = tbs.get::<SubjectAltName>().map_err(|e| e.to_string())? {
            for general in san.0 {
                names.add_general_name(&general);
            }
        }
        for rdn in &tbs.subject.0 {
            for atv in rdn.0.iter() {
                if atv.oid != COMMON_NAME {
                    continue;
                }
                let text_tag = matches!(
                    atv.value.tag(),
                    Tag::Utf8String | Tag::PrintableString | Tag::Ia5String
                );
                if !text_tag {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(atv.value.value()) {
                    names.common_names.push(normalise_domain(s));
                }
            }
        }
        Ok(names)
    }

    fn add_general_name(&mut self, general: &GeneralName) {
        match general {
            GeneralName::DnsName(d) => self.dns.push(normalise_domain(d.as_str())),
            GeneralName::UniformResourceIdentifier(u) => match sip_domain_of_uri(u.as_str()) {
                Some(host) => self.sip_domains.push(host),
                None => self.other_uris.push(u.as_str().to_owned()),
            },
            GeneralName::IpAddress(octets) => {
                let bytes = octets.as_bytes();
                let ip = <[u8; 4]>::try_from(bytes)
                    .map(IpAddr::from)
                    .or_else(|_| <[u8; 16]>::try_from(bytes).map(IpAddr::from));
                if let Ok(ip) = ip {
                    self.ips.push(ip);
                }
            }
            _ => {}
        }
    }

    /// True when the certificate has a SAN of a kind that names a SIP peer
    /// (URI, dNSName or iPAddress); the CN is then never consulted.
    fn has_name_sans(&self) -> bool {
        !(self.sip_domains.is_empty()
            && self.other_uris.is_empty()
            && self.dns.is_empty()
            && self.ips.is_empty())
    }

    /// The SIP domain identities of the certificate per RFC 5922 §7.1:
    /// `sip:` URIs without a user part; if there are none, dNSName entries;
    /// if there is no SAN of a naming kind, the subject CN.
    pub(crate) fn sip_identities(&self) -> &[String] {
        if !self.sip_domains.is_empty() {
            &self.sip_domains
        } else if !self.dns.is_empty() {
            &self.dns
        } else if !self.has_name_sans() {
            &self.common_names
        } else {
            &[]
        }
    }

    /// Whether the certificate is valid for `reference` (RFC 5922 §7.2).
    /// Wildcards (`*.example.com` in a dNSName or CN) count only when
    /// `allow_wildcards` is set; they are never honoured in `sip:` URIs.
    pub(crate) fn matches(&self, reference: &ReferenceName, allow_wildcards: bool) -> bool {
        match reference {
            ReferenceName::Ip(ip) => {
                self.ips.contains(ip)
                    || self
                        .sip_domains
                        .iter()
                        .any(|h| IpAddr::from_str(h).is_ok_and(|h| h == *ip))
            }
            ReferenceName::Domain(domain) => {
                let wildcard_ok = allow_wildcards && self.sip_domains.is_empty();
                self.sip_identities()
                    .iter()
                    .any(|presented| domain_matches(presented, domain, wildcard_ok))
            }
        }
    }

    /// Every name in the certificate, prefixed with its kind, for logs.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.sip_domains.iter().map(|d| format!("URI:sip:{d}")));
        out.extend(self.other_uris.iter().map(|u| format!("URI:{u}")));
        out.extend(self.dns.iter().map(|d| format!("DNS:{d}")));
        out.extend(self.ips.iter().map(|ip| format!("IP:{ip}")));
        out.extend(self.common_names.iter().map(|cn| format!("CN:{cn}")));
        out
    }
}

/// Lowercases and drops one trailing dot, so `Example.COM.` equals `example.com`.
fn normalise_domain(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.strip_suffix('.') {
        Some(stripped) => stripped.to_owned(),
        None => lower,
    }
}

/// The host part of a `sip:`/`sips:` URI that carries no user part; `None`
/// for any other URI (RFC 5922 §7.1: a URI with a user part names a user,
/// not a domain).
pub(crate) fn sip_domain_of_uri(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")) {
        return None;
    }
    // Parameters and headers are not part of the host.
    let hostport = rest.split([';', '?']).next().unwrap_or_default();
    if hostport.contains('@') {
        return None;
    }
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        hostport.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return None;
    }
    Some(normalise_domain(host))
}

/// Case-insensitive domain comparison with optional single-label wildcard.
fn domain_matches(presented: &str, reference: &str, allow_wildcards: bool) -> bool {
    if presented.eq_ignore_ascii_case(reference) {
        return true;
    }
    if !allow_wildcards {
        return false;
    }
    let Some(suffix) = presented.strip_prefix("*.") else {
        return false;
    };
    // A wildcard must leave at least two labels (no `*.com`), and may cover
    // exactly one label of the reference.
    if !suffix.contains('.') || suffix.contains('*') {
        return false;
    }
    match reference.split_once('.') {
        Some((label, rest)) => !label.is_empty() && rest.eq_ignore_ascii_case(suffix),
        None => false,
    }
}

/// The identity a peer proved with its certificate (RFC 5922 §7.1), for
/// later layers to bind to the domain a request claims (federation: the
/// From/Identity domain must be one of [`domains`](Self::domains)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// SIP domain identities in RFC 5922 §7.1 precedence: `sip:` URI hosts,
    /// else dNSName entries, else the CN when there is no naming SAN.
    /// Lowercased, without trailing dots.
    pub domains: Vec<String>,
    /// iPAddress SAN entries.
    pub ip_addresses: Vec<IpAddr>,
    /// All names in the certificate with their kind (`URI:`, `DNS:`, `IP:`,
    /// `CN:`), for logs and the security assessment.
    pub presented: Vec<String>,
    /// SHA-256 of the end-entity certificate's DER encoding.
    pub fingerprint_sha256: [u8; 32],
}

impl PeerIdentity {
    /// Extracts the identity of an end-entity certificate. The caller is
    /// responsible for the certificate having been verified.
    pub fn from_certificate(der: &CertificateDer<'_>) -> Result<Self, TlsError> {
        let names = PresentedNames::from_der(der).map_err(TlsError::CertificateParse)?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der.as_ref());
        let mut fingerprint_sha256 = [0u8; 32];
        fingerprint_sha256.copy_from_slice(digest.as_ref());
        Ok(Self {
            domains: names.sip_identities().to_vec(),
            ip_addresses: names.ips.clone(),
            presented: names.describe(),
            fingerprint_sha256,
        })
    }

    /// Whether `domain` is one of the peer's SIP domain identities (exact,
    /// case-insensitive, no wildcard expansion).
    pub fn has_domain(&self, domain: &str) -> bool {
        let wanted = normalise_domain(domain);
        self.domains.contains(&wanted)
    }

    /// The fingerprint as colon-separated uppercase hex, as in SDP and logs.
    pub fn fingerprint_hex(&self) -> String {
        let mut out = String::with_capacity(32 * 3);
        for (i, b) in self.fingerprint_sha256.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&format!("{b:02X}"));
        }
        out
    }
}

/// The verified identity of the peer of an established connection: works on
/// a `ServerConnection` (mutual TLS; present only when the server's client
/// verifier accepted a certificate) and on a `ClientConnection` (the server
/// that the RFC 5922 verifier accepted). `Ok(None)` when the peer presented
/// no certificate or the handshake is not complete.
pub fn peer_identity(conn: &rustls::CommonState) -> Result<Option<PeerIdentity>, TlsError> {
    if conn.is_handshaking() {
        return Ok(None);
    }
    match conn.peer_certificates().and_then(|chain| chain.first()) {
        Some(leaf) => PeerIdentity::from_certificate(leaf).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
