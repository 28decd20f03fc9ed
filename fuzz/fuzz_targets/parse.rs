//! The message parser: whatever the bytes, it reads them as the rules say
//! (`channels_rpc_fuzz::oracle`), and never panics.
#![no_main]

use channels_rpc_fuzz::oracle;
use libfuzzer_sys::fuzz_target;
use rpc_core::fuzzing;
use rpc_core::Limits;

fuzz_target!(|input: &[u8]| {
    // Small limits, so that the fuzzer reaches them with short inputs.
    let limits = Limits::default().max_depth(8).max_batch_len(4).max_message_size(2048);
    oracle::check(input, &fuzzing::read(input, &limits), &limits);
});
