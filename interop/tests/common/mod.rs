//! The root package's test helpers, and a real redis-server.
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod shared;

pub mod redis;

pub use shared::*;
