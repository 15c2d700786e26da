//! The app in the rendering mode users get: WebKit without accelerated
//! compositing and without its memory pressure handler
//! (src-tauri/src/main.rs). WebDriver cannot drive that mode (the other
//! end-to-end tests turn compositing back on), so this test starts the window
//! directly and waits for the page to report its first painted screen
//! through the backend (`ui_ready`, two animation frames after mounting):
//! proof that the page rendered, ran its script and reached Rust.
//!
//! Run: `(cd ui && npm run build) && cargo test --features custom-protocol --test startup`.
//! FANOUT_APP_BINARY names another binary to check, e.g. the installed
//! `/usr/bin/fanout-app` (scripts/test-dist.sh).

#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{pids_with_env, PlainApp};

#[test]
fn the_default_rendering_mode_paints_and_reaches_the_backend() {
    let home = tempfile::tempdir().expect("temp home");
    let mark = home.path().join("first-screen");
    let mark_var = mark.display().to_string();
    let binary = std::env::var("FANOUT_APP_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_fanout-app").to_owned());
    let app = PlainApp::start(&binary, home.path(), &[("FANOUT_STARTUP_MARK", &mark_var)]);

    let deadline = Instant::now() + Duration::from_secs(60);
    while !mark.is_file() {
        assert!(
            Instant::now() < deadline,
            "no first screen within 60 s; see target/e2e-logs/plain-app.err.log"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let written = std::fs::read_to_string(&mark).expect("read the mark");
    assert!(
        written.trim().parse::<u128>().is_ok(),
        "ui_ready wrote the wall clock in ms: {written:?}"
    );

    // The app set its WebKit switches for itself, so its WebKit processes
    // inherited them: no compositing, and no memory pressure handler reading
    // /proc/self/smaps every 30 s.
    let ours = pids_with_env(&app.marker);
    for switch in [
        "WEBKIT_DISABLE_COMPOSITING_MODE=1",
        "WEBKIT_DISABLE_MEMORY_PRESSURE_MONITOR=1",
    ] {
        let switched = pids_with_env(switch);
        assert!(
            ours.iter()
                .any(|pid| *pid != app.pid as i32 && switched.contains(pid)),
            "a WebKit process of this app runs with {switch} (ours: {ours:?}, switched: {switched:?})"
        );
    }
}
