//! The tests' shared helpers live in the `fanout-testsupport` crate; this
//! module keeps the name the test files use.
#![allow(unused_imports)]

pub use fanout_testsupport::*;
