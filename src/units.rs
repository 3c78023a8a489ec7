//! Human-friendly sizes and durations on the command line ("16MiB", "60s", "off").

use std::time::Duration;

/// Why a size or a duration was not understood; each says how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnitError {
    #[error("`{0}` is not a size; write it like 16MiB, 512KiB or 1000000")]
    NotASize(String),
    #[error("unknown size unit `{unit}` in `{text}`; use B, KiB, MiB or GiB")]
    UnknownUnit { unit: String, text: String },
    #[error("`{0}` is too large")]
    TooLarge(String),
    #[error("a size of 0 would refuse every message")]
    Zero,
    #[error("`{text}` is not a duration ({why}); write it like 60s, 2m or 500ms")]
    NotADuration { text: String, why: String },
    #[error("`{0}` is longer than a year; write `off` for no limit")]
    TooLong(String),
}

/// The longest duration accepted: deadlines are instants, and one past the clock's range
/// would not be a limit at all.
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses a byte size: a number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB).
pub(crate) fn parse_size(text: &str) -> Result<usize, UnitError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits
        .parse()
        .map_err(|_| UnitError::NotASize(text.to_owned()))?;
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(UnitError::UnknownUnit {
                unit: other.to_owned(),
                text: text.to_owned(),
            });
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| UnitError::TooLarge(text.to_owned()))?;
    if bytes == 0 {
        return Err(UnitError::Zero);
    }
    Ok(bytes)
}

/// A time limit that can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit(pub Option<Duration>);

/// Parses a duration such as `60s`, `2m`, `500ms`; `off` means no limit.
pub(crate) fn parse_timeout(text: &str) -> Result<Limit, UnitError> {
    if text.trim() == "off" {
        return Ok(Limit(None));
    }
    parse_duration(text).map(|d| Limit(Some(d)))
}

/// Parses a duration such as `60s`, `2m`, `500ms`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let duration = humantime::parse_duration(text.trim()).map_err(|e| UnitError::NotADuration {
        text: text.to_owned(),
        why: e.to_string(),
    })?;
    if duration > LONGEST {
        return Err(UnitError::TooLong(text.to_owned()));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert!(parse_size("0").is_err());
        assert_eq!(
            parse_size("12 parsecs"),
            Err(UnitError::UnknownUnit {
                unit: "parsecs".into(),
                text: "12 parsecs".into()
            })
        );
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn durations_past_a_year_are_refused() {
        assert_eq!(
            parse_duration("500000000y"),
            Err(UnitError::TooLong("500000000y".into()))
        );
        assert!(parse_duration("365d").is_ok());
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_timeout("60s"),
            Ok(Limit(Some(Duration::from_secs(60))))
        );
        assert_eq!(
            parse_timeout("500ms"),
            Ok(Limit(Some(Duration::from_millis(500))))
        );
        assert_eq!(parse_timeout("off"), Ok(Limit(None)));
        assert!(parse_timeout("soon").is_err());
    }
}
