//! Rate limiting per token and per client IP: token buckets in memory.
//!
//! Each key (a token's hash, or an IP address) has a bucket that refills at
//! `per_second` up to `burst`; a request takes one unit or is refused with
//! 429 and `Retry-After` (whole seconds until a unit is back). Limits are
//! per replica. Denials pass through the audit middleware like any other
//! answer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ServiceError;
use crate::AppState;

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after idling.
    pub burst: f64,
}

impl Rate {
    /// `per_second` sustained with a burst of twice that; `None` for 0 (off).
    pub fn per_second(per_second: u32) -> Option<Self> {
        (per_second > 0).then(|| Rate {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
        })
    }
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateLimits {
    /// Per API or pull token.
    pub per_token: Option<Rate>,
    /// Per client IP address.
    pub per_ip: Option<Rate>,
}

impl RateLimits {
    /// 100 req/s per token, 200 req/s per IP (bursts of twice that).
    pub fn defaults() -> Self {
        Self {
            per_token: Rate::per_second(100),
            per_ip: Rate::per_second(200),
        }
    }
}

struct Bucket {
    units: f64,
    at: Instant,
}

/// Token buckets by key: the request limiter's, and the services' own
/// throttles (logins, vault-env registrations).
#[derive(Default)]
pub struct Buckets {
    map: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl Buckets {
    /// Takes one unit from `key`'s bucket, or says how many seconds until
    /// one is available.
    pub fn take(&self, key: String, rate: Rate, now: Instant) -> Result<(), u64> {
        let mut buckets = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| {
                b.units + now.duration_since(b.at).as_secs_f64() * rate.per_second < rate.burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            units: rate.burst,
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * rate.per_second;
        bucket.units = (bucket.units + refilled).min(rate.burst);
        bucket.at = now;
        if bucket.units >= 1.0 {
            bucket.units -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.units) / rate.per_second).ceil().max(1.0) as u64)
        }
    }
}

impl Buckets {
    /// Gives back a unit taken from `key` (a login that succeeded should
    /// not count against its account).
    pub fn refund(&self, key: &str, rate: Rate) {
        let mut buckets = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.units = (bucket.units + 1.0).min(rate.burst);
        }
    }
}

/// The per-token and per-IP request limits.
pub struct Limiter {
    limits: RateLimits,
    buckets: Buckets,
}

impl Limiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Buckets::default(),
        }
    }

    fn take(&self, key: String, rate: Rate, now: Instant) -> Result<(), u64> {
        self.buckets.take(key, rate, now)
    }

    /// Checks the request's IP and token.
    pub fn check(&self, ip: Option<&str>, token: Option<&str>) -> Result<(), u64> {
        let now = Instant::now();
        if let (Some(rate), Some(ip)) = (self.limits.per_ip, ip) {
            self.take(format!("ip:{ip}"), rate, now)?;
        }
        if let (Some(rate), Some(token)) = (self.limits.per_token, token) {
            self.take(
                format!("token:{}", hush_core::token::hash(token)),
                rate,
                now,
            )?;
        }
        Ok(())
    }
}

/// The middleware.
pub async fn limit(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let token = crate::auth::bearer(request.headers())
        .map(str::to_owned)
        .or_else(|| query_token(request.uri().query()));
    match app.limiter.check(ip.as_deref(), token.as_deref()) {
        Ok(()) => next.run(request).await,
        // Rendered as a ServiceError: the surface layer outside gives it
        // the shape of the route's surface (with Retry-After).
        Err(retry_after) => {
            let surface = request
                .extensions()
                .get::<crate::api::surface::RouteInfo>()
                .map_or("none", |info| info.surface.name());
            app.metrics.rate_limited(surface);
            ServiceError::RateLimited { retry_after }.into_response()
        }
    }
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_refill_at_the_rate() {
        let limiter = Limiter::new(RateLimits::default());
        let rate = Rate {
            per_second: 2.0,
            burst: 2.0,
        };
        let t0 = Instant::now();
        assert!(limiter.take("k".into(), rate, t0).is_ok());
        assert!(limiter.take("k".into(), rate, t0).is_ok());
        assert_eq!(limiter.take("k".into(), rate, t0), Err(1));
        assert!(limiter.take("other".into(), rate, t0).is_ok());
        assert!(limiter
            .take("k".into(), rate, t0 + Duration::from_millis(600))
            .is_ok());
        assert!(limiter
            .take("k".into(), rate, t0 + Duration::from_millis(600))
            .is_err());
        assert_eq!(query_token(Some("env=x&token=hsk_1")), Some("hsk_1".into()));
    }
}
