//! Several calls and notifications in one message.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::message::{request, to_params};

/// A batch of calls and notifications, sent with [`crate::Client::batch`].
///
/// ```
/// use channels_rpc_client::Batch;
/// let batch = Batch::new().call("add", (1, 2)).notify("log", ["hi"]).call("ping", ());
/// assert_eq!(batch.calls(), 2);
/// ```
#[derive(Debug, Default)]
pub struct Batch {
    entries: Vec<(String, Option<Value>, bool)>,
    error: Option<Error>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a call; its result comes back at its place among the calls.
    pub fn call(self, method: &str, params: impl Serialize) -> Self {
        self.push(method, params, true)
    }

    /// Adds a notification (no answer).
    pub fn notify(self, method: &str, params: impl Serialize) -> Self {
        self.push(method, params, false)
    }

    /// How many calls (not notifications) the batch holds.
    pub fn calls(&self) -> usize {
        self.entries.iter().filter(|(_, _, call)| *call).count()
    }

    fn push(mut self, method: &str, params: impl Serialize, call: bool) -> Self {
        match to_params(params) {
            Ok(params) => self.entries.push((method.to_owned(), params, call)),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// The messages, with ids from `first_id` for the calls, and the ids in order.
    pub(crate) fn into_messages(self, first_id: u64) -> Result<(Vec<Value>, Vec<u64>)> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut ids = Vec::new();
        let messages = self
            .entries
            .into_iter()
            .map(|(method, params, call)| {
                let id = call.then(|| first_id + ids.len() as u64);
                ids.extend(id);
                request(&method, params, id)
            })
            .collect();
        Ok((messages, ids))
    }
}
