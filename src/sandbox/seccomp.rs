//! seccomp: the system calls the server may not make.
//!
//! Owns: the deny-list (what no MCP server needs and every escape uses: namespaces, mounts,
//! keyrings, ptrace, bpf, perf, io_uring, userfaultfd, kexec, modules, TTY injection), the
//! `clone3` → ENOSYS filter (so libc falls back to `clone`, whose flags can be inspected),
//! the socket-family allowlist (AF_VSOCK is not isolated by network namespaces), and the x32
//! guard that seccompiler does not generate. Filters are built as data first (`Denials`),
//! compiled to BPF, and installed last, right before `execve`.

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};
use std::collections::BTreeMap;

/// The syscalls refused, by name, and why they are grouped as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Denials {
    /// Refused with EPERM outright.
    pub(crate) eperm: Vec<(&'static str, i64)>,
    /// Refused with ENOSYS (callers fall back, or the call is newer than any need).
    pub(crate) enosys: Vec<(&'static str, i64)>,
    /// Socket families allowed; every other family gets EAFNOSUPPORT.
    pub(crate) socket_families: Vec<(&'static str, u64)>,
}

/// `clone` flags that create namespaces; `clone` with any of them is refused.
const CLONE_NAMESPACE_FLAGS: [u64; 8] = [
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
    0x80, // CLONE_NEWTIME
];

const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;

macro_rules! calls {
    ($($name:ident),* $(,)?) => {
        vec![$((stringify!($name), libc::$name as i64)),*]
    };
}

/// The default denials. `allow_inet` is false in degraded mode with no network, where no
/// network namespace stands between the server and the host's network.
pub(crate) fn denials(allow_inet: bool) -> Denials {
    let eperm = calls![
        SYS_syslog,
        SYS_uselib,
        SYS_acct,
        SYS_modify_ldt,
        SYS_quotactl,
        SYS_add_key,
        SYS_keyctl,
        SYS_request_key,
        SYS_move_pages,
        SYS_mbind,
        SYS_get_mempolicy,
        SYS_set_mempolicy,
        SYS_migrate_pages,
        SYS_unshare,
        SYS_setns,
        SYS_mount,
        SYS_umount2,
        SYS_pivot_root,
        SYS_chroot,
        SYS_ptrace,
        SYS_process_vm_readv,
        SYS_process_vm_writev,
        SYS_pidfd_getfd,
        SYS_perf_event_open,
        SYS_bpf,
        SYS_userfaultfd,
        SYS_io_uring_setup,
        SYS_io_uring_enter,
        SYS_io_uring_register,
        SYS_kexec_load,
        SYS_kexec_file_load,
        SYS_init_module,
        SYS_finit_module,
        SYS_delete_module,
        SYS_reboot,
        SYS_swapon,
        SYS_swapoff,
        SYS_name_to_handle_at,
        SYS_open_by_handle_at,
        SYS_lookup_dcookie,
        SYS_fanotify_init,
        SYS_vhangup,
        SYS_nfsservctl,
        SYS_settimeofday,
        SYS_clock_settime,
        SYS_clock_adjtime,
        SYS_adjtimex,
        SYS_sethostname,
        SYS_setdomainname,
        SYS_iopl,
        SYS_ioperm,
    ];
    let enosys = calls![
        SYS_clone3,
        SYS_open_tree,
        SYS_move_mount,
        SYS_fsopen,
        SYS_fsconfig,
        SYS_fsmount,
        SYS_fspick,
        SYS_mount_setattr,
    ];
    let mut socket_families = vec![
        ("AF_UNIX", libc::AF_UNIX as u64),
        ("AF_NETLINK", libc::AF_NETLINK as u64),
    ];
    if allow_inet {
        socket_families.push(("AF_INET", libc::AF_INET as u64));
        socket_families.push(("AF_INET6", libc::AF_INET6 as u64));
    }
    Denials {
        eperm,
        enosys,
        socket_families,
    }
}

fn condition(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, String> {
    SeccompCondition::new(arg, len, op, value).map_err(|e| e.to_string())
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram, String> {
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch(),
    )
    .map_err(|e| e.to_string())?;
    BpfProgram::try_from(filter).map_err(|e| e.to_string())
}

fn arch() -> TargetArch {
    if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        TargetArch::x86_64
    }
}

/// Compiles the denials into BPF programs, in installation order.
pub(crate) fn programs(denials: &Denials) -> Result<Vec<BpfProgram>, String> {
    let mut programs = Vec::new();
    if cfg!(target_arch = "x86_64") {
        programs.push(x32_guard());
    }

    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> = denials
        .eperm
        .iter()
        .map(|(_, nr)| (*nr, Vec::new()))
        .collect();
    let clone_rules = CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|flag| {
            rule(vec![condition(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(*flag),
                *flag,
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    eperm.insert(libc::SYS_clone, clone_rules);
    // The request is compared on its low 32 bits, as the kernel does (CVE-2019-10063).
    eperm.insert(
        libc::SYS_ioctl,
        vec![
            rule(vec![condition(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                TIOCSTI,
            )?])?,
            rule(vec![condition(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                TIOCLINUX,
            )?])?,
        ],
    );
    // personality() may only query or keep the default (PER_LINUX); other personas disable
    // address-space randomisation or change the syscall ABI.
    eperm.insert(
        libc::SYS_personality,
        vec![rule(vec![
            condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0)?,
            condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0xffff_ffff)?,
        ])?],
    );
    programs.push(compile(eperm, libc::EPERM)?);

    let enosys: BTreeMap<i64, Vec<SeccompRule>> = denials
        .enosys
        .iter()
        .map(|(_, nr)| (*nr, Vec::new()))
        .collect();
    programs.push(compile(enosys, libc::ENOSYS)?);

    let not_allowed = denials
        .socket_families
        .iter()
        .map(|(_, family)| condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, *family))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sockets = BTreeMap::new();
    sockets.insert(libc::SYS_socket, vec![rule(not_allowed)?]);
    programs.push(compile(sockets, libc::EAFNOSUPPORT)?);
    Ok(programs)
}

/// x86_64 syscall numbers with the x32 bit set reach the x32 ABI on kernels built with it;
/// a filter keyed on x86_64 numbers would not see them. They get ENOSYS.
fn x32_guard() -> BpfProgram {
    const BPF_LD_W_ABS: u16 = 0x20;
    const BPF_JGE_K: u16 = 0x35;
    const BPF_RET_K: u16 = 0x06;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    vec![
        // A = seccomp_data.nr
        sock_filter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        sock_filter {
            code: BPF_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        },
        sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ]
}

/// Installs the programs on this thread (NO_NEW_PRIVS must already be set).
pub(crate) fn install(programs: &[BpfProgram]) -> Result<(), String> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn names(list: &[(&'static str, i64)]) -> Vec<&'static str> {
        list.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn denials_cover_the_escape_checklist() {
        let d = denials(true);
        for needed in [
            "SYS_unshare",
            "SYS_setns",
            "SYS_mount",
            "SYS_umount2",
            "SYS_pivot_root",
            "SYS_chroot",
            "SYS_keyctl",
            "SYS_add_key",
            "SYS_request_key",
            "SYS_ptrace",
            "SYS_process_vm_readv",
            "SYS_bpf",
            "SYS_perf_event_open",
            "SYS_io_uring_setup",
            "SYS_userfaultfd",
            "SYS_kexec_load",
            "SYS_init_module",
            "SYS_finit_module",
            "SYS_open_by_handle_at",
            "SYS_syslog",
        ] {
            assert!(names(&d.eperm).contains(&needed), "{needed} is not denied");
        }
        assert_eq!(
            names(&d.enosys),
            vec![
                "SYS_clone3",
                "SYS_open_tree",
                "SYS_move_mount",
                "SYS_fsopen",
                "SYS_fsconfig",
                "SYS_fsmount",
                "SYS_fspick",
                "SYS_mount_setattr"
            ]
        );
        assert_eq!(
            d.socket_families
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>(),
            vec!["AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"]
        );
        assert_eq!(
            denials(false)
                .socket_families
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>(),
            vec!["AF_UNIX", "AF_NETLINK"]
        );
    }

    #[test]
    fn programs_compile_with_the_x32_guard_first() {
        let programs = programs(&denials(true)).unwrap();
        assert_eq!(programs.len(), 4);
        assert_eq!(programs[0], x32_guard());
        assert!(programs.iter().all(|p| !p.is_empty() && p.len() < 4096));
    }
}
