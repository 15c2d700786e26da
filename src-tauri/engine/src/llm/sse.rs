//! Server-sent events, parsed by hand: the format is four rules (events end at
//! a blank line; `event:` names, `data:` lines join with newlines, `:` starts a
//! comment), and the bytes of one event may arrive split anywhere, even inside
//! a UTF-8 character, so the buffer holds bytes until an event is complete.

use futures_util::StreamExt;

use super::LlmError;
use crate::secrets::Provider;

/// Reads `response`'s events into `on_event` until it says the answer is
/// complete (`Ok(true)`). A connection that fails, or a stream that ends
/// before then, is an error naming what never came (`end`).
pub(super) async fn read(
    response: reqwest::Response,
    provider: Provider,
    end: &str,
    mut on_event: impl FnMut(&SseEvent) -> Result<bool, LlmError>,
) -> Result<(), LlmError> {
    let mut parser = SseParser::default();
    let mut bytes = response.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(|e| LlmError::Stream {
            provider,
            detail: format!("the connection failed mid-answer ({e})"),
        })?;
        for event in parser.push(&chunk) {
            if on_event(&event)? {
                return Ok(());
            }
        }
    }
    Err(LlmError::Stream {
        provider,
        detail: format!("the stream ended before {end}"),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    /// Feeds bytes; returns the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        // CRLF and LF both end lines; dropping CR makes them one case.
        self.buffer
            .extend(bytes.iter().copied().filter(|&b| b != b'\r'));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            if let Some(event) = parse_block(&String::from_utf8_lossy(&block)) {
                events.push(event);
            }
        }
        events
    }

    /// True when bytes of an unfinished event are left.
    pub fn has_partial(&self) -> bool {
        self.buffer.iter().any(|b| !b.is_ascii_whitespace())
    }
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data: Option<String> = None;
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => match &mut data {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    data.map(|data| SseEvent { event, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let wire =
            "event: a\ndata: {\"x\":\"é\"}\n\n: comment\n\nevent: b\r\ndata: 1\r\ndata: 2\r\n\r\n";
        let bytes = wire.as_bytes();
        // Every split point, including inside the two-byte é, must give the same events.
        for split in 0..bytes.len() {
            let mut parser = SseParser::default();
            let mut events = parser.push(&bytes[..split]);
            events.extend(parser.push(&bytes[split..]));
            assert_eq!(events.len(), 2, "two events whatever the split ({split})");
            assert_eq!(
                events[0].data, "{\"x\":\"é\"}",
                "data survives a split at {split}"
            );
            assert_eq!(events[1].event.as_deref(), Some("b"));
            assert_eq!(events[1].data, "1\n2", "data lines join with a newline");
            assert!(!parser.has_partial(), "nothing is left over");
        }
    }
}
