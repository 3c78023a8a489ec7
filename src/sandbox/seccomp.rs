//! seccomp: the system calls the server may not make.
//!
//! Owns: the deny-list (what no MCP server needs and every escape uses: namespaces, mounts,
//! keyrings, ptrace, bpf, perf, io_uring, userfaultfd, kexec, modules, TTY injection), the
//! `clone3` → ENOSYS filter (so libc falls back to `clone`, whose flags can be inspected),
//! the socket-family allowlist (AF_VSOCK is not isolated by network namespaces), and the x32
//! guard that seccompiler does not generate. Filters are built as data first (`Denials`),
//! compiled to BPF, chained into one program behind a binary search that lets every call no
//! part examines through at once, and installed last, right before `execve`.

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

/// The denials compiled into BPF programs (the parts), in installation order, and every
/// syscall number their rules name (the calls they examine; every other call of the native
/// ABI they all allow).
fn parts(denials: &Denials) -> Result<(Vec<BpfProgram>, Vec<u32>), String> {
    let mut programs = Vec::new();
    if cfg!(target_arch = "x86_64") {
        programs.push(x32_guard());
    }
    let mut examined = Vec::new();
    let mut add_part = |rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32| {
        for nr in rules.keys() {
            examined.push(u32::try_from(*nr).map_err(|_| format!("syscall number {nr}"))?);
        }
        programs.push(compile(rules, errno)?);
        Ok::<(), String>(())
    };

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
    add_part(eperm, libc::EPERM)?;

    let enosys: BTreeMap<i64, Vec<SeccompRule>> = denials
        .enosys
        .iter()
        .map(|(_, nr)| (*nr, Vec::new()))
        .collect();
    add_part(enosys, libc::ENOSYS)?;

    let not_allowed = denials
        .socket_families
        .iter()
        .map(|(_, family)| condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, *family))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sockets = BTreeMap::new();
    sockets.insert(libc::SYS_socket, vec![rule(not_allowed)?]);
    add_part(sockets, libc::EAFNOSUPPORT)?;
    examined.sort_unstable();
    examined.dedup();
    Ok((programs, examined))
}

/// x86_64 syscall numbers with the x32 bit set reach the x32 ABI on kernels built with it;
/// a filter keyed on x86_64 numbers would not see them. They get ENOSYS.
fn x32_guard() -> BpfProgram {
    const BPF_LD_W_ABS: u16 = 0x20;
    const BPF_JGE_K: u16 = 0x35;
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

const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// The largest classic BPF program the kernel loads (`BPF_MAXINSNS`).
const MAX_INSTRUCTIONS: usize = 4096;

/// The denials as one program that behaves as [`parts`] stacked: each part's "allow"
/// becomes a jump to the next part, so a call is refused by the first part that refuses it.
/// That equals the kernel's verdict over stacked filters because no call is refused by two
/// parts (their syscalls are disjoint; the unit test checks every syscall). One program is
/// loaded (and JIT-compiled) once instead of four times, and runs once per system call.
/// In front of the parts, [`dispatcher`] lets through at once what no part examines.
pub(crate) fn program(denials: &Denials) -> Result<BpfProgram, String> {
    let (parts, examined) = parts(denials)?;
    let mut program = dispatcher(&examined)?;
    program.extend(chain(&parts)?);
    if program.len() > MAX_INSTRUCTIONS {
        return Err(format!(
            "the seccomp program has {} instructions, more than the kernel's {MAX_INSTRUCTIONS}",
            program.len()
        ));
    }
    Ok(program)
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_NATIVE: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_NATIVE: u32 = 0xc000_00b7;
/// Numbers at most this many are compared one by one at a leaf of the search.
const LEAF_NUMBERS: usize = 4;

/// A binary search over `examined` (sorted) that allows a native call no part examines and
/// falls through to the code right after it (the parts) for every other call: an examined
/// number, a foreign ABI, an x32 number. The verdict is the parts' own, since they allow
/// every call they do not examine (the unit test checks each syscall); what changes is the
/// kernel's work when the program is loaded. It runs the program once for every syscall
/// number of both ABIs to find the calls that are always allowed (its per-filter cache),
/// and an allowed call used to walk every comparison of every part, about 200
/// instructions; through the search it walks about ten.
fn dispatcher(examined: &[u32]) -> Result<BpfProgram, String> {
    const BPF_LD_W_ABS: u16 = 0x20;
    const BPF_JEQ_K: u16 = 0x15;
    const BPF_JGE_K: u16 = 0x35;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let instruction = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    // Each jump to the parts is made with an offset of 0 here and aimed once the length is known.
    let mut code = vec![instruction(BPF_LD_W_ABS, 0, 0, 4)];
    let foreign_arch = code.len();
    code.push(instruction(BPF_JEQ_K, 0, 0, AUDIT_ARCH_NATIVE));
    code.push(instruction(BPF_LD_W_ABS, 0, 0, 0));
    let mut jt_to_parts = Vec::new();
    if cfg!(target_arch = "x86_64") {
        jt_to_parts.push(code.len());
        code.push(instruction(BPF_JGE_K, 0, 0, X32_SYSCALL_BIT));
    }
    search(&mut code, &mut jt_to_parts, examined)?;
    let parts = code.len();
    let offset = |at: usize| {
        u8::try_from(parts - at - 1)
            .map_err(|_| "the seccomp search is too long for a conditional jump".to_owned())
    };
    for at in jt_to_parts {
        code[at].jt = offset(at)?;
    }
    code[foreign_arch].jf = offset(foreign_arch)?;
    Ok(code)
}

/// Emits the search over `numbers` (sorted): an examined number jumps to the parts (its
/// instruction's index is added to `jt_to_parts`), any other returns "allow".
fn search(
    code: &mut BpfProgram,
    jt_to_parts: &mut Vec<usize>,
    numbers: &[u32],
) -> Result<(), String> {
    const BPF_JEQ_K: u16 = 0x15;
    const BPF_JGE_K: u16 = 0x35;
    if numbers.len() <= LEAF_NUMBERS {
        for number in numbers {
            jt_to_parts.push(code.len());
            code.push(sock_filter {
                code: BPF_JEQ_K,
                jt: 0,
                jf: 0,
                k: *number,
            });
        }
        code.push(sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        });
        return Ok(());
    }
    let (low, high) = numbers.split_at(numbers.len() / 2);
    let branch = code.len();
    code.push(sock_filter {
        code: BPF_JGE_K,
        jt: 0,
        jf: 0,
        k: high[0],
    });
    search(code, jt_to_parts, low)?;
    code[branch].jt = u8::try_from(code.len() - branch - 1)
        .map_err(|_| "the seccomp search is too long for a conditional jump".to_owned())?;
    search(code, jt_to_parts, high)
}

/// Joins `parts` end to end, every `return allow` but the last part's becoming a jump to
/// the start of the next part.
fn chain(parts: &[BpfProgram]) -> Result<BpfProgram, String> {
    const BPF_CLASS_MASK: u16 = 0x07;
    const BPF_RET: u16 = 0x06;
    const BPF_JMP_JA: u16 = 0x05;
    let mut chained: BpfProgram = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for (index, part) in parts.iter().enumerate() {
        let next_part = chained.len() + part.len();
        let last = index + 1 == parts.len();
        for instruction in part {
            let at = chained.len();
            if !last && instruction.code & BPF_CLASS_MASK == BPF_RET {
                // Only constant returns can be told apart; a returned register could be
                // "allow" and would end the program before the parts after it.
                if instruction.code != BPF_RET_K {
                    return Err(format!(
                        "seccomp part {index} returns a computed action, which cannot be chained"
                    ));
                }
                if instruction.k == SECCOMP_RET_ALLOW {
                    chained.push(sock_filter {
                        code: BPF_JMP_JA,
                        jt: 0,
                        jf: 0,
                        k: u32::try_from(next_part - at - 1)
                            .map_err(|_| "seccomp program too long to chain".to_owned())?,
                    });
                    continue;
                }
            }
            chained.push(sock_filter { ..*instruction });
        }
    }
    if chained.len() > MAX_INSTRUCTIONS {
        return Err(format!(
            "the seccomp program has {} instructions, more than the kernel's {MAX_INSTRUCTIONS}",
            chained.len()
        ));
    }
    Ok(chained)
}

/// Installs the program on this thread (NO_NEW_PRIVS must already be set).
pub(crate) fn install(program: &BpfProgram) -> Result<(), String> {
    seccompiler::apply_filter(program).map_err(|e| e.to_string())
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

    /// What the kernel hands a filter (`struct seccomp_data`), as the words a filter loads.
    struct Call {
        arch: u32,
        nr: u32,
        args: [u64; 6],
    }

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    impl Call {
        fn new(nr: i64, args: &[u64]) -> Self {
            let mut all = [0u64; 6];
            all[..args.len()].copy_from_slice(args);
            Call {
                arch: AUDIT_ARCH_X86_64,
                nr: nr as u32,
                args: all,
            }
        }

        fn word(&self, offset: u32) -> u32 {
            match offset {
                0 => self.nr,
                4 => self.arch,
                16..=63 if offset.is_multiple_of(4) => {
                    let arg = self.args[(offset as usize - 16) / 8];
                    if offset.is_multiple_of(8) {
                        arg as u32
                    } else {
                        (arg >> 32) as u32
                    }
                }
                _ => panic!("load of seccomp_data offset {offset}"),
            }
        }
    }

    /// A classic BPF interpreter for the instructions these programs use; panics on others,
    /// so an unexpected instruction fails the test rather than being misread.
    fn run(program: &[sock_filter], call: &Call) -> u32 {
        run_counting(program, call).0
    }

    /// The verdict, and how many instructions the program ran to reach it.
    fn run_counting(program: &[sock_filter], call: &Call) -> (u32, usize) {
        let (mut a, mut pc, mut steps) = (0u32, 0usize, 0usize);
        loop {
            let i = &program[pc];
            pc += 1;
            steps += 1;
            let jump = |taken: bool| if taken { i.jt as usize } else { i.jf as usize };
            match i.code {
                0x20 => a = call.word(i.k),
                0x54 => a &= i.k,
                0x05 => pc += i.k as usize,
                0x15 => pc += jump(a == i.k),
                0x25 => pc += jump(a > i.k),
                0x35 => pc += jump(a >= i.k),
                0x45 => pc += jump(a & i.k != 0),
                0x06 => return (i.k, steps),
                code => panic!("instruction {code:#x} at {}", pc - 1),
            }
        }
    }

    /// The kernel's verdict over stacked filters: the most restrictive action wins.
    fn stacked(programs: &[BpfProgram], call: &Call) -> u32 {
        programs
            .iter()
            .map(|p| run(p, call))
            .min_by_key(|verdict| (verdict & 0xffff_0000) as i32)
            .unwrap()
    }

    fn calls_to_judge() -> Vec<Call> {
        let mut calls: Vec<Call> = (0..=470).map(|nr| Call::new(nr, &[])).collect();
        calls.extend((0..=10).map(|nr| Call::new(0x4000_0000 + nr, &[])));
        calls.extend(
            CLONE_NAMESPACE_FLAGS
                .iter()
                .chain(&[0, libc::CLONE_VM as u64 | libc::CLONE_THREAD as u64])
                .map(|flags| Call::new(libc::SYS_clone, &[*flags])),
        );
        calls.extend((0..=45).map(|family| Call::new(libc::SYS_socket, &[family])));
        calls.extend(
            [TIOCSTI, TIOCLINUX, 0xffff_ffff_0000_0000 | TIOCSTI, 0x5413]
                .iter()
                .map(|request| Call::new(libc::SYS_ioctl, &[0, *request])),
        );
        calls.extend(
            [0, 0xffff_ffff, 0x0040_0000, 8]
                .iter()
                .map(|persona| Call::new(libc::SYS_personality, &[*persona])),
        );
        let mut foreign = Call::new(libc::SYS_getpid, &[]);
        foreign.arch = AUDIT_ARCH_I386;
        calls.push(foreign);
        calls
    }

    #[test]
    fn the_chained_program_judges_every_call_as_the_stacked_filters_do() {
        for allow_inet in [true, false] {
            let (parts, examined) = super::parts(&denials(allow_inet)).unwrap();
            let chained = program(&denials(allow_inet)).unwrap();
            assert_eq!(
                chained.len(),
                dispatcher(&examined).unwrap().len() + parts.iter().map(Vec::len).sum::<usize>()
            );
            for call in calls_to_judge() {
                // Disjoint: no call is refused by two parts (the arch check aside, on which
                // every part agrees), so "first refusal" and "most restrictive" coincide.
                let refusing = parts
                    .iter()
                    .filter(|p| run(p, &call) != SECCOMP_RET_ALLOW)
                    .count();
                assert!(
                    refusing <= 1 || call.arch != AUDIT_ARCH_X86_64,
                    "syscall {} is refused by {refusing} parts",
                    call.nr
                );
                assert_eq!(
                    run(&chained, &call),
                    stacked(&parts, &call),
                    "syscall {} args {:?} (inet {allow_inet})",
                    call.nr,
                    call.args
                );
            }
        }
    }

    #[test]
    fn the_chained_program_refuses_what_the_escape_checklist_names() {
        let chained = program(&denials(false)).unwrap();
        let errno = |e: i32| 0x0005_0000 | e as u32;
        let verdicts: Vec<u32> = [
            Call::new(libc::SYS_unshare, &[]),
            Call::new(libc::SYS_clone3, &[]),
            Call::new(libc::SYS_clone, &[libc::CLONE_NEWUSER as u64]),
            Call::new(libc::SYS_socket, &[libc::AF_VSOCK as u64]),
            Call::new(libc::SYS_socket, &[libc::AF_INET as u64]),
            Call::new(0x4000_0000 + libc::SYS_getpid, &[]),
            Call::new(libc::SYS_read, &[]),
            Call::new(libc::SYS_socket, &[libc::AF_UNIX as u64]),
        ]
        .iter()
        .map(|call| run(&chained, call))
        .collect();
        assert_eq!(
            verdicts,
            vec![
                errno(libc::EPERM),
                errno(libc::ENOSYS),
                errno(libc::EPERM),
                errno(libc::EAFNOSUPPORT),
                errno(libc::EAFNOSUPPORT),
                errno(libc::ENOSYS),
                SECCOMP_RET_ALLOW,
                SECCOMP_RET_ALLOW,
            ]
        );
    }

    #[test]
    fn a_call_no_part_examines_is_allowed_after_a_short_search() {
        let denials = denials(true);
        let (parts, examined) = super::parts(&denials).unwrap();
        let chained = program(&denials).unwrap();
        let unexamined: Vec<Call> = (0..=470)
            .filter(|nr| !examined.contains(&(*nr as u32)))
            .map(|nr| Call::new(nr, &[]))
            .collect();
        assert!(unexamined.len() > 350, "{} unexamined", unexamined.len());
        let longest = unexamined
            .iter()
            .map(|call| {
                let (verdict, steps) = run_counting(&chained, call);
                assert_eq!(verdict, SECCOMP_RET_ALLOW, "syscall {}", call.nr);
                steps
            })
            .max()
            .unwrap();
        let through_the_parts = unexamined
            .iter()
            .map(|call| run_counting(&chain(&parts).unwrap(), call).1)
            .min()
            .unwrap();
        assert!(
            longest <= 16 && through_the_parts > 100,
            "searched in at most {longest} steps, through the parts in {through_the_parts}"
        );
    }

    #[test]
    fn a_computed_return_cannot_be_chained() {
        let computed = vec![sock_filter {
            code: 0x16, // BPF_RET | BPF_A
            jt: 0,
            jf: 0,
            k: 0,
        }];
        assert!(chain(&[computed, x32_guard()]).is_err());
    }

    #[test]
    fn programs_compile_with_the_x32_guard_first() {
        let programs = parts(&denials(true)).unwrap().0;
        assert_eq!(programs.len(), 4);
        assert_eq!(programs[0], x32_guard());
        assert!(programs.iter().all(|p| !p.is_empty() && p.len() < 4096));
    }
}
