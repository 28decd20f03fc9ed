//! Compile-time checks of the macros: every misuse in `tests/ui/fail` must be
//! refused with the message recorded next to it, pointing at the user's token;
//! every program in `tests/ui/pass` must compile.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
