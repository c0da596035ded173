//! REST over TLS as `discord.com`, on `127.x.y.z:443`, with a certificate from a test CA
//! (`fakecord/tls/`, valid until 2126). serenity's rate limiter sends every request to
//! `https://discord.com` whatever proxy is set; a client that resolves `discord.com` to this
//! address and trusts [`CA_PEM`] reaches the fake with the limiter on, as in production.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The CA that signed the fake's `discord.com` certificate (PEM): give it to the client.
pub const CA_PEM: &str = include_str!("../tls/ca.pem");
const LEAF_DER: &[u8] = include_bytes!("../tls/leaf.der");
const CA_DER: &[u8] = include_bytes!("../tls/ca.der");
const LEAF_KEY_DER: &[u8] = include_bytes!("../tls/leaf.key.der");

fn server_config() -> std::io::Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = vec![
        CertificateDer::from(LEAF_DER.to_vec()),
        CertificateDer::from(CA_DER.to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(LEAF_KEY_DER.to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Binds port 443 on a loopback address of its own (127.x.y.z, so that tests in parallel do
/// not collide) and serves `app` over TLS there. Needs the right to bind port 443 (root, or
/// `net.ipv4.ip_unprivileged_port_start`).
pub(crate) async fn serve(app: Router) -> std::io::Result<SocketAddr> {
    let acceptor = TlsAcceptor::from(Arc::new(server_config()?));
    let seed = u64::from(std::process::id()) ^ (app_seed() << 8);
    let mut last_err = None;
    for attempt in 0..64u64 {
        let n = seed.wrapping_add(attempt.wrapping_mul(7919));
        let ip = Ipv4Addr::new(
            127,
            1 + (n % 250) as u8,
            ((n >> 8) % 256) as u8,
            1 + ((n >> 16) % 250) as u8,
        );
        match TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), 443)).await {
            Ok(listener) => {
                let addr = listener.local_addr()?;
                tokio::spawn(accept_loop(listener, acceptor, app));
                return Ok(addr);
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Err(e),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no loopback address free")))
}

/// Some variation between servers started by one process.
fn app_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(131) ^ t
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, app: Router) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // As on the plain listener: no Nagle delay on small writes.
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = TowerToHyperService::new(app);
            if let Err(e) = Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!("fakecord: TLS connection ended: {e}");
            }
        });
    }
}
