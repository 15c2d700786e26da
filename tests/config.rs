//! The app's security configuration, checked as shipped: a strict CSP and no
//! permission the UI does not use.

use serde_json::Value;

fn read_json(rel: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

#[test]
fn csp_forbids_inline_remote_and_eval_scripts() {
    let conf = read_json("tauri.conf.json");
    let csp = &conf["app"]["security"]["csp"];
    let directive = |name: &str| csp[name].as_str().unwrap_or_default().to_string();

    // Text from agents and diffs must never run: only our own bundled scripts may.
    assert_eq!(directive("script-src"), "'self'");
    assert_eq!(directive("default-src"), "'self'");
    assert_eq!(directive("object-src"), "'none'");
    // LLM calls are made from Rust, so the page talks to nothing but the IPC.
    for source in directive("connect-src").split_whitespace() {
        assert!(
            source == "ipc:" || source == "http://ipc.localhost",
            "connect-src allows {source}, which is not Tauri's IPC"
        );
    }
    let all = serde_json::to_string(csp).unwrap();
    assert!(!all.contains("unsafe-eval"), "no eval in the page: {all}");
    assert!(
        !all.contains("unsafe-inline"),
        "no inline scripts or styles: {all}"
    );
}

#[test]
fn capabilities_grant_no_fs_or_shell_access() {
    let cap = read_json("capabilities/default.json");
    let perms = cap["permissions"].as_array().expect("a permissions list");
    for p in perms {
        let id = p
            .as_str()
            .or_else(|| p["identifier"].as_str())
            .unwrap_or_default();
        assert!(
            !id.starts_with("fs:") && !id.starts_with("shell:"),
            "the UI never needs {id}: file and process work happens in Rust"
        );
        // Dialogs and the opener are called by Fanout's own commands, which
        // check what is opened (a variant's worktree, not any path).
        assert!(
            !id.starts_with("dialog:") && !id.starts_with("opener:"),
            "the UI never needs {id}: dialogs and opening happen in Rust"
        );
    }
}
