"""Length-prefixed pickles on a pipe, between the worker and a child process
of its own (the import's parser, the export's part writer). Only our own
children's output is ever unpickled.

>>> import io
>>> pipe = io.BytesIO(); write_frame(pipe, {"rows": 2}); _ = pipe.seek(0)
>>> read_frame(pipe), read_frame(pipe)
({'rows': 2}, None)
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import IO, Any

__all__ = ["read_frame", "spawn", "write_frame"]


def spawn(module: str) -> subprocess.Popen[bytes]:
    """``python -m module`` with this process's import path, its stdin and
    stdout as the pipes to write and read frames on."""
    return subprocess.Popen(
        [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def write_frame(out: IO[bytes], item: Any) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "big"))
    out.write(data)
    out.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next item, or None when the other side has closed the pipe."""
    size = stream.read(8)
    if len(size) < 8:
        return None
    return pickle.loads(stream.read(int.from_bytes(size, "big")))
