//! When a failed message is tried again: exponential backoff with full jitter,
//! `rand(0, min(cap, base · 2^(attempt-1)))`.

use std::time::Duration;

use rand::RngExt;

/// Backoff parameters for failed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetryPolicy {
    /// The ceiling of the first retry's delay.
    #[serde(with = "millis")]
    pub base: Duration,
    /// No delay exceeds this.
    #[serde(with = "millis")]
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The largest delay after the `attempt`-th failed attempt (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(62);
        let factor = 1u64 << doublings;
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let ceiling = Duration::from_millis(base.saturating_mul(factor));
        ceiling.min(self.cap)
    }

    /// A delay drawn uniformly from `[0, ceiling(attempt)]` (full jitter).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, &mut rand::rng())
    }

    /// As [`RetryPolicy::delay`], with the caller's random source.
    pub fn delay_with<R: rand::Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.random_range(0..=ceiling))
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_grows_then_caps() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        let ceilings: Vec<u64> = (1..=8).map(|a| p.ceiling(a).as_millis() as u64).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(60),
        };
        for attempt in 1..=12 {
            let draws: Vec<Duration> = (0..200).map(|_| p.delay(attempt)).collect();
            assert!(draws.iter().all(|d| *d <= p.ceiling(attempt)));
            let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
            assert!(
                distinct.len() > 20,
                "attempt {attempt}: only {} distinct delays",
                distinct.len()
            );
            // Full jitter: the mean sits near half the ceiling.
            let mean = draws.iter().map(|d| d.as_millis() as f64).sum::<f64>() / 200.0;
            let half = p.ceiling(attempt).as_millis() as f64 / 2.0;
            assert!(
                (mean - half).abs() < half * 0.25,
                "attempt {attempt}: mean {mean}, half {half}"
            );
        }
    }
}
