// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    prefer_direct_rendering();
    fanout_app::run();
}

/// WebKitGTK's accelerated compositing doubles the web process's memory
/// (333 MB idle in all against 236 MB without it; BENCHMARKS.md, "Cold start
/// and idle memory") and buys nothing for a page of text and lists. A user
/// who wants it back sets WEBKIT_DISABLE_COMPOSITING_MODE=0 (WebKit reads
/// "0" as "keep compositing").
fn prefer_direct_rendering() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // Sound here: main has not started any thread yet.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        fanout_engine::process::keep_from_children(&["WEBKIT_DISABLE_COMPOSITING_MODE"]);
    }
}
