//! Running the router on a listener.

use std::future::Future;
use std::io;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until the listener fails. The caller binds the listener,
/// so it decides the address (loopback, [`DEFAULT_ADMIN_ADDR`](crate::DEFAULT_ADMIN_ADDR),
/// unless configured otherwise).
pub async fn serve_admin(listener: TcpListener, router: Router) -> io::Result<()> {
    axum::serve(listener, router).await
}

/// Like [`serve_admin`], stopping gracefully (in-flight requests finish) once `shutdown`
/// completes.
pub async fn serve_admin_with_shutdown<F>(
    listener: TcpListener,
    router: Router,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
