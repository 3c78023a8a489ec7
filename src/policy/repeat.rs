//! Stage: loop detection (an injectable clock, pure).
//!
//! Owns: noticing the same tool called with the same arguments again and again in a short
//! window, the mark of an agent stuck in a loop or a runaway exfiltration, and refusing the
//! call that makes it `count` times.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct Repeats {
    count: usize,
    window: Duration,
    /// When each call in the window came, and the digest of its key (a key holds the
    /// arguments, which may be megabytes; the window keeps only 32 bytes of each).
    seen: VecDeque<(Instant, [u8; 32])>,
}

impl Repeats {
    pub(crate) fn new(count: usize, window: Duration) -> Repeats {
        Repeats {
            count: count.max(2),
            window,
            seen: VecDeque::new(),
        }
    }

    /// Records a call identified by `key` (tool and canonical arguments); `Err` with how many
    /// identical calls the window already holds when this one would reach the limit.
    pub(crate) fn check(&mut self, key: &str, now: Instant) -> Result<(), usize> {
        while self
            .seen
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > self.window)
        {
            self.seen.pop_front();
        }
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        let same = self.seen.iter().filter(|(_, k)| *k == digest).count();
        if same + 1 >= self.count {
            return Err(same);
        }
        self.seen.push_back((now, digest));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_same_call_too_often_is_refused_until_the_window_passes() {
        let start = Instant::now();
        let mut repeats = Repeats::new(3, Duration::from_secs(60));
        assert_eq!(repeats.check("read:{\"p\":1}", start), Ok(()));
        assert_eq!(repeats.check("read:{\"p\":2}", start), Ok(()));
        assert_eq!(repeats.check("read:{\"p\":1}", start), Ok(()));
        assert_eq!(repeats.check("read:{\"p\":1}", start), Err(2));
        assert_eq!(
            repeats.check("read:{\"p\":1}", start + Duration::from_secs(61)),
            Ok(())
        );
    }
}
