"""What every benchmark prints first: the machine its figures came from."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe(*extra: str) -> str:
    """``2 cores, AMD EPYC, Linux 6.1, Python 3.11.7`` plus any ``extra`` parts."""
    parts = [
        f"{os.cpu_count()} cores",
        cpu_model(),
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        *extra,
    ]
    return ", ".join(parts)
