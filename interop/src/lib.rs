//! Nothing but tests: see `tests/`. The build script tells them which real
//! services this machine has (`cfg(has_redis)`, `cfg(has_channels_redis)`);
//! a test whose service is missing is ignored, and says what to install.
