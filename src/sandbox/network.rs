//! The sandbox's network: loopback up inside an otherwise empty network namespace.
//!
//! Owns: bringing `lo` up (UDP and Unix-domain traffic among the server's own processes
//! keeps working; Landlock refuses TCP there where the kernel allows) and, in allowlist
//! mode, the extra loopback addresses whose connections reach the egress filter's sockets
//! (`handoff` opens those). There is no other interface and no route, so nothing leaves
//! except through the filter.

use std::io;
use std::net::Ipv4Addr;

/// Sets IFF_UP on `lo`. Needs CAP_NET_ADMIN over the network namespace (PID 1 has it).
pub(crate) fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain datagram socket used only for the interface ioctls below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `ifreq` is plain data; zero is a valid value for every field.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the `ifreq` we own.
    let result = unsafe {
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) < 0 {
            Err(io::Error::last_os_error())
        } else {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &request) < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
    };
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(fd) };
    result
}

/// Gives `lo` the address `address/prefix`. On a loopback device the kernel makes the
/// whole prefix local, so a connection to any address in it is delivered to this
/// namespace's own listeners, with the address it was meant for as the local address.
/// Needs CAP_NET_ADMIN over the network namespace (PID 1 has it).
pub(crate) fn add_loopback_address(address: Ipv4Addr, prefix: u8) -> io::Result<()> {
    const RTM_NEWADDR: u16 = 20;
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const RT_SCOPE_HOST: u8 = 254;
    const NLMSG_ERROR: u16 = 2;
    let name = c"lo";
    // SAFETY: if_nametoindex reads a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    // nlmsghdr (16) + ifaddrmsg (8) + two 8-byte attributes.
    let mut message = Vec::with_capacity(40);
    message.extend_from_slice(&40u32.to_ne_bytes());
    message.extend_from_slice(&RTM_NEWADDR.to_ne_bytes());
    let flags =
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
    message.extend_from_slice(&flags.to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&[libc::AF_INET as u8, prefix, 0, RT_SCOPE_HOST]);
    message.extend_from_slice(&index.to_ne_bytes());
    for kind in [IFA_LOCAL, IFA_ADDRESS] {
        message.extend_from_slice(&8u16.to_ne_bytes());
        message.extend_from_slice(&kind.to_ne_bytes());
        message.extend_from_slice(&address.octets());
    }
    // SAFETY: a netlink socket used for this one request and closed below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let exchange = || -> io::Result<()> {
        // SAFETY: sending our own buffer to the kernel (the socket's default peer).
        let sent = unsafe { libc::send(fd, message.as_ptr().cast(), message.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut reply = [0u8; 256];
        // SAFETY: receiving into a buffer we own, of the length given.
        let got = unsafe { libc::recv(fd, reply.as_mut_ptr().cast(), reply.len(), 0) };
        if got < 0 {
            return Err(io::Error::last_os_error());
        }
        let reply = &reply[..got as usize];
        let kind = reply.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
        let code = reply
            .get(16..20)
            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
        match (kind, code) {
            (Some(NLMSG_ERROR), Some(0)) => Ok(()),
            (Some(NLMSG_ERROR), Some(code)) => Err(io::Error::from_raw_os_error(-code)),
            _ => Err(io::Error::other("unexpected netlink reply")),
        }
    };
    let result = exchange();
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(fd) };
    result
}
