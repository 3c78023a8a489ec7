//! Handing the sandbox's egress sockets to the supervisor (allowlist mode).
//!
//! Owns: opening, inside the sandbox's network namespace, the sockets the egress filter
//! serves — the HTTP proxy on 127.0.0.1:3128, one listener per captured TCP port on every
//! address, the name server on 127.0.0.1:53 — and passing them over a Unix socket to the
//! supervisor, which serves them from outside. A socket keeps the namespace it was made in,
//! so no mcpguard code runs inside the sandbox for the network, and the server never holds
//! them: PID 1 sends and closes them before the server is forked.

use super::plan::{EgressPlan, PROXY_PORT};
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Most sockets one handoff carries (the kernel allows 253 descriptors per message).
pub(crate) const MAX_SOCKETS: usize = 128;
/// Room for the description of the sockets.
const MAX_DESCRIPTION: usize = 8 * 1024;

/// What a handed-over socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    /// The HTTP proxy the server's proxy variables name (TCP, 127.0.0.1:3128).
    Proxy,
    /// Connections to any address on this TCP port (transparent capture).
    Capture(u16),
    /// The sandbox's name server (UDP, 127.0.0.1:53).
    Names,
}

/// Opens the egress sockets in the current network namespace. Ports below 1024 need
/// CAP_NET_BIND_SERVICE over the namespace, which PID 1 has.
pub(crate) fn open(plan: &EgressPlan) -> io::Result<Vec<(Role, OwnedFd)>> {
    let named = |role: Role, e: io::Error| io::Error::new(e.kind(), format!("{role:?}: {e}"));
    let mut sockets: Vec<(Role, OwnedFd)> = Vec::new();
    let proxy =
        TcpListener::bind((Ipv4Addr::LOCALHOST, PROXY_PORT)).map_err(|e| named(Role::Proxy, e))?;
    sockets.push((Role::Proxy, proxy.into()));
    for &port in &plan.capture_ports {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
            .map_err(|e| named(Role::Capture(port), e))?;
        sockets.push((Role::Capture(port), listener.into()));
    }
    let names = UdpSocket::bind((Ipv4Addr::LOCALHOST, 53)).map_err(|e| named(Role::Names, e))?;
    sockets.push((Role::Names, names.into()));
    Ok(sockets)
}

/// Sends the sockets, and what each is for, in one message on `channel`.
pub(crate) fn send(channel: BorrowedFd<'_>, sockets: &[(Role, OwnedFd)]) -> io::Result<()> {
    if sockets.len() > MAX_SOCKETS {
        return Err(io::Error::other(format!(
            "{} egress sockets; at most {MAX_SOCKETS} fit one handoff",
            sockets.len()
        )));
    }
    let roles: Vec<Role> = sockets.iter().map(|(role, _)| *role).collect();
    let description = serde_json::to_vec(&roles).map_err(io::Error::other)?;
    let fds: Vec<RawFd> = sockets.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
    let control = [ControlMessage::ScmRights(&fds)];
    sendmsg::<UnixAddr>(
        channel.as_raw_fd(),
        &[IoSlice::new(&description)],
        &control,
        MsgFlags::empty(),
        None,
    )
    .map_err(io::Error::from)?;
    Ok(())
}

/// Receives the sockets PID 1 sent; `UnexpectedEof` when the sandbox ended before sending
/// them (it says why itself), another error when what arrived is not a whole handoff.
pub(crate) fn receive(channel: BorrowedFd<'_>) -> io::Result<Vec<(Role, OwnedFd)>> {
    let mut description = vec![0u8; MAX_DESCRIPTION];
    let mut control = nix::cmsg_space!([RawFd; MAX_SOCKETS]);
    let mut iov = [IoSliceMut::new(&mut description)];
    let message = recvmsg::<UnixAddr>(
        channel.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let length = message.bytes;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for item in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(received) = item {
            // SAFETY: SCM_RIGHTS hands this process new descriptors that nothing else owns.
            fds.extend(
                received
                    .into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    if message.flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(io::Error::other(
            "the egress sockets did not fit the handoff",
        ));
    }
    if length == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the sandbox ended before handing over its egress sockets",
        ));
    }
    let roles: Vec<Role> = serde_json::from_slice(&description[..length])
        .map_err(|e| io::Error::other(format!("egress handoff: {e}")))?;
    if roles.len() != fds.len() {
        return Err(io::Error::other(format!(
            "egress handoff: {} roles for {} sockets",
            roles.len(),
            fds.len()
        )));
    }
    Ok(roles.into_iter().zip(fds).collect())
}
