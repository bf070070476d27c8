//! `/metrics` in the Prometheus text format (prometheus-client), served on
//! its own address (`hush serve --metrics-listen`), never on the API's.
//! Labels are surfaces, route templates, methods and statuses only: no
//! path holds a name, a value or a token, so no metric line can.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// One request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    surface: &'static str,
    route: &'static str,
    method: String,
    status: u16,
}

/// A surface's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabel {
    surface: &'static str,
}

/// Everything hush counts for monitoring.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    rate_limited: Family<SurfaceLabel, Counter>,
    login_failures: Counter,
    token_cache_hits: Counter,
    token_cache_misses: Counter,
    write_batches: Counter,
    writes: Counter,
    write_queue: Gauge,
    pool_open: Gauge,
    pool_idle: Gauge,
    /// The store's and caches' counters as last exported (they only grow).
    seen: [AtomicU64; 4],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every hush metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hush");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        let rate_limited = Family::<SurfaceLabel, Counter>::default();
        let m = Self {
            requests,
            latency,
            rate_limited,
            login_failures: Counter::default(),
            token_cache_hits: Counter::default(),
            token_cache_misses: Counter::default(),
            write_batches: Counter::default(),
            writes: Counter::default(),
            write_queue: Gauge::default(),
            pool_open: Gauge::default(),
            pool_idle: Gauge::default(),
            seen: Default::default(),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests answered, by surface, route template, method and status",
            m.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request",
            m.latency.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit",
            m.rate_limited.clone(),
        );
        registry.register(
            "login_failures",
            "Failed or throttled logins",
            m.login_failures.clone(),
        );
        registry.register(
            "token_cache_hits",
            "Token lookups answered from the cache",
            m.token_cache_hits.clone(),
        );
        registry.register(
            "token_cache_misses",
            "Token lookups that read the database",
            m.token_cache_misses.clone(),
        );
        registry.register(
            "write_batches",
            "Group-commit batches run by the writer",
            m.write_batches.clone(),
        );
        registry.register(
            "writes",
            "Writes (audit entries included) those batches held",
            m.writes.clone(),
        );
        registry.register(
            "write_queue",
            "Writes waiting for the writer",
            m.write_queue.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Read connections open (PostgreSQL)",
            m.pool_open.clone(),
        );
        registry.register(
            "db_pool_idle",
            "Read connections idle (PostgreSQL)",
            m.pool_idle.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts an answered request.
    pub fn request(
        &self,
        surface: &'static str,
        route: &'static str,
        method: &str,
        status: u16,
        took: Duration,
    ) {
        let labels = RequestLabels {
            surface,
            route,
            method: method.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts a rate-limit refusal.
    pub fn rate_limited(&self, surface: &'static str) {
        self.rate_limited
            .get_or_create(&SurfaceLabel { surface })
            .inc();
    }

    /// Counts a failed or throttled login.
    pub fn login_failed(&self) {
        self.login_failures.inc();
    }

    /// The text exposition, with the store's and caches' figures as of
    /// now.
    pub fn render(&self, services: &crate::service::Services) -> String {
        let stats = services.store.stats();
        let (hits, misses) = services.token_cache_stats();
        for (counter, seen, now) in [
            (&self.write_batches, &self.seen[0], stats.write_batches),
            (&self.writes, &self.seen[1], stats.writes),
            (&self.token_cache_hits, &self.seen[2], hits),
            (&self.token_cache_misses, &self.seen[3], misses),
        ] {
            let before = seen.swap(now, Ordering::Relaxed);
            counter.inc_by(now.saturating_sub(before));
        }
        self.write_queue.set(stats.write_queue as i64);
        self.pool_open.set(stats.pool_open as i64);
        self.pool_idle.set(stats.pool_idle as i64);
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Serves `GET /metrics` on its own address until `stop` turns true.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<crate::AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(%err, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

async fn scrape(State(app): State<Arc<crate::AppState>>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(&app.services),
    )
}
