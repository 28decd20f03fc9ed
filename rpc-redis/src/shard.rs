//! Which host of several holds a name: channels_redis' `_consistent_hash`.

/// The index, among `hosts` hosts, of the one that holds `name`, computed as
/// channels_redis 4.3 computes it (`utils._consistent_hash`): the CRC-32 of
/// the UTF-8 name, masked to 12 bits (0..4096), divided by `4096 / hosts`.
/// One host, or none, is index 0.
///
/// ```
/// // _consistent_hash("ops", 3) == 2 in channels_redis 4.3.
/// assert_eq!(rpc_redis::shard_index("ops", 3), 2);
/// ```
pub fn shard_index(name: &str, hosts: usize) -> usize {
    if hosts <= 1 {
        return 0;
    }
    let bucket = crc32fast::hash(name.as_bytes()) & 0xFFF;
    // The same two float operations as Python's `int(bigval / (4096 / float(n)))`.
    let divisor = 4096.0 / hosts as f64;
    (f64::from(bucket) / divisor) as usize
}

/// The part of a channel name channels_redis shards and queues a
/// process-local channel by: up to and including the first `!`, or the whole
/// name when there is none (Channels' `non_local_name`).
///
/// ```
/// assert_eq!(rpc_redis::non_local_name("specific.ab!cd"), "specific.ab!");
/// assert_eq!(rpc_redis::non_local_name("plain"), "plain");
/// ```
pub fn non_local_name(channel: &str) -> &str {
    match channel.find('!') {
        Some(bang) => &channel[..=bang],
        None => channel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every expected value below was computed on this machine with
    /// channels_redis 4.3.0 itself:
    /// `from channels_redis.utils import _consistent_hash as h; [h(n, k) for k in (1, 2, 3, 5)]`.
    #[test]
    fn matches_channels_redis() {
        let computed_by_channels_redis: &[(&str, [usize; 4])] = &[
            ("room", [0, 0, 0, 0]),
            ("lobby", [0, 0, 1, 1]),
            ("ops", [0, 1, 2, 3]),
            ("news", [0, 1, 1, 2]),
            ("alpha", [0, 1, 1, 2]),
            ("beta", [0, 0, 0, 1]),
            ("gamma", [0, 0, 0, 0]),
            ("delta", [0, 1, 2, 4]),
            ("specific.0123456789abcdef0123456789abcdef!", [0, 0, 1, 1]),
            ("specific.fedcba9876543210fedcba9876543210!", [0, 0, 0, 1]),
            ("specific.00000000000000000000000000000001!", [0, 0, 0, 0]),
            ("asgi__group__lobby", [0, 1, 1, 2]),
            ("asgi__group__ops", [0, 1, 1, 2]),
            ("asgispecific.fedcba9876543210fedcba9876543210", [0, 1, 2, 4]),
        ];
        for (name, expected) in computed_by_channels_redis {
            let ours = [1, 2, 3, 5].map(|hosts| shard_index(name, hosts));
            assert_eq!(&ours, expected, "{name}");
        }
        // binascii.crc32(b"ops") & 0xFFF == 3199 in Python.
        assert_eq!(crc32fast::hash(b"ops") & 0xFFF, 3199);
        assert_eq!(shard_index("anything", 0), 0);
    }

    #[test]
    fn non_local_part() {
        assert_eq!(non_local_name("specific.abc!def"), "specific.abc!");
        assert_eq!(non_local_name("specific.abc!"), "specific.abc!");
        assert_eq!(non_local_name("a!b!c"), "a!");
        assert_eq!(non_local_name("asgispecific.abc"), "asgispecific.abc");
    }
}
