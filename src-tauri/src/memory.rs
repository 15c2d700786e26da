//! Idle memory (target: at most 200 MB PSS over the app and its WebKit
//! processes; BENCHMARKS.md, "Cold start and idle memory").

/// Hands the heap that startup allocated and freed back to the system, which
/// glibc's malloc otherwise keeps: 1.2–1.6 MB of the app process's idle PSS
/// (BENCHMARKS.md).
/// Called when the UI has painted its first screen; the wait lets the UI's
/// first requests (settings, recent repositories, agent detection) finish.
pub fn trim_heap_after_startup() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tauri::async_runtime::spawn(async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        // SAFETY: malloc_trim takes glibc's own arena locks and releases only
        // free pages; it touches no memory the program owns.
        let trim = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) });
        if let Err(err) = trim.await {
            tracing::debug!(%err, "the heap trim did not run");
        }
    });
}
