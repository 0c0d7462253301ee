//! Passwords and tokens on the wire: plain JSON strings, but a type that never prints.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A password, access token or refresh token. Sent and read as a JSON string; `Debug`
/// shows `Secret(<redacted>)`, and the memory is zeroed when it is dropped. Reading it
/// takes an explicit [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(SecretString::from(text.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret::new(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret::new(text)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

// Documented as the plain string it is on the wire.
#[cfg(feature = "openapi")]
crate::openapi_string::documented_as_string!(Secret, Secret::expose, |text: String| Some(Secret::new(text)));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_travels_as_a_string_and_never_prints() {
        let secret: Secret = serde_json::from_str("\"hunter2-harbour\"").expect("read");
        assert_eq!(secret.expose(), "hunter2-harbour");
        assert_eq!(
            serde_json::to_string(&secret).expect("write"),
            "\"hunter2-harbour\""
        );
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert!(serde_json::from_str::<Secret>("12345678").is_err());
    }
}
