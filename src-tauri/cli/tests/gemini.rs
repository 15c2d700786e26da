//! `fanout run --agent gemini`: the real binary with a stand-in `gemini`
//! (FANOUT_GEMINI_BIN) that replays a recording of the real Gemini CLI. The
//! real CLI itself runs in the engine test `real_gemini`.

#[path = "../../engine/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use common::Fixture;
use serde_json::Value;

fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Records its arguments and `GEMINI_CLI_HOME`, writes hello.txt in its
/// working directory (the worktree), prints the recording.
const FAKE_GEMINI: &str = r#"#!/bin/sh
printf '%s\n' "$@" > "$FAKE_DIR/args"
printf '%s' "$GEMINI_CLI_HOME" > "$FAKE_DIR/home"
printf 'hello from fake gemini\n' > hello.txt
cat "$FAKE_RECORDING"
"#;

#[test]
fn run_with_the_gemini_agent_uses_fanouts_own_gemini_settings() {
    let fx = Fixture::new();
    let fanout_home = tempfile::tempdir().expect("temp FANOUT_HOME");
    let fake = tempfile::tempdir().expect("a folder for the stand-in");
    let program = common::executable(&fake.path().join("gemini"), FAKE_GEMINI);
    let recording = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/recordings/gemini_auto_edit_write_file.jsonl");
    let approaches = fx.sibling("plan").join("approaches.json");
    std::fs::write(
        &approaches,
        r#"{"approaches": [{"name": "direct", "description": "write it", "guidelines": "keep it short"}]}"#,
    )
    .expect("approaches written");

    let out = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args([
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "add a greeting",
            "--approaches",
            s(&approaches),
            "--agent",
            "gemini",
            "--worktree-root",
            s(&fx.sibling("wt")),
            // The stand-in reports through files in /tmp, which the
            // sandbox's private /tmp would hide; the sandbox has tests of its own.
            "--sandbox",
            "off",
        ])
        .env("FANOUT_HOME", fanout_home.path())
        .env("FANOUT_GEMINI_BIN", &program)
        .env("FAKE_DIR", fake.path())
        .env("FAKE_RECORDING", &recording)
        .output()
        .expect("run fanout");
    assert!(
        out.status.success(),
        "fanout run --agent gemini failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let result = &doc["results"][0];
    assert_eq!(result["status"], "succeeded", "{result}");
    assert_eq!(result["agent"], "gemini", "{result}");
    assert_eq!(
        result["files_changed"], 1,
        "the stand-in's file is on the branch"
    );
    assert_eq!(
        result["summary"],
        "Wrote /home/user/project/hello.txt. Verify with: cat /home/user/project/hello.txt",
        "the recorded text, its deltas joined"
    );

    let args = std::fs::read_to_string(fake.path().join("args")).expect("the stand-in ran");
    assert!(
        args.contains("--approval-mode\nauto_edit\n") && args.contains("--skip-trust\n"),
        "the edits profile runs auto_edit without the trust prompt: {args}"
    );
    let config_home = fanout_home.path().join("gemini-cli");
    assert_eq!(
        std::fs::read_to_string(fake.path().join("home")).expect("home recorded"),
        s(&config_home),
        "the CLI's settings and sessions live in Fanout's data folder"
    );
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(config_home.join(".gemini/settings.json"))
            .expect("Fanout wrote the CLI's settings"),
    )
    .expect("settings are JSON");
    assert_eq!(
        settings["security"]["auth"]["selectedType"], "gemini-api-key",
        "API-key sign-in, so nothing prompts for a login"
    );
    assert_eq!(settings["privacy"]["usageStatisticsEnabled"], false);
}
