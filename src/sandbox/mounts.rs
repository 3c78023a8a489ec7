//! Building the server's view of the filesystem and moving into it.
//!
//! Owns: the private mount propagation, the staging tmpfs that becomes `/`, each bind (made
//! read-only, nosuid, nodev recursively with `mount_setattr`, so a read-only view cannot be
//! remounted writable from inside), the masks over host secrets, the fresh `/proc`, the
//! minimal `/dev`, and `pivot_root` with the old root detached. Runs in PID 1 of the new pid
//! namespace (a fresh /proc must be mounted from inside it).
//!
//! Every writable scratch directory (/tmp, /var/tmp, /run, home, /dev/shm) is a directory of
//! one tmpfs sized by the plan's tmpfs budget, so the budget is shared: separate tmpfs
//! mounts would each default to half the machine's memory. That tmpfs is mounted on the
//! staging directory, in the old root, and the new root on a directory of it, so the old
//! root's detach takes it along and no path shows the whole of it. Every other tmpfs (the
//! skeleton root, /dev, the one every masked directory is bound from) is small and read-only
//! once built. The pid namespace's `pid_max` is set on the fresh /proc before its knobs turn
//! read-only.

use super::limits::ResourceLimits;
use super::plan::{DEVICES, Mount, SecretText};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A failed step, named for the user.
#[derive(Debug, thiserror::Error)]
#[error("{step} {path}: {source}")]
pub(crate) struct MountError {
    step: &'static str,
    path: PathBuf,
    source: io::Error,
}

fn fail<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(nix::Error) -> MountError + 'a {
    move |e| MountError {
        step,
        path: path.to_path_buf(),
        source: io::Error::from(e),
    }
}

fn fail_io<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> MountError + 'a {
    move |source| MountError {
        step,
        path: path.to_path_buf(),
        source,
    }
}

/// Places tried for the staging root: each must exist and must not contain anything that
/// is bound into the view (mounting over it hides its contents in this namespace).
const STAGING_CANDIDATES: [&str; 6] = ["/mnt", "/media", "/srv", "/run", "/var/tmp", "/tmp"];

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Sets attributes on the mount at `path` and every mount below it.
fn set_attributes(path: &Path, attr_set: u64) -> io::Result<()> {
    mount_setattr(path, attr_set, libc::AT_RECURSIVE as libc::c_uint)
}

/// Like `set_attributes`, for the one mount at `path` only.
fn set_attributes_single(path: &Path, attr_set: u64) -> io::Result<()> {
    mount_setattr(path, attr_set, 0)
}

fn mount_setattr(path: &Path, attr_set: u64, flags: libc::c_uint) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())?;
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr reads `size_of::<MountAttr>()` bytes from a live struct and the
    // path from a NUL-terminated string; it writes nothing of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn inside(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// Creates what a mount will sit on: a directory, or an empty file for a file source;
/// whatever is already there is used as it is. Created first and its parents only when
/// they are missing: the view is built in an empty tmpfs, where a look before each step
/// cost three system calls a mount point.
fn make_mountpoint(target: &Path, source_is_dir: bool) -> io::Result<()> {
    let create = || {
        if source_is_dir {
            std::fs::create_dir(target)
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(target)
                .map(drop)
        }
    };
    match create() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            create()
        }
        made => made,
    }
    .or_else(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => Ok(()),
        _ => Err(e),
    })
}

fn bind(source: &Path, target: &Path, writable: bool) -> Result<(), MountError> {
    let is_dir = source.is_dir();
    make_mountpoint(target, is_dir).map_err(fail_io("create mount point", target))?;
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(fail("bind", source))?;
    let attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | if writable { 0 } else { MOUNT_ATTR_RDONLY };
    set_attributes(target, attrs).map_err(fail_io("restrict", source))
}

/// What the masks are bound from: an empty read-only directory (a tmpfs of its own, mode
/// 000) and `/dev/null` read-only, each made once, in the scratch tmpfs, which no path of
/// the view reaches and which leaves with the old root. A bind copies the read-only,
/// nosuid and nodev flags of the mount it is made from, so each mask is one bind instead
/// of a new tmpfs or a bind of `/dev/null`, each followed by a change of its flags.
struct MaskSources {
    scratch: PathBuf,
    empty_dir: Option<PathBuf>,
    null_file: Option<PathBuf>,
}

impl MaskSources {
    fn new(scratch: &Path) -> MaskSources {
        MaskSources {
            scratch: scratch.to_path_buf(),
            empty_dir: None,
            null_file: None,
        }
    }

    /// Hides what is at `target` (a directory when `is_dir`) behind an empty, read-only one.
    fn mask(&mut self, target: &Path, is_dir: bool) -> Result<(), MountError> {
        let source = if is_dir {
            self.empty_dir()?
        } else {
            self.null_file()?
        };
        make_mountpoint(target, is_dir).map_err(fail_io("create mount point", target))?;
        mount(
            Some(source.as_path()),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(fail("mask", target))
    }

    fn empty_dir(&mut self) -> Result<PathBuf, MountError> {
        if let Some(made) = &self.empty_dir {
            return Ok(made.clone());
        }
        let target = self.scratch.join("mask-dir");
        make_mountpoint(&target, true).map_err(fail_io("create mount point", &target))?;
        // Empty and read-only, so a few pages are plenty.
        let options = format!("mode=000,size={SMALL_TMPFS},nr_inodes=64");
        mount(
            Some("tmpfs"),
            &target,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_str()),
        )
        .map_err(fail("mount tmpfs on", &target))?;
        set_attributes_single(&target, MOUNT_ATTR_RDONLY).map_err(fail_io("restrict", &target))?;
        Ok(self.empty_dir.insert(target).clone())
    }

    fn null_file(&mut self) -> Result<PathBuf, MountError> {
        if let Some(made) = &self.null_file {
            return Ok(made.clone());
        }
        let target = self.scratch.join("mask-file");
        bind(Path::new("/dev/null"), &target, false)?;
        Ok(self.null_file.insert(target).clone())
    }
}

/// Size of the tmpfs mounts that only hold mcpguard's own skeleton (the root, /dev, masks),
/// each read-only once built.
const SMALL_TMPFS: &str = "4m";
/// The directory of the scratch tmpfs the new root is mounted on (scratch directories are
/// named by number, mask sources `mask-*`).
const NEW_ROOT: &str = "root";

/// Mounts the shared scratch tmpfs on `target`: `limits.tmpfs` bytes for every scratch
/// directory.
fn scratch(target: &Path, limits: &ResourceLimits) -> Result<(), MountError> {
    let options = format!(
        "mode=755,size={},nr_inodes={}",
        limits.tmpfs,
        limits.tmpfs_inodes()
    );
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options.as_str()),
    )
    .map_err(fail("mount the shared tmpfs on", target))
}

/// A fresh directory of the scratch tmpfs (the `index`th), with `mode`, bound at `target`.
fn scratch_dir(scratch: &Path, index: usize, target: &Path, mode: u32) -> Result<(), MountError> {
    use std::os::unix::fs::PermissionsExt;
    let source = scratch.join(index.to_string());
    let make = || -> io::Result<()> {
        std::fs::create_dir(&source)?;
        // Set after creation: the umask must not narrow /tmp's 1777.
        std::fs::set_permissions(&source, std::fs::Permissions::from_mode(mode))
    };
    make().map_err(fail_io("create", &source))?;
    // A bind takes the flags of the mount it is made from: the scratch tmpfs is nosuid and
    // nodev already, so no second call sets them (a directory of its own holds no mounts).
    make_mountpoint(target, true).map_err(fail_io("create mount point", target))?;
    mount(
        Some(&source),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(fail("bind", &source))
}

/// Chooses where to assemble the new root.
fn staging_dir(mounts: &[Mount]) -> Option<PathBuf> {
    let sources: Vec<&Path> = mounts
        .iter()
        .filter_map(|m| match m {
            Mount::Bind { path, .. } => Some(path.as_path()),
            Mount::BindAt { source, .. } => Some(source.as_path()),
            _ => None,
        })
        .collect();
    STAGING_CANDIDATES
        .iter()
        .map(Path::new)
        .find(|candidate| {
            candidate.is_dir()
                && !sources
                    .iter()
                    .any(|s| s.starts_with(candidate) || candidate.starts_with(s))
        })
        .map(Path::to_path_buf)
}

/// Builds the view described by `mounts` and makes it the root, within `limits`.
pub(crate) fn build_root(mounts: &[Mount], limits: &ResourceLimits) -> Result<(), MountError> {
    let root_fs = Path::new("/");
    mount(
        None::<&str>,
        root_fs,
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(fail("make private", root_fs))?;
    let scratch = staging_dir(mounts).ok_or_else(|| MountError {
        step: "find a staging directory",
        path: PathBuf::from("/"),
        source: io::Error::other("every candidate holds a path that is bound into the view"),
    })?;
    self::scratch(&scratch, limits)?;
    let staging = scratch.join(NEW_ROOT);
    make_mountpoint(&staging, true).map_err(fail_io("create mount point", &staging))?;
    mount(
        Some("tmpfs"),
        &staging,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(format!("mode=755,size={SMALL_TMPFS}").as_str()),
    )
    .map_err(fail("mount the new root on", &staging))?;
    let mut masks = MaskSources::new(&scratch);

    for (index, step) in mounts.iter().enumerate() {
        match step {
            Mount::Bind { path, writable } => bind(path, &inside(&staging, path), *writable)?,
            Mount::BindAt { source, target } => bind(source, &inside(&staging, target), true)?,
            Mount::Tmpfs { path, mode } => {
                scratch_dir(&scratch, index, &inside(&staging, path), *mode)?
            }
            Mount::Symlink { path, target } => {
                let link = inside(&staging, path);
                std::os::unix::fs::symlink(target, &link).map_err(fail_io("symlink", &link))?;
            }
            Mount::Mask { path } => {
                // Masked where the path leads in the view: through a link that the host
                // resolves elsewhere, a mask would land outside the view and hide nothing.
                let target = resolve_in_root(&staging, path).map_err(fail_io("resolve", path))?;
                match target.symlink_metadata() {
                    Ok(meta) => masks.mask(&target, meta.is_dir())?,
                    // A link to nothing in the view: nothing of the host's is there to hide.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(fail_io("look at", path)(e)),
                }
            }
            Mount::File { path, contents } => place_file(&staging, index, path, contents)?,
            Mount::Secrets { path, files } => secrets(&inside(&staging, path), files)?,
            Mount::Proc => proc(&inside(&staging, Path::new("/proc")), limits, &mut masks)?,
            Mount::Dev => dev(&inside(&staging, Path::new("/dev")), &scratch, index)?,
        }
    }

    // The old root's detach takes the scratch tmpfs along; its directories stay bound where
    // they are.
    pivot(&staging)?;
    // The skeleton of directories at `/` is not the server's to change.
    set_attributes_single(
        Path::new("/"),
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )
    .map_err(fail_io("make read-only", Path::new("/")))
}

/// The credentials' own tmpfs: a file per credential, readable by the server's uid only,
/// then the whole mount read-only. Sized to what it holds, so it costs no scratch budget.
fn secrets(target: &Path, files: &[(String, SecretText)]) -> Result<(), MountError> {
    make_mountpoint(target, true).map_err(fail_io("create mount point", target))?;
    let bytes: usize = files.iter().map(|(_, v)| v.0.len()).sum();
    let size = (bytes + 4096 * (files.len() + 1)).next_multiple_of(4096);
    let options = format!("mode=0500,size={size},nr_inodes={}", files.len() + 8);
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(options.as_str()),
    )
    .map_err(fail("mount the credentials' tmpfs on", target))?;
    for (name, value) in files {
        let file = target.join(name);
        let write = || -> io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o400)
                .open(&file)?;
            out.write_all(value.0.as_bytes())
        };
        write().map_err(fail_io("write the credential file", &file))?;
    }
    set_attributes_single(
        target,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )
    .map_err(fail_io("make read-only", target))
}

/// Where the sources of `Mount::File` are written: in the view's own skeleton (a tmpfs no
/// host path is bound over, made read-only after the pivot), never in a granted directory.
const FILE_SOURCES: &str = "/.mcpguard-files";

/// Writes `contents` to a private file (the `index`th) and binds it, read-only, at `path`
/// as the view resolves it (over what the view shows there, or on a new empty file when
/// nothing is).
fn place_file(staging: &Path, index: usize, path: &Path, contents: &str) -> Result<(), MountError> {
    let source = inside(staging, Path::new(FILE_SOURCES)).join(index.to_string());
    let write = || -> io::Result<()> {
        std::fs::create_dir_all(source.parent().unwrap_or(&source))?;
        std::fs::write(&source, contents)
    };
    write().map_err(fail_io("write", &source))?;
    let target = resolve_in_root(staging, path).map_err(fail_io("resolve", path))?;
    bind(&source, &target, false).map_err(|e| MountError {
        step: "place the network allowlist's own copy at",
        path: path.to_path_buf(),
        source: io::Error::new(
            e.source.kind(),
            format!(
                "{}; the file must exist on this machine unless it lies under /run, /tmp, \
                 /var/tmp or home",
                e.source
            ),
        ),
    })
}

/// Where `path` leads inside the view being built at `root`: symlinks are followed as the
/// server will see them, an absolute link target starting again from `root`, so that
/// nothing is created or mounted outside the view (the host's own root is still `/` here).
/// The last components may not exist yet.
fn resolve_in_root(root: &Path, path: &Path) -> io::Result<PathBuf> {
    match crate::fspath::resolve_beneath(root, path) {
        (_, true) => Err(io::Error::from_raw_os_error(libc::ELOOP)),
        (resolved, false) => Ok(resolved),
    }
}

/// Files of a procfs that tell of the whole machine, not of this pid namespace: other
/// users' keys, every timer and scheduler entity with its task's name and pid, the kernel's
/// memory and symbols, every file lock with its inode. Masked as bubblewrap and Docker mask
/// them: a file reads as empty (/dev/null over it), a directory is an empty read-only tmpfs.
/// What servers do read (`meminfo`, `cpuinfo`, `stat`, `loadavg`, `uptime`, `self`) stays.
const MASKED_PROC: &[&str] = &[
    "keys",
    "key-users",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "latency_stats",
    "kcore",
    "kallsyms",
    "kmsg",
    "kpagecount",
    "kpageflags",
    "kpagecgroup",
    "slabinfo",
    "vmallocinfo",
    "pagetypeinfo",
    "locks",
    "iomem",
    "ioports",
    "modules",
    "acpi",
    "asound",
    "scsi",
    "driver",
];

/// A fresh procfs for this pid namespace, with its pid_max lowered to the processes limit
/// where the kernel keeps one per namespace (6.14+), the kernel's knobs read-only and its
/// machine-wide files masked.
fn proc(target: &Path, limits: &ResourceLimits, masks: &mut MaskSources) -> Result<(), MountError> {
    make_mountpoint(target, true).map_err(fail_io("create mount point", target))?;
    mount(
        Some("proc"),
        target,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(fail("mount a fresh /proc on", target))?;
    // Older kernels have one global pid_max that a namespace cannot change; RLIMIT_NPROC
    // (privileges.rs) is then the only process limit, and the report says so.
    let _ = std::fs::write(
        target.join("sys/kernel/pid_max"),
        limits.pid_max().to_string(),
    );
    for knob in ["sys", "sysrq-trigger", "irq", "bus"] {
        let path = target.join(knob);
        if path.exists() {
            mount(
                Some(&path),
                &path,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(fail("bind", &path))?;
            set_attributes(
                &path,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            )
            .map_err(fail_io("make read-only", &path))?;
        }
    }
    for name in MASKED_PROC {
        let path = target.join(name);
        // What this kernel does not have needs no mask.
        if let Ok(meta) = path.symlink_metadata() {
            masks.mask(&path, meta.is_dir())?;
        }
    }
    Ok(())
}

/// A minimal /dev: a few harmless device nodes, the standard fd links, a private /dev/shm.
fn dev(target: &Path, scratch: &Path, index: usize) -> Result<(), MountError> {
    make_mountpoint(target, true).map_err(fail_io("create mount point", target))?;
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some(format!("mode=755,size={SMALL_TMPFS}").as_str()),
    )
    .map_err(fail("mount tmpfs on", target))?;
    for device in DEVICES {
        let host = Path::new("/dev").join(device);
        if !host.exists() {
            continue;
        }
        let node = target.join(device);
        make_mountpoint(&node, false).map_err(fail_io("create mount point", &node))?;
        mount(
            Some(&host),
            &node,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(fail("bind", &host))?;
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let link = target.join(name);
        std::os::unix::fs::symlink(to, &link).map_err(fail_io("symlink", &link))?;
    }
    let shm = target.join("shm");
    make_mountpoint(&shm, true).map_err(fail_io("create mount point", &shm))?;
    scratch_dir(scratch, index, &shm, 0o1777)?;
    // Nothing more can be added to /dev from inside.
    set_attributes_single(target, MOUNT_ATTR_RDONLY).map_err(fail_io("make read-only", target))
}

/// Makes `new_root` the root and detaches the old one, so no path leads back to the host.
fn pivot(new_root: &Path) -> Result<(), MountError> {
    nix::unistd::chdir(new_root).map_err(fail("enter", new_root))?;
    nix::unistd::pivot_root(".", ".").map_err(fail("pivot_root into", new_root))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(fail("detach the old root", Path::new("/")))?;
    nix::unistd::chdir("/").map_err(fail("enter", Path::new("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn paths_resolve_inside_the_view_whatever_their_links_say() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir_all(root.join("etc/netconfig.d")).unwrap();
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::os::unix::fs::symlink(
            "/run/systemd/resolve/stub-resolv.conf",
            root.join("etc/resolv.conf"),
        )
        .unwrap();
        std::os::unix::fs::symlink("../../run/x", root.join("etc/netconfig.d/up")).unwrap();
        std::os::unix::fs::symlink("/var/run", root.join("etc/varrun")).unwrap();
        std::fs::create_dir_all(root.join("var")).unwrap();
        std::os::unix::fs::symlink("/run", root.join("var/run")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("etc/loop")).unwrap();
        let resolve = |p: &str| {
            resolve_in_root(root, Path::new(p)).map(|r| r.strip_prefix(root).unwrap().to_path_buf())
        };
        assert_eq!(
            resolve("/etc/resolv.conf").unwrap(),
            PathBuf::from("run/systemd/resolve/stub-resolv.conf")
        );
        assert_eq!(
            resolve("/etc/netconfig.d/up/f").unwrap(),
            PathBuf::from("run/x/f")
        );
        assert_eq!(resolve("/etc/hosts").unwrap(), PathBuf::from("etc/hosts"));
        // An absolute link never leaves the root, and `..` stops at it.
        assert_eq!(resolve("/etc/varrun/y").unwrap(), PathBuf::from("run/y"));
        assert_eq!(
            resolve("/../../etc/hosts").unwrap(),
            PathBuf::from("etc/hosts")
        );
        assert_eq!(
            resolve("/etc/loop/z").unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
    }
}
