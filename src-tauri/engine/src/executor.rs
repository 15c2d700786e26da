//! Executors: where a variant's worktree lives and its agent, setup and
//! check run. The orchestrator asks an executor for a [`Workspace`] before a
//! session, starts its processes there (a [`Workspace`] says how), and has
//! the executor bring the work back as the variant's branch afterwards; so
//! diffs, reviews, merges and cleanup stay local and never ask where a
//! variant ran.
//!
//! Two executors exist: [`Local`] (this machine, in the sandbox) and
//! [`SshHost`] (a host of the user's ssh configuration, see [`crate::hosts`]).
//! A container engine or a Kubernetes Job would be a third implementation of
//! [`Executor`]: a workspace it creates, a wrapper for its processes (a
//! `docker exec`, say, in place of `ssh`) and a way to bring commits back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::gitcli::Git;
use crate::hosts::{self, quote, HostError, Hosts, Shell, Ssh};
use crate::linked::Linked;
use crate::store::{Experiment, Variant};
use crate::worktree;
use crate::Error;

/// Where one variant's processes run: a folder, on this machine or on a host.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub dir: PathBuf,
    /// The host's shell when the folder is there.
    pub remote: Option<Shell>,
}

impl Workspace {
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }
}

/// Where a variant runs. Every method blocks (git, ssh): call it off the
/// async runtime.
pub trait Executor: Send + Sync {
    /// `local`, or the host's alias: what the card, the table, the report
    /// and the run record say.
    fn name(&self) -> &str;

    /// Readies the variant's workspace for a session: at the experiment's
    /// base when `fresh` (a first run or a retry), as the last session left
    /// it otherwise (a follow-up, a check).
    fn open(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        fresh: bool,
    ) -> Result<Workspace, Error>;

    /// Commits what the session left in `workspace` and brings it into the
    /// variant's branch here; the new tip, or `None` when nothing changed.
    fn collect(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        workspace: &Workspace,
        message: &str,
    ) -> Result<Option<String>, Error>;

    /// Removes what this executor holds for the variant beyond its local
    /// worktree and branch (the caller's to remove).
    fn discard(&self, experiment: &Experiment, variant: &Variant) -> Result<(), Error>;
}

/// The executor of `variant`: the host it was placed on, or this machine.
pub fn for_variant(hosts: &Hosts, variant: &Variant) -> Result<Box<dyn Executor>, Error> {
    Ok(match variant.host.as_deref() {
        None => Box::new(Local),
        Some(alias) => Box::new(SshHost {
            ssh: hosts.ssh(alias)?,
        }),
    })
}

/// This machine: the worktree Fanout created with the experiment.
pub struct Local;

impl Executor for Local {
    fn name(&self) -> &str {
        hosts::LOCAL
    }

    fn open(&self, _: &Experiment, variant: &Variant, _fresh: bool) -> Result<Workspace, Error> {
        Ok(Workspace {
            dir: variant.worktree.clone(),
            remote: None,
        })
    }

    fn collect(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        _: &Workspace,
        message: &str,
    ) -> Result<Option<String>, Error> {
        let linked = variant.linked(&experiment.repo_root)?;
        Ok(worktree::auto_commit(&linked, message)?)
    }

    fn discard(&self, _: &Experiment, _: &Variant) -> Result<(), Error> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("The worktree of variant {index} on the host `{alias}` ({path}) is gone: it was deleted there. The variant's branch here is intact; retry the variant to start it again on `{alias}`.")]
    RemoteWorktreeGone {
        index: u32,
        alias: String,
        path: String,
    },
    #[error("The built-in agent runs inside Fanout, so it cannot run on the host `{alias}`. Choose a CLI agent (Claude Code, Codex, Gemini, a command) for the approaches placed there.")]
    BuiltInRemote { alias: String },
    #[error("What variant {index} committed on the host `{alias}` ({commit}) does not descend from the experiment's base: the worktree's git data there was changed. Nothing was taken into the variant's branch; retry the variant.")]
    ForeignCommit {
        index: u32,
        alias: String,
        commit: String,
    },
    #[error("Variant {index}'s branch or worktree here changed while it ran on the host `{alias}`, so its work there was not taken: nothing here was overwritten. Commit or undo the change here, then retry the variant.")]
    ChangedHere { index: u32, alias: String },
    #[error("Bringing variant {index}'s work back from the host `{alias}` failed: {detail}")]
    Fetch {
        index: u32,
        alias: String,
        detail: String,
    },
}

impl ExecutorError {
    pub fn code(&self) -> &'static str {
        match self {
            ExecutorError::RemoteWorktreeGone { .. } => "executor.remote_worktree_gone",
            ExecutorError::BuiltInRemote { .. } => "executor.built_in_remote",
            ExecutorError::ForeignCommit { .. } => "executor.foreign_commit",
            ExecutorError::Fetch { .. } => "executor.fetch",
            ExecutorError::ChangedHere { .. } => "executor.changed_here",
        }
    }
}

/// A host of the user's ssh configuration. On it, under the host's
/// workspace folder: a bare cache repository per local repository (the base
/// is pushed there, so only missing objects travel), a worktree per variant,
/// and Fanout's supervisor.
pub struct SshHost {
    ssh: Ssh,
}

/// What the host says when the variant's worktree is not there.
const GONE: &str = "fanout-worktree-gone";

/// One lock per cache repository on a host, for this process.
fn cache_lock(alias: &str, cache: &str) -> Arc<std::sync::Mutex<()>> {
    type Locks = std::collections::HashMap<(String, String), Arc<std::sync::Mutex<()>>>;
    static LOCKS: std::sync::OnceLock<std::sync::Mutex<Locks>> = std::sync::OnceLock::new();
    LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((alias.to_owned(), cache.to_owned()))
        .or_default()
        .clone()
}

/// Who the commits made on a host are by: Fanout, since the host's git may
/// know no one (the local auto-commit takes the repository's user).
const IDENTITY: [&str; 4] = [
    "-c",
    "user.name=Fanout",
    "-c",
    "user.email=fanout@localhost",
];

impl SshHost {
    pub fn new(ssh: Ssh) -> SshHost {
        SshHost { ssh }
    }

    fn alias(&self) -> &str {
        self.ssh.alias()
    }

    /// The cache repository of `repo_root` there: its folder name and a
    /// hash of its path, so two checkouts named alike stay apart.
    fn cache(&self, repo_root: &Path) -> String {
        let digest = Sha256::digest(repo_root.as_os_str().as_encoded_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let name = repo_root
            .file_name()
            .map(|n| crate::slug::slugify(&n.to_string_lossy()))
            .unwrap_or_default();
        format!("{}/repos/{name}-{hex}.git", self.ssh.host.workspace)
    }

    fn worktree(&self, experiment: &Experiment, variant: &Variant) -> String {
        format!(
            "{}/worktrees/{}-{}",
            self.ssh.host.workspace,
            crate::experiment::short_id(&experiment.id),
            variant.index
        )
    }

    /// The ref on the host that holds the variant's last commit there.
    fn result_ref(experiment: &Experiment, variant: &Variant) -> String {
        format!("refs/fanout/{}/{}", experiment.id, variant.index)
    }

    fn url(&self, path: &str) -> String {
        format!("{}:{}", self.alias(), path)
    }

    /// git in the user's repository, reaching the host as Fanout's ssh does.
    fn git_here(&self, repo_root: &Path) -> Git {
        Git::in_dir(repo_root).env("GIT_SSH_COMMAND", self.ssh.git_ssh_command())
    }

    fn run_here(&self, doing: &str, git: Git) -> Result<(), HostError> {
        git.run().map(drop).map_err(|e| HostError::Remote {
            alias: self.alias().to_owned(),
            doing: doing.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Pushes the base to the cache (creating it) and makes a fresh
    /// worktree there at the base.
    /// Makes the cache repository of the experiment's repository there.
    fn cache_script(&self, experiment: &Experiment) -> String {
        format!(
            "mkdir -p {ws}/repos {ws}/worktrees && {{ test -d {cache} || git init -q --bare {cache}; }}",
            ws = quote(&self.ssh.host.workspace),
            cache = quote(&self.cache(&experiment.repo_root))
        )
    }

    /// Pushes the base to the cache (made by [`Self::cache_script`]) and
    /// makes a fresh worktree there at the base.
    fn fresh_worktree(&self, experiment: &Experiment, wt: &str) -> Result<(), Error> {
        let cache = self.cache(&experiment.repo_root);
        let push = self
            .git_here(&experiment.repo_root)
            .args(["push", "-q", "--no-verify"])
            .arg(self.url(&cache))
            .arg(format!(
                "{}:refs/fanout/base/{}",
                experiment.base_commit, experiment.id
            ));
        self.run_here("receiving the experiment's base (git push)", push)?;
        self.ssh.run(
            "creating the worktree",
            &format!(
                "git -C {cache} worktree remove --force {wt} 2>/dev/null; rm -rf {wt}; \
                 git -C {cache} worktree prune && git -C {cache} worktree add -q --detach {wt} {base}",
                cache = quote(&cache),
                wt = quote(wt),
                base = quote(&experiment.base_commit),
            ),
        )?;
        Ok(())
    }
}

impl Executor for SshHost {
    fn name(&self) -> &str {
        self.alias()
    }

    fn open(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        fresh: bool,
    ) -> Result<Workspace, Error> {
        if variant.agent.parse::<crate::agent::AgentKind>().ok()
            == Some(crate::agent::AgentKind::Api)
        {
            return Err(ExecutorError::BuiltInRemote {
                alias: self.alias().to_owned(),
            }
            .into());
        }
        self.resolved()?.open_resolved(experiment, variant, fresh)
    }

    fn collect(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        workspace: &Workspace,
        message: &str,
    ) -> Result<Option<String>, Error> {
        self.resolved()?
            .collect_resolved(experiment, variant, workspace, message)
    }

    fn discard(&self, experiment: &Experiment, variant: &Variant) -> Result<(), Error> {
        self.resolved()?.discard_resolved(experiment, variant)
    }
}

impl SshHost {
    /// This host with its workspace as an absolute path there.
    fn resolved(&self) -> Result<SshHost, Error> {
        Ok(SshHost {
            ssh: self.ssh.resolved()?,
        })
    }

    fn open_resolved(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        fresh: bool,
    ) -> Result<Workspace, Error> {
        // Variants of one repository opening on one host at once would race
        // for its cache repository (git init, the base's ref).
        let lock = cache_lock(self.alias(), &self.cache(&experiment.repo_root));
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let wt = self.worktree(experiment, variant);
        // One round trip: the cache repository made (fresh) or the worktree
        // looked for, the platform read, the supervisor looked for.
        let prelude = if fresh {
            self.cache_script(experiment)
        } else {
            format!("test -e {}/.git && echo worktree || echo gone", quote(&wt))
        };
        let (supervisor, said) =
            hosts::install_supervisor(&self.ssh, &crate::supervisor::executable()?, &prelude)?;
        if fresh {
            self.fresh_worktree(experiment, &wt)?;
        } else if !said.lines().any(|l| l.trim() == "worktree") {
            return Err(ExecutorError::RemoteWorktreeGone {
                index: variant.index,
                alias: self.alias().to_owned(),
                path: wt,
            }
            .into());
        }
        Ok(Workspace {
            dir: PathBuf::from(wt),
            remote: Some(Arc::new(self.ssh.shell(supervisor))),
        })
    }

    fn collect_resolved(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        workspace: &Workspace,
        message: &str,
    ) -> Result<Option<String>, Error> {
        let wt = workspace.dir.to_string_lossy().into_owned();
        let result_ref = Self::result_ref(experiment, variant);
        let identity = IDENTITY.map(quote).join(" ");
        let head = self.ssh.run_with_input(
            "committing the variant's work",
            &format!(
                "cd {wt} 2>/dev/null || {{ echo {GONE}; exit 0; }}; git add --all && \
                 {{ git diff --cached --quiet || git {identity} commit -q --no-verify -F -; }} && \
                 git update-ref {result_ref} HEAD && echo \"head $(git rev-parse HEAD)\"",
                wt = quote(&wt),
                result_ref = quote(&result_ref),
            ),
            Some(message.as_bytes()),
        );
        let said = head?;
        if said.lines().any(|l| l.trim() == GONE) {
            return Err(ExecutorError::RemoteWorktreeGone {
                index: variant.index,
                alias: self.alias().to_owned(),
                path: wt,
            }
            .into());
        }
        // A login script may print lines of its own: the answer is marked.
        let head = said
            .lines()
            .filter_map(|l| l.strip_prefix("head "))
            .next_back()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if variant.head_commit.as_deref() == Some(head.as_str()) {
            return Ok(None);
        }
        self.fetch(experiment, variant, &result_ref, &head)?;
        Ok(Some(head))
    }

    fn discard_resolved(&self, experiment: &Experiment, variant: &Variant) -> Result<(), Error> {
        let cache = self.cache(&experiment.repo_root);
        let wt = self.worktree(experiment, variant);
        self.ssh.run(
            "removing the variant's worktree",
            &format!(
                "test -d {cache} || {{ rm -rf {wt}; exit 0; }}; \
                 git -C {cache} worktree remove --force {wt} 2>/dev/null; rm -rf {wt}; \
                 git -C {cache} worktree prune; git -C {cache} update-ref -d {result_ref} 2>/dev/null; true",
                cache = quote(&cache),
                wt = quote(&wt),
                result_ref = quote(&Self::result_ref(experiment, variant)),
            ),
        )?;
        Ok(())
    }

    /// Fetches `head` from the cache into the variant's branch here, after
    /// checking it builds on the base; the local worktree follows.
    fn fetch(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        result_ref: &str,
        head: &str,
    ) -> Result<(), Error> {
        let fetch_failed = |detail: String| self.fetch_error(variant, detail);
        if !head.chars().all(|c| c.is_ascii_hexdigit()) || head.len() < 40 {
            return Err(
                fetch_failed(format!("the host answered `{head}` for the new commit")).into(),
            );
        }
        let incoming = format!("refs/fanout/incoming/{}/{}", experiment.id, variant.index);
        let cache = self.cache(&experiment.repo_root);
        // The pack comes from a host an agent worked on: git checks every
        // object it receives.
        let fetch = self
            .git_here(&experiment.repo_root)
            .args([
                "-c",
                "transfer.fsckObjects=true",
                "fetch",
                "-q",
                "--no-tags",
            ])
            .args(["--no-write-fetch-head", "--no-recurse-submodules"])
            .arg(self.url(&cache))
            .arg(format!("+{result_ref}:{incoming}"));
        self.run_here("sending the variant's work back (git fetch)", fetch)?;
        let outcome = self.take_incoming(experiment, variant, &incoming, head);
        let _ = Git::in_dir(&experiment.repo_root)
            .args(["update-ref", "-d", &incoming])
            .run();
        outcome
    }

    fn fetch_error(&self, variant: &Variant, detail: impl ToString) -> ExecutorError {
        ExecutorError::Fetch {
            index: variant.index,
            alias: self.alias().to_owned(),
            detail: detail.to_string(),
        }
    }

    fn take_incoming(
        &self,
        experiment: &Experiment,
        variant: &Variant,
        incoming: &str,
        head: &str,
    ) -> Result<(), Error> {
        let root = &experiment.repo_root;
        let fetched = Git::in_dir(root)
            .args(["rev-parse", "--verify", incoming])
            .run()
            .map_err(|e| self.fetch_error(variant, e))?;
        let descends = Git::in_dir(root)
            .args([
                "merge-base",
                "--is-ancestor",
                &experiment.base_commit,
                fetched.trim(),
            ])
            .succeeds()
            .unwrap_or(false);
        if fetched.trim() != head || !descends {
            return Err(ExecutorError::ForeignCommit {
                index: variant.index,
                alias: self.alias().to_owned(),
                commit: fetched.trim().to_owned(),
            }
            .into());
        }
        let linked: Linked = variant.linked(root)?;
        let tip = linked
            .git()
            .args(["rev-parse", "--verify", &linked.branch_ref])
            .run()
            .map_err(|e| self.fetch_error(variant, e))?;
        // Nothing here may be lost: not a commit made on the branch here
        // since the host's work was last taken, not a change in the
        // worktree here.
        let builds_on_tip = Git::in_dir(root)
            .args(["merge-base", "--is-ancestor", tip.trim(), head])
            .succeeds()
            .unwrap_or(false);
        let changed_here = !linked
            .git()
            .args(["status", "--porcelain", "--untracked-files=all"])
            .run()
            .unwrap_or_default()
            .trim()
            .is_empty();
        if !builds_on_tip || changed_here {
            return Err(ExecutorError::ChangedHere {
                index: variant.index,
                alias: self.alias().to_owned(),
            }
            .into());
        }
        worktree::move_to(
            &linked,
            head,
            Some(tip.trim()),
            "fanout: the variant's work from its host",
        )?;
        Ok(())
    }
}
