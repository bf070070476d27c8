//! Moving secrets in bulk: copy between scopes, import and export files.

use std::sync::Arc;

use crate::service::model::{Reveal, Value};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hush_core::dotenv::{self, EnvMap};
use hush_proto::{CopySecrets, ScopeRef, WriteResult};
use serde::Deserialize;

use super::convert;
use crate::api::{JsonBody, KeyProof, Params, PathArgs, RawBody};
use crate::auth::Principal;
use crate::error::{ErrorCode, ServiceError};
use crate::service::{
    CopyRequest, ReadRequest, ScopeAddress, SecretChange, SecretFilter, SecretValue, WriteGuard,
};
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

fn address(side: &ScopeRef) -> ScopeAddress {
    ScopeAddress {
        target: side.target.clone(),
        env: side.env.clone(),
    }
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/copy",
    summary = "Copy one scope's secrets into another as one version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    request_body = CopySecrets,
    responses((status = 200, body = WriteResult), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn copy(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    KeyProof(proof): KeyProof,
    JsonBody(body): JsonBody<CopySecrets>,
) -> Result<Json<WriteResult>> {
    let (from, to) = (address(&body.from), address(&body.to));
    if from.env == to.env && from.target == to.target {
        return Err(ServiceError::new(
            ErrorCode::SameScope,
            "from and to are the same scope",
        ));
    }
    let request = CopyRequest {
        from,
        to,
        overwrite: body.overwrite.unwrap_or(true),
        expected_version: body.expected_version,
        key_proof: proof,
    };
    let version = app
        .services
        .secrets()
        .copy(&who, &org, &project, request)
        .await?;
    Ok(convert::written(version))
}

/// Query of import and export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// `dotenv` (default), `json`, `yaml`, or `shell` (export only).
    format: Option<String>,
    /// Write only if the scope is still at this version (409 otherwise).
    expected_version: Option<i64>,
}

enum Format {
    Dotenv,
    Json,
    Shell,
    Yaml,
}

fn format(text: Option<&str>) -> Result<Format> {
    match text {
        None | Some("dotenv") | Some("env") => Ok(Format::Dotenv),
        Some("json") => Ok(Format::Json),
        Some("shell") => Ok(Format::Shell),
        Some("yaml") => Ok(Format::Yaml),
        Some(other) => Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            format!("format is dotenv, json, shell or yaml, not {other:?}"),
        )),
    }
}

/// The merged, active plaintext of a scope as a file.
#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/export",
    summary = "The merged, active plaintext of a scope as a .env, JSON or shell file",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), FileQuery),
    responses((status = 200, description = "The file", content_type = "text/plain", body = String), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn export(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<FileQuery>,
) -> Result<Response> {
    let request = ReadRequest {
        exact: false,
        reveal: Reveal::Plaintext,
        include_inactive: false,
        filter: SecretFilter::default(),
    };
    let address = ScopeAddress {
        target: q.target,
        env: q.env,
    };
    let read = app
        .services
        .secrets()
        .read(&who, &org, &project, &address, &request)
        .await?;
    let map: EnvMap = read
        .secrets
        .into_iter()
        .filter_map(|s| match s.value {
            Value::Plain(v) => Some((s.name, v)),
            _ => None,
        })
        .collect();
    let (body, content_type) = match format(q.format.as_deref())? {
        Format::Dotenv => (dotenv::serialize(&map), "text/plain; charset=utf-8"),
        Format::Json => (dotenv::to_json(&map), "application/json"),
        Format::Shell => (dotenv::to_shell(&map), "text/x-shellscript; charset=utf-8"),
        Format::Yaml => (dotenv::to_yaml(&map), "application/yaml; charset=utf-8"),
    };
    Ok(([(CONTENT_TYPE, content_type)], body).into_response())
}

/// Sets every variable of a `.env` or JSON file, as one version.
#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/import",
    summary = "Set every variable of a .env or JSON file as one version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), FileQuery),
    request_body(content = String, content_type = "text/plain", description = ".env or JSON file"),
    responses((status = 200, body = WriteResult), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn import(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<FileQuery>,
    KeyProof(proof): KeyProof,
    RawBody(body): RawBody,
) -> Result<Json<WriteResult>> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ServiceError::new(ErrorCode::InvalidFile, "the file is not UTF-8 text"))?;
    let map: EnvMap = match format(q.format.as_deref())? {
        Format::Dotenv => dotenv::parse(text).map_err(|err| {
            ServiceError::new(
                ErrorCode::InvalidFile,
                format!("not a valid .env file: {err}"),
            )
        })?,
        Format::Json => hush_core::reader::parse_json(text).map_err(|err| {
            ServiceError::new(
                ErrorCode::InvalidFile,
                format!("a JSON import is one object of NAME: value ({err})"),
            )
        })?,
        Format::Yaml => hush_core::reader::parse_yaml(text).map_err(|err| {
            ServiceError::new(
                ErrorCode::InvalidFile,
                format!("a YAML import is a flat mapping of NAME: value ({err})"),
            )
        })?,
        Format::Shell => {
            return Err(ServiceError::new(
                ErrorCode::InvalidQuery,
                "import takes dotenv, json or yaml",
            ))
        }
    };
    let address = ScopeAddress {
        target: q.target,
        env: q.env,
    };
    let version = app
        .services
        .secrets()
        .write(
            &who,
            &org,
            &project,
            &address,
            map.into_iter()
                .map(|(name, value)| SecretChange::Set(SecretValue::new(name, value)))
                .collect(),
            WriteGuard {
                expected_version: q.expected_version,
                key_proof: proof.as_deref(),
            },
        )
        .await?;
    Ok(convert::written(version))
}
