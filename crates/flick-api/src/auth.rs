//! Passwords, session tokens and the extractors that identify the caller.

use crate::error::{ApiError, ApiResult, Code};
use crate::AppState;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use flick_domain::{Owner, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "flick_session";
/// The `Set-Cookie` value that makes the browser forget the session.
pub const CLEAR_SESSION_COOKIE: &str =
    "flick_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";

/// argon2id with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal("password hashing failed", e))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Verified against when the handle does not exist, so that a failed login
/// takes as long for an unknown handle as for a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("flick-timing-equaliser").expect("hashing a constant works"))
}

/// The home region, a dot, and 256 random bits in hex: what the client
/// holds. The region tells a node where the session is without looking in
/// any other region's store.
pub fn new_token(region: &flick_store::RegionCode) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{region}.{}", hex::encode(bytes))
}

/// What the store holds: a token cannot be recovered from it.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The token of a request: the `Authorization: Bearer` header, else the
/// session cookie the web app uses.
pub fn request_token(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return value.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)?
                .strip_prefix('=')
                .map(str::to_owned)
        })
}

/// Whether the request carries the session cookie (with or without a
/// bearer header beside it).
pub fn has_session_cookie(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)
                .is_some_and(|rest| rest.starts_with('='))
        })
}

async fn resolve(state: &AppState, token: &str) -> ApiResult<Owner> {
    let session = Session::of(token, state.now());
    state
        .db(move |r| session.owner(r))
        .await?
        .ok_or_else(invalid_session)
}

pub(crate) fn invalid_session() -> ApiError {
    ApiError::new(
        Code::InvalidToken,
        "your session is invalid or has expired; log in again",
    )
}

/// A presented session token, hashed, to be checked on the blocking pool:
/// by the extractors below, or inside a handler's own store call where one
/// trip to the pool must do for both (the For You page).
pub(crate) struct Session {
    hash: Vec<u8>,
    region: Option<String>,
    now: i64,
}

impl Session {
    pub(crate) fn of(token: &str, now: i64) -> Self {
        Session {
            hash: token_hash(token),
            region: token.split_once('.').map(|(r, _)| r.to_owned()),
            now,
        }
    }

    /// The session's owner, or `None` if it is unknown or expired.
    pub(crate) fn owner(
        &self,
        r: &flick_store::Regions,
    ) -> Result<Option<Owner>, flick_store::StoreError> {
        // Tokens from before regions have no prefix: they can only be
        // sessions of a node that held a single region.
        let region = match &self.region {
            Some(region) => region.clone(),
            None if r.held().len() == 1 => r.held()[0].region().to_string(),
            None => return Ok(None),
        };
        // A session of another region: say so rather than "invalid",
        // so the client can go to its home region's node.
        match r.all_codes().iter().find(|c| c.as_str() == region) {
            Some(code) => Owner::of_session(r.require(code)?.as_ref(), &self.hash, self.now),
            None => Ok(None),
        }
    }
}

/// A caller who must be logged in: their account, and the proof, from the
/// session check, that opens their own [`flick_domain::Protected`] data.
pub struct Auth(pub UserId, pub Owner);

/// A caller who may be a visitor. A token that is present but invalid is
/// still an error, so a client notices its session has expired.
pub struct MaybeAuth(pub Option<UserId>);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = request_token(&parts.headers).ok_or_else(|| {
            ApiError::new(
                Code::Unauthenticated,
                "log in first: this needs an `Authorization: Bearer <token>` header",
            )
        })?;
        resolve(state, &token).await.map(|o| Auth(o.user(), o))
    }
}

/// The session a request presents, if any, not yet checked: for a handler
/// that checks it in its own store call ([`Session::owner`]).
pub(crate) struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        Ok(MaybeSession(
            request_token(&parts.headers).map(|t| Session::of(&t, state.now())),
        ))
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        match request_token(&parts.headers) {
            Some(token) => resolve(state, &token)
                .await
                .map(|o| MaybeAuth(Some(o.user()))),
            None => Ok(MaybeAuth(None)),
        }
    }
}
