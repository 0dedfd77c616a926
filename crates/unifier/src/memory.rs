//! The memory pool's size when the profile sets none: 80 % of the memory this process
//! may use (as DuckDB does), so that one query spills or fails with an error instead of
//! aborting the process.
//!
//! "May use" is the smallest of: the machine's memory (`MemTotal` in `/proc/meminfo`),
//! the cgroup's limit (`memory.max`, v2, or `memory.limit_in_bytes`, v1), and half of the
//! process's address-space limit (`ulimit -v`, from `/proc/self/limits`; address space
//! runs well ahead of resident memory). Where none can be read (not Linux), there is no
//! default limit.

/// What bounds this process's memory, in bytes (`None`: no such bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryBounds {
    /// The machine's memory.
    pub machine: Option<u64>,
    /// The cgroup's limit.
    pub cgroup: Option<u64>,
    /// The address-space limit (`RLIMIT_AS`).
    pub address_space: Option<u64>,
}

impl MemoryBounds {
    /// The bounds of this process, read from `/proc` and `/sys/fs/cgroup`.
    pub fn of_this_process() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        Self::from_texts(
            read("/proc/meminfo").as_deref(),
            read("/sys/fs/cgroup/memory.max")
                .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
                .as_deref(),
            read("/proc/self/limits").as_deref(),
        )
    }

    /// The bounds the kernel's texts say: `/proc/meminfo`, the cgroup's `memory.max`
    /// (or v1's `memory.limit_in_bytes`), `/proc/self/limits`.
    pub fn from_texts(meminfo: Option<&str>, cgroup: Option<&str>, limits: Option<&str>) -> Self {
        Self {
            machine: meminfo.and_then(mem_total),
            cgroup: cgroup.and_then(cgroup_limit),
            address_space: limits.and_then(address_space_limit),
        }
    }

    /// The default pool, in MiB: 80 % of the smallest bound (half the address space
    /// counting as a bound); `None` when nothing bounds the process.
    pub fn default_limit_mb(&self) -> Option<u64> {
        let usable = [self.machine, self.cgroup, self.address_space.map(|b| b / 2)]
            .into_iter()
            .flatten()
            .min()?;
        Some((usable / 10 * 8 / (1024 * 1024)).max(1))
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A cgroup memory limit, in bytes: `max` (v2) and v1's huge sentinel are no limit.
fn cgroup_limit(text: &str) -> Option<u64> {
    let bytes: u64 = text.trim().parse().ok()?;
    // cgroup v1 reports "no limit" as a page-aligned i64::MAX.
    (bytes < (1 << 60)).then_some(bytes)
}

/// The soft "Max address space" of `/proc/self/limits`, in bytes.
fn address_space_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft = line
        .trim_start_matches("Max address space")
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}
