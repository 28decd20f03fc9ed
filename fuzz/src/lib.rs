//! What the fuzz targets share: a consumer serving `spec-methods` on a
//! runtime with paused time ([`harness`]), and the properties each answer
//! must have ([`oracle`] for the parser, [`replies`] for the dispatcher).
//!
//! Each property panics when it does not hold, which libFuzzer reports as a
//! crash with the input that broke it.

pub mod harness;
mod members;
pub mod oracle;
pub mod replies;
