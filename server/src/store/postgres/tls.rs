//! TLS to PostgreSQL, as the URL's `sslmode` asks (`disable`, `prefer`, the default, or
//! `require`). Certificates are always verified, against the system's roots and the
//! `--pg-ca-file` bundle: unlike libpq's `require`, an encrypted connection to a server
//! that cannot prove who it is is refused, not trusted.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::{StoreError, StoreResult};

pub(super) fn connector(ca_file: Option<&Path>) -> StoreResult<MakeRustlsConnect> {
    let mut roots = RootCertStore::empty();
    // A machine without a readable system store still connects to a server whose CA
    // is given with --pg-ca-file (or without TLS).
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let bad = |reason: String| StoreError::BadUrl(format!("--pg-ca-file {}: {reason}", path.display()));
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in it".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::BadUrl(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
