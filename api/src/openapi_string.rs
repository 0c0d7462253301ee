//! Types that travel as a JSON string and are documented as one (`type: string`), so the
//! OpenAPI document does not change when the Rust type is richer than a `String`.

/// Implements poem-openapi's `Type`, `ToJSON` and `ParseFromJSON` for `$ty`, written by
/// `$to_str` and read by `$from_string` (`None`: refused, without echoing the value).
macro_rules! documented_as_string {
    ($ty:ty, $to_str:expr, $from_string:expr) => {
        impl poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                <String as poem_openapi::types::Type>::name()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                <String as poem_openapi::types::Type>::schema_ref()
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl poem_openapi::types::ToJSON for $ty {
            fn to_json(&self) -> Option<serde_json::Value> {
                let to_str: fn(&$ty) -> &str = $to_str;
                Some(serde_json::Value::String(to_str(self).to_string()))
            }
        }

        impl poem_openapi::types::ParseFromJSON for $ty {
            fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
                let from_string: fn(String) -> Option<$ty> = $from_string;
                match value {
                    Some(serde_json::Value::String(text)) => from_string(text),
                    _ => None,
                }
                .ok_or_else(|| poem_openapi::types::ParseError::custom("expected a string"))
            }
        }
    };
}

pub(crate) use documented_as_string;
