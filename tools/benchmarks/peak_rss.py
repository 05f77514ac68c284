# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Peak extra resident memory of one call on Linux, shared by the benchmark scripts.

The kernel's peak-RSS counter (``VmHWM``) is reset to the current resident set by writing ``5``
to ``/proc/self/clear_refs``; after the call, ``VmHWM`` minus the resident set before it is the
call's peak extra memory. Run it in a fresh process (or a fork) whose allocator returns freed
buffers to the OS: with glibc, pin the mmap and trim thresholds (``MALLOC_ENV`` for a new
process), otherwise its dynamic mmap threshold keeps freed large buffers in the heap where the
counter cannot see them reused.
"""
import gc

# glibc thresholds for a fresh process (environment variables read at start-up)
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '131072', 'MALLOC_TRIM_THRESHOLD_': '131072'}


def read_status(field):
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``), or None if absent."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024  # kB -> bytes
    return None


def peak_extra_bytes(call):
    """Run ``call()`` once; its peak resident memory above the RSS before it (None if unknown).

    Args:
        call (callable): the work to measure (warm it up first: lazy library state is not its
            cost).

    Returns:
        int | None: bytes, or None where ``/proc/self/clear_refs`` cannot be written.
    """
    gc.collect()
    base = read_status('VmRSS')
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM (peak RSS) to the current RSS
    except OSError:
        return None
    call()
    return read_status('VmHWM') - base
