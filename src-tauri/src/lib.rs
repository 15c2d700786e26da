//! Fanout's desktop shell: the Tauri builder, managed state and thin commands
//! over `fanout-engine`.

mod commands;
mod error;
mod run_commands;
mod runs;
mod state;

use state::AppState;
use tauri::Manager;

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

    let result = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(AppState::new(launch_repo))
        .setup(|app| {
            start_runs(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::repo_inspect,
            commands::recent_repos,
            commands::experiments_list,
            commands::experiment_get,
            commands::experiment_create,
            commands::variant_commit,
            commands::diff_files,
            commands::diff_file,
            commands::similarity,
            commands::merge_preview,
            commands::merge_apply,
            commands::merge_undo,
            commands::experiment_clean,
            run_commands::experiment_launch,
            run_commands::run_watch,
            run_commands::run_stop,
            run_commands::run_cancel,
            run_commands::variant_retry,
            run_commands::variant_follow_up,
            run_commands::variant_events,
            run_commands::approaches_generate,
        ])
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("Fanout could not start its window: {err}. Check that a display is available (DISPLAY or WAYLAND_DISPLAY) and that WebKitGTK 4.1 is installed.");
        std::process::exit(1);
    }
}

/// Sets up the live runs once the engine opened: outcomes become desktop
/// notifications (sent from here, so the UI needs no notification
/// permission), and variants a crashed Fanout left running become interrupted.
fn start_runs(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    let (Ok(engine), Ok(paths)) = (state.engine(), state.paths()) else {
        return;
    };
    let runs = runs::Runs::new(engine, paths);
    let handle = app.clone();
    runs.set_notifier(Box::new(move |title, body| {
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
    app.manage(runs.clone());
    tauri::async_runtime::spawn(async move {
        match runs.recover().await {
            Ok(marked) if !marked.is_empty() => {
                tracing::info!(
                    count = marked.len(),
                    "marked variants of a stopped Fanout as interrupted"
                )
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(message = %err.message, "crash recovery failed"),
        }
    });
}
