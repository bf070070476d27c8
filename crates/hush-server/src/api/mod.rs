//! Routing, shared extractors and request logging.

mod compat;
mod dashboard;
pub mod surface;
mod v1;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ErrorCode, ServiceError};
use crate::service::model::WriterStatus;
use crate::AppState;

/// The whole application: every surface's routes behind the shared layers
/// (outermost first: the surface's declaration, rate limit, audit with the
/// request timeout), unknown paths answered by the surface owning their
/// prefix, and the unaudited probes.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    let (native, openapi) = OpenApiRouter::with_openapi(v1::doc::ApiDoc::openapi())
        .nest("/v1", v1::routes())
        .merge(compat::dotenv::routes())
        .merge(compat::hepgg_dashboard::routes())
        .split_for_parts();
    let spec: Arc<str> = openapi.to_pretty_json().unwrap_or_default().into();
    let surfaces = native
        .merge(compat::routes())
        .merge(dashboard::routes().layer(middleware::map_response(page_headers)))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::audit::record,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::limit,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            surface::classify,
        ));
    let app = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route(
            "/v1/openapi.json",
            get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    spec.to_string(),
                )
            }),
        )
        .merge(surfaces)
        .merge(dashboard::static_routes().layer(middleware::map_response(page_headers)))
        .fallback(surface::fallback)
        .layer(middleware::map_response_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(log_request));
    // Vault's LIST method becomes GET ?list=true before routing.
    Router::new().fallback_service(tower::ServiceExt::map_request(
        app,
        compat::vaultkv::rewrite_list,
    ))
}

/// The dashboard's page headers (see `dashboard::page_headers`).
async fn page_headers(mut response: Response) -> Response {
    dashboard::page_headers(response.headers_mut());
    response
}

/// Headers on every answer: nothing here may be cached (responses carry
/// values and tokens), sniffed into another content type, or, over HTTPS,
/// fetched over plain HTTP later.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    mut response: Response,
) -> Response {
    use axum::http::{header, HeaderValue};
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if state.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Liveness; `ts` (unix ms) is what vault-env's `GET /health` adds.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "ts": crate::now_ms() }))
}

/// Readiness: reads answer and writes commit (the writer's last batch,
/// or a tiny probe write when that is old or failed), each within a
/// second, so an outage or a full disk shows here at once.
async fn ready(state: axum::extract::State<Arc<AppState>>) -> Response {
    let store = &state.services.store;
    let wait = Duration::from_secs(1);
    let reads = tokio::time::timeout(wait, store.ping()).await;
    let writes = tokio::time::timeout(wait, store.writer_status(false)).await;
    let problem = match (reads, writes) {
        (Ok(Ok(())), Ok(WriterStatus::Healthy)) => None,
        (Err(_), _) | (_, Err(_)) => Some("the database did not answer within a second".to_owned()),
        (Ok(Err(err)), _) => Some(format!("database reads fail: {err}")),
        (_, Ok(WriterStatus::Failing { kind, for_ })) => Some(format!(
            "database writes have failed for {} s: {kind}",
            for_.as_secs()
        )),
    };
    match problem {
        None => Json(json!({ "status": "ready" })).into_response(),
        Some(message) => {
            let mut response =
                crate::error::error_response(crate::error::ErrorCode::NotReady, message);
            crate::error::retry_after(&mut response, crate::error::STORAGE_RETRY_AFTER);
            response
        }
    }
}

/// Logs method, route template, surface, status and latency. Never the
/// raw URL: it may carry `?token=`.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<surface::RouteInfo>()
        .and_then(|info| info.route)
        .map_or("<unmatched>", |route| route.path);
    let surface = response
        .extensions()
        .get::<surface::RouteInfo>()
        .map_or("-", |info| info.surface.name());
    tracing::info!(
        %method,
        route,
        surface,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// `?limit=` with the default and bounds of [`crate::service::Page`].
pub fn page_limit(limit: Option<i64>) -> i64 {
    crate::service::Page::new(None, limit).limit
}

/// One page of a list: the items as a JSON array and, when the page is
/// full, `Link: <…>; rel="next"` pointing at the next page (the same
/// request with `cursor` set to the last item's key).
pub struct Paged<T> {
    items: Vec<T>,
    next: Option<axum::http::HeaderValue>,
}

impl<T: serde::Serialize> Paged<T> {
    /// `key` gives the cursor value of an item.
    pub fn new(
        items: Vec<T>,
        limit: i64,
        uri: &axum::http::Uri,
        cursor: &str,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let next = (items.len() as i64 >= limit)
            .then(|| items.last().map(&key))
            .flatten()
            .and_then(|last| next_link(uri, cursor, &last));
        Self { items, next }
    }
}

/// `<path?query with cursor=last>; rel="next"`.
fn next_link(uri: &axum::http::Uri, cursor: &str, last: &str) -> Option<axum::http::HeaderValue> {
    let mut pairs: Vec<String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(cursor))
        .map(str::to_owned)
        .collect();
    let encoded: String = last
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    pairs.push(format!("{cursor}={encoded}"));
    axum::http::HeaderValue::from_str(&format!(
        "<{}?{}>; rel=\"next\"",
        uri.path(),
        pairs.join("&")
    ))
    .ok()
}

impl<T: serde::Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.items).into_response();
        if let Some(link) = self.next {
            response
                .headers_mut()
                .insert(axum::http::header::LINK, link);
        }
        response
    }
}

/// The `X-Hush-Key-Proof` header that writes to an end-to-end-encrypted
/// project carry (see `hush_core::e2ee`).
pub struct KeyProof(pub Option<String>);

/// The header carrying the key proof.
pub const KEY_PROOF_HEADER: &str = "x-hush-key-proof";

impl<S: Send + Sync> FromRequestParts<S> for KeyProof {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(KeyProof(
            parts
                .headers
                .get(KEY_PROOF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
        ))
    }
}

/// A JSON body whose rejections are service errors (so they come in the
/// route's surface shape), a body over the limit naming the limit.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ServiceError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ServiceError::BodyTooLarge {
                    limit: state.max_body_bytes,
                })
            }
            Err(rejection) => Err(rejection.into()),
        }
    }
}

/// The raw body (signed requests are checked over the exact bytes; files
/// are parsed by the handler). Over the limit: 413 naming the limit.
pub struct RawBody(pub axum::body::Bytes);

impl FromRequest<Arc<AppState>> for RawBody {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ServiceError> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ServiceError::BodyTooLarge {
                        limit: state.max_body_bytes,
                    }
                } else {
                    ServiceError::new(crate::error::ErrorCode::InvalidBody, rejection.body_text())
                }
            })
    }
}

/// Query parameters whose rejections use the error envelope.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ServiceError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Params(value))
    }
}

/// Path parameters whose rejections use the error envelope.
pub struct PathArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathArgs<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ServiceError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathArgs(value))
            .map_err(|err| ServiceError::new(ErrorCode::InvalidPath, err.body_text()))
    }
}
