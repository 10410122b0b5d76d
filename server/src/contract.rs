//! Parameter types whose OpenAPI schema says exactly what the server accepts, so a client
//! generated from `/api/openapi.json` never builds a value the server refuses. poem-openapi
//! documents `chrono::NaiveDate` as the non-standard format `naive-date`, and a string that
//! may be a date or a time not at all; these carry the standard formats (`date`,
//! `date-time`) and are parsed the way the handlers read them.

use std::borrow::Cow;

use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, ToJSON, Type};
use serde_json::Value;

fn date_schema() -> MetaSchema {
    MetaSchema::new_with_format("string", "date")
}

/// A calendar day, `YYYY-MM-DD` (schema `format: date`).
pub use minsheng_model::IsoDay as Day;

/// A moment: an RFC 3339 time, or a bare `YYYY-MM-DD` meaning that day's start in Beijing
/// time (schema `anyOf` `date-time` and `date`). Holds the text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOrTime(pub String);

impl DayOrTime {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Type for DayOrTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date_or_date_time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            any_of: vec![
                MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time"))),
                MetaSchemaRef::Inline(Box::new(date_schema())),
            ],
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for DayOrTime {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let ok = chrono::DateTime::parse_from_rfc3339(value).is_ok() || Day::is_valid(value);
        if ok {
            Ok(DayOrTime(value.to_string()))
        } else {
            Err(ParseError::custom("应为 RFC 3339 时间或 YYYY-MM-DD"))
        }
    }
}

impl ToJSON for DayOrTime {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// `?status=` of the case lists: comma-separated statuses (spaces allowed around each).
pub const STATUS_LIST_PATTERN: &str = concat!(
    "^ *(",
    "(submitted|accepted|rejected|assigned|in_progress|returned|resolved|reopened|closed|merged)",
    " *)?(, *(",
    "(submitted|accepted|rejected|assigned|in_progress|returned|resolved|reopened|closed|merged)",
    " *)?)*$"
);

/// Comma-separated case statuses (schema: [`STATUS_LIST_PATTERN`]). Holds the text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList(pub String);

impl StatusList {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Type for StatusList {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_status_list".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(STATUS_LIST_PATTERN.to_string()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for StatusList {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        static PATTERN: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new(STATUS_LIST_PATTERN).expect("pattern"));
        if PATTERN.is_match(value) {
            Ok(StatusList(value.to_string()))
        } else {
            Err(ParseError::custom("应为逗号分隔的案件状态"))
        }
    }
}

impl ToJSON for StatusList {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// A JSON request body held to its declared types. poem-openapi's `Json` reads a number or
/// a boolean sent for a string field as that string; the document says string, so this
/// reads the body with serde first (which refuses them, as a generated client would expect),
/// then with poem-openapi for the declared lengths, ranges and patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictJson<T>(pub T);

impl<T> std::ops::Deref for StrictJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for StrictJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <poem_openapi::payload::Json<T> as poem_openapi::payload::Payload>::check_content_type(
            content_type,
        )
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }
}

impl<T: poem_openapi::types::ParseFromJSON + serde::de::DeserializeOwned> ParsePayload
    for StrictJson<T>
{
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(
        request: &poem::Request,
        body: &mut poem::RequestBody,
    ) -> poem::Result<Self> {
        use poem::FromRequest;
        let data = Vec::<u8>::from_request(request, body).await?;
        let bad = |reason: String| poem_openapi::error::ParseRequestPayloadError { reason };
        let mut value: Value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|e| bad(e.to_string()))?
        };
        strip_nul(&mut value);
        serde_json::from_value::<T>(value.clone()).map_err(|e| bad(e.to_string()))?;
        let parsed = T::parse_from_json(Some(value)).map_err(|e| bad(e.into_message()))?;
        Ok(StrictJson(parsed))
    }
}

/// Removes NUL characters from every string: PostgreSQL cannot store them in text (it
/// refused the whole request with an error), and no text of ours means anything by one, so
/// both databases keep the same words without them.
fn strip_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(fields) => fields.values_mut().for_each(strip_nul),
        _ => {}
    }
}

poem_openapi::impl_apirequest_for_payload!(
    StrictJson<T>,
    T: poem_openapi::types::ParseFromJSON + serde::de::DeserializeOwned
);

/// The SSE event name each stream's frames carry, by the schema of their `data`.
const STREAM_EVENTS: &[(&str, &str)] = &[("FeedEvent", "case"), ("PublicChange", "change")];

/// The document with every multipart form closed to undeclared parts, and every
/// `text/event-stream` response describing its frames: an
/// `itemSchema` (OpenAPI 3.2's way, read by schema-aware clients and by schemathesis) whose
/// `event` is the stream's event name and whose `data` is JSON of the stream's item schema.
/// poem-openapi can only say "an array of items in format event-stream", which no client
/// can check a frame against.
pub fn with_event_frames(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(spec) else {
        return spec.to_string();
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return spec.to_string();
    };
    for op in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in op.values_mut() {
            // Multipart forms take their declared parts only (the structs deny unknown
            // fields; poem-openapi does not say so in the schema).
            if let Some(form) =
                operation.pointer_mut("/requestBody/content/multipart~1form-data/schema")
                && form.get("properties").is_some()
            {
                form["additionalProperties"] = Value::Bool(false);
            }
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for response in responses.values_mut() {
                let Some(media) = response.pointer_mut("/content/text~1event-stream") else {
                    continue;
                };
                let Some(item) = media.pointer("/schema/items").cloned() else {
                    continue;
                };
                let name = item
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').next())
                    .and_then(|n| STREAM_EVENTS.iter().find(|(s, _)| *s == n))
                    .map(|(_, e)| *e);
                let event = match name {
                    Some(e) => serde_json::json!({ "type": "string", "enum": [e] }),
                    None => serde_json::json!({ "type": "string" }),
                };
                media["itemSchema"] = serde_json::json!({
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": event,
                        "id": { "type": "string", "pattern": "^[0-9]+$" },
                        "retry": { "type": "integer", "minimum": 0 },
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": item,
                        },
                    },
                });
            }
        }
    }
    optional_fields_take_null(&mut doc);
    doc.to_string()
}

/// Marks every optional object property `nullable`. Our optional fields are `Option<T>`
/// (the model has no `#[oai(default)]`), which take `null` as absent, and the widgets send
/// `null` for an empty one (serde writes `None` so); poem-openapi's 3.0 document leaves
/// that out, and a schema-aware client would then refuse to send what the server accepts.
/// A `$ref` cannot carry siblings in OpenAPI 3.0, so it is wrapped in `allOf`.
fn optional_fields_take_null(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, prop) in props.iter_mut() {
            if required.contains(name) {
                continue;
            }
            let Some(obj) = prop.as_object_mut() else {
                continue;
            };
            if let Some(r) = obj.remove("$ref") {
                obj.insert("allOf".into(), serde_json::json!([{ "$ref": r }]));
            }
            obj.insert("nullable".into(), Value::Bool(true));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_pattern_takes_every_status_and_nothing_else() {
        for s in minsheng_model::Status::ALL {
            let one = StatusList::parse_from_parameter(s.as_str());
            assert!(one.is_ok(), "{s}");
            assert!(StatusList::parse_from_parameter(&format!("closed, {s} ,")).is_ok());
        }
        assert!(StatusList::parse_from_parameter("").is_ok());
        assert!(StatusList::parse_from_parameter("pending").is_err());
        assert!(StatusList::parse_from_parameter("closedx").is_err());
    }

    #[test]
    fn each_event_stream_describes_its_frames() {
        let spec = serde_json::json!({ "paths": { "/s": { "get": { "responses": { "200": {
            "content": { "text/event-stream": { "schema": {
                "type": "array", "format": "event-stream",
                "items": { "$ref": "#/components/schemas/FeedEvent" } } } } } } } } } });
        let out: Value = serde_json::from_str(&with_event_frames(&spec.to_string())).unwrap();
        let item = &out["paths"]["/s"]["get"]["responses"]["200"]["content"]["text/event-stream"]["itemSchema"];
        assert_eq!(item["properties"]["event"]["enum"][0], "case");
        assert_eq!(
            item["properties"]["data"]["contentSchema"]["$ref"],
            "#/components/schemas/FeedEvent"
        );
    }

    #[test]
    fn nul_characters_leave_every_string() {
        let mut v = serde_json::json!({ "name": "a\0b", "list": [{ "x": "\0" }] });
        strip_nul(&mut v);
        assert_eq!(
            v,
            serde_json::json!({ "name": "ab", "list": [{ "x": "" }] })
        );
    }

    #[test]
    fn a_day_is_a_real_date() {
        assert!(Day::parse_from_parameter("2026-02-28").is_ok());
        assert!(Day::parse_from_parameter("2026-02-30").is_err());
        assert!(DayOrTime::parse_from_parameter("2026-02-28T08:00:00+08:00").is_ok());
        assert!(DayOrTime::parse_from_parameter("yesterday").is_err());
    }
}
