//! [`IntoHosts`]: one Redis URL or several, in the order that shards them.

/// One Redis URL or a list of them. The order matters: a name's host is
/// its [`shard_index`](crate::shard_index) in this list, as it is in
/// channels_redis' `hosts`, so every process of a deployment lists the same
/// hosts in the same order.
pub trait IntoHosts {
    /// The URLs, in order.
    fn into_hosts(self) -> Vec<String>;
}

impl IntoHosts for &str {
    fn into_hosts(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoHosts for String {
    fn into_hosts(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoHosts for &String {
    fn into_hosts(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<T: Into<String>> IntoHosts for Vec<T> {
    fn into_hosts(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String>, const N: usize> IntoHosts for [T; N] {
    fn into_hosts(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String> + Clone> IntoHosts for &[T] {
    fn into_hosts(self) -> Vec<String> {
        self.iter().cloned().map(Into::into).collect()
    }
}

/// Splits a comma-separated list of URLs (as in a `REDIS_URL` holding
/// several), ignoring blanks.
///
/// ```
/// assert_eq!(
///     rpc_redis::split_hosts("redis://a:6379, redis://b:6379"),
///     ["redis://a:6379", "redis://b:6379"]
/// );
/// ```
pub fn split_hosts(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect()
}
