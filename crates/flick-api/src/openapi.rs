//! The OpenAPI 3 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::model::*;
use crate::routes;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Flick API", description = "Short-video platform. Errors are `{code, message}` with stable codes."),
    modifiers(&BearerAuth),
    paths(
        routes::healthz,
        routes::create_account, routes::regions, routes::create_session, routes::delete_session,
        routes::me, routes::update_me, routes::delete_me, routes::analytics,
        routes::profile, routes::user_videos, routes::follow, routes::unfollow,
        routes::upload, routes::get_video, routes::delete_video,
        routes::like, routes::unlike, routes::list_comments, routes::add_comment, routes::delete_comment,
        routes::share, routes::record_view, routes::not_interested,
        routes::following, routes::for_you, routes::why,
        routes::hashtag_videos, routes::sound_videos, routes::search,
        routes::algorithm, routes::refresh_for_you, routes::export,
        routes::checkpoint, routes::verifier_key, routes::entries, routes::inclusion, routes::consistency,
        routes::stats, routes::admin_user_data, routes::log_export,
        routes::report, routes::queue, routes::case, routes::act, routes::notices, routes::appeal,
        routes::block, routes::unblock, routes::mute, routes::unmute, routes::moderation_report,
        routes::list_notes, routes::write_note, routes::rate_note, routes::signed_labels,
        routes::list_filters, routes::add_filter, routes::delete_filter, routes::add_to_blocklist,
        routes::update_video, routes::held_words, routes::set_held_words, routes::held_comments,
        routes::approve_comment,
    ),
    components(schemas(ErrorBody, VideoView, FeedItem))
)]
struct ApiDoc;

pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// Field names that carry protected data: credentials, contact details,
    /// watch history, location, staff-only views of accounts.
    const PROTECTED_FIELDS: &[&str] = &[
        "password",
        "password_hash",
        "token_hash",
        "email",
        "watched_ms",
        "loops",
        "history",
        "ip",
        "ip_address",
        "address",
        "latitude",
        "longitude",
        "location",
        "gps",
        "role",
        "tables",
        "access_log",
        "subject",
        "purpose",
    ];

    fn collect(
        doc: &Value,
        schema: &Value,
        seen: &mut BTreeSet<String>,
        fields: &mut BTreeSet<String>,
    ) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap().to_owned();
            if seen.insert(name.clone()) {
                collect(doc, &doc["components"]["schemas"][&name], seen, fields);
            }
            return;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                fields.insert(k.clone());
                collect(doc, v, seen, fields);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(v) = schema.get(key) {
                collect(doc, v, seen, fields);
            }
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for v in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect(doc, v, seen, fields);
            }
        }
    }

    /// Walks every operation that answers without a token and fails if any
    /// field of any of its responses is protected.
    #[test]
    fn no_public_response_carries_a_protected_field() {
        let doc = serde_json::to_value(super::openapi_document()).unwrap();
        let mut public_ops = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op.get("security").is_some() {
                    continue;
                }
                public_ops += 1;
                let mut fields = BTreeSet::new();
                for response in op["responses"].as_object().unwrap().values() {
                    for media in response
                        .get("content")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flat_map(|c| c.values())
                    {
                        collect(&doc, &media["schema"], &mut BTreeSet::new(), &mut fields);
                    }
                }
                let leaked: Vec<&String> = fields
                    .iter()
                    .filter(|f| PROTECTED_FIELDS.contains(&f.as_str()))
                    .collect();
                assert!(
                    leaked.is_empty(),
                    "{method} {path} is public but its response has protected fields {leaked:?}"
                );
            }
        }
        assert!(
            public_ops >= 10,
            "the walk saw the public API ({public_ops} operations)"
        );
    }

    /// Every path parameter names a `{placeholder}` of its path, so clients
    /// (and the fuzzer, which generates requests from this document) send
    /// query parameters in the query string.
    #[test]
    fn parameters_are_where_the_document_says() {
        let doc = serde_json::to_value(super::openapi_document()).unwrap();
        let mut queries = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap();
                    match p["in"].as_str().unwrap() {
                        "path" => assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: `{name}` is declared in the path but is not in it"
                        ),
                        "query" => queries += 1,
                        _ => {}
                    }
                }
            }
        }
        assert!(queries >= 15, "query parameters are declared ({queries})");
    }

    /// The operations that hand out protected data require a session.
    #[test]
    fn protected_data_needs_a_token() {
        let doc = serde_json::to_value(super::openapi_document()).unwrap();
        for (path, method) in [
            ("/api/v1/me", "get"),
            ("/api/v1/me/export", "get"),
            ("/api/v1/me/analytics", "get"),
            ("/api/v1/admin/users/{handle}/data", "get"),
            ("/api/v1/transparency/entries", "get"),
            ("/api/v1/transparency/export", "get"),
            ("/api/v1/me/notices", "get"),
            ("/api/v1/moderation/queue", "get"),
            ("/api/v1/moderation/cases/{id}", "get"),
        ] {
            assert!(
                doc["paths"][path][method]["security"].is_array(),
                "{method} {path} must require a token"
            );
        }
    }
}
