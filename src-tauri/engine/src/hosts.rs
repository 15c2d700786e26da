//! Other machines the user already has, reached through their own OpenSSH
//! setup: a host is an alias of `~/.ssh/config` (or of the file named by
//! `FANOUT_SSH_CONFIG` or the settings), so keys, jump hosts and agents work
//! as the user configured them. Fanout runs the system `ssh`; short commands
//! share one connection per host (ControlMaster), a variant's long-running
//! processes get their own (see [`RemoteShell`]).
//!
//! What runs where is [`crate::executor`]'s; this module owns the hosts'
//! settings, the ssh command lines and [`check`].

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::process::ProcessSpec;

/// The name of this machine where a host is asked for.
pub const LOCAL: &str = "local";

/// Where remote workspaces go unless a host says otherwise: relative to the
/// home directory of the user ssh logs in as.
pub const DEFAULT_WORKSPACE: &str = ".fanout";

/// One remote host in the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct HostConfig {
    /// A `Host` alias of the user's ssh configuration.
    pub alias: String,
    /// Agents at once on the host.
    pub capacity: usize,
    /// The agent CLI on the host (say `/opt/claude/bin/claude`); `None`
    /// finds the agent by its name on the host's PATH.
    pub agent_path: Option<String>,
    /// The folder on the host for Fanout's cache repositories and worktrees;
    /// relative paths start at the home directory there.
    pub workspace: String,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            alias: String::new(),
            capacity: 2,
            agent_path: None,
            workspace: DEFAULT_WORKSPACE.to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("`{alias}` is not a host name Fanout can pass to ssh: use the letters, digits, dots, dashes and underscores of a `Host` alias of your ssh configuration.")]
    BadAlias { alias: String },
    #[error("No host `{alias}` is set up in Fanout (known: {known}). Add it to the hosts in the settings first.")]
    Unknown { alias: String, known: String },
    #[error("The host `{alias}` is set up already.")]
    Exists { alias: String },
    #[error("A host's capacity must be at least 1 agent at once, not {capacity}.")]
    BadCapacity { capacity: usize },
    #[error("`{workspace}` is not a folder Fanout can use on a host: give an absolute path, or one relative to the home directory there (without `~`).")]
    BadWorkspace { workspace: String },
    #[error("Could not reach the host `{alias}` over ssh: {detail}. Check that `ssh {alias} true` works from a terminal (host name, keys, known hosts).")]
    Unreachable { alias: String, detail: String },
    #[error("The host `{alias}` refused the login ({detail}). Check the key for it in your ssh configuration, and that ssh can use it without asking for a passphrase (ssh-agent).")]
    AuthRefused { alias: String, detail: String },
    #[error("On the host `{alias}`, {doing} failed: {detail}")]
    Remote {
        alias: String,
        doing: String,
        detail: String,
    },
    #[error("Could not run ssh: {detail}. Install OpenSSH's client (`ssh`).")]
    NoSsh { detail: String },
    #[error("The host `{alias}` runs {there}, this machine {here}: Fanout's process supervisor cannot run there.")]
    Platform {
        alias: String,
        there: String,
        here: String,
    },
}

impl HostError {
    pub fn code(&self) -> &'static str {
        match self {
            HostError::BadAlias { .. } => "host.bad_alias",
            HostError::Unknown { .. } => "host.unknown",
            HostError::Exists { .. } => "host.exists",
            HostError::BadCapacity { .. } => "host.bad_capacity",
            HostError::BadWorkspace { .. } => "host.bad_workspace",
            HostError::Unreachable { .. } => "host.unreachable",
            HostError::AuthRefused { .. } => "host.auth_refused",
            HostError::Remote { .. } => "host.remote",
            HostError::NoSsh { .. } => "host.no_ssh",
            HostError::Platform { .. } => "host.platform",
        }
    }
}

/// An alias is passed to ssh as an argument: nothing that ssh could read
/// as an option, a user or a path.
pub fn validate_alias(alias: &str) -> Result<(), HostError> {
    let fine = !alias.is_empty()
        && !alias.starts_with('-')
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if fine && alias != LOCAL {
        Ok(())
    } else {
        Err(HostError::BadAlias {
            alias: alias.to_owned(),
        })
    }
}

impl HostConfig {
    pub fn validate(&self) -> Result<(), HostError> {
        validate_alias(&self.alias)?;
        if self.capacity == 0 {
            return Err(HostError::BadCapacity { capacity: 0 });
        }
        let ws = self.workspace.trim();
        if ws.is_empty() || ws.starts_with('~') || ws.contains('\n') {
            return Err(HostError::BadWorkspace {
                workspace: self.workspace.clone(),
            });
        }
        Ok(())
    }
}

/// The hosts this machine knows and how to reach them.
#[derive(Debug, Clone, Default)]
pub struct Hosts {
    pub hosts: Vec<HostConfig>,
    /// Passed to ssh as `-F`: `FANOUT_SSH_CONFIG`, else the settings' file,
    /// else ssh's own default.
    pub ssh_config: Option<PathBuf>,
}

impl Hosts {
    pub fn new(hosts: Vec<HostConfig>, ssh_config: Option<PathBuf>) -> Hosts {
        let from_env = std::env::var_os("FANOUT_SSH_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Hosts {
            hosts,
            ssh_config: from_env.or(ssh_config),
        }
    }

    pub fn get(&self, alias: &str) -> Result<&HostConfig, HostError> {
        self.hosts
            .iter()
            .find(|h| h.alias == alias)
            .ok_or_else(|| HostError::Unknown {
                alias: alias.to_owned(),
                known: self.known(),
            })
    }

    fn known(&self) -> String {
        if self.hosts.is_empty() {
            return "none".into();
        }
        self.hosts
            .iter()
            .map(|h| h.alias.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How to reach `alias`.
    pub fn ssh(&self, alias: &str) -> Result<Ssh, HostError> {
        let host = self.get(alias)?.clone();
        // The settings file may have been edited by hand: nothing reaches
        // ssh that could read as an option.
        host.validate()?;
        Ok(Ssh {
            host,
            config: self.ssh_config.clone(),
        })
    }
}

/// Places approaches that name no host on `hosts` (`local` is this
/// machine), each on the host with the most capacity left, so a launch of N
/// variants over hosts of capacity 2 and 4 puts a third of them on the
/// first. `local_capacity` is this machine's share (its parallel sessions).
pub fn place(
    wanted: &[Option<String>],
    hosts: &[String],
    known: &Hosts,
    local_capacity: usize,
) -> Result<Vec<Option<String>>, HostError> {
    if hosts.is_empty() {
        return Ok(wanted.iter().map(|h| normalize(h.as_deref())).collect());
    }
    let mut load: Vec<(Option<String>, usize, usize)> = Vec::new();
    for name in hosts {
        let capacity = match normalize(Some(name)) {
            None => local_capacity.max(1),
            Some(alias) => known.get(&alias)?.capacity.max(1),
        };
        load.push((normalize(Some(name)), capacity, 0));
    }
    Ok(wanted
        .iter()
        .map(|named| {
            if let Some(named) = named {
                return normalize(Some(named));
            }
            // The most room left, as a fraction of capacity; the first on ties.
            let best = (0..load.len())
                .min_by(|&a, &b| {
                    let share = |i: usize| load[i].2 as f64 / load[i].1 as f64;
                    share(a).total_cmp(&share(b)).then(a.cmp(&b))
                })
                .unwrap_or(0);
            load[best].2 += 1;
            load[best].0.clone()
        })
        .collect())
}

/// `None` for this machine, whatever it was called.
fn normalize(host: Option<&str>) -> Option<String> {
    host.map(str::trim)
        .filter(|h| !h.is_empty() && *h != LOCAL)
        .map(str::to_owned)
}

/// One host's ssh: the command lines for it.
#[derive(Debug, Clone)]
pub struct Ssh {
    pub host: HostConfig,
    config: Option<PathBuf>,
}

/// What `check` found on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct HostReport {
    pub alias: String,
    /// `uname -sm` there.
    pub platform: String,
    pub git: Option<String>,
    /// The agent CLIs found there, with their versions (`claude 2.1.3`).
    pub agents: Vec<String>,
    pub workspace: String,
}

impl Ssh {
    pub fn alias(&self) -> &str {
        &self.host.alias
    }

    /// Options every ssh of Fanout's gets: no prompts (a prompt would hang
    /// a background process), a bounded connect, and a dead connection
    /// noticed within 15 s.
    fn options(&self, shared: bool) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if let Some(config) = &self.config {
            args.extend(["-F".into(), config.clone().into_os_string()]);
        }
        for option in [
            "BatchMode=yes",
            "ConnectTimeout=10",
            "ServerAliveInterval=5",
            "ServerAliveCountMax=3",
        ] {
            args.extend(["-o".into(), option.into()]);
        }
        let sockets = if shared { control_dir() } else { None };
        if let Some(dir) = sockets {
            let path = dir.join("%C");
            args.extend([
                "-o".into(),
                "ControlMaster=auto".into(),
                "-o".into(),
                format!("ControlPath={}", path.display()).into(),
                "-o".into(),
                "ControlPersist=60".into(),
            ]);
        } else {
            args.extend(["-o".into(), "ControlPath=none".into()]);
        }
        args
    }

    /// `ssh … alias -- sh -c <script>` over the shared connection.
    fn command(&self, script: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.options(true))
            .arg(self.alias())
            .arg("--")
            .arg(format!("sh -c {}", quote(script)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `script` on the host through `sh -c`; its standard output.
    /// `doing` names the step in the error ("creating the worktree").
    pub fn run(&self, doing: &str, script: &str) -> Result<String, HostError> {
        self.run_with_input(doing, script, None)
    }

    pub fn run_with_input(
        &self,
        doing: &str,
        script: &str,
        input: Option<&[u8]>,
    ) -> Result<String, HostError> {
        let mut cmd = self.command(script);
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|e| HostError::NoSsh {
            detail: e.to_string(),
        })?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // A write error shows as the command's failure below.
            let _ = stdin.write_all(input);
        }
        let output = child.wait_with_output().map_err(|e| HostError::NoSsh {
            detail: e.to_string(),
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        Err(self.failure(doing, output.status.code(), &output.stderr))
    }

    /// ssh exits with 255 for its own failures (connection, login), with the
    /// remote command's status otherwise.
    fn failure(&self, doing: &str, code: Option<i32>, stderr: &[u8]) -> HostError {
        let stderr = String::from_utf8_lossy(stderr);
        let detail = last_line(&stderr);
        let alias = self.alias().to_owned();
        if code == Some(255) {
            if stderr.contains("Permission denied") {
                return HostError::AuthRefused { alias, detail };
            }
            return HostError::Unreachable { alias, detail };
        }
        HostError::Remote {
            alias,
            doing: doing.to_owned(),
            detail: if detail.is_empty() {
                format!("exit code {}", code.unwrap_or(-1))
            } else {
                detail
            },
        }
    }

    /// Connects (opening the shared connection) and says what is there:
    /// the platform, git, the agent CLIs. Fails with a sentence when the
    /// host cannot be reached or refuses the login.
    pub fn check(&self) -> Result<HostReport, HostError> {
        let agent = self
            .host
            .agent_path
            .as_deref()
            .map(|p| format!(" {}", quote(p)))
            .unwrap_or_default();
        // Each answer on a line of its own kind: a login script may print
        // its own lines first.
        let script = format!(
            "echo \"platform $(uname -sm)\"; echo \"git $(git --version 2>/dev/null)\"; \
             for a in{agent} claude codex gemini; do \
               if command -v \"$a\" >/dev/null 2>&1; then echo \"agent $a $(\"$a\" --version 2>/dev/null | head -n 1)\"; fi; \
             done"
        );
        let out = self.run("looking for git and the agent CLIs", &script)?;
        let said = |prefix: &str| {
            out.lines()
                .filter_map(|l| l.strip_prefix(prefix))
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>()
        };
        let platform = said("platform ").pop().unwrap_or_default();
        let git = said("git ").pop().filter(|g| !g.is_empty());
        let agents = said("agent ");
        Ok(HostReport {
            alias: self.alias().to_owned(),
            platform,
            git,
            agents,
            workspace: self.host.workspace.clone(),
        })
    }

    /// This host with its workspace as an absolute path there: a relative
    /// one starts at the home directory, and every command Fanout runs
    /// there (some change folder first) must name the same place. Asked
    /// once per host and folder in this process.
    pub fn resolved(&self) -> Result<Ssh, HostError> {
        static RESOLVED: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
        > = std::sync::OnceLock::new();
        let ws = self.host.workspace.trim();
        if ws.starts_with('/') {
            return Ok(self.clone());
        }
        let key = (self.alias().to_owned(), ws.to_owned());
        let known = RESOLVED.get_or_init(Default::default);
        let cached = known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let absolute = match cached {
            Some(path) => path,
            None => {
                let out = self.run(
                    "finding the workspace folder",
                    &format!(
                        "mkdir -p {q} && cd {q} && echo \"workspace $(pwd -P)\"",
                        q = quote(ws)
                    ),
                )?;
                let path = out
                    .lines()
                    .filter_map(|l| l.strip_prefix("workspace "))
                    .next_back()
                    .map(str::to_owned)
                    .filter(|p| p.starts_with('/'))
                    .ok_or_else(|| HostError::BadWorkspace {
                        workspace: ws.to_owned(),
                    })?;
                known
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, path.clone());
                path
            }
        };
        let mut ssh = self.clone();
        ssh.host.workspace = absolute;
        Ok(ssh)
    }

    /// The `GIT_SSH_COMMAND` that makes git reach the host as Fanout does.
    pub fn git_ssh_command(&self) -> String {
        let mut words = vec!["ssh".to_owned()];
        words.extend(
            self.options(true)
                .iter()
                .map(|a| quote(&a.to_string_lossy())),
        );
        words.join(" ")
    }

    /// How a variant's long-running processes run on the host.
    pub fn shell(&self, supervisor: String) -> RemoteShell {
        RemoteShell {
            alias: self.alias().to_owned(),
            options: self.options(false),
            supervisor,
        }
    }
}

/// The last non-empty line of a program's error output.
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Where the shared connections' sockets live: short (a socket path has
/// ~100 bytes), private to this user: the runtime folder, else a folder in
/// the temporary one that this user owns and no one else may enter.
/// `None` when there is no such folder (another user made it first): then
/// nothing is shared.
fn control_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = rustix::process::getuid().as_raw();
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("fanout-ssh-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    let private = meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0;
    private.then_some(dir)
}

/// A word for a POSIX shell: in single quotes, each `'` spelled `'\''`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs a variant's process on a host: the local child is `ssh` on a
/// connection of its own, and on the host the process runs under Fanout's
/// supervisor, whose parent is that connection's sshd. A cancel, a timeout
/// or a dropped connection ends the local ssh, hence the connection, hence
/// (through the supervisor's watch on its parent) the whole tree there,
/// double-forked processes included.
///
/// The environment travels on the process's stdin, before anything the
/// process reads itself, never on a command line another user of the host
/// could see in `ps`.
#[derive(Debug, Clone)]
pub struct RemoteShell {
    alias: String,
    options: Vec<OsString>,
    /// The supervisor's path on the host.
    supervisor: String,
}

/// Reads the environment block (a count, then `NAME=base64(value)` lines)
/// from stdin, one byte at a time as `read` does on a pipe, so the program
/// `exec`ed after it reads its own input from where the block ends.
const ENV_READER: &str = r#"read -r n || exit 125
while [ "$n" -gt 0 ]; do
  IFS= read -r kv || exit 125
  v=$(printf %s "${kv#*=}" | base64 -d) || exit 125
  export "${kv%%=*}=$v"
  n=$((n - 1))
done
exec "$@""#;

/// Variables never sent to a host: they describe this machine.
const LOCAL_ONLY: &[&str] = &["PATH", "SSH_AUTH_SOCK", "DISPLAY", "WAYLAND_DISPLAY"];

/// Largest environment block sent ahead of a remote process's input: it
/// must fit in a pipe's buffer, since it is written before the process runs.
const MAX_ENV_BLOCK: usize = 48 * 1024;

impl RemoteShell {
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The local `ssh` that runs `spec` on the host, with `spec`'s
    /// working directory, environment, kept secrets, stdin, timeout and grace.
    pub fn wrap(&self, spec: ProcessSpec) -> ProcessSpec {
        let mut remote = vec![
            self.supervisor.clone(),
            crate::supervisor::FLAG.to_owned(),
            "--grace-ms".into(),
            spec.grace.as_millis().to_string(),
            "--leak-grace-ms".into(),
            spec.leak_grace.as_millis().to_string(),
            "--".into(),
            "/bin/sh".into(),
            "-c".into(),
            ENV_READER.into(),
            "fanout-env".into(),
            spec.program.to_string_lossy().into_owned(),
        ];
        remote.extend(spec.args.iter().map(|a| a.to_string_lossy().into_owned()));
        let line = format!(
            "cd {} && exec {}",
            quote(&spec.cwd.to_string_lossy()),
            remote
                .iter()
                .map(|w| quote(w))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut local = ProcessSpec::new("ssh", std::env::temp_dir())
            .args(self.options.iter())
            .arg(&self.alias)
            .arg("--")
            .arg(line)
            .timeout(spec.timeout)
            .grace(spec.grace)
            .leak_grace(spec.leak_grace)
            .max_line_bytes(spec.max_line_bytes);
        local.channel_capacity = spec.channel_capacity;
        local.piped_stdin = spec.piped_stdin;
        local.stdin_prefix = Some(env_block(&spec));
        local
    }
}

/// The block [`ENV_READER`] reads: the spec's own variables and the
/// secrets it may keep, as this process has them.
fn env_block(spec: &ProcessSpec) -> Vec<u8> {
    use base64::Engine as _;
    let mut vars: Vec<(String, String)> = spec
        .env
        .iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .filter(|(k, _)| !LOCAL_ONLY.contains(&k.as_str()))
        .collect();
    for name in &spec.secrets {
        if vars.iter().any(|(k, _)| k == name) {
            continue;
        }
        if let Ok(value) = std::env::var(name) {
            vars.push((name.clone(), value));
        }
    }
    vars.retain(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    let mut block = format!("{}\n", vars.len());
    for (k, v) in vars {
        let encoded = base64::engine::general_purpose::STANDARD.encode(v.as_bytes());
        block.push_str(&format!("{k}={encoded}\n"));
    }
    block.into_bytes()
}

/// Whether an env block fits ahead of a process's input.
pub(crate) fn block_fits(block: &[u8]) -> bool {
    block.len() <= MAX_ENV_BLOCK
}

/// The supervisor for a host: this machine's own (same platform), copied
/// into the workspace there once per build, by size and modification time.
/// `prelude` (a script) runs first in the same round trip, since each one
/// costs a variant on a distant host real time; what it printed comes back
/// beside the supervisor's path.
pub fn install_supervisor(
    ssh: &Ssh,
    local: &Path,
    prelude: &str,
) -> Result<(String, String), HostError> {
    let name = supervisor_name(ssh, local)?;
    let answer = ssh.run(
        "looking for Fanout's supervisor",
        &format!(
            "{prelude}\nuname -sm; test -x {} && echo present || echo missing",
            quote(&name)
        ),
    )?;
    let mut lines: Vec<&str> = answer.lines().collect();
    let present = lines.pop().map(str::trim) == Some("present");
    let platform = lines.pop().unwrap_or_default().trim().to_owned();
    let said = lines.join("\n");
    if !same_platform(&platform) {
        return Err(HostError::Platform {
            alias: ssh.alias().to_owned(),
            there: platform,
            here: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        });
    }
    if !present {
        upload_supervisor(ssh, local, &name)?;
    }
    Ok((name, said))
}

/// Where this build's supervisor lives on the host.
fn supervisor_name(ssh: &Ssh, local: &Path) -> Result<String, HostError> {
    let meta = std::fs::metadata(local).map_err(|e| HostError::Remote {
        alias: ssh.alias().to_owned(),
        doing: "copying Fanout's supervisor".into(),
        detail: format!("{} could not be read here: {e}", local.display()),
    })?;
    let stamp = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(format!(
        "{}/bin/fanout-supervisor-{}-{stamp}",
        ssh.host.workspace,
        meta.len()
    ))
}

fn upload_supervisor(ssh: &Ssh, local: &Path, name: &str) -> Result<(), HostError> {
    let bytes = std::fs::read(local).map_err(|e| HostError::Remote {
        alias: ssh.alias().to_owned(),
        doing: "copying Fanout's supervisor".into(),
        detail: format!("{} could not be read here: {e}", local.display()),
    })?;
    // A file of its own per copy: variants starting together each copy.
    let script = format!(
        "mkdir -p {ws}/bin && t={name}.part.$$ && cat > \"$t\" && chmod 755 \"$t\" && mv -f \"$t\" {name}",
        ws = quote(&ssh.host.workspace),
        name = quote(name),
    );
    ssh.run_with_input("copying Fanout's supervisor", &script, Some(&bytes))?;
    Ok(())
}

/// `uname -sm` names the same OS and architecture as this build's.
fn same_platform(uname: &str) -> bool {
    let mut words = uname.split_whitespace();
    let (os, arch) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let os = if os == "Darwin" { "macos" } else { os };
    os.eq_ignore_ascii_case(std::env::consts::OS)
        && (arch == std::env::consts::ARCH
            || (arch == "arm64" && std::env::consts::ARCH == "aarch64"))
}

/// Shared for the processes of one variant.
pub type Shell = Arc<RemoteShell>;

#[cfg(test)]
mod tests {
    use super::*;

    fn known(hosts: &[(&str, usize)]) -> Hosts {
        Hosts {
            hosts: hosts
                .iter()
                .map(|(alias, capacity)| HostConfig {
                    alias: (*alias).into(),
                    capacity: *capacity,
                    ..HostConfig::default()
                })
                .collect(),
            ssh_config: None,
        }
    }

    #[test]
    fn placement_follows_capacity_and_keeps_what_an_approach_names() {
        let hosts = known(&[("big", 4), ("small", 2)]);
        let wanted = vec![None, None, Some("small".to_owned()), None, None, None, None];
        let placed = place(&wanted, &["big".into(), "small".into()], &hosts, 2).unwrap();
        let on = |h: &str| placed.iter().filter(|p| p.as_deref() == Some(h)).count();
        // The named approach stays on `small`; the six others split 4:2 by
        // capacity, so `small` ends with three.
        assert_eq!(placed[2].as_deref(), Some("small"));
        assert_eq!((on("big"), on("small")), (4, 3));
    }

    #[test]
    fn local_is_this_machine_and_unknown_hosts_are_refused() {
        let hosts = known(&[("remote", 1)]);
        let placed = place(&[None, None], &["local".into(), "remote".into()], &hosts, 1).unwrap();
        assert_eq!(placed, vec![None, Some("remote".to_owned())]);
        let err = place(&[None], &["nowhere".into()], &hosts, 1).unwrap_err();
        assert_eq!(err.code(), "host.unknown");
    }

    #[test]
    fn an_alias_cannot_smuggle_an_option_or_a_user() {
        for bad in ["-oProxyCommand=x", "me@host", "a b", "", "local", "x;y"] {
            assert!(validate_alias(bad).is_err(), "{bad:?} must be refused");
        }
        validate_alias("build-box.lan_2").unwrap();
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
