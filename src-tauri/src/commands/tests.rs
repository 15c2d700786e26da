//! The contract every command keeps: a failure crosses to the page as
//! exactly `{ code, message }`, with a code the page can switch on.

use fanout_engine::contract::{Code, Failure};
use fanout_engine::diff::PageCache;
use fanout_engine::Error;

#[test]
fn a_failure_crosses_as_code_and_message_only() {
    let gone = PageCache::default().get(7).expect_err("nothing is held");
    let failure = Failure::from(Error::from(gone));
    let json = serde_json::to_value(&failure).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({
            "code": "diff_page_gone",
            "message": "This diff is no longer held because several other files were opened since. Open the file again.",
        }),
        "the page reads exactly these two fields (ui/src/lib/api.ts)"
    );
    assert_eq!(failure.code, Code::DiffPageGone);
}
