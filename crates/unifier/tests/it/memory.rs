//! The memory pool's default: read from the kernel's texts, the smallest bound decides.

use unifier::MemoryBounds;

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
    let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                  Max cpu time              unlimited            unlimited            seconds   \n\
                  Max address space         6442450944           unlimited            bytes     \n";
    let bounds = MemoryBounds::from_texts(Some(meminfo), Some("4294967296\n"), Some(limits));
    assert_eq!(
        bounds,
        MemoryBounds {
            machine: Some(24_576_000 * 1024),
            cgroup: Some(4 << 30),
            address_space: Some(6_442_450_944),
        }
    );
    // No limit, as cgroup v2 and v1 and the limits file write it.
    let unlimited = limits.replace("6442450944", "unlimited ");
    for cgroup in ["max\n", "9223372036854771712\n"] {
        let bounds = MemoryBounds::from_texts(None, Some(cgroup), Some(&unlimited));
        assert_eq!(bounds, MemoryBounds::default(), "{cgroup}");
    }
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
