//! A pull request for the winner: the variant's branch pushed to the
//! repository's remote (a local bare repository here) under the name the
//! user chose, and the pull request opened through GitHub's REST API (a
//! mock on 127.0.0.1 that records the requests). Each failure is a sentence.
//!
//! In a file of its own: the token is in this process's environment
//! (GH_TOKEN), as a user's shell would have it.

mod common;

use common::{git, Rig};
use fanout_engine::ids::VariantIndex;
use fanout_engine::pr::PrDraft;
use fanout_mock_llm::MockGitHub;
use serde_json::json;

const TOKEN: &str = "ghp_test0123456789abcdefTOKEN";

/// A variant with one commit, and a bare repository as `origin`.
fn ready() -> Rig {
    std::env::set_var("GH_TOKEN", TOKEN);
    let rig = Rig::new(&["alpha"], "claude-code");
    let v = &rig.view.variants[0];
    std::fs::write(v.worktree.join("greeting.txt"), "hello\n").expect("work");
    rig.engine().commit(&rig.id, None).expect("commit");
    let remote = rig.fx.sibling("remote.git");
    git(&remote, &["init", "-q", "--bare"]);
    rig.fx
        .git(&["remote", "add", "origin", &remote.display().to_string()]);
    rig
}

fn draft(rig: &Rig) -> PrDraft {
    let mut draft = rig
        .engine()
        .pr_draft(&rig.id, VariantIndex(1), "origin")
        .expect("a draft");
    draft.github = Some("acme/rocket".into());
    draft.branch = "fanout-pr/alpha".into();
    draft
}

fn opened() -> (u16, serde_json::Value) {
    (
        201,
        json!({"html_url": "https://github.example/acme/rocket/pull/7", "number": 7}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_branch_is_pushed_and_the_pull_request_opened() {
    let rig = ready();
    let github = MockGitHub::start(vec![opened()])
        .await
        .expect("mock github");
    let mut draft = draft(&rig);
    assert_eq!(
        draft.base, "main",
        "into the branch the experiment started from"
    );
    assert!(
        draft.body.contains("Approach: alpha") && draft.body.contains(common::TASK),
        "the body is the variant's section of the report: {}",
        draft.body
    );
    draft.title = "Greet the user".into();
    draft.draft = true;
    let pr = rig
        .fanout
        .pull_request(&rig.id, VariantIndex(1), draft.clone(), github.url())
        .await
        .expect("opened");
    assert_eq!(pr.url, "https://github.example/acme/rocket/pull/7");
    assert_eq!(pr.number, 7);

    let remote = rig.fx.sibling("remote.git");
    assert_eq!(
        git(&remote, &["rev-parse", "refs/heads/fanout-pr/alpha"]),
        rig.fx.git(&["rev-parse", &rig.view.variants[0].branch]),
        "the remote has the variant's work under the chosen name"
    );
    let sent = github.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].repo, "acme/rocket");
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(sent[0].body["head"], "fanout-pr/alpha");
    assert_eq!(sent[0].body["base"], "main");
    assert_eq!(sent[0].body["title"], "Greet the user");
    assert_eq!(sent[0].body["draft"], true);
    assert_eq!(
        sent[0].body["body"],
        draft.body.as_str(),
        "the body as edited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_is_a_sentence() {
    let rig = ready();
    let err = rig
        .engine()
        .pr_draft(&rig.id, VariantIndex(1), "upstream")
        .expect_err("no such remote");
    assert_eq!(err.code(), "pr.no_remote", "{err}");
    assert!(err.to_string().contains("git remote add upstream"), "{err}");

    // GitHub refuses: a bad token, then a pull request that exists already.
    let github = MockGitHub::start(vec![
        (401, json!({"message": "Bad credentials"})),
        (
            422,
            json!({"message": "Validation Failed", "errors": [{"message": "A pull request already exists for acme:fanout-pr/alpha."}]}),
        ),
    ])
    .await
    .expect("mock github");
    let err = rig
        .fanout
        .pull_request(&rig.id, VariantIndex(1), draft(&rig), github.url())
        .await
        .expect_err("401");
    assert_eq!(err.code(), "pr.unauthorized", "{err}");
    let err = rig
        .fanout
        .pull_request(&rig.id, VariantIndex(1), draft(&rig), github.url())
        .await
        .expect_err("422");
    assert_eq!(err.code(), "pr.already_exists", "{err}");
    assert!(
        err.to_string()
            .contains("already exists for acme:fanout-pr/alpha"),
        "{err}"
    );

    // A remote GitHub cannot be told from: the user must name the repository.
    let mut unnamed = draft(&rig);
    unnamed.github = None;
    let err = rig
        .fanout
        .pull_request(&rig.id, VariantIndex(1), unnamed, github.url())
        .await
        .expect_err("which repository?");
    assert_eq!(err.code(), "pr.not_github", "{err}");
    assert!(
        err.to_string().contains("remote.git"),
        "it names the remote's URL: {err}"
    );

    // The remote has the chosen branch name already, with other work: refused.
    let other = rig.fx.sibling("other");
    git(&other, &["init", "-q", "-b", "main"]);
    std::fs::write(other.join("x.txt"), "x\n").expect("write");
    git(&other, &["add", "."]);
    git(&other, &["commit", "-q", "-m", "other work"]);
    let remote = rig.fx.sibling("remote.git").display().to_string();
    git(&other, &["push", "-q", &remote, "main:refs/heads/taken"]);
    let mut taken = draft(&rig);
    taken.branch = "taken".into();
    let err = rig
        .fanout
        .pull_request(&rig.id, VariantIndex(1), taken, github.url())
        .await
        .expect_err("non-fast-forward");
    assert_eq!(err.code(), "pr.push_rejected", "{err}");
    let mut bad = draft(&rig);
    bad.branch = "no spaces allowed".into();
    let err = rig
        .fanout
        .pull_request(&rig.id, VariantIndex(1), bad, github.url())
        .await
        .expect_err("bad name");
    assert_eq!(err.code(), "pr.bad_branch", "{err}");
    assert_eq!(
        github.requests().len(),
        2,
        "GitHub was asked only when the push worked"
    );
}
