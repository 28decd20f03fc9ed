//! The receive loop: one per host, popping this process's messages with
//! `BZPOPMIN` and handing them to the local channels they name.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use rpc_core::layer::counts::{count_message, Direction};

use super::{body, Inner};
use crate::connection::{now, query, Backoff};

/// How long one `BZPOPMIN` blocks before it is sent again.
pub(crate) const BLOCK: Duration = Duration::from_secs(1);

/// Pops this process's messages off host `host` for as long as the layer
/// lives. channels_redis 4.3 puts a message for one of our channels on the
/// host of the channel's *full* name while it reads on the host of the part
/// before `!`; listening on every host receives both.
pub(crate) async fn receive(inner: Arc<Inner>, host: usize, connection: ConnectionManager) {
    let mut backoff = Backoff::new();
    let mut down = false;
    let mut rejoin = false;
    loop {
        let mut command = redis::cmd("BZPOPMIN");
        command.arg(&inner.process_key).arg(BLOCK.as_secs());
        let popped =
            query::<Option<(Vec<u8>, Vec<u8>, f64)>>(&connection, BLOCK + inner.settings.timeout, command).await;
        match popped {
            Ok(popped) => {
                if down {
                    tracing::info!(host, "Redis is back: receiving again");
                    down = false;
                    backoff = Backoff::new();
                    rejoin = true;
                }
                // A restart without persistence forgot the groups: add ours
                // again, until that works.
                if rejoin {
                    rejoin = !inner.rejoin(host).await;
                }
                if let Some((_, body, score)) = popped {
                    inner.deliver(&body, score);
                }
            }
            Err(e) => {
                if !down {
                    tracing::warn!(host, error = %e, "cannot receive from Redis; retrying");
                    down = true;
                }
                backoff.wait().await;
            }
        }
    }
}

impl Inner {
    /// Adds every local membership whose group lives on `host` again; true
    /// when all were added.
    async fn rejoin(&self, host: usize) -> bool {
        let memberships: Vec<(String, String)> = {
            let memberships = self.memberships.lock().expect("not poisoned");
            memberships
                .iter()
                .flat_map(|(channel, groups)| groups.iter().map(move |g| (g.clone(), channel.clone())))
                .filter(|(group, _)| self.host_of(group) == host)
                .collect()
        };
        for (group, channel) in memberships {
            if let Err(e) = self.add_member(&group, &channel).await {
                tracing::debug!(group, channel, error = %e, "could not join the group again yet");
                return false;
            }
        }
        true
    }

    /// Hands one popped message to the local channels it names; anything
    /// else is dropped with a warning, never stopping the loop.
    pub(crate) fn deliver(&self, popped: &[u8], score: f64) {
        if score < now() - self.settings.expiry_secs as f64 {
            tracing::debug!("expired message dropped");
            count_message(super::LAYER_NAME, Direction::Dropped);
            return;
        }
        let Some((channels, message)) = body::decode(popped, &self.settings.codec) else {
            tracing::warn!(key = %self.process_key, "undecodable message dropped");
            count_message(super::LAYER_NAME, Direction::Dropped);
            return;
        };
        let envelope = rpc_core::Envelope::new(message);
        let local = channels.iter().map(String::as_str).filter(|channel| {
            let ours = channel.starts_with(&self.local_part);
            if !ours {
                tracing::warn!(channel, "message for another process's channel dropped");
                count_message(super::LAYER_NAME, Direction::Dropped);
            }
            ours
        });
        self.router.deliver_each(local, &envelope);
    }
}
