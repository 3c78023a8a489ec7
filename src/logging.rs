//! Diagnostics on stderr (never the audit trail). Each line starts with `mcpguard:` so it
//! stands apart from the server's own stderr (relayed with a `[server]` prefix), which is
//! interleaved with it. Diagnostics quote what servers and models send (tool names,
//! findings, previews), so every event's text is escaped for the terminal (`terminal`) as
//! a whole: one event is one line, whatever the values in it hold.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::registry::LookupSpan;

struct Prefixed;

impl<S, N> FormatEvent<S, N> for Prefixed
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let mut text = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut text), event)?;
        writeln!(
            writer,
            "mcpguard: {level}: {}",
            crate::terminal::escape(&text)
        )
    }
}

/// Fields as they are: the message, then `name=value` for the others. tracing-subscriber's
/// own fields escape ESC as `\x1b` and leave CR and LF raw; `Prefixed` escapes the whole
/// text instead, the same way as every other output of mcpguard.
fn raw_fields() -> impl for<'writer> FormatFields<'writer> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        if field.name() == "message" {
            write!(writer, "{value:?}")
        } else {
            write!(writer, "{field}={value:?}")
        }
    })
    .delimited(" ")
}

/// Sets up diagnostics: warnings by default, more with `-v`, errors only with `-q`; to
/// stderr, and also to a daily rolling file in `log_dir` when given.
pub(crate) fn init(verbose: u8, quiet: bool, log_dir: Option<&std::path::Path>) {
    let level = match (quiet, verbose) {
        (true, _) => Level::ERROR,
        (false, 0) => Level::WARN,
        (false, 1) => Level::INFO,
        (false, 2) => Level::DEBUG,
        (false, _) => Level::TRACE,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .fmt_fields(raw_fields())
        .event_format(Prefixed);
    let result = match log_dir {
        Some(dir) => {
            // The appender complains on stderr when its directory is missing; create it first.
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!(
                    "mcpguard: warning: cannot create the log directory {}: {e}",
                    dir.display()
                );
            }
            let file = tracing_appender::rolling::daily(dir, "mcpguard.log");
            builder.with_writer(std::io::stderr.and(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    if let Err(e) = result {
        eprintln!("mcpguard: warning: diagnostics are off: {e}");
    }
}
