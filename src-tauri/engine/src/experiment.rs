//! Experiments as the user manages them: create one (base, worktrees, record),
//! find it again, commit what changed in its worktrees, compare its variants,
//! merge one back, and clean up.
//!
//! This module ties the git layer (`repo`, `worktree`, `diff`, `merge`) to the
//! `store`; running agents in the worktrees belongs to the orchestrator.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diff::{self, DiffOptions, FileChange, FileDiff};
use crate::ids::{ExperimentId, VariantIndex};
use crate::linked::Linked;
use crate::merge::{self, MergeOutcome, MergePreview, Strategy};
use crate::paths::Paths;
use crate::repo::RepoError;
use crate::repo_settings::{self, RepoSettings, RepoSettingsView};
use crate::store::{
    Experiment, ExperimentStatus, MergeRecord, NewEvent, Store, StoreError, StoreWriter, Variant,
    VariantStatus,
};
use crate::worktree::{self, NewWorktree, RemoveReport, WorktreeError};
use crate::{ignored_files, lease, repo, slug, Error};

/// The most variants one experiment may have.
pub const MAX_VARIANTS: usize = 8;

/// The most transcript events one [`Engine::events`] call returns.
pub const MAX_EVENTS_PAGE: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("The task is empty. Describe what the agents should do.")]
    EmptyTask,
    #[error("An experiment needs between 1 and {MAX_VARIANTS} approaches; {count} were given. Remove some or add one.")]
    ApproachCount { count: usize },
    #[error("Approach {index} has no name. Give every approach a name.")]
    UnnamedApproach { index: usize },
    #[error("Two approaches are both called \"{name}\" (or names that give the same slug). Give each approach a different name.")]
    DuplicateApproach { name: String },
    #[error("Experiment {experiment} has no variant \"{selector}\". Name a variant by its number (1 to {count}) or its approach slug ({slugs}).")]
    NoSuchVariant {
        experiment: String,
        selector: String,
        count: usize,
        slugs: String,
    },
    #[error("Variant {index} ({name}) has uncommitted changes in {worktree}. Commit them first so they are part of the merge, or discard them.")]
    VariantDirty {
        experiment: String,
        index: u32,
        name: String,
        worktree: PathBuf,
    },
    #[error("The experiment started on a detached HEAD, so there is no branch to merge into. Pass the target branch explicitly.")]
    NoTargetBranch,
    #[error("Experiment {experiment} has no merge to undo.")]
    NothingToUndo { experiment: String },
    #[error("The worktree of variant {index} is gone ({worktree}). Retry the variant or clean the experiment up.")]
    WorktreeMissing { index: u32, worktree: PathBuf },
    #[error("The repository of experiment {experiment} was at {repo}, which is no longer a git repository with a working tree (it was moved or deleted), so nothing was done. Move the repository back there, then try again.")]
    RepositoryGone { experiment: String, repo: PathBuf },
    #[error("Variant {index} ({name}) is {status} right now, so Fanout will not {action} it. Wait for it to finish, or cancel it first.")]
    VariantActive {
        index: u32,
        name: String,
        status: VariantStatus,
        action: &'static str,
    },
    #[error("Nothing was cleaned up: variant {variants} of experiment {experiment} has work that is merged nowhere (no other branch or tag holds it), and deleting its branch would lose it. Keep its branch, keep it as a tag, or confirm that its work may go.")]
    Unmerged {
        experiment: String,
        variants: String,
    },
}

impl ExperimentError {
    pub fn code(&self) -> &'static str {
        match self {
            ExperimentError::EmptyTask => "experiment.empty_task",
            ExperimentError::ApproachCount { .. } => "experiment.approach_count",
            ExperimentError::UnnamedApproach { .. } => "experiment.unnamed_approach",
            ExperimentError::DuplicateApproach { .. } => "experiment.duplicate_approach",
            ExperimentError::NoSuchVariant { .. } => "experiment.no_such_variant",
            ExperimentError::VariantDirty { .. } => "experiment.variant_dirty",
            ExperimentError::NoTargetBranch => "experiment.no_target_branch",
            ExperimentError::NothingToUndo { .. } => "experiment.nothing_to_undo",
            ExperimentError::WorktreeMissing { .. } => "experiment.worktree_missing",
            ExperimentError::Unmerged { .. } => "experiment.unmerged",
            ExperimentError::VariantActive { .. } => "experiment.variant_active",
            ExperimentError::RepositoryGone { .. } => "experiment.repository_gone",
        }
    }
}

/// One approach as the user wrote or accepted it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize, ts_rs::TS)]
pub struct ApproachSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub guidelines: String,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// The ssh host it runs on (see [`crate::hosts`]); `None` or `local`
    /// is this machine.
    #[serde(default)]
    pub host: Option<String>,
}

/// What a new experiment needs.
#[derive(Debug, Clone)]
pub struct NewExperiment {
    pub repo: PathBuf,
    pub task: String,
    pub approaches: Vec<ApproachSpec>,
    /// Start from HEAD plus the uncommitted changes instead of HEAD alone.
    pub include_uncommitted: bool,
    /// Where worktrees go; Fanout's data directory by default.
    pub worktree_root: Option<PathBuf>,
    /// The agent used for approaches that name none.
    pub default_agent: String,
    /// How its variants run, stored with it.
    pub run: crate::orchestrator::RunConfig,
}

/// An experiment with its variants, as shown to the user.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ExperimentView {
    #[serde(flatten)]
    pub experiment: Experiment,
    pub variants: Vec<Variant>,
}

impl ExperimentView {
    pub fn id(&self) -> ExperimentId {
        ExperimentId::new(self.experiment.id.clone())
    }
}

/// How [`Engine::clean`] cleans up.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize, ts_rs::TS)]
#[serde(default)]
pub struct CleanOptions {
    /// A variant whose branch stays; its worktree goes.
    pub keep: Option<VariantIndex>,
    /// Also remove worktrees with uncommitted changes.
    pub force: bool,
    /// Also delete every branch holding work that is merged nowhere
    /// (`fanout clean --force`).
    pub confirmed: bool,
    /// Variants whose work merged nowhere the user agreed to delete, one by
    /// one (the GUI's tick boxes); any other is still refused.
    pub confirmed_variants: Vec<VariantIndex>,
    /// Variants kept as a tag `fanout/archive/<experiment>/<n>-<slug>`
    /// instead of their branch.
    pub archive: Vec<VariantIndex>,
}

/// What [`Engine::clean`] did.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct CleanReport {
    #[serde(flatten)]
    pub removed: RemoveReport,
    /// What the removed worktrees occupied on disk, measured before removal.
    pub freed_bytes: u64,
    pub archived: Vec<ArchivedVariant>,
    /// Worktrees on ssh hosts that could not be removed there, each with
    /// why (the host was unreachable, say); the local side is clean.
    #[serde(default)]
    pub left_on_hosts: Vec<String>,
}

/// A variant whose branch became an archive tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ArchivedVariant {
    pub index: u32,
    pub tag: String,
    pub commit: String,
}

/// One variant's footprint, see [`Engine::disk_usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct VariantDisk {
    pub index: u32,
    pub name: String,
    pub branch: String,
    pub worktree: PathBuf,
    /// `None` when the worktree folder is gone.
    pub bytes: Option<u64>,
    /// Commits of its branch that no other branch or tag holds.
    pub unmerged_commits: usize,
    /// A merge of it is on record (and not undone).
    pub merged: bool,
}

/// Per-variant outcome of [`Engine::commit`].
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CommitResult {
    pub index: u32,
    /// The new commit, or `None` when the worktree had nothing to commit.
    pub commit: Option<String>,
}

/// Checks a user-edited list of approaches: 1 to 8, each named, names unique
/// (also once slugged, since variants are addressed by slug).
pub fn validate_approaches(approaches: &[ApproachSpec]) -> Result<(), ExperimentError> {
    if approaches.is_empty() || approaches.len() > MAX_VARIANTS {
        return Err(ExperimentError::ApproachCount {
            count: approaches.len(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (i, approach) in approaches.iter().enumerate() {
        let name = approach.name.trim();
        if name.is_empty() {
            return Err(ExperimentError::UnnamedApproach { index: i + 1 });
        }
        if !seen.insert(slug::slugify_or(name, slug::MAX_SLUG_LEN, "approach")) {
            return Err(ExperimentError::DuplicateApproach {
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

/// Experiments as the user manages them, over Fanout's data directory. Every
/// store access goes through the process's one [`StoreWriter`]; the methods
/// block (git, the writer), so async code calls them on the blocking pool.
/// Experiments are named by full id: prefixes are the command line's to
/// resolve ([`Engine::resolve`]).
pub struct Engine {
    paths: Paths,
    writer: StoreWriter,
    recovered: crate::recovery::Recovered,
    /// The ssh hosts, for cleaning up what variants left on them.
    hosts: std::sync::RwLock<crate::hosts::Hosts>,
}

impl Engine {
    /// Opens (creating if needed) Fanout's data directory and database, with
    /// a store writer of its own (a command that runs no agent).
    pub fn open(paths: Paths) -> Result<Engine, Error> {
        paths.ensure()?;
        let writer = StoreWriter::spawn(Store::open(&paths.database())?)?;
        Engine::with_writer(paths, writer)
    }

    /// The engine over an existing store writer, which the run dispatcher
    /// shares. First of all it recovers what a Fanout process that died left
    /// behind (see [`crate::recovery`]): no command ever reports a dead run
    /// as running.
    pub fn with_writer(paths: Paths, writer: StoreWriter) -> Result<Engine, Error> {
        let me = crate::orchestrator::procfs::this_process();
        let recovered =
            writer.call_blocking(move |store| crate::recovery::recover(store, me))??;
        if !recovered.interrupted.is_empty() {
            tracing::info!(?recovered, "a Fanout process had died mid-run");
        }
        // The settings' hosts until a face says otherwise; unreadable
        // settings are the face's to report, not cleanup's.
        let hosts = crate::settings::Settings::load(&paths.settings())
            .map(|s| s.hosts())
            .unwrap_or_default();
        Ok(Engine {
            paths,
            writer,
            recovered,
            hosts: std::sync::RwLock::new(hosts),
        })
    }

    /// The ssh hosts from now on (the settings changed).
    pub fn set_hosts(&self, hosts: crate::hosts::Hosts) {
        *self.hosts.write().unwrap_or_else(|e| e.into_inner()) = hosts;
    }

    /// What opening found of a Fanout process that had died mid-run.
    pub fn recovered(&self) -> &crate::recovery::Recovered {
        &self.recovered
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn writer(&self) -> &StoreWriter {
        &self.writer
    }

    /// Runs `f` on the store, through the writer.
    fn store<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        Ok(self.writer.call_blocking(f)??)
    }

    /// Takes the experiment's lease for this process (see [`crate::lease`]).
    pub(crate) fn lease(
        &self,
        id: &ExperimentId,
        doing: &'static str,
    ) -> Result<lease::Lease, Error> {
        let (writer, id) = (self.writer.clone(), id.to_string());
        self.writer
            .call_blocking(move |store| lease::take(store, &writer, &id, doing))?
    }

    /// The full id of the experiment whose id starts with `prefix`.
    pub fn resolve(&self, prefix: &str) -> Result<ExperimentId, Error> {
        let prefix = prefix.to_owned();
        self.store(move |s| s.find_experiment(&prefix))
            .map(|e| ExperimentId::new(e.id))
    }

    /// A page of a variant's stored transcript: the events after `after_seq`.
    pub fn events(
        &self,
        id: &ExperimentId,
        index: VariantIndex,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::StoredEvent>, Error> {
        let id = id.to_string();
        let limit = limit.clamp(1, MAX_EVENTS_PAGE);
        self.store(move |s| s.events(&id, index.0, after_seq, limit))
    }

    /// Creates an experiment: resolves the base, creates one worktree and
    /// branch per approach (in parallel), and records it all. Nothing is
    /// recorded when a worktree cannot be made.
    pub fn create_experiment(&self, req: NewExperiment) -> Result<ExperimentView, Error> {
        let task = req.task.trim();
        if task.is_empty() {
            return Err(ExperimentError::EmptyTask.into());
        }
        validate_approaches(&req.approaches)?;
        let info = repo::inspect(&req.repo)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let worktree_root = req
            .worktree_root
            .clone()
            .unwrap_or_else(|| self.paths.worktrees());
        let exp_slug = unique_experiment_slug(&info.root, &worktree_root, task)?;
        let base = repo::resolve_base(
            &info.root,
            req.include_uncommitted,
            &format!("refs/fanout/base/{id}"),
        )?;
        let specs: Vec<NewWorktree> = req
            .approaches
            .iter()
            .zip(1u32..)
            .map(|(a, index)| NewWorktree {
                index,
                approach_slug: approach_slug(&a.name),
            })
            .collect();
        let created =
            worktree::create_all(&info.root, &worktree_root, &exp_slug, &base.commit, &specs)?;
        let copied = match self.copy_ignored_files(&info.root, &created) {
            Ok(copied) => copied,
            Err(err) => {
                remove_created(&info.root, &created);
                return Err(err);
            }
        };

        let experiment = Experiment {
            id: id.clone(),
            slug: exp_slug,
            repo_root: info.root.clone(),
            task: task.to_string(),
            base_commit: base.commit.clone(),
            base_ref: base.snapshot_ref.clone(),
            target_branch: info.branch.clone(),
            created_at: now_rfc3339(),
            status: ExperimentStatus::Ready,
        };
        let variants: Vec<Variant> = req
            .approaches
            .iter()
            .zip(&created)
            .map(|(a, wt)| Variant {
                experiment_id: id.clone(),
                index: wt.index,
                name: a.name.trim().to_string(),
                slug: approach_slug(&a.name),
                description: a.description.clone(),
                guidelines: a.guidelines.clone(),
                agent: a.agent.clone().unwrap_or_else(|| req.default_agent.clone()),
                model: a.model.clone(),
                branch: wt.branch.clone(),
                worktree: wt.path.clone(),
                status: VariantStatus::Ready,
                started_at: None,
                finished_at: None,
                exit_code: None,
                error: None,
                summary: None,
                cost_usd: None,
                input_tokens: None,
                output_tokens: None,
                turns: None,
                check: None,
                head_commit: Some(base.commit.clone()),
                host: a
                    .host
                    .clone()
                    .filter(|h| !h.trim().is_empty() && h != crate::hosts::LOCAL),
            })
            .collect();
        let (stored_experiment, stored_variants, run) =
            (experiment.clone(), variants.clone(), req.run.clone());
        let inserted = self.store(move |s| {
            s.insert_experiment(&stored_experiment, &stored_variants)?;
            s.set_run_config(&stored_experiment.id, &run)
        });
        if let Err(err) = inserted {
            remove_created(&info.root, &created);
            return Err(err);
        }
        self.record_copies(&id, &created, copied);
        self.warm(&id, &info.root, &req.approaches, &created);
        Ok(ExperimentView {
            experiment,
            variants,
        })
    }

    /// The repository's settings for new worktrees (the defaults until saved).
    pub fn repo_settings(&self, repo: &Path) -> Result<RepoSettingsView, Error> {
        let root = repo::inspect(repo)?.root;
        let key = root.clone();
        let stored = self.store(move |s| s.repo_settings(&key))?;
        Ok(RepoSettingsView {
            stored: stored.is_some(),
            settings: stored.unwrap_or_default(),
            warm_detected: crate::warm::detect(&root),
            repo_root: root,
        })
    }

    /// Validates and saves the repository's settings, in Fanout's database
    /// only. A blank setup command is none, and globs lose stray spaces: a
    /// form means what the user sees.
    pub fn save_repo_settings(
        &self,
        repo: &Path,
        mut settings: RepoSettings,
    ) -> Result<RepoSettingsView, Error> {
        settings.setup_command = settings
            .setup_command
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.trim().to_owned());
        settings.copy = settings.copy.iter().map(|g| g.trim().to_owned()).collect();
        settings.warm = settings.warm.map(|list| {
            list.iter()
                .map(|f| f.trim().trim_end_matches('/').to_owned())
                .filter(|f| !f.is_empty())
                .collect()
        });
        settings.validate()?;
        let root = repo::inspect(repo)?.root;
        let (key, value) = (root.clone(), settings.clone());
        self.store(move |s| s.set_repo_settings(&key, &value))?;
        Ok(RepoSettingsView {
            warm_detected: crate::warm::detect(&root),
            repo_root: root,
            settings,
            stored: true,
        })
    }

    /// Forgets the repository's settings; it uses the defaults again.
    pub fn reset_repo_settings(&self, repo: &Path) -> Result<RepoSettingsView, Error> {
        let root = repo::inspect(repo)?.root;
        let key = root.clone();
        self.store(move |s| s.delete_repo_settings(&key))?;
        self.repo_settings(&root)
    }

    /// Writes the repository's settings into the repository
    /// ([`repo_settings::EXPORT_FILE`]), on the user's request only.
    pub fn export_repo_settings(&self, repo: &Path) -> Result<PathBuf, Error> {
        let view = self.repo_settings(repo)?;
        Ok(repo_settings::export(&view.repo_root, &view.settings)?)
    }

    /// Copies the checkout's ignored files that the repository's settings
    /// select into every new worktree; one report per worktree, none when
    /// nothing matched.
    fn copy_ignored_files(
        &self,
        root: &Path,
        created: &[worktree::CreatedWorktree],
    ) -> Result<Vec<ignored_files::CopyReport>, Error> {
        let key = root.to_path_buf();
        let settings = self
            .store(move |s| s.repo_settings(&key))?
            .unwrap_or_default();
        let files = ignored_files::select(root, &settings.matcher()?)?;
        if files.is_empty() {
            return Ok(Vec::new());
        }
        created
            .iter()
            .map(|wt| Ok(ignored_files::copy_into(root, &files, &wt.path)?))
            .collect()
    }

    /// Gives each new worktree of a variant that runs here a copy of the
    /// checkout's built state (see [`crate::warm`]), and records what it
    /// cost at the start of its transcript (kind `warmed`). A variant on a
    /// host builds there; nothing is copied for it.
    fn warm(
        &self,
        id: &str,
        root: &Path,
        approaches: &[ApproachSpec],
        created: &[worktree::CreatedWorktree],
    ) {
        let key = root.to_path_buf();
        let setting = self
            .store(move |s| s.repo_settings(&key))
            .ok()
            .flatten()
            .unwrap_or_default()
            .warm;
        let folders = crate::warm::chosen(root, setting.as_deref());
        if folders.is_empty() {
            return;
        }
        let here: Vec<&worktree::CreatedWorktree> = created
            .iter()
            .zip(approaches)
            .filter(|(_, a)| a.host.is_none())
            .map(|(wt, _)| wt)
            .collect();
        let paths: Vec<PathBuf> = here.iter().map(|wt| wt.path.clone()).collect();
        let reports = crate::warm::warm_all(root, &folders, &paths);
        self.note_each(id, "warmed", here.iter().map(|wt| wt.index).zip(reports));
    }

    /// Puts each worktree's copy report at the start of its variant's
    /// transcript (kind `copied_files`), so the user sees which ignored files
    /// the agent got. The experiment exists by now: a store that fails here
    /// costs the note, not the experiment.
    fn record_copies(
        &self,
        id: &str,
        created: &[worktree::CreatedWorktree],
        copied: Vec<ignored_files::CopyReport>,
    ) {
        let notes = created.iter().map(|wt| wt.index).zip(copied);
        self.note_each(id, "copied_files", notes);
    }

    /// Records one event of `kind` per variant at the start of its
    /// transcript. The experiment exists by now: a store that fails here
    /// costs the note, not the experiment.
    fn note_each<T: Serialize>(&self, id: &str, kind: &str, notes: impl Iterator<Item = (u32, T)>) {
        let time = now_rfc3339();
        let events: Vec<NewEvent> = notes
            .map(|(variant, report)| NewEvent {
                experiment_id: id.to_owned(),
                variant,
                time: time.clone(),
                kind: kind.to_owned(),
                payload: serde_json::to_value(report).unwrap_or_default(),
            })
            .collect();
        if let Err(err) = self.store(move |s| s.append_events(&events)) {
            tracing::warn!(%err, kind, "a note could not be recorded in the transcripts");
        }
    }

    /// Every experiment, newest first.
    pub fn experiments(&self) -> Result<Vec<Experiment>, Error> {
        self.store(|s| s.experiments())
    }

    /// An experiment with its variants.
    pub fn experiment(&self, id: &ExperimentId) -> Result<ExperimentView, Error> {
        let id = id.to_string();
        self.store(move |s| {
            let experiment = s.experiment(&id)?;
            let variants = s.variants(&experiment.id)?;
            Ok(ExperimentView {
                experiment,
                variants,
            })
        })
    }

    /// Commits whatever changed in the worktrees of one variant, or of all.
    pub fn commit(
        &self,
        id: &ExperimentId,
        variant: Option<VariantIndex>,
    ) -> Result<Vec<CommitResult>, Error> {
        let view = self.experiment(id)?;
        let targets: Vec<Variant> = match variant {
            Some(index) => vec![variant_of(&view, index)?.clone()],
            None => view.variants.clone(),
        };
        experiment_repo(&view.experiment)?;
        let _lease = self.lease(id, "committing")?;
        for v in &targets {
            ensure_idle(v, "commit the work of")?;
        }
        let mut results = Vec::with_capacity(targets.len());
        for mut v in targets {
            ensure_worktree(&v)?;
            let message = commit_message(&view.experiment, &v);
            let linked = v.linked(&view.experiment.repo_root)?;
            let commit = match worktree::auto_commit(&linked, &message) {
                Ok(commit) => commit,
                Err(err) => return Err(self.fail_if_tampered(v, err)),
            };
            if let Some(commit) = &commit {
                v.head_commit = Some(commit.clone());
                let saved = v.clone();
                self.store(move |s| s.update_variant(&saved))?;
            }
            results.push(CommitResult {
                index: v.index,
                commit,
            });
        }
        Ok(results)
    }

    /// A variant whose agent tampered with its worktree's git metadata ends
    /// failed, with the sentence saying what it did; any other error passes.
    fn fail_if_tampered(&self, mut v: Variant, err: WorktreeError) -> Error {
        if mark_tampered(&mut v, &err) {
            if let Err(e) = self.store(move |s| s.update_variant(&v)) {
                tracing::warn!(error = %e, "recording the tampered variant failed");
            }
        }
        err.into()
    }

    /// Files a variant changed against the base, or against another variant.
    pub fn changed_files(
        &self,
        id: &ExperimentId,
        variant: VariantIndex,
        against: Option<VariantIndex>,
    ) -> Result<Vec<FileChange>, Error> {
        let view = self.experiment(id)?;
        let (from, to) = diff_ends(&view, variant, against)?;
        let repo = experiment_repo(&view.experiment)?;
        Ok(diff::changed_files(&repo, &from, &to)?)
    }

    /// One file's rendered diff, between the same ends as [`Engine::changed_files`].
    pub fn file_diff(
        &self,
        id: &ExperimentId,
        variant: VariantIndex,
        against: Option<VariantIndex>,
        path: &str,
        opts: &DiffOptions,
    ) -> Result<FileDiff, Error> {
        let view = self.experiment(id)?;
        let (from, to) = diff_ends(&view, variant, against)?;
        let repo = experiment_repo(&view.experiment)?;
        Ok(diff::file_diff(&repo, &from, &to, path, opts)?)
    }

    /// Every changed file with its rendered diff, for a whole-variant view.
    pub fn render_all(
        &self,
        id: &ExperimentId,
        variant: VariantIndex,
        against: Option<VariantIndex>,
        opts: &DiffOptions,
    ) -> Result<Vec<(FileChange, FileDiff)>, Error> {
        let view = self.experiment(id)?;
        let (from, to) = diff_ends(&view, variant, against)?;
        let repo = experiment_repo(&view.experiment)?;
        Ok(diff::render_all(&repo, &from, &to, opts)?)
    }

    /// The N×N similarity of the variants' changes relative to the base.
    pub fn similarity(&self, id: &ExperimentId) -> Result<Vec<Vec<f64>>, Error> {
        let view = self.experiment(id)?;
        let repo = experiment_repo(&view.experiment)?;
        let heads: Vec<String> = view.variants.iter().map(|v| v.branch_ref()).collect();
        Ok(diff::similarity_matrix(
            &repo,
            &view.experiment.base_commit,
            &heads,
        )?)
    }

    /// What merging a variant would do. Writes nothing.
    pub fn merge_preview(
        &self,
        id: &ExperimentId,
        variant: VariantIndex,
        target: Option<&str>,
    ) -> Result<MergePreview, Error> {
        let view = self.experiment(id)?;
        experiment_repo(&view.experiment)?;
        let v = variant_of(&view, variant)?;
        let target = merge_target(&view, target)?;
        Ok(merge::preview_ignoring(
            &view.experiment.repo_root,
            &v.branch_ref(),
            &target,
            &self.own_worktrees()?,
        )?)
    }

    /// Merges a variant into the target branch (the branch the experiment
    /// started from, unless given) and records it so it can be undone.
    pub fn merge(
        &self,
        id: &ExperimentId,
        variant: VariantIndex,
        target: Option<&str>,
        strategy: Strategy,
        message: Option<&str>,
    ) -> Result<MergeOutcome, Error> {
        let view = self.experiment(id)?;
        let v = variant_of(&view, variant)?.clone();
        experiment_repo(&view.experiment)?;
        let _lease = self.lease(id, "merging")?;
        ensure_idle(&v, "merge")?;
        ensure_variant_committed(&view.experiment, &v)?;
        let target = merge_target(&view, target)?;
        let message = message
            .map(str::to_string)
            .unwrap_or_else(|| default_merge_message(&view.experiment, &v));
        let outcome = merge::apply_ignoring(
            &view.experiment.repo_root,
            &v.branch_ref(),
            &target,
            strategy,
            &message,
            &self.own_worktrees()?,
        )?;
        let record = MergeRecord {
            experiment_id: view.experiment.id.clone(),
            variant: v.index,
            target: outcome.target.clone(),
            commit: outcome.commit.clone(),
            previous: outcome.previous.clone(),
            source: Some(outcome.source.clone()),
            strategy: strategy_name(strategy).to_string(),
            created_at: now_rfc3339(),
            undone: false,
        };
        let exp_id = view.experiment.id.clone();
        self.store(move |s| {
            s.record_merge(&record)?;
            s.set_experiment_status(&exp_id, ExperimentStatus::Merged)
        })?;
        Ok(outcome)
    }

    /// Undoes the experiment's last merge while that is still possible.
    pub fn undo_merge(&self, experiment: &ExperimentId) -> Result<MergeRecord, Error> {
        let view = self.experiment(experiment)?;
        let id = view.experiment.id.clone();
        experiment_repo(&view.experiment)?;
        let _lease = self.lease(experiment, "undoing a merge")?;
        let key = id.clone();
        let record = self
            .store(move |s| s.last_merge(&key))?
            .filter(|m| !m.undone)
            .ok_or_else(|| ExperimentError::NothingToUndo {
                experiment: id.clone(),
            })?;
        let outcome = MergeOutcome {
            target: record.target.clone(),
            commit: record.commit.clone(),
            previous: record.previous.clone(),
            source: record.source.clone().unwrap_or_default(),
            strategy: record.strategy.parse().unwrap_or_default(),
            files: Vec::new(),
        };
        merge::undo_ignoring(&view.experiment.repo_root, &outcome, &self.own_worktrees()?)?;
        let (key, commit) = (id.clone(), record.commit.clone());
        self.store(move |s| {
            s.mark_merge_undone(&key, &commit)?;
            s.set_experiment_status(&key, ExperimentStatus::Finished)
        })?;
        Ok(record)
    }

    /// Each variant's worktree size and unmerged work: what cleanup would
    /// free and lose, for the experiment view and a confirmation dialog.
    /// Walks every worktree: call from blocking code.
    pub fn disk_usage(&self, id: &ExperimentId) -> Result<Vec<VariantDisk>, Error> {
        let mut entries = self.disk_ledger(id)?;
        measure_worktrees(&mut entries);
        Ok(entries)
    }

    /// [`Engine::disk_usage`] without the sizes (`bytes` is `None`): quick, so
    /// a caller holding the engine behind a lock walks the folders with
    /// [`measure_worktrees`] after letting go of it.
    pub fn disk_ledger(&self, id: &ExperimentId) -> Result<Vec<VariantDisk>, Error> {
        let view = self.experiment(id)?;
        let merged = self.merged_variants(&view)?;
        let all: Vec<String> = view.variants.iter().map(|v| v.branch.clone()).collect();
        view.variants
            .iter()
            .map(|v| {
                let unmerged = worktree::unmerged_commits(
                    &view.experiment.repo_root,
                    &v.branch,
                    &view.experiment.base_commit,
                    &all,
                )?;
                Ok(VariantDisk {
                    index: v.index,
                    name: v.name.clone(),
                    branch: v.branch.clone(),
                    worktree: v.worktree.clone(),
                    bytes: None,
                    unmerged_commits: unmerged,
                    merged: merged.contains(&v.index),
                })
            })
            .collect()
    }

    /// Removes the experiment's worktrees and branches; see [`CleanOptions`].
    /// Refuses, before changing anything, when a branch to delete holds
    /// commits no other branch or tag has and no merge recorded, unless
    /// `confirmed`. Walks the worktrees: call from blocking code.
    pub fn clean(&self, id: &ExperimentId, opts: &CleanOptions) -> Result<CleanReport, Error> {
        let view = self.experiment(id)?;
        experiment_repo(&view.experiment)?;
        let _lease = self.lease(id, "cleaning up")?;
        for v in &view.variants {
            ensure_idle(v, "remove the worktree of")?;
        }
        let exp = &view.experiment;
        let keep_branch = match opts.keep {
            Some(index) => Some(variant_of(&view, index)?.branch.clone()),
            None => None,
        };
        let archive = indices_of(&view, &opts.archive)?;
        let confirmed = indices_of(&view, &opts.confirmed_variants)?;
        let deleted: Vec<&Variant> = view
            .variants
            .iter()
            .filter(|v| Some(&v.branch) != keep_branch.as_ref())
            .collect();
        if !opts.confirmed {
            let at_risk: Vec<&Variant> = deleted
                .iter()
                .copied()
                .filter(|v| !archive.contains(&v.index) && !confirmed.contains(&v.index))
                .collect();
            self.refuse_unmerged(&view, &at_risk, &deleted)?;
        }
        let mut archived = Vec::new();
        for v in view.variants.iter().filter(|v| archive.contains(&v.index)) {
            let (tag, commit) = worktree::archive_branch(&exp.repo_root, &v.branch)?;
            archived.push(ArchivedVariant {
                index: v.index,
                tag,
                commit,
            });
        }
        let sizes: Vec<(PathBuf, u64)> = view
            .variants
            .iter()
            .map(|v| (v.worktree.clone(), worktree::disk_usage(&v.worktree)))
            .collect();
        let pairs: Vec<(String, PathBuf)> = view
            .variants
            .iter()
            .map(|v| (v.branch.clone(), v.worktree.clone()))
            .collect();
        let report = worktree::remove(&exp.repo_root, &pairs, keep_branch.as_deref(), opts.force)?;
        let left_on_hosts = self.discard_remote(exp, &view.variants, &report.removed);
        let freed_bytes = sizes
            .iter()
            .filter(|(path, _)| report.removed.contains(path))
            .map(|(_, bytes)| bytes)
            .sum();
        if report.kept_dirty.is_empty() {
            self.drop_base_ref(exp)?;
        }
        Ok(CleanReport {
            removed: report,
            freed_bytes,
            archived,
            left_on_hosts,
        })
    }

    /// Removes the host side of each variant whose local worktree went:
    /// best effort, since a host may be gone for good; what stays is said.
    fn discard_remote(
        &self,
        exp: &Experiment,
        variants: &[Variant],
        removed: &[PathBuf],
    ) -> Vec<String> {
        let remote: Vec<&Variant> = variants
            .iter()
            .filter(|v| v.host.is_some() && removed.contains(&v.worktree))
            .collect();
        if remote.is_empty() {
            return Vec::new();
        }
        let hosts = self.hosts.read().unwrap_or_else(|e| e.into_inner()).clone();
        remote
            .into_iter()
            .filter_map(|v| {
                let outcome = crate::executor::for_variant(&hosts, v)
                    .and_then(|executor| executor.discard(exp, v));
                outcome.err().map(|e| format!("variant {}: {e}", v.index))
            })
            .collect()
    }

    /// Variants whose work is merged now, judged by the repository at this
    /// moment rather than by the record alone: a squash merge leaves their
    /// commits on no branch, so a variant counts as merged when a merge of it
    /// is on record, its branch still ends at the very commit that merge
    /// took (nothing was committed in it since), and the merge commit is
    /// still in the target branch's history (nobody reset it away).
    fn merged_variants(&self, view: &ExperimentView) -> Result<Vec<u32>, Error> {
        let key = view.experiment.id.clone();
        let records = self.store(move |s| s.merges(&key))?;
        let repo = experiment_repo(&view.experiment)?;
        let commit_of = |name: &str| {
            repo.revparse_single(name)
                .and_then(|o| o.peel_to_commit())
                .map(|c| c.id())
                .ok()
        };
        let still_holds = |m: &MergeRecord| -> bool {
            let Some(variant) = view.variants.iter().find(|v| v.index == m.variant) else {
                return false;
            };
            let (Some(source), Some(tip)) = (m.source.as_deref(), commit_of(&variant.branch_ref()))
            else {
                return false;
            };
            let target = commit_of(&format!("refs/heads/{}", m.target));
            let merge = git2::Oid::from_str(&m.commit).ok();
            let in_target = match (target, merge) {
                (Some(target), Some(merge)) => {
                    target == merge || repo.graph_descendant_of(target, merge).unwrap_or(false)
                }
                _ => false,
            };
            tip.to_string() == source && in_target
        };
        Ok(records
            .iter()
            .filter(|m| !m.undone && still_holds(m))
            .map(|m| m.variant)
            .collect())
    }

    fn refuse_unmerged(
        &self,
        view: &ExperimentView,
        at_risk: &[&Variant],
        deleted: &[&Variant],
    ) -> Result<(), Error> {
        let exp = &view.experiment;
        let merged = self.merged_variants(view)?;
        let going: Vec<String> = deleted.iter().map(|v| v.branch.clone()).collect();
        let mut unmerged = Vec::new();
        for v in at_risk.iter().filter(|v| !merged.contains(&v.index)) {
            let count =
                worktree::unmerged_commits(&exp.repo_root, &v.branch, &exp.base_commit, &going)?;
            if count > 0 {
                let plural = if count == 1 { "" } else { "s" };
                unmerged.push(format!("{} ({}, {count} commit{plural})", v.index, v.name));
            }
        }
        if unmerged.is_empty() {
            return Ok(());
        }
        Err(ExperimentError::Unmerged {
            experiment: short_id(&exp.id).to_string(),
            variants: unmerged.join(", "),
        }
        .into())
    }

    /// Every worktree folder Fanout made: never the target's checkout of a merge.
    fn own_worktrees(&self) -> Result<Vec<PathBuf>, Error> {
        self.store(|s| s.worktree_paths())
    }

    /// The snapshot ref only keeps the base alive for the worktrees; once
    /// they are gone it would pin the commit forever.
    fn drop_base_ref(&self, exp: &Experiment) -> Result<(), Error> {
        let Some(name) = &exp.base_ref else {
            return Ok(());
        };
        let repo = experiment_repo(exp)?;
        if let Ok(mut reference) = repo.find_reference(name) {
            reference.delete().map_err(|e| {
                repo::git_error("deleting the base snapshot ref", &exp.repo_root, e)
            })?;
        }
        Ok(())
    }
}

/// Takes back the worktrees of an experiment that could not be created:
/// unrecorded, they would be invisible to every later command.
pub(crate) fn remove_created(root: &Path, created: &[worktree::CreatedWorktree]) {
    let pairs: Vec<_> = created
        .iter()
        .map(|w| (w.branch.clone(), w.path.clone()))
        .collect();
    if let Err(e) = worktree::remove(root, &pairs, None, true) {
        tracing::warn!(error = %e, "removing the worktrees of a failed experiment left something behind");
    }
}

impl Variant {
    /// The full ref name of the variant's branch.
    pub fn branch_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    /// The variant's worktree as the repository at `repo_root` registered
    /// it; see [`Linked`].
    pub fn linked(&self, repo_root: &Path) -> Result<Linked, WorktreeError> {
        Linked::open(repo_root, &self.worktree, &self.branch)
    }
}

/// Fills in each worktree's size (`None` when its folder is gone). Walks the
/// folders: call from blocking code.
pub fn measure_worktrees(entries: &mut [VariantDisk]) {
    for entry in entries {
        entry.bytes = entry
            .worktree
            .is_dir()
            .then(|| worktree::disk_usage(&entry.worktree));
    }
}

/// The experiment's variant at `index`.
pub fn variant_of(view: &ExperimentView, index: VariantIndex) -> Result<&Variant, Error> {
    view.variants
        .iter()
        .find(|v| v.index == index.0)
        .ok_or_else(|| {
            StoreError::VariantNotFound {
                experiment_id: short_id(&view.experiment.id).to_owned(),
                index: index.0,
            }
            .into()
        })
}

/// The variant numbers of `indices`, each checked to exist.
fn indices_of(
    view: &ExperimentView,
    indices: &[VariantIndex],
) -> Result<std::collections::HashSet<u32>, Error> {
    indices
        .iter()
        .map(|i| variant_of(view, *i).map(|v| v.index))
        .collect()
}

/// Finds a variant by its index (1..N) or its approach slug.
pub fn select_variant<'v>(view: &'v ExperimentView, selector: &str) -> Result<&'v Variant, Error> {
    let sel = selector.trim();
    let found = match sel.parse::<u32>() {
        Ok(index) => view.variants.iter().find(|v| v.index == index),
        Err(_) => view
            .variants
            .iter()
            .find(|v| v.slug == sel || v.slug == slug::slugify(sel)),
    };
    found.ok_or_else(|| {
        ExperimentError::NoSuchVariant {
            experiment: short_id(&view.experiment.id).to_string(),
            selector: selector.to_string(),
            count: view.variants.len(),
            slugs: view
                .variants
                .iter()
                .map(|v| v.slug.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()
    })
}

/// The first 8 characters of an experiment id, as shown to users.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn approach_slug(name: &str) -> String {
    slug::slugify_or(name.trim(), slug::MAX_SLUG_LEN, "approach")
}

/// A slug for the task that no earlier experiment in this repository uses,
/// neither as a branch namespace nor as a folder.
fn unique_experiment_slug(
    repo_root: &Path,
    worktree_root: &Path,
    task: &str,
) -> Result<String, Error> {
    let base = slug::slugify(task);
    let repo = repo::open(repo_root)?;
    let taken = |candidate: &str| {
        let prefix = format!("refs/heads/fanout/{candidate}/");
        let branch_taken = repo
            .references_glob(&format!("{prefix}*"))
            .map(|mut refs| refs.next().is_some())
            .unwrap_or(false)
            || repo
                .find_reference(&format!("refs/heads/fanout/{candidate}"))
                .is_ok();
        branch_taken || worktree::experiment_dir(worktree_root, repo_root, candidate).exists()
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while taken(&candidate) {
        candidate = numbered(&base, n);
        n += 1;
    }
    Ok(candidate)
}

/// The experiment's repository; one that is gone (moved, deleted) is named
/// as the experiment's, never met with advice to create a repository there.
pub(crate) fn experiment_repo(exp: &Experiment) -> Result<git2::Repository, Error> {
    repo::open(&exp.repo_root).map_err(|e| match e {
        RepoError::NotFound { .. }
        | RepoError::NotADirectory { .. }
        | RepoError::NotARepository { .. } => ExperimentError::RepositoryGone {
            experiment: short_id(&exp.id).to_owned(),
            repo: exp.repo_root.clone(),
        }
        .into(),
        other => other.into(),
    })
}

/// Refuses a variant that a run is working on right now.
fn ensure_idle(v: &Variant, action: &'static str) -> Result<(), ExperimentError> {
    if v.status.is_active() {
        return Err(ExperimentError::VariantActive {
            index: v.index,
            name: v.name.clone(),
            status: v.status,
            action,
        });
    }
    Ok(())
}

/// Marks an idle variant failed when `err` says its agent tampered with its
/// worktree; returns whether it did (and the variant needs saving).
pub(crate) fn mark_tampered(v: &mut Variant, err: &WorktreeError) -> bool {
    if !matches!(err, WorktreeError::Tampered { .. }) || v.status.is_active() {
        return false;
    }
    v.status = VariantStatus::Failed;
    v.error = Some(err.to_string());
    v.finished_at = Some(now_rfc3339());
    true
}

/// `base` with `-n` appended, shortened first so the whole stays within
/// [`slug::MAX_SLUG_LEN`]: the worktree folder and the branch use the slug
/// as it is, so a suffix cut off again would name an existing one (and the
/// search for a free name would never end).
fn numbered(base: &str, n: u32) -> String {
    let suffix = format!("-{n}");
    let room = slug::MAX_SLUG_LEN.saturating_sub(suffix.len());
    let stem = base[..base.len().min(room)].trim_end_matches('-');
    format!("{stem}{suffix}")
}

fn ensure_worktree(v: &Variant) -> Result<(), ExperimentError> {
    if v.worktree.is_dir() {
        Ok(())
    } else {
        Err(ExperimentError::WorktreeMissing {
            index: v.index,
            worktree: v.worktree.clone(),
        })
    }
}

/// A merge takes the variant's branch; work still sitting uncommitted in its
/// worktree would silently be left out. The worktree is checked for
/// tampering first: what an agent did to its git metadata must be seen
/// before its work is merged.
fn ensure_variant_committed(exp: &Experiment, v: &Variant) -> Result<(), Error> {
    if !v.worktree.is_dir() {
        return Ok(());
    }
    let linked = v.linked(&exp.repo_root)?;
    linked.guard()?;
    if linked
        .uncommitted()
        .map_err(WorktreeError::from)?
        .is_empty()
    {
        Ok(())
    } else {
        Err(ExperimentError::VariantDirty {
            experiment: short_id(&exp.id).to_string(),
            index: v.index,
            name: v.name.clone(),
            worktree: v.worktree.clone(),
        }
        .into())
    }
}

fn diff_ends(
    view: &ExperimentView,
    variant: VariantIndex,
    against: Option<VariantIndex>,
) -> Result<(String, String), Error> {
    let to = variant_of(view, variant)?.branch_ref();
    let from = match against {
        Some(other) => variant_of(view, other)?.branch_ref(),
        None => view.experiment.base_commit.clone(),
    };
    Ok((from, to))
}

fn merge_target(view: &ExperimentView, target: Option<&str>) -> Result<String, ExperimentError> {
    target
        .map(str::to_string)
        .or_else(|| view.experiment.target_branch.clone())
        .ok_or(ExperimentError::NoTargetBranch)
}

/// The message of a variant's auto-commit: the task and the approach.
pub(crate) fn commit_message(exp: &Experiment, v: &Variant) -> String {
    format!(
        "fanout: {} (variant {}: {})\n\nTask: {}\n",
        first_line(&exp.task, 60),
        v.index,
        v.name,
        exp.task
    )
}

/// The message a merge gets unless the user writes one: the task and the approach.
pub fn default_merge_message(exp: &Experiment, v: &Variant) -> String {
    let mut message = format!("{}\n\nApproach: {}", first_line(&exp.task, 72), v.name);
    if !v.description.trim().is_empty() {
        message.push_str(&format!(" — {}", v.description.trim()));
    }
    message.push_str(&format!(
        "\n\nTask:\n{}\n\nMerged from {} by Fanout.\n",
        exp.task.trim(),
        v.branch
    ));
    message
}

fn first_line(text: &str, max_chars: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= max_chars {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Squash => "squash",
        Strategy::Merge => "merge",
    }
}

/// Now, as RFC 3339 in UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approach(name: &str) -> ApproachSpec {
        ApproachSpec {
            name: name.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn approach_lists_are_validated() {
        assert!(validate_approaches(&[approach("a")]).is_ok());
        let eight: Vec<_> = (1..=8).map(|i| approach(&format!("a{i}"))).collect();
        assert!(validate_approaches(&eight).is_ok());
        let nine: Vec<_> = (1..=9).map(|i| approach(&format!("a{i}"))).collect();
        assert!(matches!(
            validate_approaches(&nine),
            Err(ExperimentError::ApproachCount { count: 9 })
        ));
        assert!(matches!(
            validate_approaches(&[]),
            Err(ExperimentError::ApproachCount { count: 0 })
        ));
        assert!(matches!(
            validate_approaches(&[approach("a"), approach("  ")]),
            Err(ExperimentError::UnnamedApproach { index: 2 })
        ));
        // Variants are addressed by slug, so names that slug alike collide.
        assert!(matches!(
            validate_approaches(&[approach("Event Driven"), approach("event-driven")]),
            Err(ExperimentError::DuplicateApproach { .. })
        ));
    }

    #[test]
    fn first_line_is_bounded() {
        assert_eq!(first_line("short\nsecond", 10), "short");
        assert_eq!(first_line("a very long first line", 8), "a very…");
    }
}
