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
        serde_json::from_value(value.unwrap_or_default())
            .map(Strict)
            .map_err(|e| ParseError::custom(e.to_string()))
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
}
