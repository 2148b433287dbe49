"""A seccomp filter that stops sandboxed code from creating user namespaces.

As root the sandbox keeps the host's user namespace (see `bwrap.py`), so bubblewrap's
`--disable-userns` (which needs a user namespace of its own) does not apply; the code
runs as nobody without capabilities, but an unprivileged process may still call
`unshare(CLONE_NEWUSER)` and become "root" of a namespace of its own, the first step of
many kernel exploits. Docker's default profile denies it; this filter does the same:
`unshare` and `clone` with CLONE_NEWUSER fail with EPERM, `clone3` (whose flags a
filter cannot read) with ENOSYS so the C library falls back to `clone`, x32 system
calls and foreign architectures (a 32-bit `int 0x80` has its own numbers) with EPERM.

The program is classic BPF, built here (no libseccomp needed) and handed to
bubblewrap's `--seccomp FD`, which loads it just before the command runs.
"""

from __future__ import annotations

import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000
X32_SYSCALL_BIT = 0x40000000

# (audit arch, unshare, clone, clone3) per machine; None where we have no table.
_ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}

_LD_W_ABS = 0x20
_JEQ_K, _JGE_K, _JSET_K = 0x15, 0x35, 0x45
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_ARCH_OFFSET, _NR_OFFSET, _ARG0_OFFSET = 4, 0, 16  # struct seccomp_data, little endian


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def supported() -> bool:
    return platform.machine() in _ARCHES


def no_user_namespaces() -> bytes:
    """The filter program for this machine (raises LookupError where there is none)."""
    arch, unshare, clone, clone3 = _ARCHES[platform.machine()]
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    program = [
        _op(_LD_W_ABS, _ARCH_OFFSET),  # 0
        _op(_JEQ_K, arch, jt=0, jf=9),  # 1: a foreign architecture → 11 (EPERM)
        _op(_LD_W_ABS, _NR_OFFSET),  # 2
        _op(_JGE_K, X32_SYSCALL_BIT, jt=7, jf=0),  # 3: x32 → 11
        _op(_JEQ_K, unshare, jt=3, jf=0),  # 4: → 8 (look at the flags)
        _op(_JEQ_K, clone, jt=2, jf=0),  # 5: → 8
        _op(_JEQ_K, clone3, jt=5, jf=0),  # 6: → 12 (ENOSYS)
        _op(_RET_K, _ALLOW),  # 7
        _op(_LD_W_ABS, _ARG0_OFFSET),  # 8: the flags (their low 32 bits)
        _op(_JSET_K, CLONE_NEWUSER, jt=1, jf=0),  # 9: → 11
        _op(_RET_K, _ALLOW),  # 10
        _op(_RET_K, eperm),  # 11
        _op(_RET_K, enosys),  # 12
    ]
    return b"".join(program)
