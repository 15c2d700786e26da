//! Clients for model APIs: Anthropic Messages and OpenAI-compatible chat
//! completions, both streamed.
//!
//! One neutral conversation shape ([`Message`], [`Block`]) is translated to each
//! wire format; [`LlmClient::complete`] sends one request, reads the stream to
//! its end and returns the whole answer. Rate limits (429), server errors (5xx),
//! overload (529), dropped connections and broken streams are retried with
//! exponential backoff, honouring `retry-after`, up to
//! [`RetryPolicy::max_attempts`]. No error sentence contains the API key: the
//! key only ever goes into a request header, and server messages are scrubbed.

mod anthropic;
mod openai;
pub mod sse;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::secrets::ApiKey;

pub use crate::secrets::Provider;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("The {provider} API answered HTTP {status}: {message}")]
    Status {
        provider: Provider,
        status: u16,
        message: String,
        /// The server's `retry-after`, when it sent one.
        retry_after: Option<Duration>,
    },
    #[error("Could not reach the {provider} API at {url}: {detail}. Check the base URL and that the server runs.")]
    Transport {
        provider: Provider,
        url: String,
        detail: String,
    },
    #[error("The {provider} API's stream broke off: {detail}.")]
    Stream { provider: Provider, detail: String },
    #[error("The {provider} API's answer could not be read: {detail}.")]
    Decode { provider: Provider, detail: String },
    #[error("Gave up after {attempts} attempts. The last one failed: {last}")]
    Exhausted { attempts: u32, last: Box<LlmError> },
    #[error("Could not set up the HTTP client: {detail}.")]
    Client { detail: String },
}

impl LlmError {
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Status {
                status: 401 | 403, ..
            } => "llm.unauthorized",
            LlmError::Status { .. } => "llm.status",
            LlmError::Transport { .. } => "llm.transport",
            LlmError::Stream { .. } => "llm.stream",
            LlmError::Decode { .. } => "llm.decode",
            LlmError::Exhausted { .. } => "llm.exhausted",
            LlmError::Client { .. } => "llm.client",
        }
    }

    /// Worth another attempt: the service was busy or the connection failed.
    fn retryable(&self) -> bool {
        match self {
            LlmError::Status { status, .. } => *status == 429 || *status >= 500,
            LlmError::Transport { .. } | LlmError::Stream { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

impl Message {
    pub fn user_text(text: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: vec![Block::Text { text: text.into() }],
        }
    }
}

/// A tool the model may call, with the JSON schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    /// Make the model call this tool (structured output).
    pub force_tool: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
    }
}

/// The model's whole answer to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    pub content: Vec<Block>,
    /// Normalized: `end_turn`, `tool_use`, `max_tokens`, or the server's word.
    pub stop_reason: Option<String>,
    pub usage: Usage,
    /// Sentences about retries that happened before this answer.
    pub retries: Vec<String>,
}

impl ChatResponse {
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|b| match b {
            Block::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    /// Longest wait between two attempts, `retry-after` included.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Where and how to reach a model.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub provider: Provider,
    /// Anthropic: the host, without `/v1` (like `ANTHROPIC_BASE_URL`).
    /// OpenAI-compatible: up to and including `/v1`.
    pub base_url: String,
    pub api_key: ApiKey,
    pub model: String,
    pub max_tokens: u32,
    pub retry: RetryPolicy,
}

impl LlmConfig {
    pub fn new(provider: Provider, api_key: ApiKey) -> LlmConfig {
        let (base_url, model) = match provider {
            Provider::Anthropic => ("https://api.anthropic.com", "claude-sonnet-4-5"),
            Provider::OpenAi => ("https://api.openai.com/v1", "gpt-4o"),
        };
        LlmConfig {
            provider,
            base_url: base_url.to_owned(),
            api_key,
            model: model.to_owned(),
            max_tokens: 8192,
            retry: RetryPolicy::default(),
        }
    }
}

/// Which model API to use and where, as the settings name it; the key is
/// looked up when a client is built, never stored here.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ApiEndpoint {
    pub provider: Provider,
    /// Overrides the provider's default (a proxy, a local model server).
    pub base_url: Option<String>,
    /// Overrides the provider's default model.
    pub model: Option<String>,
}

impl ApiEndpoint {
    /// The settings' base URL, else `ANTHROPIC_BASE_URL` / `OPENAI_BASE_URL`,
    /// else the provider's default.
    fn base_url(&self) -> Option<String> {
        let env = match self.provider {
            Provider::Anthropic => "ANTHROPIC_BASE_URL",
            Provider::OpenAi => "OPENAI_BASE_URL",
        };
        self.base_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| std::env::var(env).ok().filter(|url| !url.trim().is_empty()))
    }

    /// The client configuration with the key from the keyring or the
    /// environment. Blocking: it may ask the keyring.
    pub fn config(&self) -> Result<LlmConfig, crate::secrets::SecretsError> {
        let (key, _) = crate::secrets::get_key(self.provider)?;
        let mut config = LlmConfig::new(self.provider, key);
        if let Some(url) = self.base_url() {
            config.base_url = url.trim().to_owned();
        }
        if let Some(model) = self.model.as_ref().filter(|m| !m.trim().is_empty()) {
            config.model = model.trim().to_owned();
        }
        Ok(config)
    }
}

/// A model API client; cheap to clone.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: LlmConfig,
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            // Between two chunks of a stream, not for the whole answer.
            .read_timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| LlmError::Client {
                detail: e.to_string(),
            })?;
        Ok(LlmClient { http, config })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Sends `request`, retrying what is worth retrying.
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let policy = self.config.retry;
        let mut backoff = policy.initial_backoff;
        let mut retries = Vec::new();
        let mut attempt = 1;
        loop {
            let error = match self.once(request).await {
                Ok(mut response) => {
                    response.retries = retries;
                    return Ok(response);
                }
                Err(error) => self.scrub(error),
            };
            if !error.retryable() {
                return Err(error);
            }
            if attempt >= policy.max_attempts.max(1) {
                return Err(if attempt == 1 {
                    error
                } else {
                    LlmError::Exhausted {
                        attempts: attempt,
                        last: Box::new(error),
                    }
                });
            }
            let wait = error
                .retry_after()
                .unwrap_or(backoff)
                .min(policy.max_backoff);
            retries.push(format!(
                "{error} Retrying in {:.1} s (attempt {} of {}).",
                wait.as_secs_f64(),
                attempt + 1,
                policy.max_attempts
            ));
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(policy.max_backoff);
            attempt += 1;
        }
    }

    async fn once(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        match self.config.provider {
            Provider::Anthropic => anthropic::send(&self.http, &self.config, request).await,
            Provider::OpenAi => openai::send(&self.http, &self.config, request).await,
        }
    }

    /// Removes the key from any text a server or library put in an error.
    fn scrub(&self, error: LlmError) -> LlmError {
        let key = self.config.api_key.expose();
        if key.len() < 4 {
            return error;
        }
        let clean = |s: String| s.replace(key, "***");
        match error {
            LlmError::Status {
                provider,
                status,
                message,
                retry_after,
            } => LlmError::Status {
                provider,
                status,
                message: clean(message),
                retry_after,
            },
            LlmError::Transport {
                provider,
                url,
                detail,
            } => LlmError::Transport {
                provider,
                url: clean(url),
                detail: clean(detail),
            },
            LlmError::Stream { provider, detail } => LlmError::Stream {
                provider,
                detail: clean(detail),
            },
            LlmError::Decode { provider, detail } => LlmError::Decode {
                provider,
                detail: clean(detail),
            },
            other => other,
        }
    }
}

/// Shared by both wire formats: the error for a non-success status.
async fn status_error(provider: Provider, response: reqwest::Response) -> LlmError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64);
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| crate::events::bound(body.trim(), 300));
    let advice = match status {
        401 | 403 => " Check the API key in the settings.",
        404 => " Check the base URL and the model name.",
        429 => " The service is rate limiting.",
        529 => " The service is overloaded.",
        _ => "",
    };
    LlmError::Status {
        provider,
        status,
        message: format!("{}.{advice}", message.trim_end_matches('.')),
        retry_after,
    }
}

fn transport_error(provider: Provider, url: &str, error: reqwest::Error) -> LlmError {
    // reqwest's Display names the URL; ours has no secret but say it once, plainly.
    let detail = match std::error::Error::source(&error) {
        Some(source) => source.to_string(),
        None => error.to_string(),
    };
    LlmError::Transport {
        provider,
        url: url.to_owned(),
        detail,
    }
}

/// Price of one million tokens in US dollars: (input, output).
fn price_per_million(model: &str) -> Option<(f64, f64)> {
    let m = model.to_ascii_lowercase();
    let newer_than = |family: &str, versions: &[&str]| {
        versions
            .iter()
            .any(|v| m.contains(&format!("{family}-{v}")) || m.contains(&format!("{v}-{family}")))
    };
    if m.contains("opus") {
        // Opus 4.5 and later cost a third of the earlier ones.
        Some(if newer_than("opus", &["4-5", "4.5", "5"]) {
            (5.0, 25.0)
        } else {
            (15.0, 75.0)
        })
    } else if m.contains("sonnet") {
        Some((3.0, 15.0))
    } else if m.contains("haiku") {
        // 3.5 first: `claude-3-5-haiku` also contains `5-haiku`.
        Some(if newer_than("haiku", &["3-5", "3.5"]) {
            (0.8, 4.0)
        } else if newer_than("haiku", &["4-5", "4.5", "5"]) {
            (1.0, 5.0)
        } else {
            (0.25, 1.25)
        })
    } else {
        None
    }
}

/// What `usage` cost on `model`; `None` for models without a known price
/// (local models, other vendors). Cache reads cost a tenth of input, cache
/// writes a quarter more.
pub fn cost_usd(model: &str, usage: &Usage) -> Option<f64> {
    let (input, output) = price_per_million(model)?;
    let tokens = usage.input_tokens as f64 * input
        + usage.output_tokens as f64 * output
        + usage.cache_read as f64 * input * 0.1
        + usage.cache_write as f64 * input * 1.25;
    Some(tokens / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_follow_the_model_family() {
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            ..Usage::default()
        };
        // Rounded to cents: the prices are decimal, the arithmetic is binary.
        let cost = |m| cost_usd(m, &usage).map(|c| (c * 100.0).round() / 100.0);
        assert_eq!(
            cost("claude-sonnet-4-5-20250929"),
            Some(18.0),
            "sonnet: 3 + 15"
        );
        assert_eq!(
            cost("claude-opus-4-1-20250805"),
            Some(90.0),
            "opus 4.1: 15 + 75"
        );
        assert_eq!(cost("claude-opus-4-5"), Some(30.0), "opus 4.5: 5 + 25");
        assert_eq!(
            cost("claude-3-5-haiku-latest"),
            Some(4.8),
            "haiku 3.5: 0.8 + 4"
        );
        assert_eq!(cost("claude-haiku-4-5"), Some(6.0), "haiku 4.5: 1 + 5");
        assert_eq!(
            cost("claude-3-haiku-20240307"),
            Some(1.5),
            "haiku 3: 0.25 + 1.25"
        );
        assert_eq!(
            cost("llama3:8b"),
            None,
            "an unknown model has no price, not zero"
        );
    }

    #[test]
    fn cache_tokens_are_priced() {
        let usage = Usage {
            cache_read: 1_000_000,
            cache_write: 1_000_000,
            ..Usage::default()
        };
        let cost = cost_usd("claude-sonnet-4", &usage).expect("sonnet has a price");
        assert!(
            (cost - (0.3 + 3.75)).abs() < 1e-9,
            "0.1× and 1.25× input: {cost}"
        );
    }
}
