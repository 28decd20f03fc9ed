//! Two ways to the same answer must agree: the parser's scanner against
//! serde_json alone (equal readings), and `handle` (bytes) against
//! `handle_text` (UTF-8 text) through the dispatcher (the same reply; a
//! batch's answers in any order, each byte for byte).
#![no_main]

use channels_rpc_fuzz::harness::Harness;
use channels_rpc_fuzz::replies;
use libfuzzer_sys::fuzz_target;
use rpc_core::fuzzing;
use rpc_core::Limits;

fuzz_target!(|input: &[u8]| {
    let limits = Limits::default();
    let scanned = fuzzing::read(input, &limits);
    let by_serde = fuzzing::read_by_serde(input, &limits);
    assert_eq!(
        scanned, by_serde,
        "the scanner and serde_json read the message differently"
    );
    if let Ok(text) = std::str::from_utf8(input) {
        let harness = Harness::get();
        let by_bytes = harness.handle(input);
        let by_text = harness.handle_text(text);
        assert!(
            replies::same(by_bytes.as_ref(), by_text.as_ref()),
            "handle answered {:?}, handle_text {:?}",
            by_bytes.map(|r| r.into_text()),
            by_text.map(|r| r.into_text())
        );
    }
});
