//! Finds what the JavaScript tests need, so that a test whose tool is missing
//! shows as ignored rather than passing:
//! - `cfg(has_node)`: `node` 20 or newer is on the PATH;
//! - `cfg(has_typescript)`: node and `node_modules/typescript` (`npm ci` in
//!   this folder), to check the type declarations;
//! - `cfg(has_chromium)`: `/usr/bin/chromium` (Debian's package), `redis-server`
//!   and `node_modules/playwright-core` (`npm ci` in this folder) are there.
//!
//! With `CHANNELS_RPC_REQUIRE_SERVICES=1` (set by `.ci/run`) a missing tool
//! fails the build instead.

use std::path::Path;
use std::process::Command;

use build_probe::{on_path, services_required, watch_path_dirs};

const CHROMIUM: &str = "/usr/bin/chromium";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_node)");
    println!("cargo::rustc-check-cfg=cfg(has_chromium)");
    println!("cargo::rustc-check-cfg=cfg(has_typescript)");
    println!("cargo::rerun-if-changed={CHROMIUM}");
    println!("cargo::rerun-if-changed=node_modules");
    let required = services_required();
    // Installing a tool changes one of the PATH's directories: rerun then.
    watch_path_dirs();

    let node = node_major().is_some_and(|major| major >= 20);
    if node {
        println!("cargo::rustc-cfg=has_node");
    } else if required {
        panic!("node 20 or newer is not on the PATH");
    } else {
        println!("cargo::warning=node >= 20 not found: the JavaScript client tests are ignored");
    }

    let typescript = Path::new("node_modules/typescript/bin/tsc").is_file();
    if node && typescript {
        println!("cargo::rustc-cfg=has_typescript");
    } else if required {
        panic!("the type check needs node and js/node_modules/typescript (npm ci in js/)");
    } else {
        println!("cargo::warning=the type check is ignored: npm ci in js/ installs typescript");
    }

    let playwright = Path::new("node_modules/playwright-core/package.json").is_file();
    let chromium = Path::new(CHROMIUM).is_file();
    let redis = on_path("redis-server").is_some();
    if node && playwright && chromium && redis {
        println!("cargo::rustc-cfg=has_chromium");
    } else {
        let missing: Vec<&str> = [
            (!node).then_some("node >= 20"),
            (!playwright).then_some("js/node_modules/playwright-core (npm ci in js/)"),
            (!chromium).then_some("/usr/bin/chromium (apt-get install chromium)"),
            (!redis).then_some("redis-server (apt-get install redis-server)"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let missing = missing.join(", ");
        if required {
            panic!("the browser test needs {missing}");
        }
        println!("cargo::warning=the browser test is ignored: missing {missing}");
    }
}

fn node_major() -> Option<u32> {
    let out = Command::new("node").arg("--version").output().ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    version.trim().strip_prefix('v')?.split('.').next()?.parse().ok()
}
