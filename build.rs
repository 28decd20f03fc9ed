//! Finds the tools that some end-to-end tests run, so that a test whose tool
//! is missing shows as ignored rather than passing:
//! - `cfg(has_openrpc_tools)`: `node` runs and `tests/openrpc` has its npm
//!   packages installed (`npm ci --prefix tests/openrpc`);
//! - `cfg(has_python_websockets)`: `python3` imports `websockets`.
//!
//! With `CHANNELS_RPC_REQUIRE_SERVICES=1` (set by `.ci/run`) a missing tool
//! fails the build instead.

use std::env;
use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_openrpc_tools)");
    println!("cargo::rustc-check-cfg=cfg(has_python_websockets)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CHANNELS_RPC_REQUIRE_SERVICES");
    println!("cargo::rerun-if-changed=build.rs");
    let required = env::var("CHANNELS_RPC_REQUIRE_SERVICES").is_ok_and(|v| v == "1");

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

    for dir in python_site_dirs() {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    if runs("python3", &["-c", "import websockets"]) {
        println!("cargo::rustc-cfg=has_python_websockets");
    } else if required {
        panic!("python3 cannot import websockets (pip install websockets)");
    } else {
        println!("cargo::warning=python3 with websockets not found: the Python client test is ignored");
    }
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installing a package changes one of these: rerun then.
fn python_site_dirs() -> Vec<std::path::PathBuf> {
    let Ok(out) = Command::new("python3")
        .args(["-c", "import site; print('\\n'.join(site.getsitepackages()))"])
        .stderr(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}
