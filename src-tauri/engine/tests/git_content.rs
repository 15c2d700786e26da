//! Git's own rules for content: Fanout's auto-commit, base snapshot, reset
//! and merge store and write files exactly as `git add` and `git checkout`
//! would, with a clean/smudge filter (a stand-in for git-crypt), `eol`,
//! `working-tree-encoding` and Git LFS (`git-lfs`, installed by `make test`).

mod common;

use std::path::Path;

use common::{git, Fixture};
use fanout_engine::experiment::{ApproachSpec, Engine, ExperimentView, NewExperiment};
use fanout_engine::ids::VariantIndex;
use fanout_engine::linked::Linked;
use fanout_engine::merge::Strategy;
use fanout_engine::orchestrator::RunConfig;
use fanout_engine::paths::Paths;
use fanout_engine::worktree;

const ATTRIBUTES: &str = "\
*.secret filter=rot13
*.crlf text eol=crlf
*.utf16 text working-tree-encoding=UTF-16LE
*.bin filter=lfs diff=lfs merge=lfs -text
";

/// A repository whose attributes use all four, with its first commit.
fn repository() -> Fixture {
    let fx = Fixture::empty();
    // rot13 both ways: what is stored differs from what is checked out, as
    // with git-crypt, and a stored smudged file would show at once.
    let rot13 = "tr A-Za-z N-ZA-Mn-za-m";
    fx.git(&["config", "filter.rot13.clean", rot13]);
    fx.git(&["config", "filter.rot13.smudge", rot13]);
    fx.git(&["config", "filter.rot13.required", "true"]);
    let lfs = common::git_command(&fx.root, &["lfs", "install", "--local"])
        .output()
        .expect("git lfs runs");
    assert!(
        lfs.status.success(),
        "Git LFS is needed (Debian's git-lfs; make test installs it): {}",
        String::from_utf8_lossy(&lfs.stderr)
    );
    fx.write(".gitattributes", ATTRIBUTES);
    fx.write("README.md", "# content\n");
    fx.commit_all("attributes");
    fx
}

/// Files in their working-tree form, as an agent (or the user) writes them.
fn write_work(dir: &Path, tag: &str) {
    let put = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).expect("write");
    put(
        "a.secret",
        format!("Plain secret text {tag}\n").into_bytes(),
    );
    put(
        "b.crlf",
        format!("line one {tag}\r\nline two\r\n").into_bytes(),
    );
    put(
        "c.utf16",
        format!("unicode {tag} é\n")
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect(),
    );
    put(
        "d.bin",
        format!("large binary {tag}\0\u{1}\u{2}").into_bytes(),
    );
}

const FILES: [&str; 4] = ["a.secret", "b.crlf", "c.utf16", "d.bin"];

/// What `git add` stores for `name` as it is in `dir`: git's own hash of
/// the file with the repository's filters and attributes applied.
fn stored_by_git(dir: &Path, name: &str) -> String {
    git(dir, &["hash-object", "--path", name, name])
}

fn blob(fx: &Fixture, rev: &str, name: &str) -> String {
    fx.git(&["rev-parse", &format!("{rev}:{name}")])
}

fn experiment(fx: &Fixture, include_uncommitted: bool) -> (Engine, ExperimentView) {
    let engine = Engine::open(Paths::at(fx.sibling("home"))).expect("engine");
    let view = engine
        .create_experiment(NewExperiment {
            repo: fx.root.clone(),
            task: "content".into(),
            approaches: vec![ApproachSpec {
                name: "alpha".into(),
                ..ApproachSpec::default()
            }],
            include_uncommitted,
            worktree_root: Some(fx.sibling("worktrees")),
            default_agent: "command".into(),
            run: RunConfig::default(),
        })
        .expect("created");
    (engine, view)
}

#[test]
fn the_auto_commit_stores_what_git_add_would() {
    let fx = repository();
    let (engine, view) = experiment(&fx, false);
    let v = &view.variants[0];
    write_work(&v.worktree, "agent");

    engine.commit(&view.id(), None).expect("commit");

    for name in FILES {
        assert_eq!(
            blob(&fx, &v.branch, name),
            stored_by_git(&v.worktree, name),
            "{name}: the cleaned, normalized, LFS-pointer form is stored, not the checked-out bytes"
        );
    }
    let pointer = fx.git(&["cat-file", "-p", &format!("{}:d.bin", v.branch)]);
    assert!(pointer.starts_with("version https://git-lfs"), "{pointer}");
    let stored = fx.git(&["cat-file", "-p", &format!("{}:a.secret", v.branch)]);
    assert!(
        !stored.contains("Plain secret"),
        "the secret is stored filtered: {stored}"
    );
    assert_eq!(
        git(&v.worktree, &["status", "--porcelain"]),
        "",
        "git sees the worktree as exactly what was committed"
    );
}

#[test]
fn the_base_snapshot_stores_uncommitted_work_as_git_add_would() {
    let fx = repository();
    write_work(&fx.root, "user");
    let index_before = std::fs::read(fx.root.join(".git/index")).expect("index");

    let (_, view) = experiment(&fx, true);

    let base = &view.experiment.base_commit;
    for name in FILES {
        assert_eq!(
            blob(&fx, base, name),
            stored_by_git(&fx.root, name),
            "{name}: the snapshot holds what git add would store"
        );
    }
    assert_eq!(
        std::fs::read(fx.root.join(".git/index")).expect("index"),
        index_before,
        "the user's index is untouched"
    );
    let wt = &view.variants[0].worktree;
    for name in FILES {
        assert_eq!(
            std::fs::read(wt.join(name)).expect("checked out"),
            std::fs::read(fx.root.join(name)).expect("the user's file"),
            "{name}: the worktree starts with the user's bytes, smudged back"
        );
    }
}

#[test]
fn a_reset_and_a_merge_write_files_as_git_checkout_would() {
    let fx = repository();
    let (engine, view) = experiment(&fx, false);
    let v = &view.variants[0];
    write_work(&v.worktree, "agent");
    engine.commit(&view.id(), None).expect("commit");
    let expected: Vec<Vec<u8>> = FILES
        .iter()
        .map(|name| std::fs::read(v.worktree.join(name)).expect("read"))
        .collect();

    // A retry's reset back to the base, then forward to the commit again:
    // the files come back in their checked-out form.
    let linked = Linked::open(&fx.root, &v.worktree, &v.branch).expect("registered");
    let tip = fx.git(&["rev-parse", &v.branch]);
    worktree::reset_to(&linked, &view.experiment.base_commit).expect("reset");
    assert!(
        !v.worktree.join("a.secret").exists(),
        "the base has none of them"
    );
    worktree::reset_to(&linked, &tip).expect("reset forward");
    for (name, bytes) in FILES.iter().zip(&expected) {
        assert_eq!(
            &std::fs::read(v.worktree.join(name)).expect("read"),
            bytes,
            "{name}: smudged, with its line endings and encoding, LFS content not pointer"
        );
    }

    engine
        .merge(&view.id(), VariantIndex(1), None, Strategy::Squash, None)
        .expect("merge");
    for (name, bytes) in FILES.iter().zip(&expected) {
        assert_eq!(
            &std::fs::read(fx.root.join(name)).expect("merged into the checkout"),
            bytes,
            "{name}: the user's checkout gets the checked-out form"
        );
    }
    assert_eq!(fx.status(), "", "and git sees the checkout as clean");
}
