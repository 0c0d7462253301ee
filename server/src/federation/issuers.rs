//! Issuers whose tokens this server accepts besides its own (`[[trusted_issuer]]` in the
//! `--config` file), checked once at start.

use serde::Deserialize;
use todo_api::TokenScope;

/// The signature algorithms an issuer may be pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    EdDsa,
    Es256,
    Rs256,
    Ps256,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        match name {
            // RFC 9864 names the Ed25519 one `Ed25519`; Better Auth writes `EdDSA`.
            "EdDSA" | "Ed25519" => Some(Algorithm::EdDsa),
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            "PS256" => Some(Algorithm::Ps256),
            _ => None,
        }
    }

    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::Ps256 => jsonwebtoken::Algorithm::PS256,
        }
    }
}

/// An issuer as the file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    name: String,
    issuer: String,
    jwks_url: Option<String>,
    #[serde(default)]
    discovery: bool,
    audiences: Vec<String>,
    algorithms: Vec<String>,
    #[serde(default)]
    create_accounts: bool,
    #[serde(default)]
    link_verified_email: bool,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["tasks:read".into(), "tasks:write".into()]
}

/// A checked issuer. The fields are private: the only way to get one is [`parse`].
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    name: String,
    issuer: String,
    jwks: JwksSource,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    create_accounts: bool,
    link_verified_email: bool,
    scopes: Vec<TokenScope>,
}

/// Where an issuer's keys are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    Url(String),
    /// `<issuer>/.well-known/openid-configuration` names it.
    Discovery,
}

impl TrustedIssuer {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn jwks(&self) -> &JwksSource {
        &self.jwks
    }
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }
    pub fn create_accounts(&self) -> bool {
        self.create_accounts
    }
    pub fn link_verified_email(&self) -> bool {
        self.link_verified_email
    }
    pub fn scopes(&self) -> &[TokenScope] {
        &self.scopes
    }
}

/// Why the configured issuers were refused at start.
#[derive(Debug, thiserror::Error)]
#[error("trusted_issuer {name:?}: {reason}")]
pub struct IssuerError {
    name: String,
    reason: String,
}

/// An address is https, or http on loopback (a test's, or a proxy on the same host).
fn secure_enough(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Checks the `[[trusted_issuer]]` tables of the config file.
pub fn parse(entries: Vec<toml::Value>) -> Result<Vec<TrustedIssuer>, IssuerError> {
    let mut issuers: Vec<TrustedIssuer> = Vec::new();
    for (i, value) in entries.into_iter().enumerate() {
        let entry: IssuerEntry = value.try_into().map_err(|e: toml::de::Error| IssuerError {
            name: format!("#{}", i + 1),
            reason: e.message().to_string(),
        })?;
        let refuse = |reason: String| IssuerError {
            name: entry.name.clone(),
            reason,
        };
        for url in std::iter::once(&entry.issuer).chain(entry.jwks_url.iter()) {
            if !secure_enough(url) {
                return Err(refuse(format!("{url} is not https (only loopback may use http)")));
            }
        }
        let jwks = match (&entry.jwks_url, entry.discovery) {
            (Some(url), false) => JwksSource::Url(url.clone()),
            (None, true) => JwksSource::Discovery,
            _ => return Err(refuse("give jwks_url or discovery = true (one of them)".into())),
        };
        if entry.audiences.is_empty() {
            return Err(refuse("audiences needs at least one".into()));
        }
        let algorithms = entry
            .algorithms
            .iter()
            .map(|a| {
                Algorithm::parse(a).ok_or_else(|| {
                    refuse(format!(
                        "algorithm {a:?} is not EdDSA, Ed25519, ES256, RS256 or PS256"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if algorithms.is_empty() {
            return Err(refuse("algorithms needs at least one".into()));
        }
        let scopes = entry
            .scopes
            .iter()
            .map(|s| {
                TokenScope::parse(s)
                    .ok_or_else(|| refuse(format!("scope {s:?} is not tasks:read or tasks:write")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if issuers
            .iter()
            .any(|i| i.issuer == entry.issuer || i.name == entry.name)
        {
            return Err(refuse("an issuer (or name) is listed twice".into()));
        }
        issuers.push(TrustedIssuer {
            name: entry.name,
            issuer: entry.issuer,
            jwks,
            audiences: entry.audiences,
            algorithms,
            create_accounts: entry.create_accounts,
            link_verified_email: entry.link_verified_email,
            scopes,
        });
    }
    Ok(issuers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<toml::Value> {
        let table: toml::Table = text.parse().expect("toml");
        table["trusted_issuer"].as_array().expect("array").clone()
    }

    #[test]
    fn an_issuer_is_checked_whole_at_start() {
        let good = parse(entries(
            r#"[[trusted_issuer]]
            name = "better-auth"
            issuer = "https://app.example.com"
            jwks_url = "https://app.example.com/api/auth/jwks"
            audiences = ["https://app.example.com"]
            algorithms = ["EdDSA"]
            create_accounts = true"#,
        ))
        .expect("valid");
        assert_eq!(good[0].name(), "better-auth");
        assert_eq!(good[0].algorithms(), [Algorithm::EdDsa]);
        assert_eq!(good[0].scopes(), [TokenScope::TasksRead, TokenScope::TasksWrite]);
        for (bad, says) in [
            (
                "issuer = \"http://app.example.com\"\njwks_url = \"https://a/jwks\"",
                "not https",
            ),
            (
                "issuer = \"https://a\"\njwks_url = \"https://a/jwks\"\nalgorithms = [\"HS256\"]",
                "HS256",
            ),
            ("issuer = \"https://a\"", "jwks_url or discovery"),
        ] {
            let mut text = format!("[[trusted_issuer]]\nname = \"x\"\naudiences = [\"a\"]\n{bad}\n");
            if !bad.contains("algorithms") {
                text.push_str("algorithms = [\"EdDSA\"]\n");
            }
            let e = parse(entries(&text)).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let loopback = entries(
            "[[trusted_issuer]]\nname = \"t\"\nissuer = \"http://127.0.0.1:9\"\njwks_url = \"http://127.0.0.1:9/jwks\"\naudiences = [\"a\"]\nalgorithms = [\"EdDSA\"]",
        );
        assert!(parse(loopback).is_ok(), "http on loopback is fine");
    }
}
