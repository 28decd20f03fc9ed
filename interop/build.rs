//! Finds the real services the interop tests need, so that a test whose
//! service is missing shows as ignored rather than passing:
//! - `cfg(has_redis)`: `redis-server` is on the PATH;
//! - `cfg(has_channels_redis)`: `python3` imports channels_redis, channels and django;
//! - `cfg(has_channels_redis_crypto)`: also `cryptography`, for channels_redis'
//!   `symmetric_encryption_keys` (`pip install "channels_redis[cryptography]"`).
//!
//! With `CHANNELS_RPC_REQUIRE_SERVICES=1` (set by `.ci/run`) a missing service
//! fails the build instead.

use build_probe::{on_path, runs, services_required, watch_path_dirs, watch_python_packages};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_redis)");
    println!("cargo::rustc-check-cfg=cfg(has_channels_redis)");
    println!("cargo::rustc-check-cfg=cfg(has_channels_redis_crypto)");
    let required = services_required();

    let redis = on_path("redis-server");
    match &redis {
        Some(path) => {
            println!("cargo::rustc-cfg=has_redis");
            println!("cargo::rerun-if-changed={}", path.display());
        }
        None if required => panic!("redis-server is not on the PATH (apt-get install redis-server)"),
        None => {
            // Installing it changes one of these directories: rerun then.
            watch_path_dirs();
            println!("cargo::warning=redis-server not found: the Redis tests are ignored");
        }
    }

    watch_python_packages();
    if redis.is_some() && runs("python3", &["-c", "import channels_redis.pubsub, channels, django"]) {
        println!("cargo::rustc-cfg=has_channels_redis");
    } else if required {
        panic!("python3 cannot import channels_redis with redis-server present (pip install channels_redis)");
    } else {
        println!("cargo::warning=python3 with channels_redis not found: the Django compatibility tests are ignored");
    }
    if redis.is_some() && runs("python3", &["-c", "import channels_redis, cryptography.fernet"]) {
        println!("cargo::rustc-cfg=has_channels_redis_crypto");
    } else if required {
        panic!("python3 cannot import cryptography for channels_redis' encryption (pip install \"channels_redis[cryptography]\")");
    } else {
        println!(
            "cargo::warning=python3 with cryptography not found: the encrypted Django compatibility tests are ignored"
        );
    }
}
