//! [`Capacities`]: channels_redis' `capacity` and `channel_capacity`.

use rpc_core::LayerError;

/// The capacity of each channel: the first matching glob pattern's, else
/// the default (Channels' `get_capacity`).
#[derive(Debug, Clone)]
pub(crate) struct Capacities {
    default: usize,
    patterns: Vec<(glob::Pattern, usize)>,
}

impl Capacities {
    /// Fails on a pattern that is not a glob.
    pub(crate) fn new(default: usize, patterns: &[(String, usize)]) -> Result<Self, LayerError> {
        let patterns = patterns
            .iter()
            .map(|(pattern, capacity)| {
                glob::Pattern::new(pattern)
                    .map(|p| (p, *capacity))
                    .map_err(|e| LayerError::Unavailable(format!("channel_capacity pattern {pattern:?}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Capacities { default, patterns })
    }

    /// The capacity of `channel` (its full name, as channels_redis matches it).
    pub(crate) fn of(&self, channel: &str) -> usize {
        self.patterns
            .iter()
            .find(|(pattern, _)| pattern.matches(channel))
            .map_or(self.default, |(_, capacity)| *capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_glob_wins_as_fnmatch_does() {
        let capacities = Capacities::new(
            100,
            &[
                ("http.request".to_owned(), 200),
                ("http.response!*".to_owned(), 10),
                ("specific.*".to_owned(), 5),
                ("spec*".to_owned(), 7),
            ],
        )
        .unwrap();
        assert_eq!(capacities.of("http.request"), 200);
        assert_eq!(capacities.of("http.request.x"), 100, "fnmatch matches the whole name");
        assert_eq!(capacities.of("http.response!abc"), 10);
        assert_eq!(capacities.of("specific.ab!cd"), 5);
        assert_eq!(capacities.of("spectre"), 7);
        assert_eq!(capacities.of("other"), 100);
        assert!(Capacities::new(1, &[("[".to_owned(), 1)]).is_err());
    }
}
