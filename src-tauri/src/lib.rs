//! Fanout's desktop shell: the Tauri builder, managed state and thin commands
//! over `fanout-engine`. `commands/<area>.rs` holds the commands of one area
//! of the window; `state` what the app keeps; `live` notifications and the
//! window's streams; `memory` the idle-memory trim.

mod commands;
mod live;
mod memory;
mod state;

use state::AppState;
use tauri::{Emitter, Manager};

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FANOUT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    // `fanout-app /some/repo` opens that repository first.
    let launch_repo = std::env::args().nth(1).filter(|a| !a.starts_with('-'));

    let state = AppState::open(launch_repo);
    let window_state_file = state
        .paths()
        .map(|p| p.home().join("window-state.json"))
        .ok();
    let mut window_state = tauri_plugin_window_state::Builder::default();
    if let Some(file) = window_state_file {
        // Beside the rest of Fanout's data, so a throwaway FANOUT_HOME (tests,
        // a second profile) has its own window size too.
        window_state = window_state.with_filename(file.to_string_lossy());
    }

    let result = tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id())
                .callback(second_launch)
                .build(),
        )
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(window_state.build())
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        .manage(commands::diff::DiffPages::default())
        .setup(|app| {
            // Works out the login shell's PATH now, so that detection and the
            // first run find it ready.
            tauri::async_runtime::spawn(fanout_engine::detect::agent_path());
            start_notices(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::ui_ready,
            commands::app::repo_inspect,
            commands::app::recent_repos,
            commands::app::machine_status,
            commands::experiments::experiments_list,
            commands::experiments::experiment_get,
            commands::experiments::variant_commit,
            commands::experiments::experiment_disk,
            commands::experiments::experiment_clean,
            commands::diff::diff_files,
            commands::diff::diff_file,
            commands::diff::diff_file_lines,
            commands::diff::similarity,
            commands::merge::merge_preview,
            commands::merge::merge_apply,
            commands::merge::merge_undo,
            commands::runs::experiment_launch,
            commands::runs::run_watch,
            commands::runs::run_stop,
            commands::runs::run_cancel,
            commands::runs::variant_steer,
            commands::runs::variant_retry,
            commands::runs::variant_follow_up,
            commands::runs::variant_events,
            commands::runs::approaches_generate,
            commands::judging::reviews_get,
            commands::judging::variant_review,
            commands::judging::ranking_get,
            commands::judging::experiment_judge,
            commands::judging::difference_get,
            commands::judging::difference_explain,
            commands::judging::variant_combine,
            commands::judging::variant_synthesize,
            commands::judging::variant_check,
            commands::judging::stats_get,
            commands::judging::pr_draft,
            commands::judging::pr_open,
            commands::judging::github_token_status,
            commands::judging::github_token_save,
            commands::settings::host_check,
            commands::settings::settings_get,
            commands::settings::settings_save,
            commands::settings::repo_settings_get,
            commands::settings::repo_settings_save,
            commands::settings::repo_settings_export,
            commands::settings::agents_detect,
            commands::keys::api_key_status,
            commands::keys::api_key_save,
            commands::keys::api_key_delete,
            commands::desktop::pick_folder,
            commands::desktop::report_export,
            commands::desktop::open_folder,
            commands::desktop::open_in_editor,
        ])
        .build(tauri::generate_context!())
        .map(|app| app.run(quit_cleanly));
    if let Err(err) = result {
        eprintln!("Fanout could not start its window: {err}. Check that a display is available (DISPLAY or WAYLAND_DISPLAY) and that WebKitGTK 4.1 is installed.");
        std::process::exit(1);
    }
}

/// Quitting the app cancels its runs and waits for their sessions to end:
/// the variants are recorded as cancelled, not left "running" for the next
/// start to find, and no agent keeps working after the window is gone.
fn quit_cleanly(app: &tauri::AppHandle, event: tauri::RunEvent) {
    if let tauri::RunEvent::Exit = event {
        if let Ok(fanout) = app.state::<AppState>().fanout() {
            let dispatcher = fanout.dispatcher().clone();
            tauri::async_runtime::block_on(dispatcher.shutdown(std::time::Duration::from_secs(10)));
        }
    }
}

/// Desktop notifications for the runs (sent from here, so the UI needs no
/// notification permission): a tool use waits for the user, a run ended.
fn start_notices(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    let Ok(live) = state.live() else {
        return;
    };
    let handle = app.clone();
    live.set_notifier(Box::new(move |title, body| {
        use tauri_plugin_notification::NotificationExt;
        // No notification daemon (a bare X server, a CI box) is not the run's failure.
        if let Err(err) = handle
            .notification()
            .builder()
            .title(title)
            .body(body)
            .show()
        {
            tracing::warn!(%err, "the desktop notification could not be shown");
        }
    }));
    tauri::async_runtime::spawn(live.clone().notify_requests());
}

/// One running Fanout per data directory: a second launch with the same
/// FANOUT_HOME hands over to the first; one with another home (a test, a
/// second profile) is a separate app.
fn instance_id() -> String {
    let home = std::env::var("FANOUT_HOME").unwrap_or_default();
    if home.is_empty() {
        return "dev.fanout.app".into();
    }
    // FNV-1a: a stable, short name part; D-Bus names allow only [A-Za-z0-9_].
    let hash = home.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("dev.fanout.app.h{hash:016x}")
}

/// A second launch: the first window comes forward, and opens the
/// repository the second was given, if any.
fn second_launch(app: &tauri::AppHandle, argv: Vec<String>, cwd: String) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if let Some(arg) = argv.get(1).filter(|a| !a.starts_with('-')) {
        let path = std::path::Path::new(&cwd).join(arg);
        if let Err(err) = app.emit("open-repo", path.to_string_lossy()) {
            tracing::warn!(%err, "could not pass the second launch's repository to the window");
        }
    }
}
