//! A second "host" for the remote-executor tests: Debian's OpenSSH server
//! started by the test on 127.0.0.1, with its own host key, a user key of
//! its own, its own configuration, and a client configuration naming it
//! [`Sshd::ALIAS`], passed to Fanout as `FANOUT_SSH_CONFIG` would be (ssh
//! reads the home directory of the passwd entry, not `$HOME`, so the user's
//! own `~/.ssh` is never read or written).
//!
//! Two more aliases fail as real hosts do: [`Sshd::DEAD`] is a port nothing
//! listens on, [`Sshd::STRANGER`] logs in with a key the server does not know.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fanout_engine::hosts::{HostConfig, Hosts};

pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    /// The client configuration (`ssh -F`).
    pub config: PathBuf,
    /// The folder the host's workspace is in: apart from every local one.
    pub workspace: PathBuf,
}

impl Sshd {
    pub const ALIAS: &'static str = "fanout-test-host";
    pub const DEAD: &'static str = "fanout-dead-host";
    pub const STRANGER: &'static str = "fanout-stranger";

    /// Starts the server and waits until a login works. Fails the test
    /// with what to install when OpenSSH's server is missing.
    pub fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "OpenSSH's server is not installed at /usr/sbin/sshd. Install Debian's openssh-server (make test does)."
        );
        let dir = tempfile::tempdir().expect("a folder for the ssh server");
        let root = dir.path();
        keygen(&root.join("host_key"));
        keygen(&root.join("id_user"));
        keygen(&root.join("id_stranger"));
        std::fs::copy(root.join("id_user.pub"), root.join("authorized_keys"))
            .expect("the authorized key is written");
        let port = free_port();
        let dead = free_port();
        std::fs::write(root.join("sshd_config"), server_config(root, port))
            .expect("the server configuration is written");
        let config = root.join("ssh_config");
        std::fs::write(&config, client_config(root, port, dead))
            .expect("the client configuration is written");
        // sshd insists on its privilege-separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(root.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let workspace = root.join("host-workspace");
        std::fs::create_dir_all(&workspace).expect("the host's workspace folder");
        let server = Sshd {
            dir,
            child,
            config,
            workspace,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = Command::new("ssh")
                .arg("-F")
                .arg(&self.config)
                .args([Self::ALIAS, "true"])
                .stdin(Stdio::null())
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test's ssh server did not accept a login within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The host as Fanout's settings hold it, with `capacity` agents at once
    /// and `agent_path` as the agent CLI there.
    pub fn host(&self, capacity: usize, agent_path: Option<&Path>) -> HostConfig {
        HostConfig {
            alias: Self::ALIAS.into(),
            capacity,
            agent_path: agent_path.map(|p| p.display().to_string()),
            workspace: self.workspace.display().to_string(),
        }
    }

    /// The three aliases, this server's as `host`.
    pub fn hosts(&self, host: HostConfig) -> Hosts {
        let failing = |alias: &str| HostConfig {
            alias: alias.into(),
            workspace: self.dir.path().join("nowhere").display().to_string(),
            ..HostConfig::default()
        };
        Hosts {
            hosts: vec![host, failing(Self::DEAD), failing(Self::STRANGER)],
            ssh_config: Some(self.config.clone()),
        }
    }

    /// Cuts every open connection, as a network that fails would: the
    /// server's per-connection processes die; the listener stays.
    pub fn drop_connections(&self) {
        let children = std::fs::read_to_string(format!(
            "/proc/{pid}/task/{pid}/children",
            pid = self.child.id()
        ))
        .unwrap_or_default();
        for pid in children.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.drop_connections();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen runs (Debian's openssh-client)");
    assert!(status.success(), "ssh-keygen made {}", path.display());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn server_config(root: &Path, port: u16) -> String {
    format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {root}/host_key\n\
         PidFile {root}/sshd.pid\n\
         AuthorizedKeysFile {root}/authorized_keys\n\
         StrictModes no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PermitRootLogin prohibit-password\n\
         MaxSessions 50\n\
         MaxStartups 50\n\
         LogLevel ERROR\n",
        root = root.display()
    )
}

fn client_config(root: &Path, port: u16, dead: u16) -> String {
    let user = Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into());
    let host = |alias: &str, port: u16, key: &str| {
        format!(
            "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {root}/{key}\n  IdentitiesOnly yes\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n",
            root = root.display()
        )
    };
    [
        host(Sshd::ALIAS, port, "id_user"),
        host(Sshd::DEAD, dead, "id_user"),
        host(Sshd::STRANGER, port, "id_stranger"),
    ]
    .concat()
}
