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
pub(crate) struct MemoryBounds {
    /// The machine's memory.
    pub(crate) machine: Option<u64>,
    /// The cgroup's limit.
    pub(crate) cgroup: Option<u64>,
    /// The address-space limit (`RLIMIT_AS`).
    pub(crate) address_space: Option<u64>,
}

impl MemoryBounds {
    /// The bounds of this process, read from `/proc` and `/sys/fs/cgroup`.
    pub(crate) fn of_this_process() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        Self {
            machine: read("/proc/meminfo").as_deref().and_then(mem_total),
            cgroup: read("/sys/fs/cgroup/memory.max")
                .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
                .as_deref()
                .and_then(cgroup_limit),
            address_space: read("/proc/self/limits")
                .as_deref()
                .and_then(address_space_limit),
        }
    }

    /// The default pool, in MiB: 80 % of the smallest bound (half the address space
    /// counting as a bound); `None` when nothing bounds the process.
    pub(crate) fn default_limit_mb(&self) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn the_smallest_bound_decides_and_four_fifths_of_it_is_the_pool() {
        let machine = MemoryBounds {
            machine: Some(24 * 1024 * MIB),
            ..MemoryBounds::default()
        };
        assert_eq!(machine.default_limit_mb(), Some(24 * 1024 * 8 / 10));
        let cgroup = MemoryBounds {
            cgroup: Some(4 * 1024 * MIB),
            ..machine
        };
        assert_eq!(cgroup.default_limit_mb(), Some(4 * 1024 * 8 / 10));
        let address_space = MemoryBounds {
            address_space: Some(6 * 1024 * MIB),
            ..cgroup
        };
        assert_eq!(address_space.default_limit_mb(), Some(3 * 1024 * 8 / 10));
        assert_eq!(MemoryBounds::default().default_limit_mb(), None);
    }

    #[test]
    fn proc_and_cgroup_texts_are_read_as_the_kernel_writes_them() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:        1000 kB\n";
        assert_eq!(mem_total(meminfo), Some(24_576_000 * 1024));
        assert_eq!(cgroup_limit("max\n"), None);
        assert_eq!(cgroup_limit("9223372036854771712\n"), None);
        assert_eq!(cgroup_limit("4294967296\n"), Some(4 << 30));
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max address space         6442450944           unlimited            bytes     \n";
        assert_eq!(address_space_limit(limits), Some(6_442_450_944));
        let unlimited = limits.replace("6442450944", "unlimited ");
        assert_eq!(address_space_limit(&unlimited), None);
    }

    #[test]
    fn this_machine_bounds_the_default() {
        // Every Linux machine has a MemTotal: the default is never unlimited there.
        if cfg!(target_os = "linux") {
            let bounds = MemoryBounds::of_this_process();
            let machine = bounds.machine.expect("MemTotal");
            let limit = bounds.default_limit_mb().expect("a bound");
            assert!(limit * MIB <= machine, "{limit} MiB of {machine} bytes");
        }
    }
}
