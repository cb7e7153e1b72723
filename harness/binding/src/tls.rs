//! Mutual TLS between providers (BINDING.md §3, `errata/tls-caller`): the test PKI that
//! `mimi-ds-check pki` writes and the runner issues its peers' certificates from, the rustls
//! configurations both sides build from it, and which provider a client certificate (and the
//! header beside it) says is calling.

use mimi_ds_model::codec::ServiceProviderId;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The CA's certificate: trust it for client and server certificates.
pub const CA_CERT: &str = "ca.pem";
/// The CA's key: the runner issues its peers' certificates with it.
pub const CA_KEY: &str = "ca.key";
/// The certificate a target serves and calls with, named for every provider the vectors
/// reset a target as, so one certificate serves every role.
pub const TARGET: &str = "target";
/// The DNS name every certificate holds beside its providers', with `127.0.0.1`, so a
/// server on loopback verifies; it never names a provider.
pub const LOOPBACK_NAME: &str = "localhost";
/// The name on the CA, which issuing from a loaded key must repeat exactly.
const CA_NAME: &str = "mimi-ds-check test CA";

/// ALPN protocols, in preference order.
pub const H2: &[u8] = b"h2";
pub const HTTP1: &[u8] = b"http/1.1";

/// Which HTTP versions a TLS client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HttpVersions {
    /// Both; the server chooses (ALPN).
    #[default]
    Any,
    Http1,
    Http2,
}

impl HttpVersions {
    fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            HttpVersions::Any => vec![H2.to_vec(), HTTP1.to_vec()],
            HttpVersions::Http1 => vec![HTTP1.to_vec()],
            HttpVersions::Http2 => vec![H2.to_vec()],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {why}", path.display())]
    File { path: PathBuf, why: String },
    #[error("the test PKI: {0}")]
    Pki(String),
}

fn file_error(path: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// A certificate chain and its key: what a provider presents.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// The largest PEM file read: certificates and keys are a few KiB.
const MAX_PEM: u64 = 1 << 20;

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| file_error(path, e))?;
    if bytes.len() as u64 > MAX_PEM {
        return Err(file_error(path, format!("longer than {MAX_PEM} bytes")));
    }
    Ok(bytes)
}

impl Identity {
    /// `<name>.pem` (the chain) and `<name>.key` in `dir`.
    pub fn load(dir: &Path, name: &str) -> Result<Identity, TlsError> {
        let cert_path = dir.join(format!("{name}.pem"));
        let key_path = dir.join(format!("{name}.key"));
        let chain = CertificateDer::pem_slice_iter(&read_pem(&cert_path)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error(&cert_path, e))?;
        if chain.is_empty() {
            return Err(file_error(&cert_path, "holds no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(&read_pem(&key_path)?)
            .map_err(|e| file_error(&key_path, e))?;
        Ok(Identity { chain, key })
    }
}

/// A test CA: its certificate, and its key when it may issue.
pub struct Pki {
    ca: CertificateDer<'static>,
    ca_pem: String,
    issuer: Option<Issuer<'static, KeyPair>>,
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn pki_error(e: impl std::fmt::Display) -> TlsError {
    TlsError::Pki(e.to_string())
}

impl Pki {
    /// A new CA with a fresh key.
    pub fn generate() -> Result<Pki, TlsError> {
        let key = KeyPair::generate().map_err(pki_error)?;
        let cert = ca_params().self_signed(&key).map_err(pki_error)?;
        Ok(Pki {
            ca: cert.der().clone(),
            ca_pem: cert.pem(),
            issuer: Some(Issuer::new(ca_params(), key)),
        })
    }

    /// `ca.pem` in `dir`, and `ca.key` if there is one (then it can issue).
    pub fn load(dir: &Path) -> Result<Pki, TlsError> {
        let ca_path = dir.join(CA_CERT);
        let ca_pem = String::from_utf8(read_pem(&ca_path)?)
            .map_err(|_| file_error(&ca_path, "is not UTF-8 PEM"))?;
        let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| file_error(&ca_path, e))?;
        let key_path = dir.join(CA_KEY);
        let issuer = match key_path.exists() {
            true => {
                let pem = String::from_utf8(read_pem(&key_path)?)
                    .map_err(|_| file_error(&key_path, "is not UTF-8 PEM"))?;
                let key = KeyPair::from_pem(&pem).map_err(|e| file_error(&key_path, e))?;
                Some(Issuer::new(ca_params(), key))
            }
            false => None,
        };
        Ok(Pki { ca, ca_pem, issuer })
    }

    /// A certificate for `names`, `localhost` and `127.0.0.1`, good for a server and a client.
    pub fn issue(&self, names: &[&str]) -> Result<Identity, TlsError> {
        let (identity, _, _) = self.issue_pem(names)?;
        Ok(identity)
    }

    fn issue_pem(&self, names: &[&str]) -> Result<(Identity, String, String), TlsError> {
        let issuer = self
            .issuer
            .as_ref()
            .ok_or_else(|| TlsError::Pki(format!("no {CA_KEY} beside {CA_CERT}: cannot issue")))?;
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, *names.first().unwrap_or(&LOOPBACK_NAME));
        params.distinguished_name = subject;
        params.subject_alt_names = names
            .iter()
            .copied()
            .chain([LOOPBACK_NAME])
            .map(|n| n.try_into().map(SanType::DnsName).map_err(pki_error))
            .collect::<Result<_, _>>()?;
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(pki_error)?;
        let cert = params.signed_by(&key, issuer).map_err(pki_error)?;
        let chain = vec![cert.der().clone()];
        let key_der = PrivateKeyDer::try_from(key.serialize_der()).map_err(pki_error)?;
        let identity = Identity {
            chain,
            key: key_der,
        };
        Ok((identity, cert.pem(), key.serialize_pem()))
    }

    /// Writes `ca.pem`, `ca.key`, `<name>.pem`/`.key` for each of `names`, and `target.pem`/
    /// `.key` naming all of them. Returns the files written.
    pub fn write(&self, dir: &Path, names: &[&str]) -> Result<Vec<PathBuf>, TlsError> {
        let issuer = self
            .issuer
            .as_ref()
            .ok_or_else(|| TlsError::Pki("a loaded CA without its key".into()))?;
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        let mut files = vec![
            (dir.join(CA_CERT), self.ca_pem.clone()),
            (dir.join(CA_KEY), issuer.key().serialize_pem()),
        ];
        let each = names.iter().map(|n| (n.to_string(), vec![*n]));
        for (file, names) in each.chain([(TARGET.to_string(), names.to_vec())]) {
            let (_, cert, key) = self.issue_pem(&names)?;
            files.push((dir.join(format!("{file}.pem")), cert));
            files.push((dir.join(format!("{file}.key")), key));
        }
        for (path, text) in &files {
            std::fs::write(path, text).map_err(|e| file_error(path, e))?;
        }
        Ok(files.into_iter().map(|(path, _)| path).collect())
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca.clone())
            .expect("a certificate rcgen made or rustls parsed");
        roots
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A server presenting `identity` that verifies client certificates against this CA.
    /// A client without one is let through, so the request can be refused with a `DsError`
    /// (`required: false`) or refused in the handshake (`required: true`).
    pub fn server_config(
        &self,
        identity: &Identity,
        required: bool,
    ) -> Result<ServerConfig, TlsError> {
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(self.roots()), Self::provider());
        let verifier = match required {
            true => verifier,
            false => verifier.allow_unauthenticated(),
        };
        let verifier = verifier.build().map_err(pki_error)?;
        let mut config = ServerConfig::builder_with_provider(Self::provider())
            .with_safe_default_protocol_versions()
            .map_err(pki_error)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(pki_error)?;
        config.alpn_protocols = HttpVersions::Any.alpn();
        Ok(config)
    }

    /// A client that trusts this CA's servers, offers `versions`, and presents `identity`.
    pub fn client_config(
        &self,
        identity: Option<&Identity>,
        versions: HttpVersions,
    ) -> Result<ClientConfig, TlsError> {
        let builder = ClientConfig::builder_with_provider(Self::provider())
            .with_safe_default_protocol_versions()
            .map_err(pki_error)?
            .with_root_certificates(self.roots());
        let mut config = match identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(pki_error)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = versions.alpn();
        Ok(config)
    }
}

/// What a TLS handshake a server accepted says about its client.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// Whether the client presented a certificate the server verified.
    pub certified: bool,
    /// The provider names of that certificate.
    pub names: Vec<ServiceProviderId>,
    /// Whether the client and server agreed on HTTP/2 (ALPN).
    pub h2: bool,
}

/// Accepts a TLS connection within `timeout`: the stream and what it says of the client, or
/// `None` when the handshake failed or took too long (the connection is then dropped).
pub async fn accept(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    timeout: std::time::Duration,
) -> Option<(
    tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    Accepted,
)> {
    // TLS records and HTTP/2 frames go out in several small writes per answer; Nagle's
    // algorithm would hold the later ones back until the client's delayed ACK.
    let _ = stream.set_nodelay(true);
    let stream = tokio::time::timeout(timeout, acceptor.accept(stream))
        .await
        .ok()?
        .ok()?;
    let session = stream.get_ref().1;
    let certificate = session.peer_certificates().and_then(|c| c.first());
    let accepted = Accepted {
        certified: certificate.is_some(),
        names: certificate.map(provider_names).unwrap_or_default(),
        h2: session.alpn_protocol() == Some(H2),
    };
    Some((stream, accepted))
}

/// Makes ring the process's rustls provider, for HTTP clients built without a configuration
/// of their own (plain HTTP): the workspace builds rustls with ring alone. Idempotent.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The provider names of a verified client certificate: its DNS names but `localhost` that
/// are ServiceProviderIds (`errata/tls-caller`).
pub fn provider_names(certificate: &CertificateDer<'_>) -> Vec<ServiceProviderId> {
    let Ok(cert) = webpki::EndEntityCert::try_from(certificate) else {
        return Vec::new();
    };
    cert.valid_dns_names()
        .filter(|name| *name != LOOPBACK_NAME)
        .filter_map(|name| ServiceProviderId::new(name).ok())
        .collect()
}

/// Who is calling (`errata/tls-caller`): the certificate's one provider name, or the one the
/// `Mimi-Ds-Provider` header's value chooses among them; `None` (unidentified) otherwise.
pub fn caller(names: &[ServiceProviderId], header: Option<&[u8]>) -> Option<ServiceProviderId> {
    match header {
        None => match names {
            [one] => Some(one.clone()),
            _ => None,
        },
        Some(value) => {
            let claimed = std::str::from_utf8(value).ok()?;
            names.iter().find(|n| n.as_str() == claimed).cloned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ServiceProviderId {
        ServiceProviderId::new(s).unwrap()
    }

    #[test]
    fn the_certificate_names_the_caller_and_the_header_only_chooses_among_its_names() {
        let one = [id("b.example")];
        let two = [id("a.example"), id("b.example")];
        assert_eq!(caller(&one, None), Some(id("b.example")));
        assert_eq!(caller(&one, Some(b"b.example")), Some(id("b.example")));
        assert_eq!(
            caller(&one, Some(b"c.example")),
            None,
            "a header the certificate does not name is refused"
        );
        assert_eq!(
            caller(&two, None),
            None,
            "several names and no header: ambiguous"
        );
        assert_eq!(caller(&two, Some(b"a.example")), Some(id("a.example")));
        assert_eq!(caller(&[], None), None);
        assert_eq!(
            caller(&[], Some(b"a.example")),
            None,
            "no certificate: the header proves nothing"
        );
        assert_eq!(caller(&one, Some(&[0xff])), None);
    }

    #[test]
    fn issued_certificates_name_their_providers_and_loopback_but_loopback_is_no_provider() {
        let pki = Pki::generate().unwrap();
        let identity = pki.issue(&["b.example", "c.example"]).unwrap();
        assert_eq!(
            provider_names(&identity.chain[0]),
            vec![id("b.example"), id("c.example")]
        );
        let loopback_only = pki.issue(&[]).unwrap();
        assert!(provider_names(&loopback_only.chain[0]).is_empty());
    }

    #[test]
    fn a_written_pki_loads_and_issues_certificates_its_ca_verifies() {
        let dir = std::env::temp_dir().join(format!("mimi-ds-pki-{}", std::process::id()));
        let written = Pki::generate()
            .unwrap()
            .write(&dir, &["a.example", "b.example"])
            .unwrap();
        assert_eq!(written.len(), 2 + 2 * 3);
        let pki = Pki::load(&dir).unwrap();
        let target = Identity::load(&dir, TARGET).unwrap();
        assert_eq!(
            provider_names(&target.chain[0]),
            vec![id("a.example"), id("b.example")]
        );
        // A certificate issued from the loaded key chains to the written CA.
        let issued = pki.issue(&["d.example"]).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(pki.roots()), Pki::provider())
                .build()
                .unwrap();
        let now = rustls::pki_types::UnixTime::now();
        verifier
            .verify_client_cert(&issued.chain[0], &[], now)
            .expect("issued from the loaded CA key");
        let stranger = Pki::generate().unwrap().issue(&["d.example"]).unwrap();
        assert!(verifier
            .verify_client_cert(&stranger.chain[0], &[], now)
            .is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
