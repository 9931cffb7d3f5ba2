//! TLS between services: certificates made at test time with rcgen, a TLS
//! Classify and health check, plaintext refused, and with a client CA a
//! client without a (valid) certificate refused.

use std::path::{Path, PathBuf};

use dispatch_tagger::cli;
use dispatch_tagger::config::HealthcheckArgs;
use dispatch_tagger::grpc::pb::ClassifyRequest;
use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::tls::ServerTls;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::common::{ALEPPO_FR, TestServer, spawn, test_state};

/// A CA and certificates it signed, as PEM files in a temporary folder.
struct Pki {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).expect("write");
        Pki {
            dir,
            issuer: Issuer::new(params, key),
        }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Writes `<file>.pem` and `<file>.key` for `name`; returns both paths.
    fn issue(&self, file: &str, name: &str, usage: ExtendedKeyUsagePurpose) -> (PathBuf, PathBuf) {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        let (c, k) = (
            self.dir.path().join(format!("{file}.pem")),
            self.dir.path().join(format!("{file}.key")),
        );
        std::fs::write(&c, cert.pem()).expect("write");
        std::fs::write(&k, key.serialize_pem()).expect("write");
        (c, k)
    }
}

fn pem(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("pem file")
}

async fn tls_server(pki: &Pki, client_ca: Option<&Path>) -> TestServer {
    let (cert, key) = pki.issue("server", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let mut state = test_state();
    state.tls = Some(ServerTls::load(&cert, &key, client_ca).expect("server TLS loads"));
    spawn(state).await
}

/// Connects and classifies once; the error as text when any step fails.
async fn classify_over(endpoint: tonic::transport::Endpoint) -> Result<String, String> {
    let channel: Channel = endpoint.connect().await.map_err(|e| format!("{e:?}"))?;
    let resp = DispatchTaggerServiceClient::new(channel)
        .classify(ClassifyRequest {
            id: "tls".into(),
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .map_err(|s| format!("{s:?}"))?;
    Ok(resp.into_inner().id)
}

fn https(server: &TestServer, tls: ClientTlsConfig) -> tonic::transport::Endpoint {
    Channel::from_shared(format!("https://{}", server.addr))
        .expect("uri")
        .tls_config(tls.domain_name("localhost"))
        .expect("client TLS config")
}

fn trusting(pki: &Pki) -> ClientTlsConfig {
    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem(&pki.ca())))
}

fn healthcheck_args(server: &TestServer, pki: &Pki) -> HealthcheckArgs {
    HealthcheckArgs {
        addr: format!("https://{}", server.addr),
        service: String::new(),
        timeout: 10,
        tls_ca: Some(pki.ca()),
        tls_cert: None,
        tls_key: None,
        tls_domain: Some("localhost".into()),
    }
}

#[tokio::test]
async fn tls_serves_a_trusting_client_and_refuses_plaintext() {
    let pki = Pki::new("server");
    let server = tls_server(&pki, None).await;

    let id = classify_over(https(&server, trusting(&pki))).await;
    assert_eq!(id.as_deref(), Ok("tls"));

    let plain = Channel::from_shared(format!("http://{}", server.addr)).expect("uri");
    let err = classify_over(plain).await.expect_err("plaintext refused");
    assert!(!err.is_empty());

    let stranger = Pki::new("other");
    let err = classify_over(https(&server, trusting(&stranger)))
        .await
        .expect_err("a server the client's CA did not sign is refused");
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );

    assert!(
        cli::healthcheck(&healthcheck_args(&server, &pki))
            .await
            .expect("runs")
    );
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_client_ca() {
    let pki = Pki::new("mutual");
    let server = tls_server(&pki, Some(&pki.ca())).await;
    let (cert, key) = pki.issue("client", "caller", ExtendedKeyUsagePurpose::ClientAuth);

    let with_cert = trusting(&pki).identity(Identity::from_pem(pem(&cert), pem(&key)));
    let id = classify_over(https(&server, with_cert)).await;
    assert_eq!(id.as_deref(), Ok("tls"));

    classify_over(https(&server, trusting(&pki)))
        .await
        .expect_err("no client certificate, refused");

    let stranger = Pki::new("stranger");
    let (cert2, key2) = stranger.issue("client", "caller", ExtendedKeyUsagePurpose::ClientAuth);
    let foreign = trusting(&pki).identity(Identity::from_pem(pem(&cert2), pem(&key2)));
    classify_over(https(&server, foreign))
        .await
        .expect_err("a client certificate from another CA, refused");

    let mut args = healthcheck_args(&server, &pki);
    assert!(
        !cli::healthcheck(&args).await.expect("runs"),
        "no client certificate: not SERVING"
    );
    args.tls_cert = Some(cert);
    args.tls_key = Some(key);
    assert!(cli::healthcheck(&args).await.expect("runs"));
    server.shutdown().await.expect("clean stop");
}

#[test]
fn a_key_that_does_not_match_its_certificate_fails_at_start() {
    let pki = Pki::new("mismatch");
    let (cert, _) = pki.issue("a", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let (_, other_key) = pki.issue("b", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let err = ServerTls::load(&cert, &other_key, None)
        .expect_err("mismatched key refused")
        .to_string();
    assert!(err.starts_with("--tls-cert"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}
