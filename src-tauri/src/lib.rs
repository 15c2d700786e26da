//! Fanout's desktop shell: the Tauri builder, managed state and thin commands
//! over `fanout-engine`.

mod commands;
mod error;
mod state;

use state::AppState;

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
        .manage(AppState::new(launch_repo))
        .manage(commands::DiffPages::default())
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
            commands::diff_file_lines,
            commands::similarity,
            commands::merge_preview,
            commands::merge_apply,
            commands::merge_undo,
            commands::experiment_clean,
        ])
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("Fanout could not start its window: {err}. Check that a display is available (DISPLAY or WAYLAND_DISPLAY) and that WebKitGTK 4.1 is installed.");
        std::process::exit(1);
    }
}
