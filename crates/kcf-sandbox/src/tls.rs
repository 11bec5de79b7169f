//! HTTPS for the emulators, for third-party clients that only speak HTTPS (the PyPI
//! `bigcommerce` client builds `https://{host}/…` URLs). The certificate is a self-signed test
//! certificate for `127.0.0.1` and `localhost`, shipped with the sandbox: trust it in the client
//! (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`, …). It protects nothing; never use it outside
//! the sandbox.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

/// The sandbox's test certificate (PEM), to give to clients as a trusted CA.
pub const CERT_PEM: &str = include_str!("tls/sandbox-cert.pem");
const KEY_PEM: &str = include_str!("tls/sandbox-key.pem");

/// A TCP listener that completes a TLS handshake before handing a connection to the server.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Wraps `tcp` with the sandbox certificate.
    pub fn new(tcp: TcpListener) -> io::Result<Self> {
        crate::install_crypto_provider();
        let certs = CertificateDer::pem_slice_iter(CERT_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(io::Error::other)?;
        let key = PrivateKeyDer::from_pem_slice(KEY_PEM.as_bytes()).map_err(io::Error::other)?;
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(io::Error::other)?;
        Ok(Self {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: back off, as axum's own loop does.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            // A client that never finishes its handshake must not hold up the others for long.
            match tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                _ => continue,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
