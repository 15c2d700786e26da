//! What the desktop asks of the engine: the report written where the user
//! chose (or a sentence when it cannot be), a variant's worktree to open.

mod common;

use common::Rig;
use fanout_engine::ids::VariantIndex;

#[test]
fn the_report_is_written_where_asked_and_a_bad_place_is_a_sentence() {
    let rig = Rig::new(&["Small", "Large"], "claude-code");
    let out = rig.fx.sibling("out").join("report.md");
    rig.engine().write_report(&rig.id, &out).expect("written");
    let text = std::fs::read_to_string(&out).expect("the file exists");
    assert!(
        text.contains(common::TASK) && text.contains("Large"),
        "the report names the task and the variants:\n{text}"
    );
    assert_eq!(
        rig.engine().report_file_name(&rig.id).expect("a name"),
        format!("fanout-{}.md", rig.view.experiment.slug),
        "the save dialog offers the experiment's slug"
    );

    let nowhere = rig.fx.sibling("out").join("missing-dir/report.md");
    let err = rig
        .engine()
        .write_report(&rig.id, &nowhere)
        .expect_err("no such folder");
    assert_eq!(err.code(), "desktop.report");
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[test]
fn only_an_existing_worktree_of_the_experiment_is_opened() {
    let rig = Rig::new(&["Only"], "claude-code");
    let worktree = rig
        .engine()
        .worktree_of(&rig.id, VariantIndex(1))
        .expect("the variant's worktree");
    assert_eq!(worktree, rig.view.variants[0].worktree);
    let err = rig
        .engine()
        .worktree_of(&rig.id, VariantIndex(2))
        .expect_err("no variant 2");
    assert_eq!(err.code(), "store.variant_not_found", "{err}");
    std::fs::remove_dir_all(&worktree).expect("remove the worktree");
    let err = rig
        .engine()
        .worktree_of(&rig.id, VariantIndex(1))
        .expect_err("the folder is gone");
    assert_eq!(err.code(), "experiment.worktree_missing", "{err}");
}
