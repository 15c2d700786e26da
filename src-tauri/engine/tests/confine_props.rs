//! The built-in agent's file tools as a property: whatever paths a model
//! asks for (`..`, absolute paths, unicode, NUL, `.git` in any spelling, and
//! symlinks of every kind already in the worktree, as an agent with a shell
//! could have left them), a sequence of reads, writes, edits and listings
//! never changes anything outside the worktree, nor any `.git` inside it.
//! `PROPTEST_CASES` sets how many sequences run: 256 in `make test`, 1,000
//! in `make test-long`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fanout_engine::agent::api::tools::{run_file_tool, ToolPolicy};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

/// Path pieces a model might put together.
const PIECES: &[&str] = &[
    "a",
    "b.txt",
    "src",
    "..",
    ".",
    "",
    ".git",
    ".GIT",
    ".Git",
    ".git.",
    ".git ",
    "git~1",
    ".g\u{200c}it",
    "sub",
    "out_link",
    "git_link",
    "nested_git_link",
    "file_link",
    "loop_link",
    "é",
    "名前",
    "a\0b",
    "HEAD",
    "config",
];

#[derive(Clone, Debug)]
struct Call {
    tool: &'static str,
    path: String,
}

fn path() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "/", "./", "../", "/tmp/", "OUTSIDE/"]),
        prop::collection::vec(prop::sample::select(PIECES), 1..6),
    )
        .prop_map(|(start, pieces)| format!("{start}{}", pieces.join("/")))
}

fn call() -> impl Strategy<Value = Call> {
    (
        prop::sample::select(vec![
            "read_file",
            "write_file",
            "edit_file",
            "list_dir",
            "search",
        ]),
        path(),
    )
        .prop_map(|(tool, path)| Call { tool, path })
}

/// Every file and symlink under `dir` with its bytes (or link target); the
/// walk does not follow symlinks.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap_or_default();
                found.insert(path, target.into_os_string().into_encoded_bytes());
            } else if kind.is_dir() {
                found.insert(path.clone(), b"<dir>".to_vec());
                pending.push(path);
            } else {
                found.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    found
}

/// A worktree with a `.git`, a nested repository, and symlinks out of it,
/// into its `.git`, into the nested `.git`, to a file outside, and in a loop;
/// beside it an outside folder with a file.
fn world() -> Result<(tempfile::TempDir, PathBuf, PathBuf), std::io::Error> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("worktree");
    let outside = dir.path().join("OUTSIDE");
    std::fs::create_dir_all(root.join(".git"))?;
    std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/fanout/x\n")?;
    std::fs::create_dir_all(root.join("sub/.git"))?;
    std::fs::write(root.join("sub/.git/config"), "[core]\n")?;
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::write(root.join("b.txt"), "before\n")?;
    std::fs::create_dir_all(&outside)?;
    std::fs::write(outside.join("secret.txt"), "outside\n")?;
    use std::os::unix::fs::symlink;
    symlink(&outside, root.join("out_link"))?;
    symlink(root.join(".git"), root.join("git_link"))?;
    symlink("sub/.git", root.join("nested_git_link"))?;
    symlink(outside.join("secret.txt"), root.join("file_link"))?;
    symlink("loop_link", root.join("loop_link"))?;
    let root = root.canonicalize()?;
    let outside = outside.canonicalize()?;
    Ok((dir, root, outside))
}

fn check(calls: &[Call]) -> Result<(), TestCaseError> {
    let (dir, root, outside) = world().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let git_before = (
        snapshot(&root.join(".git")),
        snapshot(&root.join("sub/.git")),
    );
    let outside_before = snapshot(&outside);
    let around_before = snapshot(dir.path()).len();
    let policy = ToolPolicy::default();
    for call in calls {
        let requested = call.path.replace("OUTSIDE", &outside.display().to_string());
        let input = match call.tool {
            "write_file" => json!({"path": requested, "content": "written\n"}),
            "edit_file" => {
                json!({"path": requested, "old_string": "before", "new_string": "after"})
            }
            "search" => json!({"pattern": "e", "path": requested}),
            _ => json!({"path": requested}),
        };
        let output = run_file_tool(&root, &policy, call.tool, &input);
        if output.ok && call.tool != "list_dir" && call.tool != "search" {
            prop_assert!(
                !output.text.contains("outside\n"),
                "{} {:?} read a file outside: {}",
                call.tool,
                call.path,
                output.text
            );
        }
    }
    prop_assert_eq!(
        snapshot(&outside),
        outside_before,
        "nothing outside changed: {:?}",
        calls
    );
    prop_assert_eq!(
        (
            snapshot(&root.join(".git")),
            snapshot(&root.join("sub/.git"))
        ),
        git_before,
        "no .git changed: {:?}",
        calls
    );
    let around_after = snapshot(dir.path());
    let escaped: Vec<&PathBuf> = around_after
        .keys()
        .filter(|p| !p.starts_with(&root) && !p.starts_with(&outside))
        .collect();
    prop_assert!(
        around_after.len() >= around_before && escaped.is_empty(),
        "nothing was created beside the worktree: {:?} ({:?})",
        escaped,
        calls
    );
    Ok(())
}

#[test]
fn no_path_a_model_asks_for_reaches_outside_the_worktree_or_into_git() {
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(call(), 1..12), |calls| check(&calls));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Writes inside the worktree still work: the property is not proved by
/// refusing everything.
#[test]
fn ordinary_paths_are_written() {
    let (_dir, root, _) = world().expect("world");
    let policy = ToolPolicy::default();
    for path in [
        "new.txt",
        "src/deep/new.rs",
        "./a/../b.txt",
        "é/名前.txt",
        ".github/workflows/ci.yml",
        ".gitignore",
    ] {
        let output = run_file_tool(
            &root,
            &policy,
            "write_file",
            &json!({"path": path, "content": "x\n"}),
        );
        assert!(output.ok, "{path}: {}", output.text);
    }
}
