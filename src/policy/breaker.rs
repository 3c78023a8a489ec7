//! Stage: the circuit breaker of a server (an injectable clock, pure).
//!
//! Owns: counting consecutive failed tool calls (error results, JSON-RPC errors, timeouts);
//! after `threshold` of them it opens, and calls fail fast with a clear result for
//! `cooldown`; then one call probes: success closes it, failure opens it again.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            open_until: None,
            probing: false,
        }
    }

    /// Whether a call may go to the server now; `Err` holds how long until it may.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.open_until {
            Some(until) if now < until => Err(until - now),
            Some(_) if self.probing => Err(Duration::ZERO),
            Some(_) => {
                // Half-open: this call is the probe.
                self.probing = true;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The outcome of a call that went through.
    pub(crate) fn record(&mut self, failed: bool, now: Instant) {
        if failed {
            self.failures += 1;
            if self.probing || self.failures >= self.threshold {
                self.open_until = Some(now + self.cooldown);
            }
        } else {
            self.failures = 0;
            self.open_until = None;
        }
        self.probing = false;
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn opens_after_consecutive_failures_and_probes_after_the_cooldown() {
        let start = Instant::now();
        let mut breaker = Breaker::new(3, Duration::from_secs(10));
        for _ in 0..2 {
            assert_eq!(breaker.admit(start), Ok(()));
            breaker.record(true, start);
        }
        breaker.record(false, start);
        assert_eq!(breaker.failures(), 0, "a success resets the count");
        for _ in 0..3 {
            breaker.record(true, start);
        }
        assert_eq!(
            breaker.admit(start + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        let later = start + Duration::from_secs(11);
        assert_eq!(breaker.admit(later), Ok(()), "the probe");
        assert_eq!(
            breaker.admit(later),
            Err(Duration::ZERO),
            "only one probe at a time"
        );
        breaker.record(true, later);
        assert!(
            breaker.admit(later + Duration::from_secs(1)).is_err(),
            "a failed probe reopens it"
        );
        let after = later + Duration::from_secs(12);
        assert_eq!(breaker.admit(after), Ok(()));
        breaker.record(false, after);
        assert_eq!(breaker.admit(after), Ok(()), "a good probe closes it");
    }
}
