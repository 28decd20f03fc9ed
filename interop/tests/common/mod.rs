//! The root package's test helpers, a real redis-server, and the Django
//! Channels peer.
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod shared;

pub mod peer;
pub mod redis;
pub mod server;

pub use shared::*;
