//! Request bodies parsed as strictly as the clients' own serde types. poem-openapi's
//! `String` accepts `5` and `false` as "5" and "false"; the document says string, so a
//! body with a number where a string belongs is refused (400), as the schema promises.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, Type};
use serde::de::DeserializeOwned;

/// `T` as documented by poem-openapi, parsed by serde.
pub struct Strict<T>(pub T);

impl<T: Type> Type for Strict<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_raw_value()
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        self.0.raw_element_iter()
    }
}

impl<T: Type + DeserializeOwned> ParseFromJSON for Strict<T> {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        // Serde takes `[a, b]` for a struct of two fields; the document says object.
        if value.is_array() && matches!(T::schema_ref(), MetaSchemaRef::Reference(_)) {
            return Err(ParseError::custom("wrong type, expected an object"));
        }
        serde_path_to_error::deserialize(value)
            .map(Strict)
            .map_err(|e| ParseError::custom(describe(&e)))
    }
}

/// What was wrong and where, never the value: serde's own messages quote what was sent
/// (`invalid type: string "hunter2"`), and a password or refresh token sent in the wrong
/// shape would be echoed to the client and to any log of the error. Only the parts that
/// come from our own types (field names, what was expected) are kept.
fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let message = e.inner().to_string();
    // Serde writes the expectation last, after any quoted value.
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, expected)| format!(", expected {expected}"))
        .unwrap_or_default();
    let what = if let Some(rest) = message.strip_prefix("missing field `") {
        // The name is one of our own fields.
        format!("missing field `{}`", rest.split('`').next().unwrap_or_default())
    } else if message.starts_with("unknown field") {
        format!("unknown field{expected}")
    } else if message.starts_with("unknown variant") {
        format!("unknown value{expected}")
    } else if message.starts_with("invalid type") {
        format!("wrong type{expected}")
    } else if message.starts_with("invalid length") {
        format!("wrong number of elements{expected}")
    } else {
        format!("invalid value{expected}")
    };
    let path = e.path().to_string();
    if path == "." {
        what
    } else {
        format!("`{path}`: {what}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use todo_api::TaskInput;

    #[test]
    fn wrong_types_are_refused_where_poem_openapi_would_coerce() {
        let parse = |v: serde_json::Value| Strict::<TaskInput>::parse_from_json(Some(v)).map(|s| s.0);
        assert!(parse(serde_json::json!({"title": false})).is_err());
        assert!(parse(serde_json::json!({"title": 5})).is_err());
        assert_eq!(
            parse(serde_json::json!({"title": "ok"})).map(|t| t.title).ok(),
            Some("ok".to_string())
        );
    }

    /// Every shape a secret can be sent in: the message names what was wrong, and never
    /// contains the value.
    #[test]
    fn errors_name_the_field_and_never_the_value() {
        use todo_api::SignInRequest;
        let secret = "hunter2-secret, expected nothing";
        let shapes = [
            serde_json::json!(secret),
            serde_json::json!(format!("{{\"email\":\"a@b.co\",\"password\":\"{secret}\"}}")),
            serde_json::json!({"email": "a@b.co", "password": {"nested": secret}}),
            serde_json::json!({"email": "a@b.co", "password": [secret]}),
            serde_json::json!({"email": secret}),
            serde_json::json!([secret, secret]),
        ];
        for shape in shapes {
            let message = match Strict::<SignInRequest>::parse_from_json(Some(shape.clone())) {
                Ok(_) => panic!("accepted {shape}"),
                Err(e) => e.into_message(),
            };
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.is_empty());
        }
        let wrong_type = Strict::<SignInRequest>::parse_from_json(Some(
            serde_json::json!({"email": "a@b.co", "password": 12345678}),
        ));
        let message = wrong_type.err().map(|e| e.into_message()).unwrap_or_default();
        assert!(
            message.ends_with("`password`: wrong type, expected a string"),
            "{message}"
        );
        assert!(!message.contains("12345678"));
    }
}
