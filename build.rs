//! Finds the tools that some end-to-end tests run, so that a test whose tool
//! is missing shows as ignored rather than passing:
//! - `cfg(has_openrpc_tools)`: `node` runs and `tests/openrpc` has its npm
//!   packages installed (`npm ci --prefix tests/openrpc`);
//! - `cfg(has_python_websockets)`: `python3` imports `websockets`.
//!
//! With `CHANNELS_RPC_REQUIRE_SERVICES=1` (set by `.ci/run`) a missing tool
//! fails the build instead.

use std::path::Path;

use build_probe::{runs, services_required, watch_python_packages};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_openrpc_tools)");
    println!("cargo::rustc-check-cfg=cfg(has_python_websockets)");
    let required = services_required();

    let packages = Path::new("tests/openrpc/node_modules/@open-rpc/schema-utils-js");
    // `npm ci` creates or replaces the folder: rerun then.
    println!("cargo::rerun-if-changed=tests/openrpc/node_modules");
    if runs("node", &["--version"]) && packages.is_dir() {
        println!("cargo::rustc-cfg=has_openrpc_tools");
    } else if required {
        panic!("the OpenRPC check needs node and `npm ci --prefix tests/openrpc`");
    } else {
        println!("cargo::warning=node or tests/openrpc/node_modules not found: the OpenRPC tool check is ignored");
    }

    watch_python_packages();
    if runs("python3", &["-c", "import websockets"]) {
        println!("cargo::rustc-cfg=has_python_websockets");
    } else if required {
        panic!("python3 cannot import websockets (pip install websockets)");
    } else {
        println!("cargo::warning=python3 with websockets not found: the Python client test is ignored");
    }
}
