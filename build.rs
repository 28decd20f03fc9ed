//! Finds the tools that some end-to-end tests run, so that a test whose tool
//! is missing shows as ignored rather than passing:
//! - `cfg(has_openrpc_tools)`: `node` runs and `tests/openrpc` has its npm
//!   packages installed (`npm ci --prefix tests/openrpc`).
//!
//! With `CHANNELS_RPC_REQUIRE_SERVICES=1` (set by `.ci/run`) a missing tool
//! fails the build instead.

use std::env;
use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_openrpc_tools)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CHANNELS_RPC_REQUIRE_SERVICES");
    println!("cargo::rerun-if-changed=build.rs");
    let required = env::var("CHANNELS_RPC_REQUIRE_SERVICES").is_ok_and(|v| v == "1");

    let packages = Path::new("tests/openrpc/node_modules/@open-rpc/schema-utils-js");
    // `npm ci` creates or replaces the folder: rerun then.
    println!("cargo::rerun-if-changed=tests/openrpc/node_modules");
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if node && packages.is_dir() {
        println!("cargo::rustc-cfg=has_openrpc_tools");
    } else if required {
        panic!("the OpenRPC check needs node and `npm ci --prefix tests/openrpc`");
    } else {
        println!("cargo::warning=node or tests/openrpc/node_modules not found: the OpenRPC tool check is ignored");
    }
}
