//! [`RateLimit`]: how fast one connection may call, as a token bucket
//! (the `governor` crate's GCRA). Off unless configured.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};

use crate::error::RpcError;

/// A rate for each connection: `calls_per_second` on average, with bursts
/// of up to `burst` calls (by default one second's worth). Every request and
/// notification counts, each member of a batch too. A call over the rate
/// answers [`RATE_LIMITED`](crate::error::RATE_LIMITED) with a retry hint; a
/// notification over it is dropped.
///
/// ```
/// use std::num::NonZeroU32;
/// use channels_rpc::RateLimit;
///
/// let limit = RateLimit::per_second(NonZeroU32::new(20).unwrap()).burst(NonZeroU32::new(5).unwrap());
/// assert_eq!((limit.calls_per_second(), limit.burst_size()), (20, 5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_second: NonZeroU32,
    burst: NonZeroU32,
}

impl RateLimit {
    /// `calls` per second, bursts of as many.
    pub fn per_second(calls: NonZeroU32) -> Self {
        RateLimit {
            per_second: calls,
            burst: calls,
        }
    }

    /// At most `calls` at once after a quiet spell.
    pub fn burst(mut self, calls: NonZeroU32) -> Self {
        self.burst = calls;
        self
    }

    /// The average rate.
    pub fn calls_per_second(&self) -> u32 {
        self.per_second.get()
    }

    /// The burst size.
    pub fn burst_size(&self) -> u32 {
        self.burst.get()
    }

    /// A fresh bucket for one connection.
    pub fn limiter(&self) -> CallLimiter {
        CallLimiter {
            bucket: DefaultDirectRateLimiter::direct(Quota::per_second(self.per_second).allow_burst(self.burst)),
            clock: DefaultClock::default(),
            per_second: self.per_second.get(),
        }
    }
}

/// One connection's bucket (see [`RateLimit`]).
pub struct CallLimiter {
    bucket: DefaultDirectRateLimiter,
    clock: DefaultClock,
    per_second: u32,
}

impl CallLimiter {
    /// Takes one call's token, or the error that says when the next one comes.
    pub fn check(&self) -> Result<(), RpcError> {
        self.bucket.check().map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(self.clock.now());
            RpcError::rate_limited(self.per_second, wait)
        })
    }
}

impl std::fmt::Debug for CallLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLimiter")
            .field("per_second", &self.per_second)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_calls_are_refused_with_a_retry_hint() {
        let limiter = RateLimit::per_second(NonZeroU32::new(10).unwrap())
            .burst(NonZeroU32::new(3).unwrap())
            .limiter();
        for _ in 0..3 {
            limiter.check().expect("within the burst");
        }
        let refused = limiter.check().expect_err("over the burst");
        assert_eq!(refused.code(), crate::error::RATE_LIMITED);
        let data = refused.data().unwrap();
        assert_eq!(data["limit"], "rate_limit");
        assert_eq!(data["calls_per_second"], 10);
        let retry = data["retry_after_ms"].as_u64().unwrap();
        // One token comes back every 100 ms.
        assert!((1..=100).contains(&retry), "{retry}");
    }
}
