"""Where a stage's time goes: ``with phase("load"): ...`` around model loading, computing and
saving, recorded only when the environment variable ``ILR_PHASES_FILE`` names a file (as
bench/pipeline_stages.py sets it); otherwise ``phase`` only yields.

Each record is one JSON line appended to that file, ``{"stage", "phase", "seconds"}``:

- ``startup``: from the process's start (the kernel's start tick, /proc/self/stat, so Python's
  own start and every module-level import are in it) to the first phase;
- ``load`` / ``compute`` / ``save``: exclusive times: a phase inside another (a model load inside
  a training function wrapped as compute) is taken out of the outer one, so they add up;
- ``total``: process start to exit (at exit); what the others leave is argument parsing,
  reading inputs and small writes outside the phases.

A lazily imported library (transformers, trl) is imported inside the first phase that needs
it, usually ``load``. ``stage`` is ``ILR_PHASES_STAGE`` when set (the DVC stage name), else
the running module (``stages.sft``).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import time

_stack: list[list[float]] = []  # [start, seconds spent in inner phases], innermost last
_started = False


def _process_start() -> float:
    """The wall-clock time this process started: on Linux its start tick in /proc/self/stat
    against /proc/uptime (10 ms resolution; psutil's create_time adds the boot time, which
    /proc/stat rounds to the second), else psutil, else this module's import."""
    try:
        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - no psutil: the import time, later than the true start
        return _IMPORTED


_IMPORTED = time.time()


def _stage() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return os.environ.get("ILR_PHASES_STAGE") or (spec.name if spec else os.path.basename(
        sys.argv[0] or "python"))


def _write(name: str, seconds: float) -> None:
    path = os.environ.get("ILR_PHASES_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"stage": _stage(), "phase": name,
                                "seconds": round(seconds, 4)}) + "\n")


def _start() -> None:
    global _started
    _started = True
    begun = _process_start()
    _write("startup", time.time() - begun)
    atexit.register(lambda: _write("total", time.time() - begun))


@contextlib.contextmanager
def phase(name: str):
    """Time the block as phase ``name`` (load, compute, save) when ``ILR_PHASES_FILE`` is set."""
    if not os.environ.get("ILR_PHASES_FILE"):
        yield
        return
    if not _started:
        _start()
    _stack.append([time.perf_counter(), 0.0])
    try:
        yield
    finally:
        start, inner = _stack.pop()
        elapsed = time.perf_counter() - start
        if _stack:
            _stack[-1][1] += elapsed
        _write(name, elapsed - inner)
