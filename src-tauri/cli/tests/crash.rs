//! Nothing survives Fanout's death: `fanout run` killed with SIGKILL, or
//! stopped with SIGTERM or SIGHUP, while its agents have backgrounded,
//! double-forked and `setsid` processes. And a second terminal cannot change
//! an experiment a run is changing. The real binary, real processes, with
//! and without the sandbox; processes are found by a marker in their command
//! line, so those inside the sandbox's own PID namespace count too.

#[path = "../../engine/tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{executable, marked, Fixture};
use serde_json::Value;

/// An agent that leaves processes behind in every way it can, then hangs.
fn agent_script(marker: &str) -> String {
    format!(
        "#!/bin/sh\n\
         setsid sleep {marker}1 >/dev/null 2>&1 &\n\
         (sleep {marker}2 >/dev/null 2>&1 &)\n\
         sleep {marker}3 >/dev/null 2>&1 &\n\
         exec sleep {marker}4\n"
    )
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Scene {
    fx: Fixture,
    home: tempfile::TempDir,
    marker: String,
}

impl Scene {
    fn new() -> Scene {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        Scene {
            fx: Fixture::new(),
            home: tempfile::tempdir().expect("FANOUT_HOME"),
            // A number no other process on the machine has in its command line.
            marker: (9_000_000
                + u64::from(nanos % 900_000) * 10
                + u64::from(std::process::id() % 10))
            .to_string(),
        }
    }

    fn fanout(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fanout"));
        command.env("FANOUT_HOME", self.home.path());
        command
    }

    /// `fanout run` with two variants of the leaving agent, started and
    /// waited for until all eight of their processes run.
    fn start(&self, sandbox: &str) -> Running {
        let bin = self.fx.sibling("bin");
        let agent = bin.join("agent");
        executable(&agent, agent_script(&self.marker));
        let approaches = bin.join("approaches.json");
        std::fs::write(
            &approaches,
            r#"{"approaches": [{"name": "one"}, {"name": "two"}]}"#,
        )
        .expect("approaches");
        let child = self
            .fanout()
            .args(["run", "--repo"])
            .arg(&self.fx.root)
            .args(["--task", "leave things behind", "--approaches"])
            .arg(&approaches)
            .args(["--agent", "command", "--agent-command"])
            .arg(format!("'{}'", agent.display()))
            .args(["--sandbox", sandbox])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("fanout run starts");
        let running = Running(child);
        wait_for(
            "all eight processes of the two agents start",
            Duration::from_secs(20),
            || marked(&self.marker).len() >= 8,
        );
        running
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self
            .fanout()
            .arg("--json")
            .args(args)
            .output()
            .expect("fanout");
        assert!(
            out.status.success(),
            "fanout {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON document")
    }

    fn statuses(&self) -> Vec<String> {
        let list = self.json(&["list"]);
        let id = list["experiments"][0]["id"]
            .as_str()
            .expect("the experiment")
            .to_owned();
        let shown = self.json(&["show", &id]);
        shown["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .map(|v| v["status"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// A `fanout run` that is killed if the test ends first (a failed
/// assertion must not leave it running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, signal).expect("signal sent");
}

#[test]
fn after_kill_9_of_fanout_run_nothing_is_left_and_the_next_command_says_interrupted() {
    for sandbox in ["off", "on"] {
        let scene = Scene::new();
        let mut run = scene.start(sandbox);
        run.0.kill().expect("SIGKILL");
        run.0.wait().expect("reaped");

        // The next command, whichever it is.
        let started = Instant::now();
        scene.json(&["list"]);
        wait_for(
            &format!("sandbox {sandbox}: every process the agents started is gone"),
            Duration::from_secs(5).saturating_sub(started.elapsed()),
            || marked(&scene.marker).is_empty(),
        );
        assert_eq!(
            scene.statuses(),
            ["interrupted", "interrupted"],
            "sandbox {sandbox}: no variant is called running any more"
        );
        let list = scene.json(&["list"]);
        assert_eq!(
            list["experiments"][0]["status"], "finished",
            "sandbox {sandbox}: nor the experiment"
        );
        let id = list["experiments"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let cancel = scene
            .fanout()
            .args(["cancel", &id])
            .output()
            .expect("fanout cancel");
        assert!(
            !cancel.status.success()
                && String::from_utf8_lossy(&cancel.stderr).contains("nothing to cancel"),
            "sandbox {sandbox}: cancel does not claim to stop what is already gone: {}",
            String::from_utf8_lossy(&cancel.stderr)
        );
    }
}

#[test]
fn sigterm_and_sighup_stop_a_run_like_ctrl_c() {
    for (name, sig) in [
        ("SIGTERM", rustix::process::Signal::TERM),
        ("SIGHUP", rustix::process::Signal::HUP),
    ] {
        let scene = Scene::new();
        let mut run = scene.start("on");
        signal(&run.0, sig);
        let deadline = Instant::now() + Duration::from_secs(30);
        while run.0.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "{name}: fanout run ends");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            marked(&scene.marker).is_empty(),
            "{name}: no process outlives the run: {:?}",
            marked(&scene.marker)
        );
        assert_eq!(
            scene.statuses(),
            ["cancelled", "cancelled"],
            "{name}: the variants end cancelled, as with Ctrl-C"
        );
    }
}

/// `fanout cancel` from another terminal stops a live run's agents, and
/// everything they started, for real.
#[test]
fn cancel_from_another_terminal_stops_the_whole_tree() {
    let scene = Scene::new();
    let mut run = scene.start("off");
    let list = scene.json(&["list"]);
    let id = list["experiments"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let cancelled = scene.json(&["cancel", &id]);
    assert_eq!(
        cancelled["stopped"],
        serde_json::json!([1, 2]),
        "{cancelled}"
    );
    assert!(
        marked(&scene.marker).is_empty(),
        "every process is gone when cancel returns"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while run.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "fanout run ends");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(scene.statuses(), ["cancelled", "cancelled"]);
}

/// While `fanout run` works on an experiment, a second terminal can read it
/// but not change it: follow-up, commit, merge and clean are refused with a
/// sentence naming the process that holds it.
#[test]
fn a_second_terminal_cannot_change_a_running_experiment() {
    let scene = Scene::new();
    let _run = scene.start("off");
    let list = scene.json(&["list"]);
    let id = list["experiments"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for args in [
        vec!["follow-up", id.as_str(), "1", "more"],
        vec!["commit", id.as_str()],
        vec!["merge", id.as_str(), "1"],
        vec!["clean", id.as_str(), "--force"],
    ] {
        let out = scene.fanout().args(&args).output().expect("fanout");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?} is refused: {stderr}");
        assert!(
            stderr.contains("another Fanout process") && stderr.contains("running variants"),
            "{args:?}: the sentence names who holds it and what it does: {stderr}"
        );
    }
    for args in [
        vec!["show", id.as_str()],
        vec!["report", id.as_str()],
        vec!["diff", id.as_str(), "1"],
    ] {
        let out = scene.fanout().args(&args).output().expect("fanout");
        assert!(
            out.status.success(),
            "{args:?}: reads never wait: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        marked(&scene.marker).len(),
        8,
        "nothing the refused commands tried touched the running agents"
    );
}
