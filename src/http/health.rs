//! Liveness and readiness for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;

use super::state::AppState;

/// The process is up.
pub async fn get_healthz() -> &'static str {
    "ok"
}

/// The node can serve: the database takes a write (a full disk, a missing schema or a
/// deleted SQLite file all answer a plain `SELECT 1`, so that is not asked).
pub async fn get_readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.check_ready(state.now()).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
