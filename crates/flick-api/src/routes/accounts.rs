use super::{video_page, PageQuery};
use crate::auth::{self, Auth, MaybeAuth, SESSION_COOKIE};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::model::*;
use crate::rate_limit::{Action, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use flick_domain::DataClass;
use flick_domain::{Bio, DisplayName, Handle, Password, UserId};
use flick_store::{SensitiveContent, StoreError};

#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccount,
    responses((status = 201, body = AccountCreated), (status = 409, body = ErrorBody), (status = 421, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn create_account(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    state
        .0
        .limiter
        .take(Action::Signup, Caller::addr(addr), state.now())
        .await?;
    let handle = Handle::parse(&body.handle)?;
    // The address is only looked up here, for a country; it is not kept.
    let signup = &state.0.config.signup_regions;
    let region = signup
        .pick(body.region.as_deref(), &headers, Some(addr))
        .ok_or_else(|| {
            ApiError::new(
                Code::UnknownRegion,
                format!(
                    "there is no region {:?}; choose one of: {}",
                    body.region.as_deref().unwrap_or_default(),
                    signup
                        .all
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let password = Password::parse(body.password)?;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(password.expose()))
        .await
        .map_err(|e| ApiError::internal("hashing task panicked", e))??;
    let now = state.now();
    let h = handle.clone();
    let home = region.clone();
    let id = state
        .db(move |r| r.require(&home)?.create_user(&h, &hash, now))
        .await?;
    tracing::info!(user_id = %id, %region, "account created");
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            id: id.0,
            handle: handle.to_string(),
            region: region.to_string(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = Credentials,
    responses((status = 200, body = SessionCreated), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn create_session(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<impl IntoResponse> {
    state
        .0
        .limiter
        .take(Action::Login, Caller::addr(addr), state.now())
        .await?;
    let invalid = || ApiError::new(Code::InvalidCredentials, "wrong handle or password");
    let handle = Handle::parse(&body.handle).map_err(|_| invalid())?;
    // Per account too, whether or not it exists (so the answer does not
    // tell which handles do): many addresses guessing one password are
    // as slow as one. Only failures count.
    state
        .0
        .login_failures
        .check_shared(handle.as_str(), state.now())
        .await?;
    let h = handle.clone();
    let creds = state
        .db(move |r| {
            let Some(user) = r.public().user_id_by_handle(&h)? else {
                return Ok(None);
            };
            // Another region's account is not this node's to check: say so
            // without a store refusal, which would put every such login
            // attempt, from anyone, in the transparency log.
            let region = r.region_of(user)?.ok_or(StoreError::NotFound("account"))?;
            r.require(&region)?.credentials(&h)
        })
        .await
        .map_err(|e| match e.code {
            // Whoever is asking has not proved who they are: do not name
            // the region where this account lives.
            Code::RegionNotHeld => ApiError::new(
                Code::RegionNotHeld,
                "this account lives in a region this node does not hold; sign in on a node of the account's home region",
            ),
            _ => e,
        })?;
    let password = body.password;
    let (user, ok) = tokio::task::spawn_blocking(move || match creds {
        Some(c) => (
            Some(c.user_id),
            c.password_hash
                .check(|hash| auth::verify_password(&password, hash)),
        ),
        None => {
            auth::verify_password(&password, auth::dummy_hash());
            (None, false)
        }
    })
    .await
    .map_err(|e| ApiError::internal("password check panicked", e))?;
    let Some(user) = user.filter(|_| ok) else {
        state
            .0
            .login_failures
            .failed_shared(handle.as_str(), state.now())
            .await?;
        return Err(invalid());
    };
    let expires_at = state.now() + state.0.config.session_ttl.as_millis() as i64;
    let token = state
        .db(move |r| {
            let store = r.home(user, DataClass::Sessions)?;
            let token = auth::new_token(store.region());
            store.create_session(&auth::token_hash(&token), user, expires_at)?;
            Ok(token)
        })
        .await?;
    let profile = state
        .db(move |r| r.public().profile_by_id(user))
        .await?
        .ok_or_else(invalid)?;
    // Strict: no other site's link or form ever carries it; Secure when
    // the site is served over https.
    let secure = match &state.0.config.public_url {
        Some(url) if url.starts_with("https://") => "; Secure",
        _ => "",
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.0.config.session_ttl.as_secs()
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SessionCreated {
            token,
            expires_at,
            user: UserRef {
                id: user.0,
                handle: profile.handle,
                display_name: profile.display_name,
            },
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub(crate) async fn delete_session(
    State(state): State<AppState>,
    _auth: Auth,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some(token) = auth::request_token(&headers) {
        let hash = auth::token_hash(&token);
        let now = state.now();
        let region = token.split_once('.').map(|(r, _)| r.to_owned());
        state
            .db(move |r| match region.as_deref().and_then(|c| r.store(c)) {
                Some(store) => store.delete_session(&hash, now),
                None => Ok(()),
            })
            .await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::CLEAR_SESSION_COOKIE)],
    ))
}

async fn profile_view(
    state: &AppState,
    viewer: Option<UserId>,
    handle: &str,
) -> ApiResult<ProfileView> {
    let not_found = || ApiError::new(Code::UserNotFound, format!("no user @{handle}"));
    let handle = Handle::parse(handle).map_err(|_| not_found())?;
    let profile = state
        .db(move |r| r.public().profile_by_handle(&handle))
        .await?
        .ok_or_else(not_found)?;
    let (followed, blocked, muted) = match viewer {
        Some(v) if v != profile.id => {
            let id = profile.id;
            let relation = state
                .db(move |r| {
                    let public = r.public();
                    // Someone who blocked the viewer is not there for them.
                    if public.has_blocked(id, v)? {
                        return Ok(None);
                    }
                    let home = r.home(v, DataClass::Follows)?;
                    Ok(Some((
                        home.is_following(v, id)?,
                        public.has_blocked(v, id)?,
                        home.has_muted(v, id)?,
                    )))
                })
                .await?
                .ok_or_else(not_found)?;
            relation
        }
        _ => (false, false, false),
    };
    let mut view = ProfileView::new(profile, followed);
    view.blocked_by_me = blocked;
    view.muted_by_me = muted;
    Ok(view)
}

async fn my_profile(state: &AppState, user: UserId) -> ApiResult<ProfileView> {
    let (profile, settings, role) = state
        .db(move |r| {
            let Some(profile) = r.public().profile_by_id(user)? else {
                return Ok(None);
            };
            let home = r.home(user, DataClass::Account)?;
            let settings = home.viewing_settings(user)?;
            let role = home.role(user)?;
            Ok(Some((profile, settings, role)))
        })
        .await?
        .ok_or_else(|| ApiError::new(Code::InvalidToken, "this account no longer exists"))?;
    let region = profile.region.clone();
    let mut view = ProfileView::new(profile, false);
    view.region = Some(region);
    view.settings = Some(SettingsView {
        hide_ai_generated: settings.hide_ai_generated,
        sensitive: settings.sensitive.as_str(),
    });
    view.can_moderate = Some(matches!(
        role,
        flick_domain::Role::Moderator | flick_domain::Role::Admin
    ));
    Ok(view)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = ProfileView), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(
    State(state): State<AppState>,
    Auth(user, _): Auth,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(my_profile(&state, user).await?))
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), request_body = ProfileUpdate,
    responses((status = 200, body = ProfileView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_me(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<ProfileView>> {
    let display_name = body
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()?;
    let bio = body.bio.as_deref().map(Bio::parse).transpose()?;
    let sensitive = body
        .sensitive
        .as_deref()
        .map(|s| {
            SensitiveContent::parse(s).ok_or_else(|| {
                ApiError::new(
                    Code::InvalidSetting,
                    format!("`sensitive` is hide, blur or show; got {s:?}"),
                )
            })
        })
        .transpose()?;
    let hide_ai = body.hide_ai_generated;
    state
        .db(move |r| {
            let home = r.home(user, DataClass::Profile)?;
            home.update_profile(user, display_name.as_ref(), bio.as_ref())?;
            if sensitive.is_some() || hide_ai.is_some() {
                let mut settings = home.viewing_settings(user)?;
                settings.sensitive = sensitive.unwrap_or(settings.sensitive);
                settings.hide_ai_generated = hide_ai.unwrap_or(settings.hide_ai_generated);
                home.set_viewing_settings(user, settings)?;
            }
            Ok(())
        })
        .await?;
    Ok(Json(my_profile(&state, user).await?))
}

#[utoipa::path(delete, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub(crate) async fn delete_me(
    State(state): State<AppState>,
    Auth(user, _): Auth,
) -> ApiResult<impl IntoResponse> {
    // Logged first, under the pseudonym only: the log keeps that a deletion
    // happened, not who was deleted.
    let trust = state.0.trust.clone();
    let now = state.now();
    let region = state
        .db(move |r| Ok(r.home(user, DataClass::Account)?.region().to_string()))
        .await?;
    tokio::task::spawn_blocking(move || {
        trust.append(&flick_trust::Record::Deletion {
            subject_ref: trust.pseudonym(user),
            time_ms: now,
            region,
        })
    })
    .await
    .map_err(|e| ApiError::internal("log task panicked", e))??;
    let (removed, unused) = state
        .db(move |r| {
            let played = r.public().media_played_by(user)?;
            let removed = r.delete_user(user, now)?;
            let candidates: Vec<_> = removed.videos.iter().copied().chain(played).collect();
            let unused = r.public().unused_media(&candidates)?;
            Ok((removed, unused))
        })
        .await?;
    // Files first: if forgetting in the recommender fails below, nothing
    // else would know these files any more.
    for video in unused {
        state.0.media.remove_video(video).await;
    }
    for video in &removed.videos {
        state.0.media.remove_original(*video).await;
    }
    for sound in removed.sounds {
        state.0.media.remove_sound(sound).await;
    }
    let engine = state.0.for_you.clone();
    state
        .db(move |_| engine.forget_user(user, &removed.videos))
        .await?;
    tracing::info!("account deleted");
    // The session went with the account; the browser forgets its cookie.
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::CLEAR_SESSION_COOKIE)],
    ))
}

#[utoipa::path(get, path = "/api/v1/me/analytics", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Analytics), (status = 401, body = ErrorBody)))]
pub(crate) async fn analytics(
    State(state): State<AppState>,
    Auth(user, _): Auth,
) -> ApiResult<Json<Analytics>> {
    let now = state.now();
    let a = state
        .db(move |r| r.public().creator_analytics(user, now, 30))
        .await?;
    Ok(Json(Analytics {
        videos: a
            .videos
            .into_iter()
            .map(|v| VideoAnalytics {
                poster_url: Some(
                    state
                        .0
                        .config
                        .media_base
                        .url(&v.media.to_string(), flick_media::POSTER_FILE),
                ),
                id: v.id.0,
                caption: v.caption,
                views: v.views,
                avg_watch_ratio: v.avg_watch_ratio,
                likes: v.likes,
                comments: v.comments,
                shares: v.shares,
            })
            .collect(),
        daily: a
            .daily
            .into_iter()
            .map(|d| DailyStats {
                day: d.day,
                views: d.views,
                likes: d.likes,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/users/{handle}", tag = "accounts",
    params(("handle" = String, Path, description = "the user's handle")),
    responses((status = 200, body = ProfileView), (status = 404, body = ErrorBody)))]
pub(crate) async fn profile(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(profile_view(&state, viewer, &handle).await?))
}

#[utoipa::path(get, path = "/api/v1/users/{handle}/videos", tag = "accounts",
    params(("handle" = String, Path, description = "the user's handle"), PageQuery),
    responses((status = 200, body = VideoPage), (status = 404, body = ErrorBody)))]
pub(crate) async fn user_videos(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<VideoPage>> {
    let (cursor, limit) = page.parse()?;
    let author = profile_view(&state, viewer, &handle).await?.id;
    let own = viewer == Some(UserId(author));
    let author = UserId(author);
    let records = state
        .db(move |r| match own {
            true => r
                .home(author, DataClass::Uploads)?
                .own_videos(author, cursor, limit),
            false => r.public().videos_by_author(author, cursor, limit),
        })
        .await?;
    Ok(Json(video_page(&state, viewer, records, limit).await?))
}

pub(crate) async fn user_by_handle(state: &AppState, handle: &str) -> ApiResult<UserId> {
    let not_found = || ApiError::new(Code::UserNotFound, format!("no user @{handle}"));
    let handle = Handle::parse(handle).map_err(|_| not_found())?;
    state
        .db(move |r| r.public().user_id_by_handle(&handle))
        .await?
        .ok_or_else(not_found)
}

#[utoipa::path(get, path = "/api/v1/regions", tag = "accounts",
    responses((status = 200, body = RegionsInfo)))]
pub(crate) async fn regions(State(state): State<AppState>) -> Json<RegionsInfo> {
    let signup = &state.0.config.signup_regions;
    let codes = |c: &[flick_store::RegionCode]| c.iter().map(|c| c.to_string()).collect();
    Json(RegionsInfo {
        regions: codes(&signup.all),
        held: codes(&state.0.regions.held_codes()),
        default: signup.default.to_string(),
    })
}
