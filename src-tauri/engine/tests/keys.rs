//! Keys stay where they belong: a key reaches only the process that calls the
//! API with it, and no text Fanout stores or shows carries one.
//!
//! In a file of its own: the test puts a key in this process's environment,
//! as a user's shell would, so no other test may read the environment meanwhile.

mod common;

use std::time::Duration;

use common::Fixture;
use fanout_engine::api::Fanout;
use fanout_engine::experiment::{ApproachSpec, NewExperiment};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::llm::ApiEndpoint;
use fanout_engine::orchestrator::{Environment, Executables, RunConfig};
use fanout_engine::paths::Paths;
use fanout_engine::repo_settings::RepoSettings;
use fanout_engine::secrets::Provider;
use fanout_engine::store::VariantStatus;
use fanout_mock_llm::{MockServer, Script, Turn};
use serde_json::json;

const KEY: &str = "sk-ant-api03-KEEP-THIS-OUT-0123456789abcdef";

/// Prints whether it sees the key, and prints the key itself as a command
/// that reads it from a file would (a `.env` the agent found).
fn show(key_file: &std::path::Path) -> String {
    format!(
        "echo \"sees-key=${{ANTHROPIC_API_KEY:+yes}}\"; cat '{}'",
        key_file.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_but_the_agent_cli_gets_a_key_and_no_stored_text_holds_one() {
    std::env::set_var("ANTHROPIC_API_KEY", KEY);
    let fx = Fixture::new();
    let key_file = fx.sibling("found").join("key.txt");
    std::fs::write(&key_file, format!("{KEY}\n")).expect("key file");
    let show = show(&key_file);
    let bin = fx.sibling("bin");
    let command_agent = bin.join("agent");
    let claude = bin.join("claude");
    for (path, body) in [
        (&command_agent, format!("echo command-agent; {show}")),
        // Claude Code calls the API itself: it must get the key. It says so
        // without printing it, then answers in stream-json.
        (&claude, format!(
            "echo \"claude-sees-key=${{ANTHROPIC_API_KEY:+yes}}\" >&2\ncat '{}' >&2\nprintf '%s\\n' '{}'",
            key_file.display(),
            r#"{"type":"result","subtype":"success","is_error":false,"result":"done","num_turns":1,"session_id":"s-1","usage":{"input_tokens":1,"output_tokens":1}}"#
        )),
    ] {
        common::script(path, &body);
    }
    let server = MockServer::start(Script::sequential(vec![
        Turn::tool("run_command", json!({"command": show})),
        Turn::text("done"),
    ]))
    .await
    .expect("mock starts");
    let environment = Environment {
        grace: Duration::from_millis(300),
        executables: Executables {
            claude: Some(claude.clone()),
            ..Executables::default()
        },
        ..Environment::default()
    };
    let run = RunConfig {
        agent_command: Some(format!("'{}'", command_agent.display())),
        api: ApiEndpoint {
            provider: Provider::Anthropic,
            base_url: Some(server.url()),
            model: Some("claude-sonnet-4-5".into()),
        },
        permission: fanout_engine::agent::PermissionProfile::EditsAndCommands,
        check: Some(format!("echo check; {show}")),
        // The key file is in /tmp, which the sandbox would hide; this test
        // is about environments and stored text.
        sandbox: false,
        ..RunConfig::default()
    };
    let fanout = Fanout::open(
        Paths::at(fx.sibling("home")),
        environment,
        RunConfig::default(),
    )
    .expect("Fanout opens");
    fanout
        .engine()
        .save_repo_settings(
            &fx.root,
            RepoSettings {
                setup_command: Some(format!("echo setup; {show}")),
                ..RepoSettings::default()
            },
        )
        .expect("setup command saved");
    let approach = |name: &str, agent: &str| ApproachSpec {
        name: name.into(),
        agent: Some(agent.into()),
        ..ApproachSpec::default()
    };
    let (view, ticket) = fanout
        .launch(NewExperiment {
            repo: fx.root.clone(),
            task: "leak the key".into(),
            approaches: vec![
                approach("command", "command"),
                approach("claude", "claude-code"),
                approach("builtin", "api"),
            ],
            include_uncommitted: false,
            worktree_root: Some(fx.sibling("worktrees")),
            default_agent: "command".into(),
            run,
        })
        .await
        .expect("launched");
    ticket.finished().await;
    let id = ExperimentId::new(view.experiment.id.clone());
    let done = fanout.engine().experiment(&id).expect("experiment");
    for v in &done.variants {
        assert_eq!(
            v.status,
            VariantStatus::Succeeded,
            "{}: {:?}",
            v.name,
            v.error
        );
    }

    let mut everything = String::new();
    for v in &done.variants {
        for event in fanout
            .engine()
            .events(&id, VariantIndex(v.index), 0, 10_000)
            .expect("events")
        {
            everything.push_str(&event.payload.to_string());
            everything.push('\n');
        }
        everything.push_str(&format!("{v:?}\n"));
    }
    let report = fanout.engine().report(&id).expect("report");
    everything.push_str(&report);

    assert!(
        everything.contains("claude-sees-key=yes"),
        "the agent CLI, which calls the API, got its key"
    );
    let sees = everything.matches("sees-key=yes").count();
    assert_eq!(
        sees, 1,
        "only Claude Code saw the key: not the command agent, the built-in agent's shell, the setup command or the check"
    );
    for who in ["command-agent", "setup", "check"] {
        assert!(
            everything.contains(who),
            "{who} ran and its output was stored"
        );
    }
    assert!(
        !everything.contains(KEY),
        "no stored event, check or setup output, variant record or report holds the key"
    );
    assert!(
        everything.contains("[redacted]"),
        "where a program printed it, the key is replaced"
    );
    assert!(
        !server
            .model_requests()
            .iter()
            .any(|r| r.body.to_string().contains(KEY)),
        "the model never read it either"
    );
}
