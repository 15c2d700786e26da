//! API keys through the real keyring and environment. On a headless machine
//! (no Secret Service, as in CI) the keyring is unreachable: saving says so and
//! names the variable to use, and reading falls back to the environment. Where a
//! keyring works, the key round-trips through it. One test, so no other test
//! of this binary races on the environment variable.

use fanout_engine::approaches::Planner;
use fanout_engine::secrets::{delete_key, get_key, set_key, ApiKey, KeySource, Provider};

#[test]
fn keys_come_from_the_keyring_or_the_environment_and_never_leak() {
    let provider = Provider::OpenAi;
    let secret = "sk-fanout-test-DO-NOT-PRINT-42";
    std::env::set_var(provider.env_var(), "sk-from-env");
    match set_key(provider, &ApiKey::new(secret)) {
        Err(error) => {
            let text = error.to_string();
            assert_eq!(error.code(), "secrets.keyring_unavailable", "{text}");
            assert!(
                text.contains("OPENAI_API_KEY"),
                "the error says what to do instead: {text}"
            );
            assert!(
                !text.contains(secret),
                "the key is not in the error: {text}"
            );
            let (key, source) = get_key(provider).expect("the environment still gives a key");
            assert_eq!(
                (key.expose(), source),
                ("sk-from-env", KeySource::Environment),
                "falls back to the environment"
            );
        }
        Ok(()) => {
            let (key, source) = get_key(provider).expect("the saved key is read");
            assert_eq!(
                (key.expose(), source),
                (secret, KeySource::Keyring),
                "the keyring wins over the environment"
            );
            delete_key(provider).expect("the key is removed");
            let (_, source) = get_key(provider).expect("the environment remains");
            assert_eq!(
                source,
                KeySource::Environment,
                "after delete the environment is used"
            );
        }
    }
    std::env::remove_var(provider.env_var());
    let error = get_key(provider).expect_err("no key anywhere");
    assert_eq!(error.code(), "secrets.missing", "{error}");

    // Approach planning picks the API only when an Anthropic key is there.
    let choose = || Planner::choose("claude".into(), std::env::temp_dir(), &Default::default());
    std::env::set_var("ANTHROPIC_API_KEY", "sk-ant-env");
    assert!(matches!(choose(), Planner::Api(_)), "a key means the API");
    std::env::remove_var("ANTHROPIC_API_KEY");
    if get_key(Provider::Anthropic).is_err() {
        assert!(
            matches!(choose(), Planner::ClaudeCli { .. }),
            "no key means Claude Code one-shot"
        );
    }
}
