//! Bad-input corpus (work in progress).
#[test]
fn placeholder() {}
