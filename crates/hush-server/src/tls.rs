//! HTTPS: the rustls (ring provider) acceptor built from PEM files, reloaded
//! when they change or on SIGHUP (`Reloading`); the
//! accept loop (`listener`) runs the handshake in front of the same router.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Certificate chain and private key files (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot read {what} from {path}: {reason}")]
    Pem {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate/key pair.
    #[error("the TLS certificate and key do not work together: {0}")]
    Config(#[from] rustls::Error),
}

fn pem_error(what: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::Pem {
        what,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Loads the files into an acceptor.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| pem_error("certificate", &files.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_error("certificate", &files.cert, e))?;
    if certs.is_empty() {
        return Err(pem_error(
            "certificate",
            &files.cert,
            "no CERTIFICATE block",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| pem_error("private key", &files.key, e))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The acceptor in use, replaced when the certificate or key file changes
/// (checked every [`RELOAD_CHECK`]) or on SIGHUP, so a renewal never
/// needs a restart. Connections already open keep their session; a file
/// that does not load keeps the previous acceptor, with a warning.
#[derive(Clone)]
pub struct Reloading {
    current: Arc<std::sync::RwLock<TlsAcceptor>>,
}

/// How often the files are looked at for a change.
pub const RELOAD_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

impl Reloading {
    /// Loads the files (an error here stops the start).
    pub fn new(files: &TlsFiles) -> Result<Self, TlsError> {
        Ok(Self {
            current: Arc::new(std::sync::RwLock::new(acceptor(files)?)),
        })
    }

    /// The acceptor for the next connection.
    pub fn current(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Watches the files and SIGHUP until `stop` turns true.
    pub fn spawn_watcher(&self, files: TlsFiles, mut stop: tokio::sync::watch::Receiver<bool>) {
        let this = self.clone();
        // Registered before this returns (and so before the server says
        // it listens): a SIGHUP right after start reloads, where the
        // default action would have stopped the server.
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        tokio::spawn(async move {
            let mut seen = stamp(&files);
            let mut tick = tokio::time::interval(RELOAD_CHECK);
            loop {
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<Option<()>>();
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return,
                    _ = tick.tick() => {
                        let now = stamp(&files);
                        if now == seen {
                            continue;
                        }
                        seen = now;
                    }
                    _ = hup => {}
                }
                this.reload(&files);
            }
        });
    }

    fn reload(&self, files: &TlsFiles) {
        match acceptor(files) {
            Ok(fresh) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
                tracing::info!(cert = %files.cert.display(), "reloaded the TLS certificate");
            }
            Err(err) => {
                tracing::warn!(%err, "the TLS files did not load; still serving the previous certificate");
            }
        }
    }
}

/// What tells a file changed: modification times and lengths.
fn stamp(files: &TlsFiles) -> Vec<Option<(std::time::SystemTime, u64)>> {
    [&files.cert, &files.key]
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}
