//! API keys: from the OS keyring (service `fanout`, user = provider), else
//! from `ANTHROPIC_API_KEY` / `OPENAI_API_KEY`.
//!
//! A key lives in [`ApiKey`], whose `Debug` prints `***` and which has no
//! `Display` and no `Serialize`, so it cannot slip into a log line, an event, the
//! database or an error by accident; [`ApiKey::expose`] is the one way out,
//! used only to build a request header. A keyring that cannot be reached (no
//! Secret Service, as on a headless machine) is an error for `set`/`delete` and
//! a logged fallback to the environment for `get`. The keyring calls block
//! (D-Bus): call them from `spawn_blocking` in async code.

use std::fmt;

use serde::Serialize;

const SERVICE: &str = "fanout";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    #[default]
    Anthropic,
    OpenAi,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }

    pub fn env_var(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::OpenAi => "OPENAI_API_KEY",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::Anthropic => "Anthropic",
            Provider::OpenAi => "OpenAI-compatible",
        })
    }
}

impl std::str::FromStr for Provider {
    type Err = SecretsError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "anthropic" | "claude" => Ok(Provider::Anthropic),
            "openai" | "open_ai" | "openai-compatible" => Ok(Provider::OpenAi),
            _ => Err(SecretsError::UnknownProvider {
                name: name.to_owned(),
            }),
        }
    }
}

/// A secret that prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into().trim().to_owned())
    }

    /// The key itself, for a request header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a key came from, for the settings screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Keyring,
    Environment,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("No {provider} API key is set. Save one in the settings, or set {env_var}.")]
    Missing {
        provider: Provider,
        env_var: &'static str,
    },
    #[error(
        "The system keyring is not available ({detail}). Set {env_var} in the environment instead."
    )]
    KeyringUnavailable {
        detail: String,
        env_var: &'static str,
    },
    #[error("The API key is empty. Paste the whole key.")]
    EmptyKey,
    #[error("Unknown provider `{name}`. Choose anthropic or openai.")]
    UnknownProvider { name: String },
}

impl SecretsError {
    pub fn code(&self) -> &'static str {
        match self {
            SecretsError::Missing { .. } => "secrets.missing",
            SecretsError::KeyringUnavailable { .. } => "secrets.keyring_unavailable",
            SecretsError::EmptyKey => "secrets.empty_key",
            SecretsError::UnknownProvider { .. } => "secrets.unknown_provider",
        }
    }
}

fn entry(provider: Provider) -> Result<keyring::Entry, SecretsError> {
    keyring::Entry::new(SERVICE, provider.as_str()).map_err(|e| unavailable(provider, &e))
}

/// The keyring's error as a sentence; keyring errors carry no secret.
fn unavailable(provider: Provider, error: &keyring::Error) -> SecretsError {
    SecretsError::KeyringUnavailable {
        detail: error.to_string(),
        env_var: provider.env_var(),
    }
}

/// Variables of Fanout's environment that hold API keys and tokens. No child
/// process inherits them unless its spec names them (an agent CLI gets its
/// own provider's key), and their values are scrubbed from every text Fanout
/// stores or shows.
pub const CHILD_SECRET_VARS: [&str; 10] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "FANOUT_GITHUB_TOKEN",
];

/// What replaces a secret in stored and shown text.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not scrubbed: they would match ordinary
/// text, and no real key is that short.
const MIN_SECRET_LEN: usize = 8;

/// The secret values Fanout knows: those in its environment, and every key
/// it read from or saved to the keyring since it started.
fn known() -> std::sync::MutexGuard<'static, Vec<String>> {
    static KNOWN: std::sync::OnceLock<std::sync::Mutex<Vec<String>>> = std::sync::OnceLock::new();
    KNOWN
        .get_or_init(|| {
            let from_env = CHILD_SECRET_VARS
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| v.len() >= MIN_SECRET_LEN)
                .collect();
            std::sync::Mutex::new(from_env)
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Adds a secret to those scrubbed from every text.
pub fn remember(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut known = known();
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_owned());
        // Longest first, so a key that contains another is replaced whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `text` with every known secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let known = known();
    let mut out = std::borrow::Cow::Borrowed(text);
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = std::borrow::Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    out
}

/// [`redact`] in place.
pub fn scrub(text: &mut String) {
    if let std::borrow::Cow::Owned(clean) = redact(text) {
        *text = clean;
    }
}

/// [`redact`] on every string of a JSON value, keys included.
pub fn scrub_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => scrub(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(map) => {
            let dirty: Vec<String> = map
                .keys()
                .filter(|k| matches!(redact(k), std::borrow::Cow::Owned(_)))
                .cloned()
                .collect();
            for key in dirty {
                if let Some(v) = map.remove(&key) {
                    map.insert(redact(&key).into_owned(), v);
                }
            }
            map.values_mut().for_each(scrub_json);
        }
        _ => {}
    }
}

/// Saves `key` in the keyring.
pub fn set_key(provider: Provider, key: &ApiKey) -> Result<(), SecretsError> {
    if key.expose().is_empty() {
        return Err(SecretsError::EmptyKey);
    }
    remember(key.expose());
    entry(provider)?
        .set_password(key.expose())
        .map_err(|e| unavailable(provider, &e))
}

/// Removes the saved key; removing a key that is not there is fine.
pub fn delete_key(provider: Provider) -> Result<(), SecretsError> {
    match entry(provider)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(provider, &e)),
    }
}

/// The key for `provider`: the keyring's, else the environment's.
pub fn get_key(provider: Provider) -> Result<(ApiKey, KeySource), SecretsError> {
    let from_keyring = entry(provider).and_then(|entry| match entry.get_password() {
        Ok(key) => Ok(Some(key)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unavailable(provider, &e)),
    });
    let found = resolve(
        provider,
        from_keyring,
        std::env::var(provider.env_var()).ok(),
    )?;
    remember(found.0.expose());
    Ok(found)
}

/// The lookup order, apart from the OS: a keyring key wins; an unreachable
/// keyring is logged and the environment is used.
pub fn resolve(
    provider: Provider,
    from_keyring: Result<Option<String>, SecretsError>,
    from_env: Option<String>,
) -> Result<(ApiKey, KeySource), SecretsError> {
    match from_keyring {
        Ok(Some(key)) if !key.trim().is_empty() => {
            return Ok((ApiKey::new(key), KeySource::Keyring))
        }
        Ok(_) => {}
        Err(error) => tracing::info!(%error, "falling back to the environment for the API key"),
    }
    match from_env {
        Some(key) if !key.trim().is_empty() => Ok((ApiKey::new(key), KeySource::Environment)),
        _ => Err(SecretsError::Missing {
            provider,
            env_var: provider.env_var(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("sk-ant-secret-123");
        assert_eq!(format!("{key:?}"), "***", "Debug hides the key");
        let wrapped = Some((key, KeySource::Environment));
        assert!(
            !format!("{wrapped:?}").contains("secret"),
            "nor does the Debug of a struct holding it"
        );
    }

    #[test]
    fn keyring_wins_then_environment_then_a_clear_error() {
        let env = Some("sk-env".to_owned());
        let (key, source) = resolve(Provider::Anthropic, Ok(Some("sk-ring".into())), env.clone())
            .expect("a keyring key is found");
        assert_eq!(
            (key.expose(), source),
            ("sk-ring", KeySource::Keyring),
            "the keyring wins"
        );

        let broken = Err(SecretsError::KeyringUnavailable {
            detail: "no Secret Service".into(),
            env_var: "ANTHROPIC_API_KEY",
        });
        let (key, source) = resolve(Provider::Anthropic, broken, env).expect("falls back to env");
        assert_eq!(
            (key.expose(), source),
            ("sk-env", KeySource::Environment),
            "an unreachable keyring falls back"
        );

        let missing =
            resolve(Provider::OpenAi, Ok(None), Some("  ".into())).expect_err("blank is no key");
        assert!(
            missing.to_string().contains("OPENAI_API_KEY"),
            "the error names the variable to set: {missing}"
        );
    }
}
