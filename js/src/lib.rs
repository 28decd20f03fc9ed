//! Nothing but tests: see `tests/`. They run the JavaScript in this folder
//! with node (`test/`: the client against a live server; `e2e/`: the chat
//! page in headless Chromium). The build script tells them what this machine
//! has (`cfg(has_node)`, `cfg(has_chromium)`); a test whose tool is missing
//! is ignored and says what to install.
