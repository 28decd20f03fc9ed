//! Tracing of calls: a `call` span at debug level for each call (method, id,
//! transport), and one debug event when it is answered, with its duration
//! and outcome code. Params and results are never logged. Without a
//! subscriber at debug the span is disabled and nothing is measured.

use std::time::Instant;

use tracing::Span;

use crate::context::Call;
use crate::response::Encoded;
use crate::scope::Transport;

/// One call's span and start time (none when the span is disabled).
pub(crate) struct CallTrace {
    pub(crate) span: Span,
    started: Option<Instant>,
}

impl CallTrace {
    pub(crate) fn start(call: &Call<'_>) -> Self {
        let transport = match call.connection.scope().transport() {
            Transport::WebSocket => "websocket",
            Transport::Http => "http",
            Transport::InProcess => "in-process",
        };
        let span = tracing::debug_span!("call", method = call.method, id = call.id.unwrap_or("-"), transport);
        let started = (!span.is_disabled()).then(Instant::now);
        CallTrace { span, started }
    }

    /// Records the answer (`None`: a notification, which gets none).
    pub(crate) fn finish(&self, answer: Option<&Encoded>) {
        let Some(started) = self.started else {
            return;
        };
        let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match answer.map(Encoded::error_code) {
            None => tracing::debug!(parent: &self.span, elapsed_us, "notification handled"),
            Some(None) => tracing::debug!(parent: &self.span, elapsed_us, "call answered"),
            Some(Some(code)) => tracing::debug!(parent: &self.span, elapsed_us, code, "call answered with an error"),
        }
    }
}
