//! A JSON request body that may be left out entirely (no `Content-Type`, no bytes).
//! poem-openapi has no optional bodies: its payloads answer 415 to a request without a
//! content type.

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::error::{ContentTypeError, ParseRequestPayloadError};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

pub struct OptionalJson<T>(pub Option<T>);

impl<'a, T: Type + ParseFromJSON> ApiExtractor<'a> for OptionalJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Json<T> as Payload>::CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if let Some(content_type) = request.content_type()
            && !<Json<T> as Payload>::check_content_type(content_type)
        {
            return Err(ContentTypeError::NotSupported {
                content_type: content_type.to_string(),
            }
            .into());
        }
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if data.is_empty() {
            return Ok(OptionalJson(None));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&data).map_err(|e| ParseRequestPayloadError {
                reason: e.to_string(),
            })?;
        T::parse_from_json(Some(value))
            .map(|parsed| OptionalJson(Some(parsed)))
            .map_err(|e| {
                ParseRequestPayloadError {
                    reason: e.into_message(),
                }
                .into()
            })
    }
}
