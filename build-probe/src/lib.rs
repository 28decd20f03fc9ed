//! Probes shared by the workspace's build scripts (the root package's and
//! interop-tests'), which set `cfg`s for the tools and services their tests
//! need, so that a test whose tool is missing shows as ignored.
#![deny(missing_docs)]

use std::env;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The variable `.ci/run` sets to `1` so that a missing tool or service
/// fails the build instead of ignoring its tests.
pub const REQUIRE_SERVICES: &str = "CHANNELS_RPC_REQUIRE_SERVICES";

/// Whether [`REQUIRE_SERVICES`] is `1`. Also tells cargo to run the build
/// script again when it, `PATH` or the build script changes.
pub fn services_required() -> bool {
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed={REQUIRE_SERVICES}");
    println!("cargo::rerun-if-changed=build.rs");
    env::var(REQUIRE_SERVICES).is_ok_and(|v| v == "1")
}

/// Whether `program args...` runs and succeeds (its output discarded).
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Tells cargo to run the build script again when a Python package is
/// installed or removed: that changes one of Python's site directories.
pub fn watch_python_packages() {
    for dir in python_site_dirs() {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
}

/// The directories `python3`'s `site.getsitepackages()` names that exist;
/// none when python3 does not run.
pub fn python_site_dirs() -> Vec<PathBuf> {
    let Ok(out) = Command::new("python3")
        .args(["-c", "import site; print('\\n'.join(site.getsitepackages()))"])
        .stderr(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

/// The first `name` on the `PATH` that is a file.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).find_map(|dir| {
        let candidate = dir.join(name);
        candidate.is_file().then_some(candidate)
    })
}

/// Tells cargo to run the build script again when a directory of the `PATH`
/// changes, as installing a tool does.
pub fn watch_path_dirs() {
    let path = env::var_os("PATH").unwrap_or_default();
    for dir in env::split_paths(&path).filter(|d| d.is_dir()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
}
