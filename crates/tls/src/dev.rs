//! A throw-away local PKI for first runs and tests.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    Ia5String, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::TlsError;

/// How long a development leaf is valid: the 398 days browsers and most
/// clients still accept for a server certificate.
const LEAF_VALIDITY: Duration = Duration::days(398);
/// The development CA outlives a few leaf renewals.
const CA_VALIDITY: Duration = Duration::days(3650);
/// Tolerance for clients whose clock is a little behind.
const BACKDATE: Duration = Duration::hours(1);

/// A development CA certificate and a leaf certificate with its key, PEM
/// encoded. The CA's private key is discarded once the leaf is signed, so
/// trusting this CA on a phone lets it vouch for this one leaf only.
#[derive(Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The CA certificate, to install as a trust anchor on clients.
    pub ca_cert_pem: String,
    /// The leaf certificate followed by nothing else (the CA is the anchor).
    pub cert_pem: String,
    /// The leaf's private key (PKCS#8).
    pub key_pem: String,
}

impl fmt::Debug for DevPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("DevPki")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Generates a local CA and a leaf for `localhost`, the given domain
/// `names` and the given `ips`, valid from now.
///
/// The leaf carries, for every name, a dNSName and a `sip:` URI SAN (RFC
/// 5922 verifiers look at the URI first and ignore dNSNames when any `sip:`
/// URI is present, so both are needed); for every IP, an iPAddress SAN and,
/// for IPv4, the same address as a dNSName too, which some clients
/// (mbedTLS-based ones such as linphone) match instead. The first name is
/// the subject CN. Key usage allows both server and client authentication,
/// for mutual TLS between domains.
pub fn generate_dev_pki<S: AsRef<str>>(names: &[S], ips: &[IpAddr]) -> Result<DevPki, TlsError> {
    generate_dev_pki_at(names, ips, SystemTime::now())
}

/// As [`generate_dev_pki`], valid from `now` (for reproducible tests).
pub fn generate_dev_pki_at<S: AsRef<str>>(
    names: &[S],
    ips: &[IpAddr],
    now: SystemTime,
) -> Result<DevPki, TlsError> {
    let now = OffsetDateTime::from(now);
    let mut domains: Vec<String> = Vec::new();
    for name in names
        .iter()
        .map(AsRef::as_ref)
        .chain(std::iter::once("localhost"))
    {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() && !domains.contains(&name) {
            domains.push(name);
        }
    }

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = distinguished_name("sipwarden development CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - BACKDATE;
    ca_params.not_after = now + CA_VALIDITY;
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::default();
    let cn = domains.first().map_or("localhost", String::as_str);
    leaf_params.distinguished_name = distinguished_name(cn);
    for domain in &domains {
        leaf_params
            .subject_alt_names
            .push(SanType::URI(Ia5String::try_from(format!("sip:{domain}"))?));
        leaf_params
            .subject_alt_names
            .push(SanType::DnsName(Ia5String::try_from(domain.as_str())?));
    }
    for ip in ips {
        leaf_params.subject_alt_names.push(SanType::IpAddress(*ip));
        if ip.is_ipv4() {
            leaf_params
                .subject_alt_names
                .push(SanType::DnsName(Ia5String::try_from(ip.to_string())?));
        }
    }
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.not_before = now - BACKDATE;
    leaf_params.not_after = now + LEAF_VALIDITY;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &ca_cert, &ca_key)?;

    Ok(DevPki {
        ca_cert_pem: ca_cert.pem(),
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    })
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "sipwarden");
    dn.push(DnType::CommonName, common_name);
    dn
}
