//! Shared helpers: an rcgen PKI with fixed dates, a fixed clock, and a
//! memory-buffer pump driving a rustls client and server against each other.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, Ia5String, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sipwarden_tls::{ClientTlsConfig, ReferenceName, TrustRoots};
use time::OffsetDateTime;

/// The instant every test runs at.
pub fn now() -> OffsetDateTime {
    rcgen::date_time_ymd(2026, 6, 1)
}

/// A clock stuck at [`now`].
#[derive(Debug)]
pub struct FixedTime;

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        let secs = u64::try_from(now().unix_timestamp()).unwrap();
        Some(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
    }
}

pub fn fixed_time() -> Arc<dyn TimeProvider> {
    Arc::new(FixedTime)
}

/// A test certificate authority.
pub struct Ca {
    pub cert: Certificate,
    pub key: KeyPair,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    pub fn roots(&self) -> TrustRoots {
        TrustRoots::from_pem("test CA", self.pem().as_bytes()).unwrap()
    }

    pub fn issue(&self, spec: Leaf) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        if let Some(cn) = &spec.cn {
            params
                .distinguished_name
                .push(DnType::CommonName, cn.as_str());
        }
        params.subject_alt_names = spec.sans;
        params.not_before = spec.not_before;
        params.not_after = spec.not_after;
        params.serial_number = Some(SerialNumber::from(spec.serial));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A CRL revoking the given serials.
    pub fn crl(&self, serials: &[u64]) -> String {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2026, 5, 1),
            next_update: rcgen::date_time_ymd(2026, 7, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: rcgen::date_time_ymd(2026, 5, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.cert, &self.key)
            .unwrap()
            .pem()
            .unwrap()
    }
}

/// What to put in a leaf certificate.
pub struct Leaf {
    pub cn: Option<String>,
    pub sans: Vec<SanType>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub serial: u64,
}

impl Leaf {
    /// A currently valid leaf with no names.
    pub fn new() -> Self {
        Self {
            cn: None,
            sans: Vec::new(),
            not_before: rcgen::date_time_ymd(2026, 1, 1),
            not_after: rcgen::date_time_ymd(2027, 1, 1),
            serial: 1000,
        }
    }

    pub fn dns(mut self, name: &str) -> Self {
        self.sans
            .push(SanType::DnsName(Ia5String::try_from(name).unwrap()));
        self
    }

    pub fn uri(mut self, uri: &str) -> Self {
        self.sans
            .push(SanType::URI(Ia5String::try_from(uri).unwrap()));
        self
    }

    pub fn ip(mut self, ip: &str) -> Self {
        self.sans
            .push(SanType::IpAddress(ip.parse::<IpAddr>().unwrap()));
        self
    }

    pub fn cn(mut self, cn: &str) -> Self {
        self.cn = Some(cn.to_owned());
        self
    }

    pub fn valid(mut self, from: (i32, u8, u8), to: (i32, u8, u8)) -> Self {
        self.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        self.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        self
    }

    pub fn serial(mut self, serial: u64) -> Self {
        self.serial = serial;
        self
    }
}

/// An issued leaf.
pub struct Issued {
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Issued {
    /// Writes `cert.pem` and `key.pem` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        write_atomic(&cert, self.cert_pem.as_bytes());
        write_atomic(&key, self.key_pem.as_bytes());
        (cert, key)
    }
}

/// Replaces a file by renaming a fully written temporary over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Which side failed a handshake, and how.
#[derive(Debug)]
pub enum Failed {
    Client(rustls::Error),
    Server(rustls::Error),
}

impl Failed {
    pub fn client(self) -> rustls::Error {
        match self {
            Self::Client(e) => e,
            Self::Server(e) => panic!("expected a client-side failure, server failed: {e}"),
        }
    }

    pub fn server(self) -> rustls::Error {
        match self {
            Self::Server(e) => e,
            Self::Client(e) => panic!("expected a server-side failure, client failed: {e}"),
        }
    }
}

/// Moves everything `from` wants to send into `to` and lets `to` process
/// it. Returns whether any bytes moved.
fn transfer<A, B>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
) -> Result<bool, rustls::Error> {
    let mut moved = false;
    while from.wants_write() {
        let mut buf = Vec::new();
        from.write_tls(&mut buf).unwrap();
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            to.read_tls(&mut rd).unwrap();
            to.process_new_packets()?;
        }
        moved = true;
    }
    Ok(moved)
}

/// Exchanges flights until neither side has anything to send.
pub fn pump(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), Failed> {
    for _ in 0..64 {
        let c2s = transfer(client, server).map_err(Failed::Server)?;
        let s2c = transfer(server, client).map_err(Failed::Client)?;
        if !c2s && !s2c {
            return Ok(());
        }
    }
    panic!("handshake did not settle");
}

/// Builds both ends and runs the handshake.
pub fn connect(
    client_config: Arc<ClientConfig>,
    server_config: Arc<ServerConfig>,
    dialled: &str,
) -> (ClientConnection, ServerConnection, Result<(), Failed>) {
    let name = ReferenceName::parse(dialled)
        .unwrap()
        .to_server_name()
        .unwrap();
    connect_named(client_config, server_config, name)
}

pub fn connect_named(
    client_config: Arc<ClientConfig>,
    server_config: Arc<ServerConfig>,
    name: ServerName<'static>,
) -> (ClientConnection, ServerConnection, Result<(), Failed>) {
    let mut client = ClientConnection::new(client_config, name).unwrap();
    let mut server = ServerConnection::new(server_config).unwrap();
    let result = pump(&mut client, &mut server);
    if result.is_ok() {
        assert!(!client.is_handshaking() && !server.is_handshaking());
    }
    (client, server, result)
}

/// Sends application data both ways over an established pair.
pub fn exchange(client: &mut ClientConnection, server: &mut ServerConnection, tag: &str) {
    let request = format!("OPTIONS sip:{tag} SIP/2.0\r\n\r\n");
    client.writer().write_all(request.as_bytes()).unwrap();
    pump(client, server).unwrap();
    let mut got = vec![0u8; request.len()];
    server.reader().read_exact(&mut got).unwrap();
    assert_eq!(got, request.as_bytes());

    let response = format!("SIP/2.0 200 OK {tag}\r\n\r\n");
    server.writer().write_all(response.as_bytes()).unwrap();
    pump(client, server).unwrap();
    let mut got = vec![0u8; response.len()];
    client.reader().read_exact(&mut got).unwrap();
    assert_eq!(got, response.as_bytes());
}

/// A client config verifying against `ca` at the fixed time.
pub fn client_for(ca: &Ca) -> ClientTlsConfig {
    ClientTlsConfig::new(ca.roots()).time_provider(fixed_time())
}

pub fn names(list: &[&str]) -> Vec<ReferenceName> {
    list.iter()
        .map(|n| ReferenceName::parse(n).unwrap())
        .collect()
}

/// A listener config serving `issued`, from files in a fresh directory.
pub fn server_with(
    issued: &Issued,
    options: sipwarden_tls::ServerTlsOptions,
) -> (tempfile::TempDir, sipwarden_tls::ServerTlsConfig) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = issued.write(dir.path());
    let config = sipwarden_tls::ServerTlsConfig::from_pem_files(cert, key, options).unwrap();
    (dir, config)
}
