//! Variables the app set for itself stay out of the programs it starts. In a
//! file of its own: the test sets a variable, so it runs in a process where no
//! other test reads the environment meanwhile.

use fanout_engine::process::{self, ProcessSpec};

#[tokio::test]
async fn a_private_variable_never_reaches_a_child() {
    std::env::set_var("FANOUT_TEST_PRIVATE", "1");
    std::env::set_var("FANOUT_TEST_SHARED", "1");
    process::keep_from_children(&["FANOUT_TEST_PRIVATE"]);

    let spec = ProcessSpec::new("/bin/sh", std::env::temp_dir())
        .arg("-c")
        .arg("echo private=${FANOUT_TEST_PRIVATE:-unset} shared=${FANOUT_TEST_SHARED:-unset}");
    let mut running = process::spawn(spec).expect("start sh");
    let mut lines = Vec::new();
    while let Some(line) = running.next_line().await {
        lines.push(line.text);
    }
    assert_eq!(
        lines,
        ["private=unset shared=1"],
        "the private variable is removed, the rest of the environment is inherited"
    );
}
