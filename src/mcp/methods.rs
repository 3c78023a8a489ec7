//! MCP method names that mcpguard acts on (both protocol eras). Everything else passes through.

pub const INITIALIZE: &str = "initialize";
pub const SERVER_DISCOVER: &str = "server/discover";
pub const TOOLS_CALL: &str = "tools/call";
pub const TOOLS_LIST: &str = "tools/list";
pub const PING: &str = "ping";
pub const NOTIFICATION_CANCELLED: &str = "notifications/cancelled";
pub const NOTIFICATION_PROGRESS: &str = "notifications/progress";
