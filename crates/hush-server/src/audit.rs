//! Auditing every API request, durably, with group commit.
//!
//! The `record` middleware wraps every `/v1` and compatibility route. It
//! hands the request an [`AuditSlot`] holding what the request is (action,
//! resource, client), which authentication and the services complete with
//! who it was and which organization and project it concerned. When the
//! request changes something, the service commits the slot's entry in the
//! same transaction as the change ([`AuditSlot::commit`]), so an
//! acknowledged write always has its entry. Otherwise the middleware
//! queues the entry after the handler ran and waits until the store's
//! writer has committed it before answering: one durable commit per batch
//! of requests, not per request (see DESIGN.md, "Performance notes"). If
//! the entry cannot be stored, the client gets 503 instead of the
//! response: nothing is served unaudited.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hush_store::{AuditEntry, Author};

use crate::api::surface::RouteInfo;
use crate::error::{ErrorCode, ServiceError};
use crate::AppState;

/// What the request's handling learned about who and what it concerned.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<AuditInfo>>);

#[derive(Debug, Default)]
struct AuditInfo {
    actor: Option<String>,
    org_id: Option<String>,
    project_id: Option<String>,
    action: String,
    resource: String,
    ip: String,
    user_agent: String,
    /// The entry was committed with the request's write.
    committed: bool,
    /// The entry's time, when a handler showed it to the caller.
    at: Option<i64>,
}

impl AuditInfo {
    fn entry(&self, status: StatusCode) -> AuditEntry {
        AuditEntry {
            at: self.at.unwrap_or_else(crate::now_ms),
            org_id: self.org_id.clone(),
            project_id: self.project_id.clone(),
            actor: self.actor.clone().unwrap_or_else(|| "anonymous".to_owned()),
            action: self.action.clone(),
            resource: self.resource.clone(),
            result: match status.as_u16() {
                0..=399 => "ok",
                401 | 403 | 404 | 429 => "denied",
                _ => "error",
            }
            .to_owned(),
            status: i64::from(status.as_u16()),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            count: 1,
        }
    }
}

impl AuditSlot {
    fn with<T>(&self, f: impl FnOnce(&mut AuditInfo) -> T) -> T {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Records the authenticated caller.
    pub fn identify(&self, actor: String, org_id: &str, project_id: Option<&str>) {
        self.with(|info| {
            info.actor = Some(actor);
            info.org_id = Some(org_id.to_owned());
            if project_id.is_some() {
                info.project_id = project_id.map(str::to_owned);
            }
        });
    }

    /// Attributes the entry to an organization without an actor (a
    /// refused login names the organization it tried).
    pub fn org(&self, org_id: &str) {
        self.with(|info| info.org_id = Some(org_id.to_owned()));
    }

    /// The time the entry records, fixed now: for a handler that tells
    /// the caller when it happened (Hooklistener's `decrypted_at`).
    pub fn at(&self) -> i64 {
        self.with(|info| *info.at.get_or_insert_with(crate::now_ms))
    }

    /// Records the project the request concerned.
    pub fn project(&self, project_id: &str) {
        self.with(|info| info.project_id = Some(project_id.to_owned()));
    }

    /// Names what the handler actually did when it is more than its
    /// route's declared action says (a read that revealed values is
    /// `secret.decrypt`, not `secret.read`).
    pub fn action(&self, action: &'static str) {
        self.with(|info| info.action = action.to_owned());
    }

    /// Runs a change made by `actor` with this request's entry attached
    /// (as it reads when the request succeeds), so the store commits both
    /// together; once the change is acknowledged the middleware does not
    /// record the request a second time.
    pub async fn commit<T, E, F, Fut>(
        slot: Option<&AuditSlot>,
        actor: String,
        change: F,
    ) -> Result<T, E>
    where
        F: FnOnce(Author) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let entry = slot.map(|slot| {
            slot.with(|info| {
                info.actor.get_or_insert_with(|| actor.clone());
                info.entry(StatusCode::OK)
            })
        });
        let outcome = change(Author::audited(actor, entry)).await;
        if let (Ok(_), Some(slot)) = (&outcome, slot) {
            slot.with(|info| info.committed = true);
        }
        outcome
    }

    /// The entry to record once the answer is known; `None` when the
    /// request's write already committed it.
    fn finish(&self, status: StatusCode) -> Option<AuditEntry> {
        self.with(|info| {
            (!(info.committed && status == StatusCode::OK)).then(|| info.entry(status))
        })
    }
}

/// The middleware: every declared route (inside the surface layer, whose
/// [`RouteInfo`] names the action), with the request timeout applied here
/// so that a request cut short is audited (and answered in its surface's
/// shape) like any other.
pub async fn record(
    State(app): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let info = request
        .extensions()
        .get::<RouteInfo>()
        .copied()
        .unwrap_or(RouteInfo {
            surface: crate::api::surface::Surface::Native,
            route: None,
        });
    // Nested routers see their path without the prefix; log the full one.
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |original| original.0.clone());
    let slot = AuditSlot::for_request(&request, &uri, info.action());
    request.extensions_mut().insert(slot.clone());
    let (started, method) = (std::time::Instant::now(), request.method().clone());
    let response = match tokio::time::timeout(app.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            slot.action("request.timeout");
            ServiceError::Timeout {
                seconds: app.request_timeout.as_secs(),
            }
            .into_response()
        }
    };

    let status = response.status();
    app.metrics.request(
        info.surface.name(),
        info.route.map_or("(method not allowed)", |r| r.path),
        method.as_str(),
        status.as_u16(),
        started.elapsed(),
    );
    if slot.with(|info| info.org_id.is_none()) && status.as_u16() >= 400 {
        // A refused request still belongs to the organization its path
        // names, so that organization's admins see the attempt.
        if let Some(slug) = uri
            .path()
            .strip_prefix("/v1/orgs/")
            .and_then(|rest| rest.split('/').next())
        {
            if let Some(org_id) = app.services.projects().org_id(slug).await {
                slot.org(&org_id);
            }
        }
    }
    let Some(entry) = slot.finish(status) else {
        return response;
    };
    if let Some(summaries) = &app.pull_summaries {
        if entry.action == PULL_ACTION && status == StatusCode::OK {
            summaries.add(entry);
            return response;
        }
    }
    commit_or_refuse(&app, entry, response).await
}

/// Answers `response` once `entry` is committed, or 503 (in the route's
/// surface shape, by the layer outside) if it cannot be.
async fn commit_or_refuse(app: &AppState, entry: AuditEntry, response: Response) -> Response {
    match app.services.store.append_audit(&[entry]).await {
        Ok(_) => response,
        Err(err) => {
            tracing::debug!(error = %err, "cannot write the audit log");
            ServiceError::new(
                ErrorCode::AuditUnavailable,
                "the request could not be recorded in the audit log, so it was not answered",
            )
            .into_response()
        }
    }
}

/// The entry of a request that matched no route (a probe for what
/// exists): `route.unknown`.
pub fn unrouted(request: &Request, status: StatusCode) -> Option<AuditEntry> {
    AuditSlot::for_request(request, request.uri(), "route.unknown").finish(status)
}

impl AuditSlot {
    /// A slot for a request: its action, resource and client.
    fn for_request(request: &Request, uri: &axum::http::Uri, action: &str) -> Self {
        let query = Query::of(uri.query());
        AuditSlot(Arc::new(Mutex::new(AuditInfo {
            action: action.to_owned(),
            resource: query.resource(uri.path()),
            ip: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default(),
            user_agent: request
                .headers()
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .chars()
                .take(256)
                .collect(),
            ..AuditInfo::default()
        })))
    }
}

/// The action of a successful pull, the one request operators may choose
/// to record as summaries.
const PULL_ACTION: &str = "secret.pull";

/// Successful pulls recorded as one entry per caller, environment and
/// client per interval, with a count, instead of one entry per pull (the
/// operator's choice: `--audit-pull-interval`). A busy service pulling on
/// every start otherwise writes hundreds of bytes per pull. The count is
/// committed when the interval ends, so a crash can lose up to one
/// interval of pull counts; everything else is still recorded per request
/// and before it is answered.
pub struct PullSummaries {
    interval: std::time::Duration,
    pending: Mutex<std::collections::HashMap<SummaryKey, AuditEntry>>,
}

/// Who pulled what from where.
type SummaryKey = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

impl PullSummaries {
    /// Summaries over `interval`.
    pub fn new(interval: std::time::Duration) -> Arc<Self> {
        Arc::new(Self {
            interval,
            pending: Mutex::new(std::collections::HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<SummaryKey, AuditEntry>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn add(&self, entry: AuditEntry) {
        let key = (
            entry.actor.clone(),
            entry.org_id.clone(),
            entry.project_id.clone(),
            entry.resource.clone(),
            entry.ip.clone(),
            entry.user_agent.clone(),
        );
        self.lock()
            .entry(key)
            .and_modify(|summary| summary.count += 1)
            .or_insert(entry);
    }

    /// Appends the pending summaries; on failure they stay pending for the
    /// next attempt.
    pub async fn flush(&self, store: &hush_store::Store) {
        let pending: Vec<(SummaryKey, AuditEntry)> = self.lock().drain().collect();
        if pending.is_empty() {
            return;
        }
        let entries: Vec<AuditEntry> = pending.iter().map(|(_, e)| e.clone()).collect();
        if store.append_audit(&entries).await.is_err() {
            let mut map = self.lock();
            for (key, entry) in pending {
                map.entry(key)
                    .and_modify(|newer| {
                        newer.count += entry.count;
                        newer.at = entry.at;
                    })
                    .or_insert(entry);
            }
        }
    }

    /// Flushes every interval until `stop` turns true, then once more.
    pub fn spawn_flusher(
        self: Arc<Self>,
        store: Arc<hush_store::Store>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while !*stop.borrow() {
                tokio::select! {
                    _ = tokio::time::sleep(self.interval) => self.flush(&store).await,
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
            self.flush(&store).await;
        })
    }
}

/// The query parameters that name a resource or an action. Everything else
/// (notably `?token=`) stays out of the log.
#[derive(Default)]
struct Query {
    env: Option<String>,
    target: Option<String>,
}

impl Query {
    fn of(query: Option<&str>) -> Self {
        let mut out = Query::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = Some(value.chars().take(64).collect::<String>());
            match key {
                "env" => out.env = value,
                "target" => out.target = value,
                _ => {}
            }
        }
        out
    }

    fn resource(&self, path: &str) -> String {
        let mut resource: String = path.chars().take(512).collect();
        let mut sep = '?';
        for (key, value) in [("target", &self.target), ("env", &self.env)] {
            if let Some(value) = value {
                resource.push(sep);
                resource.push_str(key);
                resource.push('=');
                resource.push_str(value);
                sep = '&';
            }
        }
        resource
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_keep_the_scope_and_drop_tokens() {
        let q = Query::of(Some(
            "token=hsk_secret&env=production&reveal=plain&target=api",
        ));
        assert_eq!(
            q.resource("/api/v1/secrets/pull"),
            "/api/v1/secrets/pull?target=api&env=production"
        );
        assert!(!q.resource("/x").contains("hsk_"));
    }
}
