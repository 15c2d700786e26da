// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Agents run under this very binary as their supervisor.
    fanout_engine::supervisor::serve_if_asked();
    quiet_webkit();
    fanout_app::run();
}

/// WebKitGTK switches the app turns on for itself, each only when the user
/// has not set it. A user who wants WebKit's own behaviour back sets the
/// variable to 0: WebKit reads the first as on for anything but "0", the
/// second as on for "1" only.
#[cfg(target_os = "linux")]
const WEBKIT_SWITCHES: [&str; 2] = [
    // Accelerated compositing adds about 100 MB of memory (333 MB idle
    // in all against 232 MB without it; BENCHMARKS.md, "Cold start and idle
    // memory") and buys nothing for a page of text and lists.
    "WEBKIT_DISABLE_COMPOSITING_MODE",
    // The memory pressure handler has every web process read its whole
    // /proc/self/smaps on its main thread every 30 s: 55-63 ms while the diff
    // viewer scrolls, the wheel's only frames over 50 ms (BENCHMARKS.md,
    // "The diff viewer's frames"). What it buys, purging caches under system memory
    // pressure and killing a page past a memory limit, is for browsers full
    // of other people's pages, not for one page of our own.
    "WEBKIT_DISABLE_MEMORY_PRESSURE_MONITOR",
];

fn quiet_webkit() {
    #[cfg(target_os = "linux")]
    {
        let set: Vec<&str> = WEBKIT_SWITCHES
            .into_iter()
            .filter(|name| std::env::var_os(name).is_none())
            .collect();
        for name in &set {
            // Sound here: main has not started any thread yet.
            std::env::set_var(name, "1");
        }
        // The agents, checks and git commands Fanout starts see the user's
        // environment.
        fanout_engine::process::keep_from_children(&set);
    }
}
