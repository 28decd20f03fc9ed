//! One Redis host: a lazily connecting, self-reconnecting connection, and
//! commands bounded by the layer's timeout.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, PushInfo};
use rpc_core::LayerError;
use tokio::sync::mpsc;

/// How long to wait between tries to reach a host that is down, at most.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A connection to `url` that connects on first use and again after a loss.
/// `response_timeout` bounds each reply; `pushes` receives RESP3 pushes
/// (pub/sub messages), which needs `protocol=resp3` in the URL.
pub(crate) fn connect(
    url: &str,
    timeout: Duration,
    response_timeout: Duration,
    pushes: Option<mpsc::UnboundedSender<PushInfo>>,
) -> Result<ConnectionManager, LayerError> {
    let unavailable = |e: redis::RedisError| LayerError::Unavailable(format!("{url}: {e}"));
    let client = redis::Client::open(url).map_err(unavailable)?;
    let mut config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(1)
        .set_max_delay(MAX_RETRY_DELAY / 2);
    if let Some(pushes) = pushes {
        config = config.set_push_sender(pushes);
    }
    ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)
}

/// Runs a command or pipeline on `connection`, failing with
/// [`LayerError::Unavailable`] on an error or after `timeout`.
pub(crate) async fn query<T: FromRedisValue>(
    connection: &ConnectionManager,
    timeout: Duration,
    request: impl Request,
) -> Result<T, LayerError> {
    let mut connection = connection.clone();
    match tokio::time::timeout(timeout, request.send(&mut connection)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(LayerError::Unavailable(e.to_string())),
        Err(_) => Err(LayerError::Unavailable("Redis did not answer in time".to_owned())),
    }
}

/// A command or a pipeline.
pub(crate) trait Request {
    /// Sends it and reads the reply.
    fn send<T: FromRedisValue>(
        &self,
        connection: &mut ConnectionManager,
    ) -> impl std::future::Future<Output = redis::RedisResult<T>> + Send;
}

impl Request for redis::Cmd {
    fn send<T: FromRedisValue>(
        &self,
        connection: &mut ConnectionManager,
    ) -> impl std::future::Future<Output = redis::RedisResult<T>> + Send {
        self.query_async(connection)
    }
}

impl Request for redis::Pipeline {
    fn send<T: FromRedisValue>(
        &self,
        connection: &mut ConnectionManager,
    ) -> impl std::future::Future<Output = redis::RedisResult<T>> + Send {
        self.query_async(connection)
    }
}

/// A growing pause between retries: 50 ms doubling up to [`MAX_RETRY_DELAY`].
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff(Duration::from_millis(50))
    }

    /// Sleeps, then lengthens the next pause.
    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(MAX_RETRY_DELAY);
    }
}

/// Seconds since the epoch, as Python's `time.time()`.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
