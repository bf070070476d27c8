//! Browser sessions, shared by the Hep.gg dashboard API and the web
//! dashboard: the session cookie, its CSRF token, and the same-origin
//! check every cookie-authenticated change must pass.
//!
//! The cookie (`hush_session`) holds an ordinary login session token:
//! `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` when hush serves TLS.
//! The CSRF token is derived from it (`hex(HMAC-SHA256(session,
//! "hush-csrf-v1"))`), so nothing more is stored and it is useless
//! without the session. A change must also come from this server's
//! own pages: `Origin`, or (as browsers send `Origin: null` from pages
//! with `Referrer-Policy: no-referrer`) `Sec-Fetch-Site: same-origin`.

use axum::http::{header, HeaderMap, HeaderValue};

use super::{authenticate, Principal};
use crate::error::{ErrorCode, ServiceError};
use crate::AppState;

/// How long a browser session may sit unused before it ends: a
/// dashboard left open on a shared screen signs itself out. Uses are
/// recorded at most once a minute, so the end comes within a minute
/// after this.
pub const IDLE_MS: i64 = 30 * 60 * 1000;

/// The session cookie's name.
pub const COOKIE: &str = "hush_session";

/// The CSRF token of a session.
pub fn csrf_token(session: &str) -> String {
    hush_core::crypto::kdf::hmac_sha256(session.as_bytes(), b"hush-csrf-v1")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The login session a cookie holds. One idle for longer than
/// [`IDLE_MS`] is ended (revoked) and refused with 401 `session_idle`;
/// an API token placed in the cookie is refused.
pub async fn cookie_session(app: &AppState, session: &str) -> Result<Principal, ServiceError> {
    let who = authenticate(app, session).await?;
    if !who.is_session() {
        return Err(ServiceError::new(
            ErrorCode::InvalidToken,
            "the session cookie does not hold a login session",
        ));
    }
    // A session never used since sign-in has been idle since then.
    let last = who.token.last_used_at.unwrap_or(who.token.created_at);
    let idle = crate::now_ms() - last > IDLE_MS;
    if idle {
        app.services.users().logout(&who).await?;
        return Err(ServiceError::new(
            ErrorCode::SessionIdle,
            "signed out after 30 minutes without use; sign in again",
        ));
    }
    Ok(who)
}

/// `Set-Cookie` for a session (`max_age` 0 and an empty value clear it).
pub fn set_cookie(value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("hush_session=; Max-Age=0"))
}

fn refused(why: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::CsrfRejected,
        format!("refused as a possible cross-site request: {why}"),
    )
}

/// A cookie-authenticated change must carry the session's CSRF token
/// (`sent`: a header or a form field) and come from this server's own
/// origin (`Origin`, else `Sec-Fetch-Site: same-origin`).
pub fn check_change(
    headers: &HeaderMap,
    session: &str,
    sent: Option<&str>,
    https: bool,
) -> Result<(), ServiceError> {
    let sent = sent.ok_or_else(|| refused("no CSRF token"))?;
    let expected = csrf_token(session);
    if !hush_core::secret::constant_time_eq(sent.trim().as_bytes(), expected.as_bytes()) {
        return Err(refused("the CSRF token does not match the session"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let own = format!("{}://{host}", if https { "https" } else { "http" });
    // Pages are sent with `Referrer-Policy: no-referrer`, under which
    // browsers post forms with `Origin: null`; they then say
    // `Sec-Fetch-Site: same-origin` for this server's own pages.
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) if origin.eq_ignore_ascii_case(&own) => Ok(()),
        Some(origin) if origin != "null" => Err(refused(&format!(
            "it comes from {origin}, not from this server ({own})"
        ))),
        _ => match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin") => Ok(()),
            _ => Err(refused("no Origin header from this server")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn cookies_tokens_and_origins() {
        let h = headers(&[("cookie", "a=1; hush_session=hush_abc ; b=2")]);
        assert_eq!(session_cookie(&h), Some("hush_abc"));
        assert_eq!(
            session_cookie(&headers(&[("cookie", "hush_session=")])),
            None
        );
        let token = csrf_token("hush_abc");
        assert_eq!(token.len(), 64);
        let same = headers(&[("host", "h:1"), ("origin", "http://h:1")]);
        assert!(check_change(&same, "hush_abc", Some(&token), false).is_ok());
        assert!(check_change(&same, "hush_abc", Some(&token), true).is_err());
        assert!(check_change(&same, "hush_abc", None, false).is_err());
        assert!(check_change(&same, "hush_other", Some(&token), false).is_err());
        let fetch = headers(&[("host", "h:1"), ("sec-fetch-site", "same-origin")]);
        assert!(check_change(&fetch, "hush_abc", Some(&token), false).is_ok());
        let null = headers(&[
            ("host", "h:1"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(check_change(&null, "hush_abc", Some(&token), false).is_ok());
        let null_cross = headers(&[
            ("host", "h:1"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(check_change(&null_cross, "hush_abc", Some(&token), false).is_err());
        let bare = headers(&[("host", "h:1")]);
        assert!(check_change(&bare, "hush_abc", Some(&token), false).is_err());
        let cookie = set_cookie("v", 10, true);
        assert_eq!(
            cookie.to_str().unwrap(),
            "hush_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=10; Secure"
        );
    }
}
