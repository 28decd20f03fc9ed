//! `channels_rpc_layer_messages_total{layer, direction}`: what the layers
//! send, receive and drop, through the `metrics` facade (feature `metrics`;
//! without it these are empty functions the compiler removes).

/// What happened to a layer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Handed to the layer by `send` or `group_send` (once per call, not
    /// per member).
    Sent,
    /// Queued for a local channel (once per receiving channel).
    Received,
    /// Lost: a full channel queue, an expired or undecodable message, one
    /// for a channel that is gone.
    Dropped,
}

impl Direction {
    /// The `direction` label.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
            Direction::Dropped => "dropped",
        }
    }
}

/// Counts one message of `layer` (a fixed name: `in_process`, `redis`,
/// `redis_pubsub`).
#[inline]
pub fn count_message(layer: &'static str, direction: Direction) {
    #[cfg(feature = "metrics")]
    metrics::counter!("channels_rpc_layer_messages_total", "layer" => layer, "direction" => direction.label())
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (layer, direction);
}
