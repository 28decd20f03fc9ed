//! [`LocalRouter`]: the channels and groups of this process, which both
//! layers deliver through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::counts::{count_message, Direction};
use super::{Envelope, Inbox};
use crate::queue::{self, TrySendError};

/// The channels and groups of this process, shared by the layers: who is
/// here, and which local channels belong to which group.
#[derive(Debug)]
pub struct LocalRouter {
    capacity: usize,
    /// The layer's name in `channels_rpc_layer_messages_total`.
    layer: &'static str,
    state: Mutex<Routes>,
}

type Sender = queue::Sender<Arc<Envelope>>;

/// The local channels, keyed by name with the Fx hash: a few
/// multiplications where SipHash takes a few hundred instructions for a
/// 75-byte name, and a Redis group send looks up every member. Channels are
/// opened by layers, under names of their own making (random in this crate's
/// and rpc-redis'), so no client picks keys that collide. Groups and their
/// members, whose names a method may take from its caller, keep SipHash.
type Channels = rustc_hash::FxHashMap<String, Sender>;

#[derive(Debug, Default)]
struct Routes {
    channels: Channels,
    /// Each group's members, with the queue of those that were open when
    /// they joined: a group send walks them without a lookup per member.
    groups: HashMap<String, HashMap<String, Option<Sender>>>,
}

/// What a change of membership means for a layer that subscribes per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The group had no local member before: subscribe to it.
    FirstLocal,
    /// The group has no local member any more: unsubscribe.
    LastLocalGone,
    /// Nothing to do.
    Unchanged,
}

impl LocalRouter {
    /// A router whose channels queue at most `capacity` messages each; past
    /// that, messages to a slow channel are dropped (at most once delivery).
    pub fn new(capacity: usize) -> Self {
        LocalRouter {
            capacity: capacity.max(1),
            layer: "in_process",
            state: Mutex::new(Routes::default()),
        }
    }

    /// The same router, counting its messages under `layer`
    /// ([`counts`](super::counts); default `in_process`).
    pub fn counted_as(mut self, layer: &'static str) -> Self {
        self.layer = layer;
        self
    }

    /// The layer name its messages are counted under.
    pub fn layer_name(&self) -> &'static str {
        self.layer
    }

    /// Registers a channel named `name`.
    pub fn open(&self, name: String) -> Inbox {
        let (sender, messages) = queue::bounded(self.capacity);
        self.state
            .lock()
            .expect("not poisoned")
            .channels
            .insert(name.clone(), sender);
        Inbox { name, messages }
    }

    /// Removes a channel; the groups it leaves without a local member.
    pub fn close(&self, name: &str) -> Vec<String> {
        let mut state = self.state.lock().expect("not poisoned");
        state.channels.remove(name);
        let mut emptied = Vec::new();
        state.groups.retain(|group, members| {
            members.remove(name);
            if members.is_empty() {
                emptied.push(group.clone());
                false
            } else {
                true
            }
        });
        emptied
    }

    /// True when `name` is a channel of this process.
    pub fn is_local(&self, name: &str) -> bool {
        self.state.lock().expect("not poisoned").channels.contains_key(name)
    }

    /// Adds a local channel to a group.
    pub fn add(&self, group: &str, channel: &str) -> Membership {
        let mut state = self.state.lock().expect("not poisoned");
        let state = &mut *state;
        let sender = state.channels.get(channel).cloned();
        let members = state.groups.entry(group.to_owned()).or_default();
        let first = members.is_empty();
        members.insert(channel.to_owned(), sender);
        if first {
            Membership::FirstLocal
        } else {
            Membership::Unchanged
        }
    }

    /// Removes a channel from a group.
    pub fn discard(&self, group: &str, channel: &str) -> Membership {
        let mut state = self.state.lock().expect("not poisoned");
        let Some(members) = state.groups.get_mut(group) else {
            return Membership::Unchanged;
        };
        if members.remove(channel).is_none() || !members.is_empty() {
            return Membership::Unchanged;
        }
        state.groups.remove(group);
        Membership::LastLocalGone
    }

    /// The names of the channels of this process.
    pub fn channel_names(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("not poisoned")
            .channels
            .keys()
            .cloned()
            .collect()
    }

    /// How many local channels are in `group`.
    pub fn members(&self, group: &str) -> usize {
        self.state
            .lock()
            .expect("not poisoned")
            .groups
            .get(group)
            .map_or(0, HashMap::len)
    }

    /// The groups with local members.
    pub fn groups(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("not poisoned")
            .groups
            .keys()
            .cloned()
            .collect()
    }

    /// Delivers to one local channel; false if it is not here.
    pub fn deliver(&self, channel: &str, envelope: Arc<Envelope>) -> bool {
        let sender = self.state.lock().expect("not poisoned").channels.get(channel).cloned();
        match sender {
            Some(sender) => {
                offer(&sender, channel, envelope, self.layer);
                true
            }
            None => false,
        }
    }

    /// Delivers to every local member of a group; how many were offered it.
    /// One lock, and nothing allocated, cloned or looked up per member but
    /// the envelope's reference count: each member's queue takes the
    /// envelope while the routes are locked (queuing never waits).
    pub fn deliver_to_group(&self, group: &str, envelope: Arc<Envelope>) -> usize {
        let state = self.state.lock().expect("not poisoned");
        let Some(members) = state.groups.get(group) else {
            return 0;
        };
        let mut offered = 0;
        for (member, sender) in members {
            // A member added before its channel opened here is looked up.
            if let Some(sender) = sender.as_ref().or_else(|| state.channels.get(member)) {
                offer(sender, member, envelope.clone(), self.layer);
                offered += 1;
            }
        }
        offered
    }

    /// Delivers to each of `channels` that is here, under one lock; how many
    /// were. The others are skipped (a connection that has ended).
    pub fn deliver_each<'a>(&self, channels: impl IntoIterator<Item = &'a str>, envelope: &Arc<Envelope>) -> usize {
        let state = self.state.lock().expect("not poisoned");
        let mut offered = 0;
        for channel in channels {
            match state.channels.get(channel) {
                Some(sender) => {
                    offer(sender, channel, envelope.clone(), self.layer);
                    offered += 1;
                }
                None => {
                    tracing::debug!(channel, "message for a closed channel dropped");
                    count_message(self.layer, Direction::Dropped);
                }
            }
        }
        offered
    }
}

fn offer(sender: &queue::Sender<Arc<Envelope>>, channel: &str, envelope: Arc<Envelope>, layer: &'static str) {
    match sender.try_send(envelope) {
        Ok(()) => count_message(layer, Direction::Received),
        Err(TrySendError::Full(_)) => {
            count_message(layer, Direction::Dropped);
            tracing::warn!(channel, "channel full: message dropped");
        }
        // The channel closed meanwhile: its connection is gone.
        Err(_) => count_message(layer, Direction::Dropped),
    }
}

/// A fresh channel name, Channels-style: `{prefix}specific.{32 hex digits}`.
pub fn unique_channel_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let random = std::collections::hash_map::RandomState::new();
    let mixed = std::hash::BuildHasher::hash_one(&random, (nanos, count, std::process::id()));
    format!("{prefix}specific.{mixed:016x}{:016x}", nanos ^ count.rotate_left(32))
}
