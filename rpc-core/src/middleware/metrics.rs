//! [`MetricsMiddleware`]: calls, latencies, connections and messages
//! through the `metrics` facade (feature `metrics`).

use metrics::{counter, gauge, histogram};

use super::{CallInfo, Middleware, Outcome};
use crate::connection::Connection;
use crate::scope::Transport;

/// The `method` label of a call to a method the consumer does not serve:
/// labels are only ever registered names or this, never a client's string,
/// so that a client cannot grow the number of series.
pub const UNKNOWN_METHOD: &str = "<unknown>";

/// Records, through whatever `metrics` recorder the program installed:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `channels_rpc_calls_total` | counter | `method`, `outcome` (`ok`, `error`, `notification`) |
/// | `channels_rpc_call_duration_seconds` | histogram | `method` |
/// | `channels_rpc_connections_open` | gauge | `transport` (`websocket`, `http`, `in-process`) |
/// | `channels_rpc_messages_total` | counter | `transport`, `direction` (`in`, `out`) |
///
/// `method` is the registered name, or [`UNKNOWN_METHOD`]. An HTTP request
/// is an open connection while it is answered. Install it first, so that it
/// is the outermost middleware and also counts the calls that inner ones
/// refuse. The layers count their messages themselves
/// (`channels_rpc_layer_messages_total{layer, direction}`, see
/// [`layer`](crate::layer)).
///
/// ```
/// use channels_rpc::middleware::MetricsMiddleware;
/// # #[derive(channels_rpc::Consumer, Default)] struct Api;
/// let app = Api::app().middleware(MetricsMiddleware::new());
/// # let _ = app;
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct MetricsMiddleware {
    _private: (),
}

impl MetricsMiddleware {
    /// The middleware; it keeps no state (the recorder does).
    pub fn new() -> Self {
        MetricsMiddleware::default()
    }
}

fn transport_label(connection: &Connection) -> &'static str {
    match connection.scope().transport() {
        Transport::WebSocket => "websocket",
        Transport::Http => "http",
        Transport::InProcess => "in-process",
    }
}

impl Middleware for MetricsMiddleware {
    fn after(&self, call: &CallInfo<'_>, outcome: &Outcome<'_>) {
        let method = call.registered_method().unwrap_or(UNKNOWN_METHOD);
        let result = if call.is_notification() {
            "notification"
        } else if outcome.is_success() {
            "ok"
        } else {
            "error"
        };
        counter!("channels_rpc_calls_total", "method" => method, "outcome" => result).increment(1);
        histogram!("channels_rpc_call_duration_seconds", "method" => method).record(outcome.elapsed().as_secs_f64());
    }

    fn on_connect(&self, connection: &Connection) {
        gauge!("channels_rpc_connections_open", "transport" => transport_label(connection)).increment(1.0);
    }

    fn on_disconnect(&self, connection: &Connection, _code: Option<u16>) {
        gauge!("channels_rpc_connections_open", "transport" => transport_label(connection)).decrement(1.0);
    }

    fn on_message_in(&self, connection: &Connection, _message: &[u8]) {
        counter!("channels_rpc_messages_total", "transport" => transport_label(connection), "direction" => "in")
            .increment(1);
    }

    fn on_message_out(&self, connection: &Connection, _message: &[u8]) {
        counter!("channels_rpc_messages_total", "transport" => transport_label(connection), "direction" => "out")
            .increment(1);
    }
}
