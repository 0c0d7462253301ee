//! An issuer's published keys: fetched over HTTP (timeouts, no redirects, never from a
//! URL a token names) and cached. A token naming a key not cached fetches again at most
//! once every 30 s per issuer, so forged `kid`s cannot make the server hammer an issuer.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use time::OffsetDateTime;

use super::FederationError;
use super::issuers::{JwksSource, TrustedIssuer};

/// How soon an issuer's keys may be fetched again for an unknown `kid`.
const REFETCH_AFTER: time::Duration = time::Duration::seconds(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Entry {
    keys: Option<JwkSet>,
    tried_at: Option<OffsetDateTime>,
}

pub struct KeyCache {
    http: reqwest::Client,
    entries: tokio::sync::Mutex<HashMap<String, Entry>>,
}

impl KeyCache {
    pub fn new() -> Result<KeyCache, FederationError> {
        // The process's TLS provider (ring, as for PostgreSQL); one already set stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FederationError::Unavailable(format!("cannot make the HTTP client: {e}")))?;
        Ok(KeyCache {
            http,
            entries: Default::default(),
        })
    }

    /// The key `kid` of `issuer` (the only one when the token names none).
    pub async fn key(
        &self,
        issuer: &TrustedIssuer,
        kid: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<jsonwebtoken::DecodingKey, FederationError> {
        let mut entries = self.entries.lock().await;
        let entry = entries.entry(issuer.issuer().to_string()).or_default();
        if let Some(key) = find(entry.keys.as_ref(), kid)? {
            return Ok(key);
        }
        if entry.tried_at.is_some_and(|at| now - at < REFETCH_AFTER) {
            return Err(match entry.keys {
                Some(_) => FederationError::Invalid("the token's key is not the issuer's"),
                None => FederationError::Unavailable(format!(
                    "the keys of {} could not be fetched",
                    issuer.name()
                )),
            });
        }
        entry.tried_at = Some(now);
        let fetched = self.fetch(issuer).await?;
        entry.keys = Some(fetched);
        find(entry.keys.as_ref(), kid)?.ok_or(FederationError::Invalid("the token's key is not the issuer's"))
    }

    async fn fetch(&self, issuer: &TrustedIssuer) -> Result<JwkSet, FederationError> {
        let url = match issuer.jwks() {
            JwksSource::Url(url) => url.clone(),
            JwksSource::Discovery => self.discover(issuer).await?,
        };
        let unavailable = |e: reqwest::Error| {
            tracing::warn!(issuer = issuer.name(), error = %e.without_url(), "cannot fetch an issuer's keys");
            FederationError::Unavailable(format!("the keys of {} could not be fetched", issuer.name()))
        };
        self.http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json::<JwkSet>()
            .await
            .map_err(unavailable)
    }

    /// `jwks_uri` from the issuer's OpenID discovery document.
    async fn discover(&self, issuer: &TrustedIssuer) -> Result<String, FederationError> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.issuer().trim_end_matches('/')
        );
        let unavailable = |_| {
            FederationError::Unavailable(format!(
                "the discovery document of {} could not be read",
                issuer.name()
            ))
        };
        let found: Discovery = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        // A document for another issuer is not this one's.
        if found.issuer != issuer.issuer() {
            return Err(FederationError::Unavailable(format!(
                "the discovery document of {} names another issuer",
                issuer.name()
            )));
        }
        Ok(found.jwks_uri)
    }
}

fn find(
    keys: Option<&JwkSet>,
    kid: Option<&str>,
) -> Result<Option<jsonwebtoken::DecodingKey>, FederationError> {
    let Some(keys) = keys else {
        return Ok(None);
    };
    let jwk = match kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    };
    jwk.map(|jwk| {
        jsonwebtoken::DecodingKey::from_jwk(jwk)
            .map_err(|_| FederationError::Invalid("the issuer's key cannot be read"))
    })
    .transpose()
}
