"""math-verify in a child process the worker can stop. A comparison has no bound of its own:
sympy evaluates ``9^9^9^9`` to the last digit, holding a thread (and the GIL's share of the
process) for ever, and math-verify's timeouts use ``signal.alarm``, which only a process's
main thread may set — a Dramatiq actor runs in a worker thread. So the comparisons run in a
child (``python -m evaluation.metrics.math_process``), one pair at a time over its stdin and
stdout, and a pair that takes longer than ``ROW_DEADLINE_SECONDS`` gets an error while the
child is killed and replaced for the next one. Its address space is capped too, so an answer
that would fill memory fails in the child, not in the worker.

Children are kept between chunks (``math_checker``), each used by one thread at a time; one
that is idle exits when its worker does (its stdin closes)."""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROW_DEADLINE_SECONDS = 5.0
# Inputs are bounded as well as time: a reference longer than this is refused, and only the
# last MAX_ANSWER_CHARS of an answer are read (where a worked solution states its result).
MAX_ANSWER_CHARS = 2_000
MAX_REFERENCE_CHARS = 500
START_DEADLINE_SECONDS = 120.0  # importing sympy on a busy machine
MEMORY_LIMIT_BYTES = 2 << 30
MAX_IDLE_CHILDREN = 2
READY = b"ready\n"
_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class MathComparison:
    """``equal`` None when the pair could not be compared (``problem`` says why)."""

    equal: bool | None
    answer: str = ""  # the answer as read, shown in the score's detail
    reference: str = ""
    problem: str = ""


class CheckerFailed(RuntimeError):
    """The child could not be started."""


class MathChecker:
    """One child process; ``compare`` is not thread-safe (``math_checker`` hands a checker to
    one thread at a time)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def compare(self, answer: str, reference: str) -> MathComparison:
        process = self._process or self._start()
        assert process.stdin is not None
        deadline = ROW_DEADLINE_SECONDS
        try:
            process.stdin.write(json.dumps([answer, reference]).encode() + b"\n")
            process.stdin.flush()
            line = self._read_line(deadline)
        except OSError:  # the child died (killed from outside, out of memory)
            line = None
        if line is None:
            alive = process.poll() is None
            self.close()
            if alive:
                return MathComparison(
                    None, problem=f"the comparison took longer than {deadline:g} s"
                )
            return MathComparison(None, problem="the comparison failed (it ran out of memory)")
        return MathComparison(**json.loads(line))

    def _start(self) -> subprocess.Popen[bytes]:
        self._buffer = b""
        process = subprocess.Popen(
            [sys.executable, "-m", "evaluation.metrics.math_answers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_ROOT,
        )
        self._process = process
        if self._read_line(START_DEADLINE_SECONDS) != READY:
            self.close()
            raise CheckerFailed("The maths checker did not start")
        return process

    def _read_line(self, timeout: float) -> bytes | None:
        """The child's next line (with its newline), or None if it did not come in time."""
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        ends = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = ends - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            data = os.read(fd, 65536)
            if not data:
                return None
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


_idle: list[MathChecker] = []
_idle_lock = threading.Lock()


@contextmanager
def math_checker() -> Iterator[MathChecker]:
    """A checker for this thread's use (an idle one, or a new one whose child starts on the
    first comparison), kept for the next chunk afterwards."""
    with _idle_lock:
        checker = _idle.pop() if _idle else MathChecker()
    try:
        yield checker
    finally:
        with _idle_lock:
            keep = len(_idle) < MAX_IDLE_CHILDREN
            if keep:
                _idle.append(checker)
        if not keep:
            checker.close()


@atexit.register
def _close_idle() -> None:
    with _idle_lock:
        while _idle:
            _idle.pop().close()
