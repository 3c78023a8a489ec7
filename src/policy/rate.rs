//! Stage: the rate of tool calls (a token bucket with an injectable clock).
//!
//! Owns: parsing `limits.calls` (`N/sec`, `N/min`, `N/hour`) and `limits.burst`, and
//! deciding whether one more call fits now.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateSpec {
    /// Tokens added per second.
    pub(crate) per_second: f64,
    /// Bucket size.
    pub(crate) burst: f64,
}

impl RateSpec {
    pub(crate) fn parse(text: &str, burst: Option<u32>) -> Result<RateSpec, String> {
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| format!("limits.calls = \"{text}\": write it like \"120/min\""))?;
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| format!("limits.calls = \"{text}\": `{count}` is not a number"))?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            other => {
                return Err(format!(
                    "limits.calls = \"{text}\": unknown unit `{other}`; use sec, min or hour"
                ));
            }
        };
        if !count.is_finite() || count < 1.0 {
            return Err(format!(
                "limits.calls = \"{text}\": the rate must be a whole number of calls, at least 1"
            ));
        }
        Ok(RateSpec {
            per_second: count / seconds,
            burst: f64::from(burst.unwrap_or(1).max(1)),
        })
    }
}

/// The period a rate text names, in seconds (`"10/min"`: 60); 1 when unreadable.
pub(crate) fn seconds_of(text: &str) -> f64 {
    match text.split_once('/').map(|(_, unit)| unit.trim()) {
        Some("m" | "min" | "minute") => 60.0,
        Some("h" | "hour") => 3600.0,
        _ => 1.0,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    spec: RateSpec,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(spec: RateSpec, now: Instant) -> Bucket {
        Bucket {
            spec,
            tokens: spec.burst,
            last: now,
        }
    }

    /// Takes a token if one is there; otherwise says how long until one is.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.spec.per_second).min(self.spec.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.spec.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let spec = RateSpec::parse("60/min", Some(2)).unwrap();
        assert_eq!(
            spec,
            RateSpec {
                per_second: 1.0,
                burst: 2.0
            }
        );
        let start = Instant::now();
        let mut bucket = Bucket::new(spec, start);
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        assert_eq!(bucket.take(start), Err(Duration::from_secs(1)));
        assert!(bucket.take(start + Duration::from_millis(1000)).is_ok());
        assert!(RateSpec::parse("fast", None).is_err());
        assert!(RateSpec::parse("NaN/min", None).is_err());
        assert!(RateSpec::parse("1e-300/sec", None).is_err());
        assert!(
            RateSpec::parse("10/fortnight", None)
                .unwrap_err()
                .contains("unknown unit")
        );
    }
}
