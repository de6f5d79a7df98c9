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
        routes::create_account, routes::create_session, routes::delete_session,
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
    ),
    components(schemas(ErrorBody, VideoView, FeedItem))
)]
struct ApiDoc;

pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
