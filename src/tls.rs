//! TLS for calls between services (rustls, ring): PEM files are read and
//! checked once at start, and a problem is one line naming the flag to fix.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::{Error, Result};

/// The server's TLS: its certificate chain and key, and for mutual TLS the
/// CA that client certificates must chain to.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: ServerTlsConfig,
    mutual: bool,
}

impl ServerTls {
    /// Reads and checks `cert` (PEM chain), `key` (PEM private key) and the
    /// optional `client_ca` (PEM); with a client CA every client must show a
    /// certificate it signed.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ServerTls> {
        let cert_pem = read_certificates("--tls-cert", cert)?;
        let key_pem = read_key("--tls-key", key)?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem));
        if let Some(ca) = client_ca {
            config = config.client_ca_root(Certificate::from_pem(read_certificates(
                "--tls-client-ca",
                ca,
            )?));
        }
        // Builds the rustls acceptor now, so that a key that does not match
        // its certificate fails at start rather than at the first handshake.
        tonic::transport::Server::builder()
            .tls_config(config.clone())
            .map_err(|e| {
                Error::invalid(format!(
                    "--tls-cert {} / --tls-key {}: {}",
                    cert.display(),
                    key.display(),
                    chain(&e)
                ))
            })?;
        Ok(ServerTls {
            config,
            mutual: client_ca.is_some(),
        })
    }

    /// The tonic configuration.
    pub fn config(&self) -> ServerTlsConfig {
        self.config.clone()
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.mutual
    }
}

/// A client's TLS: the CA to trust for the server (`ca`), an optional client
/// certificate and key for mutual TLS, and the name to expect in the
/// server's certificate when it differs from the address's host. Flag names
/// in errors are the `healthcheck` ones.
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    domain: Option<&str>,
) -> Result<ClientTlsConfig> {
    let mut config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read_certificates("--tls-ca", ca)?));
    if let Some((cert, key)) = identity {
        config = config.identity(Identity::from_pem(
            read_certificates("--tls-cert", cert)?,
            read_key("--tls-key", key)?,
        ));
    }
    if let Some(domain) = domain {
        config = config.domain_name(domain);
    }
    Ok(config)
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::invalid(format!("{flag} {}: {e}", path.display())))
}

/// The file's bytes if it holds at least one well-formed PEM certificate.
fn read_certificates(flag: &str, path: &Path) -> Result<Vec<u8>> {
    let pem = read(flag, path)?;
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| Error::invalid(format!("{flag} {}: bad PEM: {e}", path.display())))?;
        found += 1;
    }
    if found == 0 {
        return Err(Error::invalid(format!(
            "{flag} {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        )));
    }
    Ok(pem)
}

/// The file's bytes if it holds a PEM private key.
fn read_key(flag: &str, path: &Path) -> Result<Vec<u8>> {
    let pem = read(flag, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        Error::invalid(format!(
            "{flag} {}: no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
            path.display()
        ))
    })?;
    Ok(pem)
}

/// An error and its sources on one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !out.ends_with(&next) {
            out.push_str(": ");
            out.push_str(&next);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_pem_files_name_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello").unwrap();
        let missing = dir.path().join("missing.pem");

        let err = ServerTls::load(&missing, &junk, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--tls-cert") && err.contains("missing.pem"),
            "{err}"
        );
        let err = ServerTls::load(&junk, &junk, None).unwrap_err().to_string();
        assert!(
            err.contains("--tls-cert") && err.contains("no PEM certificate"),
            "{err}"
        );
        let err = client_config(&junk, None, None).unwrap_err().to_string();
        assert!(err.starts_with("--tls-ca"), "{err}");
        assert!(!err.contains('\n'));
    }
}
