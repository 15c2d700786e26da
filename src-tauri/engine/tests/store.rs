//! The store on real SQLite files in temporary folders.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use fanout_engine::store::{
    CheckResult, Experiment, ExperimentStatus, MergeRecord, NewEvent, Store, StoreError, Variant,
    VariantStatus, LATEST_VERSION,
};
use fanout_testsupport::variant;
use rusqlite::Connection;
use serde_json::json;

fn experiment(id: &str, created_at: &str) -> Experiment {
    Experiment {
        id: id.to_string(),
        slug: format!("slug-{id}"),
        repo_root: PathBuf::from("/home/user/projects/app"),
        task: "Make the \"parser\" faster ✨ <b>now</b>".to_string(),
        base_commit: "0123456789abcdef0123456789abcdef01234567".to_string(),
        base_ref: Some(format!("refs/fanout/{id}/base")),
        target_branch: Some("main".to_string()),
        created_at: created_at.to_string(),
        status: ExperimentStatus::Ready,
    }
}

/// A variant with every optional field set, to prove none is dropped.
fn finished_variant(experiment_id: &str, index: u32) -> Variant {
    Variant {
        model: Some("claude-sonnet-4-5".to_string()),
        status: VariantStatus::Succeeded,
        started_at: Some("2026-01-01T00:00:01Z".to_string()),
        finished_at: Some("2026-01-01T00:05:00Z".to_string()),
        exit_code: Some(0),
        error: Some("warning: flaky network".to_string()),
        summary: Some("Rewrote the tokenizer.".to_string()),
        cost_usd: Some(0.4375),
        input_tokens: Some(12_345_678_901),
        output_tokens: Some(4_321),
        turns: Some(17),
        check: Some(CheckResult {
            command: "cargo test".to_string(),
            exit_code: None,
            duration_ms: 61_000,
            output_tail: "test result: ok.\n".to_string(),
        }),
        head_commit: Some("fedcba9876543210fedcba9876543210fedcba98".to_string()),
        host: None,
        ..variant(experiment_id, index)
    }
}

fn event(experiment_id: &str, variant: u32, n: usize) -> NewEvent {
    NewEvent {
        experiment_id: experiment_id.to_string(),
        variant,
        time: format!("2026-01-01T00:00:{:02}Z", n % 60),
        kind: "assistant_text".to_string(),
        payload: json!({ "n": n, "text": format!("line {n} of variant {variant}") }),
    }
}

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("fanout.db")
}

/// A store holding experiment `exp` with `n` plain variants.
fn store_with(path: &Path, exp: &str, n: u32) -> Store {
    let mut store = Store::open(path).expect("open store");
    let variants: Vec<Variant> = (1..=n).map(|i| variant(exp, i)).collect();
    store
        .insert_experiment(&experiment(exp, "2026-01-01T00:00:00Z"), &variants)
        .expect("insert experiment");
    store
}

fn count(path: &Path, sql: &str) -> i64 {
    let conn = Connection::open(path).expect("raw connection");
    conn.query_row(sql, [], |row| row.get(0)).expect("count")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn experiments_and_variants_round_trip_through_a_reopened_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let exp = experiment(
        "0197a1b2-0000-7000-8000-000000000001",
        "2026-01-01T00:00:00Z",
    );
    let mut v2 = finished_variant(&exp.id, 2);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // Linux allows any bytes in a file name; such a worktree must come
        // back byte for byte, not mangled into U+FFFD.
        v2.worktree = PathBuf::from(std::ffi::OsStr::from_bytes(b"/data/wt/caf\xe9"));
    }
    let variants = vec![variant(&exp.id, 1), v2, variant(&exp.id, 3)];
    {
        let mut store = Store::open(&path).unwrap();
        store.insert_experiment(&exp, &variants).unwrap();
    }

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.experiment(&exp.id).unwrap(),
        exp,
        "every experiment field must survive a reopen"
    );
    assert_eq!(
        store.variants(&exp.id).unwrap(),
        variants,
        "every variant field, optional ones included, must survive a reopen, in index order"
    );
}

#[test]
fn the_database_folder_is_created_and_the_schema_is_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("fanout.db");
    let store = Store::open(&path).unwrap();
    assert!(
        path.is_file(),
        "opening must create the missing folders and the file"
    );
    assert_eq!(
        store.schema_version().unwrap(),
        LATEST_VERSION,
        "a new database must be fully migrated"
    );
    // At least two migration steps, so upgrading is exercised for real.
    const { assert!(LATEST_VERSION >= 2) };
}

#[test]
fn experiments_are_listed_newest_first() {
    let mut store = Store::open_in_memory().unwrap();
    for (id, created) in [
        ("b", "2026-01-02T00:00:00Z"),
        ("a", "2026-01-03T00:00:00Z"),
        ("c", "2026-01-01T00:00:00Z"),
    ] {
        store
            .insert_experiment(&experiment(id, created), &[variant(id, 1)])
            .unwrap();
    }
    let ids: Vec<String> = store
        .experiments()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        ["a", "b", "c"],
        "the list is ordered by creation time, newest first, not by id or insertion"
    );
}

#[test]
fn inserting_a_bad_experiment_is_refused_and_stores_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let exp = experiment("e1", "2026-01-01T00:00:00Z");
    store.insert_experiment(&exp, &[variant("e1", 1)]).unwrap();

    let again = store.insert_experiment(&exp, &[variant("e1", 1)]);
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "a duplicate id must be refused by name, got {again:?}"
    );

    let other = experiment("e2", "2026-01-02T00:00:00Z");
    let wrong_owner = store.insert_experiment(&other, &[variant("e2", 1), variant("e1", 2)]);
    assert!(
        matches!(wrong_owner, Err(StoreError::Invalid { .. })),
        "a variant of another experiment must be refused, got {wrong_owner:?}"
    );
    let gap = store.insert_experiment(&other, &[variant("e2", 1), variant("e2", 3)]);
    assert!(
        matches!(gap, Err(StoreError::Invalid { .. })),
        "variants must be numbered 1..=N, got {gap:?}"
    );
    let twice = store.insert_experiment(&other, &[variant("e2", 1), variant("e2", 1)]);
    assert!(
        matches!(twice, Err(StoreError::Invalid { .. })),
        "a repeated index must be refused, got {twice:?}"
    );

    assert!(
        matches!(store.experiment("e2"), Err(StoreError::NotFound { .. })),
        "a refused insert must leave no experiment behind"
    );
    assert_eq!(
        store.variants("e1").unwrap().len(),
        1,
        "a refused insert must not touch existing variants"
    );
}

#[test]
fn experiments_are_found_by_id_or_unique_prefix() {
    let mut store = Store::open_in_memory().unwrap();
    for (id, created) in [
        (
            "0197aa00-1111-7000-8000-000000000001",
            "2026-01-01T00:00:00Z",
        ),
        (
            "0197aa00-2222-7000-8000-000000000002",
            "2026-01-02T00:00:00Z",
        ),
        (
            "0197bb00-3333-7000-8000-000000000003",
            "2026-01-03T00:00:00Z",
        ),
        ("0197bb00", "2026-01-04T00:00:00Z"),
    ] {
        store
            .insert_experiment(&experiment(id, created), &[])
            .unwrap();
    }

    assert_eq!(
        store.find_experiment("0197aa00-2").unwrap().id,
        "0197aa00-2222-7000-8000-000000000002",
        "a unique prefix names its experiment"
    );
    assert_eq!(
        store.find_experiment(" 0197AA00-1 ").unwrap().id,
        "0197aa00-1111-7000-8000-000000000001",
        "prefixes are typed by hand: surrounding space and case are forgiven"
    );
    assert_eq!(
        store.find_experiment("0197bb00").unwrap().id,
        "0197bb00",
        "an exact id wins even when it is also a prefix of another id"
    );

    match store.find_experiment("0197aa") {
        Err(e @ StoreError::Ambiguous { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("0197aa00-1111") && message.contains("0197aa00-2222"),
                "the error must name the candidates: {message}"
            );
            let StoreError::Ambiguous { candidates, .. } = e else {
                unreachable!()
            };
            assert_eq!(
                candidates.len(),
                2,
                "exactly the two matching experiments are candidates"
            );
        }
        other => panic!("a prefix of two ids must be ambiguous, got {other:?}"),
    }
    assert!(
        matches!(
            store.find_experiment("0197cc"),
            Err(StoreError::NotFound { .. })
        ),
        "a prefix of no id is not found"
    );
    assert!(
        matches!(store.find_experiment("  "), Err(StoreError::EmptyId)),
        "an empty prefix would match everything; it must be refused"
    );
}

#[test]
fn variants_and_statuses_are_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = store_with(&path, "e1", 2);

    let done = finished_variant("e1", 2);
    store.update_variant(&done).unwrap();
    store
        .set_experiment_status("e1", ExperimentStatus::Finished)
        .unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let variants = store.variants("e1").unwrap();
    assert_eq!(
        variants[1], done,
        "the update must persist every field of variant 2"
    );
    assert_eq!(
        variants[0],
        variant("e1", 1),
        "updating variant 2 must not touch variant 1"
    );
    assert_eq!(
        store.experiment("e1").unwrap().status,
        ExperimentStatus::Finished
    );

    let mut store = store;
    let missing = store.update_variant(&variant("e1", 9));
    assert!(
        matches!(missing, Err(StoreError::VariantNotFound { index: 9, .. })),
        "updating a missing variant must fail loudly, not do nothing: {missing:?}"
    );
    let missing = store.set_experiment_status("nope", ExperimentStatus::Failed);
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "setting the status of a missing experiment must fail: {missing:?}"
    );
}

#[test]
fn events_are_numbered_per_variant_and_paged_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with(&db_path(&dir), "e1", 2);

    // Interleaved batches of both variants, as the orchestrator writes them.
    let all: Vec<NewEvent> = (0..1_200)
        .map(|n| event("e1", 1 + (n % 2) as u32, n))
        .collect();
    for batch in all.chunks(500) {
        store.append_events(batch).unwrap();
    }

    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events("e1", 2, after, 97).unwrap();
        assert!(page.len() <= 97, "a page never exceeds its limit");
        let Some(last) = page.last() else { break };
        after = last.seq;
        paged.extend(page);
    }
    let expected: Vec<&NewEvent> = all.iter().filter(|e| e.variant == 2).collect();
    assert_eq!(
        paged.len(),
        expected.len(),
        "paging must return every event of variant 2 exactly once"
    );
    for (i, (got, want)) in paged.iter().zip(&expected).enumerate() {
        assert_eq!(
            got.seq,
            i as i64 + 1,
            "seq counts 1.. per variant without gaps, across batches"
        );
        assert_eq!(
            (&got.time, &got.kind, &got.payload),
            (&want.time, &want.kind, &want.payload),
            "events come back as written, in order"
        );
    }
    assert_eq!(
        store.events("e1", 1, 0, usize::MAX).unwrap().len(),
        600,
        "variant 1 keeps its own events"
    );
    assert!(
        store.events("e1", 1, 600, 10).unwrap().is_empty(),
        "nothing after the last seq"
    );
    assert!(
        matches!(
            store.events("e1", 3, 0, 10),
            Err(StoreError::VariantNotFound { .. })
        ),
        "reading a missing variant is an error, not an empty stream"
    );
}

#[test]
fn a_batch_naming_a_missing_variant_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = store_with(&path, "e1", 1);
    let batch = vec![event("e1", 1, 0), event("e1", 1, 1), event("e1", 7, 2)];
    let result = store.append_events(&batch);
    assert!(
        matches!(result, Err(StoreError::VariantNotFound { index: 7, .. })),
        "the bad event must be named: {result:?}"
    );
    assert_eq!(
        count(&path, "SELECT COUNT(*) FROM events"),
        0,
        "a batch is one transaction: no partial batch may remain"
    );
    store.append_events(&batch[..2]).unwrap();
    assert_eq!(
        store.events("e1", 1, 0, 10).unwrap()[0].seq,
        1,
        "the failed batch must not have used up sequence numbers"
    );
}

#[test]
fn event_numbering_continues_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = store_with(&path, "e1", 1);
    store
        .append_events(&(0..5).map(|n| event("e1", 1, n)).collect::<Vec<_>>())
        .unwrap();
    drop(store);

    let mut store = Store::open(&path).unwrap();
    store
        .append_events(&(5..8).map(|n| event("e1", 1, n)).collect::<Vec<_>>())
        .unwrap();
    let seqs: Vec<i64> = store
        .events("e1", 1, 0, 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
        "a reopened store must continue the numbering, not restart or collide"
    );
}

/// The schema of version 1 exactly as Fanout 0.1 shipped it: a copy on
/// purpose, so a change to the released step is caught here.
const V1_SQL: &str = "
CREATE TABLE experiments (
    id TEXT PRIMARY KEY NOT NULL, slug TEXT NOT NULL, repo_root TEXT NOT NULL, task TEXT NOT NULL,
    base_commit TEXT NOT NULL, base_ref TEXT, target_branch TEXT, created_at TEXT NOT NULL,
    status TEXT NOT NULL);
CREATE TABLE variants (
    id INTEGER PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, name TEXT NOT NULL, slug TEXT NOT NULL, description TEXT NOT NULL,
    guidelines TEXT NOT NULL, agent TEXT NOT NULL, model TEXT, branch TEXT NOT NULL,
    worktree TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    exit_code INTEGER, error TEXT, summary TEXT, cost_usd REAL, input_tokens INTEGER,
    output_tokens INTEGER, turns INTEGER, check_command TEXT, check_exit_code INTEGER,
    check_duration_ms INTEGER, check_output_tail TEXT, head_commit TEXT,
    UNIQUE (experiment_id, idx));
CREATE TABLE events (
    variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (variant_id, seq));
INSERT INTO experiments VALUES ('old', 'old-task', '/repo', 'An old task', 'abc', NULL, 'main',
    '2025-12-01T00:00:00Z', 'finished');
INSERT INTO variants (experiment_id, idx, name, slug, description, guidelines, agent, branch,
    worktree, status, cost_usd) VALUES ('old', 1, 'Only', 'only', 'd', 'g', 'codex',
    'fanout/old-task/1-only', '/wt/1-only', 'succeeded', 1.5);
INSERT INTO events VALUES (last_insert_rowid(), 1, '2025-12-01T00:00:01Z', 'log', '{\"line\":\"hello\"}');
PRAGMA user_version = 1;
";

#[test]
fn a_version_1_database_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch(V1_SQL)
        .unwrap();

    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        LATEST_VERSION,
        "opening must run the later steps"
    );
    let old = store.experiment("old").unwrap();
    assert_eq!(
        (old.task.as_str(), old.status),
        ("An old task", ExperimentStatus::Finished),
        "the old experiment must be readable"
    );
    assert_eq!(
        store.variants("old").unwrap()[0].cost_usd,
        Some(1.5),
        "the old variant must be readable"
    );
    assert_eq!(
        store.events("old", 1, 0, 10).unwrap()[0].payload,
        json!({"line": "hello"}),
        "the old events must be readable"
    );

    // The merges table only exists from version 2 on.
    let merge = merge_record("old", "m1");
    store.record_merge(&merge).unwrap();
    assert_eq!(
        store.last_merge("old").unwrap(),
        Some(merge),
        "the migrated database must have the v2 merges table"
    );
    store.append_events(&[event("old", 1, 9)]).unwrap();
    assert_eq!(
        store.events("old", 1, 1, 10).unwrap()[0].seq,
        2,
        "numbering continues after the migrated events"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanout.db");
    let garbage: Vec<u8> = b"this is not a SQLite database, just some notes\n".repeat(200);
    std::fs::write(&path, &garbage).unwrap();

    let err = Store::open(&path).expect_err("a non-database must not open");
    assert!(
        matches!(&err, StoreError::Corrupt { path: p } if p == &path),
        "a corrupt file gets its own error naming it, got {err:?}"
    );
    assert!(
        err.to_string().contains("move it aside"),
        "the message says what to do: {err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file must be left byte for byte as it was"
    );
    assert_eq!(
        files_in(dir.path()),
        ["fanout.db"],
        "no journal or WAL files may be left beside it"
    );
}

#[test]
fn a_database_from_a_newer_fanout_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanout.db");
    let newer = LATEST_VERSION + 5;
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!("CREATE TABLE future (x); INSERT INTO future VALUES (1); PRAGMA user_version = {newer};"))
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let err = Store::open(&path).expect_err("a newer schema must not open");
    assert!(
        matches!(err, StoreError::TooNew { found, supported } if found == newer && supported == LATEST_VERSION),
        "got {err:?}"
    );
    assert!(
        err.to_string().contains("upgrade Fanout"),
        "the message says what to do: {err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a newer database must not be migrated, switched to WAL or otherwise written"
    );
}

#[test]
fn a_foreign_sqlite_database_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanout.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let err = Store::open(&path).expect_err("someone else's database must not be adopted");
    assert!(matches!(err, StoreError::Foreign { .. }), "got {err:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "Fanout's tables must not be added to someone else's database"
    );
}

#[test]
fn an_unknown_status_in_the_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = store_with(&path, "e1", 1);
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE variants SET status = 'paused'", [])
        .unwrap();
    let err = store
        .variants("e1")
        .expect_err("an unknown status cannot be read");
    assert!(
        matches!(&err, StoreError::UnknownStatus { what: "variant", value } if value == "paused"),
        "got {err:?}"
    );
    assert!(
        "paused".parse::<VariantStatus>().is_err() && "merged".parse::<ExperimentStatus>().is_ok()
    );
}

#[test]
fn status_text_in_the_database_and_in_json_is_the_same() {
    for status in ExperimentStatus::ALL {
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            json!(status.as_str()),
            "the UI and the database must agree on {status:?}"
        );
        assert_eq!(status.as_str().parse::<ExperimentStatus>().unwrap(), status);
    }
    for status in VariantStatus::ALL {
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            json!(status.as_str()),
            "the UI and the database must agree on {status:?}"
        );
        assert_eq!(status.as_str().parse::<VariantStatus>().unwrap(), status);
    }
}

#[test]
fn active_variants_are_marked_interrupted_after_a_crash() {
    let mut store = Store::open_in_memory().unwrap();
    let statuses = VariantStatus::ALL;
    let variants: Vec<Variant> = statuses
        .iter()
        .enumerate()
        .map(|(i, &status)| Variant {
            status,
            ..variant("e1", i as u32 + 1)
        })
        .collect();
    store
        .insert_experiment(&experiment("e1", "2026-01-01T00:00:00Z"), &variants)
        .unwrap();

    let marked = store.mark_interrupted().unwrap();
    let active: Vec<(String, u32)> = variants
        .iter()
        .filter(|v| v.status.is_active())
        .map(|v| ("e1".to_string(), v.index))
        .collect();
    assert_eq!(
        marked, active,
        "exactly the queued, preparing, running, needs-input and checking variants are reported"
    );
    assert_eq!(active.len(), 5);
    for (before, after) in variants.iter().zip(store.variants("e1").unwrap()) {
        let expected = if before.status.is_active() {
            VariantStatus::Interrupted
        } else {
            before.status
        };
        assert_eq!(
            after.status, expected,
            "variant {} must be {expected:?}",
            before.index
        );
    }
    assert!(
        store.mark_interrupted().unwrap().is_empty(),
        "a second recovery finds nothing left to interrupt"
    );
}

fn merge_record(experiment_id: &str, commit: &str) -> MergeRecord {
    MergeRecord {
        experiment_id: experiment_id.to_string(),
        variant: 1,
        target: "main".to_string(),
        commit: commit.to_string(),
        previous: format!("before-{commit}"),
        source: Some(format!("source-{commit}")),
        strategy: "squash".to_string(),
        created_at: "2026-01-02T00:00:00Z".to_string(),
        undone: false,
    }
}

#[test]
fn merges_are_recorded_and_undone_newest_first() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .insert_experiment(
            &experiment("e1", "2026-01-01T00:00:00Z"),
            &[variant("e1", 1)],
        )
        .unwrap();
    assert_eq!(store.last_merge("e1").unwrap(), None, "no merge yet");

    store.record_merge(&merge_record("e1", "m1")).unwrap();
    store.record_merge(&merge_record("e1", "m2")).unwrap();
    assert_eq!(
        store.last_merge("e1").unwrap().unwrap().commit,
        "m2",
        "the newest merge is the one to undo"
    );

    store.mark_merge_undone("e1", "m2").unwrap();
    assert_eq!(
        store.last_merge("e1").unwrap().unwrap().commit,
        "m1",
        "once m2 is undone, m1 is next"
    );
    let history = store.merges("e1").unwrap();
    assert_eq!(
        history
            .iter()
            .map(|m| (m.commit.as_str(), m.undone))
            .collect::<Vec<_>>(),
        [("m1", false), ("m2", true)],
        "the history keeps undone merges"
    );

    assert!(
        matches!(
            store.mark_merge_undone("e1", "m2"),
            Err(StoreError::AlreadyUndone { .. })
        ),
        "undoing twice is refused"
    );
    assert!(
        matches!(
            store.mark_merge_undone("e1", "zz"),
            Err(StoreError::MergeNotFound { .. })
        ),
        "an unknown merge is refused"
    );
    let bad = MergeRecord {
        variant: 4,
        ..merge_record("e1", "m3")
    };
    assert!(
        matches!(
            store.record_merge(&bad),
            Err(StoreError::VariantNotFound { .. })
        ),
        "a merge of a missing variant is refused"
    );
}

#[test]
fn deleting_an_experiment_removes_its_variants_events_and_merges_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = store_with(&path, "gone", 2);
    store
        .insert_experiment(
            &experiment("kept", "2026-01-02T00:00:00Z"),
            &[variant("kept", 1)],
        )
        .unwrap();
    store
        .append_events(&[
            event("gone", 1, 0),
            event("gone", 2, 1),
            event("kept", 1, 2),
        ])
        .unwrap();
    store.record_merge(&merge_record("gone", "m1")).unwrap();
    store.record_merge(&merge_record("kept", "m2")).unwrap();

    store.delete_experiment("gone").unwrap();
    for table in ["variants", "merges"] {
        let rows = |id: &str| {
            count(
                &path,
                &format!("SELECT COUNT(*) FROM {table} WHERE experiment_id = '{id}'"),
            )
        };
        assert_eq!(
            rows("gone"),
            0,
            "{table} of the deleted experiment must cascade away"
        );
        assert_eq!(rows("kept"), 1, "{table} of the other experiment must stay");
    }
    assert_eq!(
        count(&path, "SELECT COUNT(*) FROM events"),
        1,
        "the deleted experiment's two events must cascade away, the other's one stays"
    );
    assert_eq!(store.events("kept", 1, 0, 10).unwrap().len(), 1);
    assert!(
        matches!(
            store.delete_experiment("gone"),
            Err(StoreError::NotFound { .. })
        ),
        "deleting twice reports the missing experiment"
    );
}

#[test]
fn a_file_database_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let _store = store_with(&path, "e1", 1);
    assert_eq!(
        journal_mode(&path),
        "wal",
        "WAL lets the UI read while agents' events are written"
    );
}

fn journal_mode(path: &Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn two_handles_write_the_same_file_concurrently_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(store_with(&path, "e1", 1));

    let start = Arc::new(Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (path, start) = (path.clone(), start.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&path).expect("second handle opens");
                start.wait();
                for b in 0..40 {
                    let batch: Vec<NewEvent> = (0..50)
                        .map(|n| event("e1", 1, w * 10_000 + b * 50 + n))
                        .collect();
                    store
                        .append_events(&batch)
                        .expect("a concurrent writer waits its turn instead of failing");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer thread");
    }

    let store = Store::open(&path).unwrap();
    let seqs: Vec<i64> = store
        .events("e1", 1, 0, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=4_000).collect::<Vec<_>>(),
        "two writers' 4,000 events must all be stored, numbered without gaps or duplicates"
    );
}

#[test]
fn handles_that_create_the_same_new_database_at_once_all_open_it() {
    // The first use of a new FANOUT_HOME can be two programs at once (the
    // app and `fanout`, or two `fanout` commands): the file starts in
    // SQLite's rollback mode, and switching it to WAL is refused, without
    // waiting, while any other handle holds a lock on it.
    for round in 0..25 {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let start = Arc::new(Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&path).map(|store| store.schema_version())
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().expect("opener thread");
            assert!(
                matches!(opened, Ok(Ok(v)) if v == LATEST_VERSION),
                "round {round}: every handle opens the new database and sees it migrated: {opened:?}"
            );
        }
        assert_eq!(
            journal_mode(&path),
            "wal",
            "round {round}: the race still ends in WAL mode"
        );
    }
}

#[test]
fn opening_a_new_database_waits_for_another_handle_about_to_write() {
    // The same race made certain: another handle holds the write lock on the
    // new file (still in rollback mode, as while it migrates it) for 300 ms
    // while Fanout opens the file and switches it to WAL.
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut other = Connection::open(&path).unwrap();
    let writing = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let opener = {
        let path = path.clone();
        std::thread::spawn(move || Store::open(&path).map(|store| store.schema_version()))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    writing.commit().unwrap();
    let opened = opener.join().expect("opener thread");
    assert!(
        matches!(opened, Ok(Ok(v)) if v == LATEST_VERSION),
        "the open waits for the other handle instead of failing: {opened:?}"
    );
    assert_eq!(journal_mode(&path), "wal", "and the file ends in WAL mode");
}

#[test]
fn a_writer_waits_for_a_lock_held_by_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = store_with(&path, "e1", 1);

    let locked = Arc::new(Barrier::new(2));
    let holder = {
        let (path, locked) = (path.clone(), locked.clone());
        std::thread::spawn(move || {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute(
                "INSERT INTO events SELECT id, 1, 't', 'other', '{}' FROM variants WHERE experiment_id = 'e1' AND idx = 1",
                [],
            )
            .unwrap();
            locked.wait();
            std::thread::sleep(std::time::Duration::from_millis(300));
            tx.commit().unwrap();
        })
    };
    locked.wait();
    // Without the busy timeout this fails at once with "database is locked".
    store
        .append_events(&[event("e1", 1, 0)])
        .expect("the write must wait for the other writer");
    holder.join().unwrap();

    let kinds: Vec<(i64, String)> = store
        .events("e1", 1, 0, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [(1, "other".to_string()), (2, "assistant_text".to_string())],
        "the waiting write must number its event after the other writer's commit"
    );
}

#[test]
fn errors_have_stable_codes_and_sentences() {
    let store = Store::open_in_memory().unwrap();
    let err = store.experiment("missing").unwrap_err();
    assert_eq!(err.code(), "store.not_found");
    let message = err.to_string();
    assert!(
        message.ends_with('.') && message.contains("missing"),
        "errors are sentences naming the input: {message}"
    );
    let wrapped: fanout_engine::Error = err.into();
    assert_eq!(
        wrapped.code(),
        "store.not_found",
        "the engine error keeps the store's code"
    );
}
