//! The OpenAPI document's frame: title, the bearer security scheme, and the
//! error responses every endpoint shares. The paths come from the
//! `#[utoipa::path]` annotation on each handler, registered together with
//! its route (`utoipa_axum::routes!`), so the document cannot list a route
//! that does not exist or miss one that does.

use std::collections::BTreeMap;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Declares a unit struct whose OpenAPI responses are the given statuses,
/// each a JSON body of `schema`: the errors of one surface's routes, in its
/// own error shape.
macro_rules! surface_errors {
    ($(#[$doc:meta])* $name:ident, $schema:literal, [$(($status:literal, $what:literal)),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                $crate::api::v1::doc::error_responses($schema, &[$(($status, $what)),*])
            }
        }
    };
}
pub(crate) use surface_errors;

/// The document before the paths are added.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hush API",
        description = "Secrets organized as organization → project → (target) → environment. \
            Authenticate with `Authorization: Bearer <token>`. The native API (`/v1/…`) answers \
            errors as `{\"error\":{\"code\",\"message\"}}`; DotEnv's (`/api/v1/{organization}/…`, \
            tag DotEnv) as `{\"error\": code, \"message\"}`. Both use stable codes."
    ),
    components(schemas(
        hush_proto::ErrorBody,
        hush_proto::ErrorDetail,
        crate::api::compat::dotenv::DotenvError,
        crate::api::compat::hepgg_dashboard::HepGgError
    )),
    tags((name = "DotEnv", description = "DotEnv's secrets API (levels project → target → environment). \
        Wire ciphertext: AES-256-GCM, `base64(IV(12) ‖ ciphertext ‖ tag(16))`, standard base64, no \
        associated data. A server-managed project's exchange key (action `key:retrieve`) is \
        `HKDF-SHA256(IKM = the project's data key, salt = \"hush-dotenv-exchange-v1\", info = the \
        project's id)`: reads without `decrypt` seal each value under it, and `store` takes a `.env` \
        text sealed under it. A client-managed project (encryption_mode client) holds one opaque blob \
        per level; its writes carry `key_proof` = hex `PBKDF2-HMAC-SHA256(the client's raw 32-byte \
        key, salt, iterations, 32 bytes)`, with the salt and iterations its key verification records \
        (`POST …/secrets/key-verification`: salt ≥ 16 bytes base64, iterations 100,000–10,000,000). \
        Test vectors: README, \"The DotEnv API\"."),
        (name = "Hep.gg dashboard", description = "Hep.gg's dashboard API. Browsers sign in at \
        `POST /api/v1/secrets/session` and send the `hush_session` cookie; every cookie request that \
        changes state must echo the session's CSRF token in `X-CSRF-Token` and come from this server's \
        origin (`Origin`, else `Sec-Fetch-Site: same-origin`). Scripts send `Authorization: Bearer` \
        instead. Answers are `{\"ok\":true,\"data\"}`, errors `{\"ok\":false,\"error\",\"message\"}`.")),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new("hush_session"),
            )),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("hush_… (API or session) or hsk_… (pull)")
                    .build(),
            ),
        );
    }
}

surface_errors!(
    /// The error answers any endpoint may give, all in the one envelope.
    Errors,
    "ErrorBody",
    [
        ("400", "Malformed JSON, query or path (invalid_json, invalid_query, …)"),
        ("401", "Token missing, invalid, revoked or expired"),
        ("403", "The token lacks a scope (insufficient_scope) or is a pull token"),
        ("404", "Not found, or outside the token's reach"),
        ("409", "Already exists, or changed since expected_version"),
        ("413", "Body larger than the server's limit"),
        ("422", "Invalid name, value or setting"),
        ("429", "Rate limited; retry after Retry-After seconds"),
    ]
);

/// Error responses by status, each a JSON body of the schema `schema`
/// (each surface documents its own error shape).
pub fn error_responses(schema: &str, rows: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    rows.iter()
        .map(|(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/json", content)
                .build();
            ((*status).to_owned(), RefOr::T(response))
        })
        .collect()
}
