//! A field of a JSON Merge Patch (RFC 7396): left out, `null`, or a new value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not in the patch: the field keeps its value.
    #[default]
    Absent,
    /// `null`: the field is cleared.
    Null,
    Value(T),
}

impl<T> Patch<T> {
    /// A value when one is given, else left out.
    pub fn if_given(value: Option<T>) -> Self {
        value.map_or(Patch::Absent, Patch::Value)
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The new value given the current one: kept, cleared (`None`) or replaced.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Absent => current,
            Patch::Null => None,
            Patch::Value(v) => Some(v),
        }
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(v) => v.serialize(serializer),
            // A field left out is skipped by `skip_serializing_if`; if not, it is null.
            Patch::Absent | Patch::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        })
    }
}

#[cfg(feature = "openapi")]
mod openapi {
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchemaRef, Registry};
    use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};

    use super::Patch;

    /// Documented as the field's own type, optional and nullable.
    impl<T: Type> Type for Patch<T> {
        const IS_REQUIRED: bool = false;
        type RawValueType = T::RawValueType;
        type RawElementValueType = T::RawElementValueType;

        fn name() -> Cow<'static, str> {
            <Option<T> as Type>::name()
        }

        fn schema_ref() -> MetaSchemaRef {
            <Option<T> as Type>::schema_ref()
        }

        fn register(registry: &mut Registry) {
            T::register(registry);
        }

        fn as_raw_value(&self) -> Option<&Self::RawValueType> {
            match self {
                Patch::Value(v) => v.as_raw_value(),
                _ => None,
            }
        }

        fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
            match self {
                Patch::Value(v) => v.raw_element_iter(),
                _ => Box::new(std::iter::empty()),
            }
        }

        fn is_none(&self) -> bool {
            self.is_absent()
        }
    }

    impl<T: ParseFromJSON> ParseFromJSON for Patch<T> {
        fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
            match value {
                None => Ok(Patch::Absent),
                Some(serde_json::Value::Null) => Ok(Patch::Null),
                Some(v) => T::parse_from_json(Some(v))
                    .map(Patch::Value)
                    .map_err(|e| e.propagate()),
            }
        }
    }

    impl<T: ToJSON> ToJSON for Patch<T> {
        fn to_json(&self) -> Option<serde_json::Value> {
            match self {
                Patch::Absent => None,
                Patch::Null => Some(serde_json::Value::Null),
                Patch::Value(v) => v.to_json(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Doc {
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        due: Patch<u32>,
    }

    #[test]
    fn left_out_null_and_a_value_are_three_things() {
        let read = |json: &str| serde_json::from_str::<Doc>(json).expect("doc").due;
        assert_eq!(read("{}"), Patch::Absent);
        assert_eq!(read(r#"{"due": null}"#), Patch::Null);
        assert_eq!(read(r#"{"due": 3}"#), Patch::Value(3));
        assert_eq!(
            serde_json::to_string(&Doc { due: Patch::Absent }).ok().as_deref(),
            Some("{}")
        );
        assert_eq!(Patch::Null.apply(Some(1)), None);
        assert_eq!(Patch::Absent.apply(Some(1)), Some(1));
    }
}
