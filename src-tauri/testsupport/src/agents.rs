//! The real agent CLIs some tests run, where the install scripts cache them,
//! and the environment that keeps Claude Code on the mock API and out of the
//! user's own settings.

use std::path::{Path, PathBuf};

/// The Claude Code CLI: `FANOUT_CLAUDE_BIN`, or the cache that
/// `scripts/install-claude-code.sh` fills. Fails the test when neither is
/// there, because a silently skipped test would hide that the real CLI was
/// never exercised.
pub fn claude_binary() -> PathBuf {
    installed(
        "FANOUT_CLAUDE_BIN",
        "claude-code/node_modules/@anthropic-ai/claude-code-linux-x64/claude",
        "Claude Code CLI",
        "scripts/install-claude-code.sh",
    )
}

/// The Gemini CLI (npm `@google/gemini-cli`): `FANOUT_GEMINI_BIN`, or the
/// cache that `scripts/install-gemini-cli.sh` fills; fails the test as
/// [`claude_binary`] does.
pub fn gemini_binary() -> PathBuf {
    installed(
        "FANOUT_GEMINI_BIN",
        "gemini-cli/node_modules/.bin/gemini",
        "Gemini CLI",
        "scripts/install-gemini-cli.sh",
    )
}

fn installed(variable: &str, cached: &str, what: &str, installer: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let cached = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache")
        .join(cached);
    assert!(
        cached.exists(),
        "The {what} is not installed at {}. Run {installer} (make test does), or set {variable}.",
        cached.display()
    );
    cached
}

/// What Claude Code needs to talk to the mock at `base_url` only: a mock key,
/// no telemetry, updates or other traffic, and `home` as its HOME and
/// configuration folder.
pub fn claude_offline_env(base_url: &str, home: &Path) -> Vec<(String, String)> {
    [
        ("ANTHROPIC_BASE_URL", base_url.to_owned()),
        ("ANTHROPIC_API_KEY", "sk-ant-mock-key".to_owned()),
        ("DISABLE_TELEMETRY", "1".to_owned()),
        ("DISABLE_AUTOUPDATER", "1".to_owned()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ("HOME", home.display().to_string()),
        (
            "CLAUDE_CONFIG_DIR",
            home.join(".claude").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
