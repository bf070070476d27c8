//! The OpenAPI document's frame: title, the bearer security scheme, and the
//! error responses every endpoint shares. The paths come from the
//! `#[utoipa::path]` annotation on each handler, registered together with
//! its route (`utoipa_axum::routes!`), so the document cannot list a route
//! that does not exist or miss one that does.

use std::collections::BTreeMap;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// The document before the paths are added.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hush native API",
        description = "Secrets organized as organization → project → (target) → environment. \
            Authenticate with `Authorization: Bearer <token>`. Errors are \
            `{\"error\":{\"code\",\"message\"}}` with stable codes."
    ),
    components(schemas(hush_proto::ErrorBody, hush_proto::ErrorDetail)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
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

/// The error answers any endpoint may give, all in the one envelope.
pub struct Errors;

impl utoipa::IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            (
                "400",
                "Malformed JSON, query or path (invalid_json, invalid_query, …)",
            ),
            ("401", "Token missing, invalid, revoked or expired"),
            (
                "403",
                "The token lacks a scope (insufficient_scope) or is a pull token",
            ),
            ("404", "Not found, or outside the token's reach"),
            ("409", "Already exists, or changed since expected_version"),
            ("413", "Body larger than the server's limit"),
            ("422", "Invalid name, value or setting"),
            ("429", "Rate limited; retry after Retry-After seconds"),
        ]
        .into_iter()
        .map(|(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            (status.to_owned(), RefOr::T(response))
        })
        .collect()
    }
}
