//! `fanout run --permission ask` without a terminal: a replayed two-way
//! Claude Code session asks to run a command; `fanout` denies it, tells the
//! model why, and says so on stderr.

#[path = "../../engine/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Fixture;

/// Replays `FAKE_RECORDING` (with `CWD` replaced by the working directory),
/// reading one stdin line after each `control_request`; logs its stdin.
const REPLAY: &str = r#"#!/usr/bin/env python3
import os, sys
log = open(os.environ["FAKE_LOG"], "a")
def take():
    line = sys.stdin.readline()
    log.write(line); log.flush()
    return line
take()
for line in open(os.environ["FAKE_RECORDING"]):
    line = line.replace("CWD", os.getcwd())
    sys.stdout.write(line); sys.stdout.flush()
    if '"control_request"' in line:
        take()
while take():
    pass
"#;

/// A Bash request in the shape of the two-way recordings.
const RECORDING: &str = r#"{"type":"system","subtype":"init","cwd":"CWD","session_id":"6f1c1f0e-0000-4000-8000-000000000001","tools":["Bash"],"model":"claude-sonnet-4-5"}
{"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"rm -rf build","description":"Clean"}}]},"session_id":"6f1c1f0e-0000-4000-8000-000000000001"}
{"type":"control_request","request_id":"req-bash-1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"rm -rf build","description":"Clean"},"tool_use_id":"toolu_1"}}
{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"denied","is_error":true,"tool_use_id":"toolu_1"}]},"session_id":"6f1c1f0e-0000-4000-8000-000000000001"}
{"type":"result","subtype":"success","is_error":false,"result":"Did without the command.","num_turns":2,"session_id":"6f1c1f0e-0000-4000-8000-000000000001","usage":{"input_tokens":10,"output_tokens":5}}
"#;

#[test]
fn ask_without_a_terminal_denies_and_says_so() {
    let fx = Fixture::new();
    let bin = fx.sibling("bin");
    let fake = bin.join("claude");
    common::executable(&fake, REPLAY);
    let recording = bin.join("bash.jsonl");
    std::fs::write(&recording, RECORDING).expect("write the recording");
    let log = bin.join("stdin.jsonl");
    let approaches = bin.join("approaches.json");
    std::fs::write(
        &approaches,
        r#"{"approaches": [{"name": "clean", "description": "clean up", "guidelines": "be careful"}]}"#,
    )
    .expect("write approaches");
    let home = tempfile::tempdir().expect("FANOUT_HOME");

    let out = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["run", "--repo"])
        .arg(&fx.root)
        .args(["--task", "clean up", "--approaches"])
        .arg(&approaches)
        .args(["--permission", "ask"])
        // The replay reads its recording and logs its stdin in /tmp, which the
        // sandbox's private /tmp would hide; the sandbox has tests of its own.
        .args(["--sandbox", "off"])
        .env("FANOUT_HOME", home.path())
        .env("FANOUT_CLAUDE_BIN", &fake)
        .env("FAKE_LOG", &log)
        .env("FAKE_RECORDING", &recording)
        .stdin(Stdio::null())
        .output()
        .expect("run fanout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the variant succeeds without the command: {stderr}"
    );
    assert!(
        stderr.contains("denied Bash") && stderr.contains("stdin is not a terminal"),
        "stderr says what was denied and why: {stderr}"
    );
    let written = std::fs::read_to_string(Path::new(&log)).expect("the fake logged its stdin");
    let answer: serde_json::Value = written
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .find(|v: &serde_json::Value| v["type"] == "control_response")
        .unwrap_or_else(|| panic!("fanout answered the request: {written}"));
    assert_eq!(answer["response"]["request_id"], "req-bash-1");
    assert_eq!(answer["response"]["response"]["behavior"], "deny");
    assert!(
        answer["response"]["response"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("without a terminal")),
        "the model is told why: {answer}"
    );
}
