//! MCP method names that mcpguard acts on (both protocol eras). Everything else passes through.

pub(crate) const INITIALIZE: &str = "initialize";
pub(crate) const SERVER_DISCOVER: &str = "server/discover";
pub(crate) const TOOLS_CALL: &str = "tools/call";
pub(crate) const TOOLS_LIST: &str = "tools/list";
pub(crate) const PING: &str = "ping";
pub(crate) const NOTIFICATION_CANCELLED: &str = "notifications/cancelled";
pub(crate) const NOTIFICATION_PROGRESS: &str = "notifications/progress";
