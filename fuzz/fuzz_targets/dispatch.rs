//! Full dispatch through a consumer serving `examples/spec-methods` (on a
//! WebSocket connection, where every method is served): every call and
//! invalid request answered once with its id, notifications not at all,
//! every reply JSON a serde_json client can read. Methods that sleep run on
//! paused time; the two that panic on purpose unwind (`harness`).
#![no_main]

use channels_rpc_fuzz::harness::Harness;
use channels_rpc_fuzz::replies;
use libfuzzer_sys::fuzz_target;
use rpc_core::fuzzing;
use rpc_core::Limits;

fuzz_target!(|input: &[u8]| {
    let harness = Harness::get();
    let reply = harness.handle(input);
    replies::check(&fuzzing::read(input, &Limits::default()), reply.as_ref());
});
