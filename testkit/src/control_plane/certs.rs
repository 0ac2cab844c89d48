//! The control plane's key material: a CA, the API server's serving certificate for
//! 127.0.0.1 and localhost, and the key pair that signs ServiceAccount tokens.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// PEM texts, ready to be written to the files the API server reads.
pub(super) struct Material {
    pub(super) ca_pem: String,
    pub(super) ca_der: Vec<u8>,
    pub(super) serving_cert_pem: String,
    pub(super) serving_key_pem: String,
    pub(super) service_account_key_pem: String,
    pub(super) service_account_public_pem: String,
}

/// Generates fresh material (ECDSA P-256 throughout; Kubernetes accepts it for serving and for
/// ServiceAccount tokens, ES256).
pub(super) fn generate() -> Result<Material, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ticketeer test control plane CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let serving_key = KeyPair::generate()?;
    let mut serving_params = CertificateParams::new(vec!["localhost".to_owned()])?;
    serving_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    serving_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    serving_params
        .subject_alt_names
        .push(SanType::DnsName("kubernetes.default.svc".try_into()?));
    serving_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    serving_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving_params.signed_by(&serving_key, &issuer)?;

    let service_account_key = KeyPair::generate()?;
    Ok(Material {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().to_vec(),
        serving_cert_pem: serving_cert.pem(),
        serving_key_pem: serving_key.serialize_pem(),
        service_account_key_pem: service_account_key.serialize_pem(),
        service_account_public_pem: service_account_key.public_key_pem(),
    })
}
