//! Processes as /proc shows them: what a test checks is gone.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every process /proc lists now; none when it cannot be read.
fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
}

/// Live (non-zombie) processes whose process group is `pgid`, from /proc.
pub fn group_members(pgid: u32) -> Vec<u32> {
    pids()
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the command name (which may hold spaces) start after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
        })
        .collect()
}

/// Waits (briefly, asynchronously) for killed processes to disappear, then
/// asserts none is left in the group.
pub async fn assert_group_gone(pgid: u32) {
    for _ in 0..40 {
        if group_members(pgid).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "processes of group {pgid} outlived their session: {:?}",
        group_members(pgid)
    );
}

/// Whether `pid` is a live process (not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim().to_owned())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

/// Live processes whose command line holds `marker`: also those in a
/// sandbox's own PID namespace, whose pids a script inside cannot tell.
pub fn marked(marker: &str) -> Vec<u32> {
    pids()
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            alive(*pid) && String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .collect()
}

/// Processes whose working directory is inside `dir`: what an agent that
/// ran there may have left behind.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    pids()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect()
}

/// Writes an executable shell script (`#!/bin/sh` and `body`) at `path`.
pub fn script(path: &Path, body: &str) -> PathBuf {
    executable(path, format!("#!/bin/sh\n{body}\n"))
}

/// Writes `content` at `path` (creating folders) and makes it executable:
/// a stand-in for a program, in whatever language its first line names.
pub fn executable(path: &Path, content: impl AsRef<[u8]>) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the program's folder");
    }
    std::fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("make {} executable: {e}", path.display()));
    path.to_path_buf()
}
