//! The app the dispatch targets run: `spec-methods` served by one consumer,
//! on a current-thread runtime whose clock is paused.
//!
//! Paused time: a method that sleeps (`slow`, up to 60 s) or a call that
//! times out finishes as soon as the runtime has nothing else to do, the
//! clock jumping ahead, so no input costs real time.
//!
//! Panics on purpose: `boom` and `async_boom` panic to show the `-32603`
//! path, and the dispatcher catches them. libFuzzer's panic hook aborts on
//! every panic, caught or not, so [`Harness::get`] installs a hook in front
//! of it that lets exactly those two panics unwind (matched by message and
//! by the file they come from) and hands every other one to it.

use std::panic::PanicHookInfo;
use std::sync::OnceLock;

use channels_rpc::{App, Connection, Consumer, Reply, Scope, Transport};

/// A consumer that serves every method of `spec-methods` (and links it).
#[derive(Consumer, Default, Debug)]
#[consumer(include(spec_methods))]
pub struct Everyone;

/// What `spec-methods`' deliberate panics say, and where they are.
const DELIBERATE_PANICS: [&str; 2] = ["secret detail that must not reach the client", "another secret"];
const DELIBERATE_PANICS_FILE: &str = "spec-methods/src/lib.rs";

/// The app and its runtime, built once per process.
#[derive(Debug)]
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    app: App<Everyone>,
}

impl Harness {
    /// The process's harness; the first call builds it and installs the
    /// panic hook (libFuzzer has installed its own by then).
    pub fn get() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(|| {
            let_deliberate_panics_unwind();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("a current-thread runtime");
            Harness {
                runtime,
                app: Everyone::app(),
            }
        })
    }

    /// Answers `input` as a WebSocket binary frame (`handle`), on a new connection.
    pub fn handle(&self, input: &[u8]) -> Option<Reply> {
        let connection = connection();
        self.runtime.block_on(self.app.handle(&connection, input))
    }

    /// Answers `input` as a WebSocket text frame (`handle_text`), on a new connection.
    pub fn handle_text(&self, input: &str) -> Option<Reply> {
        let connection = connection();
        self.runtime.block_on(self.app.handle_text(&connection, input))
    }
}

/// A WebSocket connection, where every method of `spec-methods` is served.
fn connection() -> Connection {
    Connection::for_consumer::<Everyone>(Scope::new(Transport::WebSocket, "/ws/"))
}

/// Puts a hook in front of the current one (libFuzzer's, which aborts)
/// that lets `spec-methods`' deliberate panics unwind to the dispatcher's
/// `catch_unwind` and passes every other panic on.
fn let_deliberate_panics_unwind() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_deliberate(info) {
            abort(info);
        }
    }));
}

fn is_deliberate(info: &PanicHookInfo<'_>) -> bool {
    let message = info.payload().downcast_ref::<&str>().copied();
    let file = info.location().map(|at| at.file().replace('\\', "/"));
    message.is_some_and(|m| DELIBERATE_PANICS.contains(&m)) && file.is_some_and(|f| f.ends_with(DELIBERATE_PANICS_FILE))
}
