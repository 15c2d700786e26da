//! Fanout's desktop shell: the Tauri builder, managed state and thin commands
//! over `fanout-engine`.

mod commands;
mod error;

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FANOUT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("Fanout could not start its window: {err}. Check that a display is available (DISPLAY or WAYLAND_DISPLAY) and that WebKitGTK 4.1 is installed.");
        std::process::exit(1);
    }
}
