//! The page's TypeScript types are generated from the engine's (see
//! `fanout_engine::ipc`); this fails when the checked-in file is stale, so a
//! changed Rust type cannot leave the page believing the old shape.
//! `make types` (FANOUT_WRITE_TYPES=1) writes it.

use std::path::PathBuf;

use fanout_engine::ipc::{typescript, GENERATED_FILE};

#[test]
fn the_generated_typescript_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(GENERATED_FILE);
    let wanted = typescript();
    if std::env::var_os("FANOUT_WRITE_TYPES").is_some() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
        std::fs::write(&path, &wanted).expect("write the generated types");
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == wanted,
        "{GENERATED_FILE} is stale: a type that crosses to the page changed. Run `make types` and commit the file."
    );
}
