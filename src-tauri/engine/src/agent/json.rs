//! Reading the agent CLIs' JSON lines: the few accessors every adapter
//! uses, so a field missing or of another type is `None` the same way in each.

use serde_json::Value;

use crate::events::{bound, SessionEvent, MAX_SUMMARY_BYTES};

pub(crate) fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

pub(crate) fn string_at(value: &Value, key: &str) -> Option<String> {
    str_at(value, key).map(str::to_owned)
}

pub(crate) fn u64_at(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

/// A warning from the CLI, cut to a summary's length.
pub(crate) fn warning(message: &str) -> SessionEvent {
    SessionEvent::Warning {
        message: bound(message, MAX_SUMMARY_BYTES),
    }
}
