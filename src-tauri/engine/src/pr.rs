//! Handing the winner to the team: a variant's branch pushed to the
//! repository's remote under a name the user can edit, and a pull request
//! opened on GitHub through its REST API. The token comes from the keyring
//! or `GH_TOKEN` (`GITHUB_TOKEN`); the API from `GITHUB_API_URL`, as
//! GitHub's own tools read it, or a setting (GitHub Enterprise).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use crate::experiment::{variant_of, Engine};
use crate::gitcli::Git;
use crate::ids::{ExperimentId, VariantIndex};
use crate::secrets::ApiKey;
use crate::Error;

/// Where GitHub's REST API is when nothing else says.
pub const GITHUB_API: &str = "https://api.github.com";

/// The keyring entry of the GitHub token (service "fanout").
const TOKEN_ENTRY: &str = "github";

#[derive(Debug, thiserror::Error)]
pub enum PrError {
    #[error("The repository {repo} has no remote called `{remote}`, so there is nowhere to push. Add it (`git remote add {remote} <url>`) or name another remote.")]
    NoRemote { repo: String, remote: String },
    #[error("Pushing {branch} to `{remote}` was refused: {detail} Choose another branch name, or update the remote branch first.")]
    PushRejected {
        branch: String,
        remote: String,
        detail: String,
    },
    #[error(
        "`{branch}` is not a branch name git accepts. Use letters, digits, `/`, `-`, `_` and `.`."
    )]
    BadBranch { branch: String },
    #[error("The pull request needs a title.")]
    EmptyTitle,
    #[error("Fanout cannot tell which GitHub repository `{remote}` ({url}) is. Name it as owner/name (`--github owner/name`, or the field in the pull request dialog).")]
    NotGitHub { remote: String, url: String },
    #[error("No GitHub token is set. Save one in the settings, or set GH_TOKEN.")]
    NoToken,
    #[error("GitHub ({api}) refused the token (401). Check that it is valid and may create pull requests in {repo}.")]
    Unauthorized { api: String, repo: String },
    #[error("GitHub did not open the pull request: {detail} If one is open for {branch} already, it is on GitHub.")]
    AlreadyExists { branch: String, detail: String },
    #[error("GitHub answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("Could not reach GitHub at {api}: {detail}. Check the network, or the API URL setting (GITHUB_API_URL).")]
    Unreachable { api: String, detail: String },
}

impl PrError {
    pub fn code(&self) -> &'static str {
        match self {
            PrError::NoRemote { .. } => "pr.no_remote",
            PrError::PushRejected { .. } => "pr.push_rejected",
            PrError::BadBranch { .. } => "pr.bad_branch",
            PrError::EmptyTitle => "pr.empty_title",
            PrError::NotGitHub { .. } => "pr.not_github",
            PrError::NoToken => "pr.no_token",
            PrError::Unauthorized { .. } => "pr.unauthorized",
            PrError::AlreadyExists { .. } => "pr.already_exists",
            PrError::Api { .. } => "pr.api",
            PrError::Unreachable { .. } => "pr.unreachable",
        }
    }
}

/// A pull request as the dialog shows it before sending, every field editable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PrDraft {
    pub remote: String,
    /// The branch to create on the remote.
    pub branch: String,
    /// The branch to merge into: the one the experiment started from.
    pub base: String,
    pub title: String,
    /// The variant's section of the report.
    pub body: String,
    pub draft: bool,
    /// The GitHub repository as owner/name, when the remote's URL says it.
    pub github: Option<String>,
}

/// An opened pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
    pub branch: String,
}

impl Engine {
    /// The pull request Fanout would open for variant `index`, to edit.
    pub fn pr_draft(
        &self,
        id: &ExperimentId,
        index: VariantIndex,
        remote: &str,
    ) -> Result<PrDraft, Error> {
        let view = self.experiment(id)?;
        let v = variant_of(&view, index)?;
        let url = remote_url(&view.experiment.repo_root, remote)?;
        let base = view
            .experiment
            .target_branch
            .clone()
            .ok_or(crate::experiment::ExperimentError::NoTargetBranch)?;
        Ok(PrDraft {
            remote: remote.to_owned(),
            branch: v.branch.clone(),
            base,
            title: format!(
                "{} ({})",
                view.experiment.task.lines().next().unwrap_or("").trim(),
                v.name
            ),
            body: self.variant_report(id, index)?,
            draft: false,
            github: github_repo(&url),
        })
    }

    /// Pushes variant `index`'s branch to `draft.remote` as `draft.branch`.
    /// Blocking: git talks to the remote with the user's own credentials.
    pub fn push_variant(
        &self,
        id: &ExperimentId,
        index: VariantIndex,
        draft: &PrDraft,
    ) -> Result<(), Error> {
        let view = self.experiment(id)?;
        let v = variant_of(&view, index)?;
        let root = &view.experiment.repo_root;
        remote_url(root, &draft.remote)?;
        let valid = Git::in_dir(root)
            .args(["check-ref-format", "--branch", draft.branch.as_str()])
            .run()
            .is_ok();
        if !valid || draft.branch.trim().is_empty() {
            return Err(PrError::BadBranch {
                branch: draft.branch.clone(),
            }
            .into());
        }
        let refspec = format!("{}:refs/heads/{}", v.branch_ref(), draft.branch);
        Git::in_dir(root)
            .args([
                "push",
                "--porcelain",
                draft.remote.as_str(),
                refspec.as_str(),
            ])
            .run()
            .map_err(|e| {
                PrError::PushRejected {
                    branch: draft.branch.clone(),
                    remote: draft.remote.clone(),
                    detail: crate::events::bound(e.to_string().trim(), 600),
                }
                .into()
            })
            .map(|_| ())
    }
}

impl Engine {
    /// The URL of the experiment repository's `remote`.
    pub fn remote_url(&self, id: &ExperimentId, remote: &str) -> Result<String, Error> {
        remote_url(&self.experiment(id)?.experiment.repo_root, remote)
    }
}

/// The URL of `remote` in the repository at `root`.
fn remote_url(root: &std::path::Path, remote: &str) -> Result<String, Error> {
    Git::in_dir(root)
        .args(["remote", "get-url", remote])
        .run()
        .map(|url| url.trim().to_owned())
        .map_err(|_| {
            PrError::NoRemote {
                repo: root.display().to_string(),
                remote: remote.to_owned(),
            }
            .into()
        })
}

/// owner/name from a GitHub remote URL: `git@github.com:o/n.git`,
/// `https://github.com/o/n(.git)`, `ssh://git@github.com/o/n.git`.
pub fn github_repo(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("git@github.com:")
        .or_else(|| url.split_once("github.com/").map(|(_, r)| r))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = rest.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !name.is_empty() && parts.next().is_none())
        .then(|| format!("{owner}/{name}"))
}

/// The API to talk to: the setting, else `GITHUB_API_URL`, else github.com's.
pub fn github_api(setting: Option<&str>) -> String {
    setting
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            std::env::var("GITHUB_API_URL")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| GITHUB_API.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The GitHub token: the keyring's, else `GH_TOKEN`, else `GITHUB_TOKEN`.
/// Blocking: it may ask the keyring.
pub fn github_token() -> Result<ApiKey, Error> {
    let from_keyring = keyring::Entry::new("fanout", TOKEN_ENTRY)
        .and_then(|e| e.get_password())
        .ok()
        .filter(|t| !t.trim().is_empty());
    let token = from_keyring
        .or_else(|| std::env::var("GH_TOKEN").ok())
        .or_else(|| std::env::var("GITHUB_TOKEN").ok())
        .filter(|t| !t.trim().is_empty())
        .ok_or(PrError::NoToken)?;
    crate::secrets::remember(&token);
    Ok(ApiKey::new(token.trim().to_owned()))
}

/// Where the GitHub token is, masked, for the settings screen.
pub fn github_token_status() -> crate::desktop::TokenStatus {
    let from_keyring = keyring::Entry::new("fanout", TOKEN_ENTRY)
        .and_then(|e| e.get_password())
        .ok()
        .filter(|t| !t.trim().is_empty());
    let (source, token) = match from_keyring {
        Some(token) => (crate::desktop::KeyOrigin::Keyring, Some(token)),
        None => match std::env::var("GH_TOKEN").or_else(|_| std::env::var("GITHUB_TOKEN")) {
            Ok(token) if !token.trim().is_empty() => {
                (crate::desktop::KeyOrigin::Environment, Some(token))
            }
            _ => (crate::desktop::KeyOrigin::None, None),
        },
    };
    crate::desktop::TokenStatus {
        source,
        masked: token.as_deref().map(crate::desktop::mask),
    }
}

/// Keeps the GitHub token in the keyring.
pub fn save_github_token(token: &str) -> Result<(), Error> {
    if token.trim().is_empty() {
        return Err(crate::secrets::SecretsError::EmptyKey.into());
    }
    crate::secrets::remember(token.trim());
    keyring::Entry::new("fanout", TOKEN_ENTRY)
        .and_then(|e| e.set_password(token.trim()))
        .map_err(|e| {
            crate::secrets::SecretsError::KeyringUnavailable {
                detail: e.to_string(),
                env_var: "GH_TOKEN",
            }
            .into()
        })
}

/// Opens the pull request `draft` describes on `repo` (owner/name).
pub async fn open_pull_request(
    api: &str,
    token: &ApiKey,
    repo: &str,
    draft: &PrDraft,
) -> Result<PullRequest, Error> {
    if draft.title.trim().is_empty() {
        return Err(PrError::EmptyTitle.into());
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| PrError::Unreachable {
            api: api.to_owned(),
            detail: e.to_string(),
        })?;
    let url = format!("{api}/repos/{repo}/pulls");
    let response = http
        .post(&url)
        .bearer_auth(token.expose())
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .header("User-Agent", format!("fanout/{}", crate::VERSION))
        .json(&json!({
            "title": draft.title.trim(),
            "head": draft.branch,
            "base": draft.base,
            "body": draft.body,
            "draft": draft.draft,
        }))
        .send()
        .await
        .map_err(|e| PrError::Unreachable {
            api: api.to_owned(),
            detail: e.without_url().to_string(),
        })?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        200 | 201 => Ok(PullRequest {
            url: body["html_url"].as_str().unwrap_or_default().to_owned(),
            number: body["number"].as_u64().unwrap_or(0),
            branch: draft.branch.clone(),
        }),
        401 => Err(PrError::Unauthorized {
            api: api.to_owned(),
            repo: repo.to_owned(),
        }
        .into()),
        422 => Err(PrError::AlreadyExists {
            branch: draft.branch.clone(),
            detail: github_message(&body),
        }
        .into()),
        _ => Err(PrError::Api {
            status,
            message: github_message(&body),
        }
        .into()),
    }
}

/// GitHub's own words for an error: its message and each error's.
fn github_message(body: &Value) -> String {
    let mut message = body["message"]
        .as_str()
        .unwrap_or("no message")
        .trim_end_matches('.')
        .to_owned();
    for error in body["errors"].as_array().into_iter().flatten() {
        if let Some(m) = error["message"].as_str() {
            message.push_str(&format!(": {m}"));
        }
    }
    let mut message = format!("{message}.");
    crate::secrets::scrub(&mut message);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_remotes_name_their_repository() {
        for url in [
            "git@github.com:acme/rocket.git",
            "https://github.com/acme/rocket.git",
            "https://github.com/acme/rocket",
            "ssh://git@github.com/acme/rocket.git",
        ] {
            assert_eq!(github_repo(url).as_deref(), Some("acme/rocket"), "{url}");
        }
        assert_eq!(github_repo("/srv/git/rocket.git"), None);
        assert_eq!(github_repo("https://gitlab.com/acme/rocket.git"), None);
    }
}
