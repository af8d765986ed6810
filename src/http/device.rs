//! The known-device cookie (OWASP Authentication Cheat Sheet, "device cookies"): a
//! random value set after a successful sign-in, stored only as its SHA-256 with the
//! user it vouches for. Its holder is exempt from that account's lockout (its own
//! failures count on the device instead), never from the per-address limit.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use tower_sessions::cookie::{Cookie, SameSite};

use super::error::PageError;
use super::state::AppState;
use crate::domain::{random_token, TokenHash};

const DEVICE_COOKIE: &str = "tessera_device";

/// The device cookie's value, if the browser sent one.
#[must_use]
pub fn device_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == DEVICE_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The SHA-256 the store keys a device by.
#[must_use]
pub fn device_hash(value: &str) -> String {
    TokenHash::of(value).as_str().to_owned()
}

/// Makes this browser a known device of `user_id` (keeping its cookie if it has one,
/// so a browser shared by several people vouches for each) and sets the cookie on
/// `response`. A device already known for a while longer is left as it is: most
/// sign-ins then cost no write here. `known_until` is what the sign-in's throttle check
/// read for this cookie and user, so the row is not read twice.
///
/// # Errors
/// When the store fails.
pub async fn remember(
    state: &AppState,
    current: Option<String>,
    known_until: Option<i64>,
    user_id: &str,
    mut response: Response,
) -> Result<Response, PageError> {
    let ttl = state.config.throttle.device_ttl;
    let now = state.now();
    // Known for at least half its lifetime more: no write.
    if current.is_some() && known_until.is_some_and(|until| until > now.saturating_add(ttl / 2)) {
        return Ok(response);
    }
    let value = current.unwrap_or_else(random_token);
    state
        .store
        .remember_device(&device_hash(&value), user_id, now, now.saturating_add(ttl))
        .await?;
    // Sent to the sign-in pages only; the session cookie's security settings apply.
    let cookie = Cookie::build((DEVICE_COOKIE, value))
        .path("/login")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(ttl))
        .build();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
