"""Windows's own process mechanisms through ctypes: a Job Object that kills its processes when the service's
handle to it closes (the service ending, however it ends), and waiting for a process to end. Importable
everywhere (ctypes only); the calls raise OSError elsewhere."""

from __future__ import annotations

import ctypes
import sys

CREATE_NEW_PROCESS_GROUP = 0x00000200
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
PROCESS_TERMINATE = 0x0001
PROCESS_SET_QUOTA = 0x0100
SYNCHRONIZE = 0x00100000
INFINITE = 0xFFFFFFFF


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class _BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32), ("SchedulingClass", ctypes.c_uint32),
    ]


class _ExtendedLimits(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION."""

    _fields_ = [
        ("BasicLimitInformation", _BasicLimits), ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


_job: int | None = None
"""This process's kill-on-close Job Object, made on first use and never closed: the system closes it when
this process ends, and ends every process in it."""


def _kernel32() -> ctypes.CDLL:
    if sys.platform != "win32":
        raise OSError("Windows only")
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateJobObjectW.restype = ctypes.c_void_p
    kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p]
    kernel32.SetInformationJobObject.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32]
    kernel32.OpenProcess.restype = ctypes.c_void_p
    kernel32.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
    kernel32.AssignProcessToJobObject.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    kernel32.WaitForSingleObject.restype = ctypes.c_uint32
    kernel32.WaitForSingleObject.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    kernel32.CloseHandle.argtypes = [ctypes.c_void_p]
    return kernel32


def _check(ok: int | None, what: str) -> int:
    if not ok:
        code = 0
        if sys.platform == "win32":
            code = ctypes.get_last_error()
        raise OSError(f"{what} failed (Windows error {code})")
    return ok


def _kill_on_close_job(kernel32: ctypes.CDLL) -> int:
    global _job
    if _job is None:
        job = _check(kernel32.CreateJobObjectW(None, None), "CreateJobObjectW")
        limits = _ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        _check(kernel32.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(limits),
                                                ctypes.sizeof(limits)), "SetInformationJobObject")
        _job = job
    return _job


def assign(pid: int) -> None:
    """Put a process (and what it starts from now on) into this process's kill-on-close Job Object."""
    kernel32 = _kernel32()
    job = _kill_on_close_job(kernel32)
    handle = _check(kernel32.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, False, pid), "OpenProcess")
    try:
        _check(kernel32.AssignProcessToJobObject(job, handle), "AssignProcessToJobObject")
    finally:
        kernel32.CloseHandle(handle)


def wait_for_exit(pid: int) -> None:
    """Block until the process ``pid`` has ended (at once when it is already gone)."""
    kernel32 = _kernel32()
    handle = kernel32.OpenProcess(SYNCHRONIZE, False, pid)
    if not handle:
        return
    try:
        kernel32.WaitForSingleObject(handle, INFINITE)
    finally:
        kernel32.CloseHandle(handle)
