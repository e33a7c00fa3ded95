"""The content check of uploaded PDFs: pypdf in a separate process, bounded in CPU and memory.

A PDF is refused when any object in it can run or open something: JavaScript (document
level, in an action, a form field or a rendition), launch actions, actions that open or
post to other files (``GoToR``, ``GoToE``, ``SubmitForm``, ``ImportData``), embedded
files and file attachments, rich media and 3D artwork (both may carry scripts), XFA
forms, and links to anything but ``http``, ``https`` and ``mailto``. Plain links,
``GoTo`` destinations and an ``/OpenAction`` that only opens a page are fine.

Every indirect object in the cross-reference data is read, including those inside
compressed object streams, so an action in an object nothing seems to use is found too;
names are compared after pypdf has decoded ``#xx`` escapes (``/J#61vaScript``). Reading
is strict (pypdf's ``strict=True``): broken cross-references, a key given twice and the
like make the file ``damaged`` rather than repaired, since what a repair finds may differ
from what a PDF reader finds.

Parsing a hostile file can cost seconds of CPU (pypdf takes ~10 s over one 9 MB array)
and much memory, so ``check`` hands each PDF to a child process (``python -m
portal.pdfscan``, started on first use and kept), one at a time: its address space
is capped at 1 GiB, and each PDF gets a CPU budget past which the kernel ends the child
(``RLIMIT_CPU``, then SIGKILL). A child that ends, or is still busy after
``wait_seconds``, gives the verdict ``complex``; the next check starts a new one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import resource
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

from pypdf import PdfReader
from pypdf.errors import DependencyError, LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

logger = logging.getLogger(__name__)

OK = "ok"
ACTIVE = "active"  # scripts, launch actions, embedded files and the like
ENCRYPTED = "encrypted"
DAMAGED = "damaged"  # pypdf cannot read it without repairs
COMPLEX = "complex"  # over the child's CPU or memory bounds, or one of pypdf's own limits
VERDICTS = frozenset({OK, ACTIVE, ENCRYPTED, DAMAGED, COMPLEX})

MEMORY_BYTES = 1024 * 1024 * 1024

# Dictionary keys that hold scripts or embedded files wherever they appear.
_ACTIVE_KEYS = frozenset(
    {"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA", "/RichMediaContent"}
)
# Action types (/S), annotation subtypes and object types that run or open something.
_ACTIVE_NAMES = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/GoToR",
        "/GoToE",
        "/SubmitForm",
        "/ImportData",
        "/RichMediaExecute",
        "/RichMedia",
        "/3D",
        "/FileAttachment",
        "/EmbeddedFile",
    }
)
# Links may go to the web or to a mail address; "javascript:", "file:", a Windows share
# (where a reader may send the user's credentials) and anything else are refused.
_SAFE_LINK = re.compile(r"(?:https?|mailto):", re.IGNORECASE)


# -- in the server ---------------------------------------------------------------------

_COMMAND = [sys.executable, "-m", __name__]
_lock = threading.Lock()
_child: subprocess.Popen[bytes] | None = None


def check(data: bytes, *, cpu_seconds: int, wait_seconds: float) -> str:
    """The verdict on ``data`` (one of ``VERDICTS``) from the checking process.

    Blocks for the check, and while other threads' PDFs are being checked: call it from
    a worker thread. Raises ``RuntimeError`` if the checking process fails by itself
    (it exits with a status instead of a verdict: pypdf missing, a bug).
    """
    global _child
    with _lock:
        if _child is None or _child.poll() is not None:
            # stderr is the server's: a traceback from the child ends up in its log.
            _child = subprocess.Popen(  # noqa: S603 - our own module, no shell
                _COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        child = _child
        assert child.stdin is not None and child.stdout is not None
        with contextlib.suppress(BrokenPipeError):  # it ended: no verdict below
            child.stdin.write(b"%d %d\n" % (len(data), cpu_seconds) + data)
            child.stdin.flush()
        ready, _, _ = select.select([child.stdout], [], [], wait_seconds)
        verdict = child.stdout.readline().decode("ascii", "replace").strip() if ready else ""
        if verdict in VERDICTS:
            return verdict
        _child = None
        _end(child)
    if not ready:
        logger.warning("PDF check still running after %s s: stopped", wait_seconds)
        return COMPLEX
    if child.returncode < 0:
        # Ended by a signal: its CPU budget (SIGXCPU), or a crash a hostile file caused.
        logger.info("PDF check ended by signal %d", -child.returncode)
        return COMPLEX
    raise RuntimeError(f"the PDF checking process failed with exit status {child.returncode}")


def _end(child: subprocess.Popen[bytes]) -> None:
    child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        with contextlib.suppress(OSError):
            pipe.close()  # type: ignore[union-attr]


# -- in the child ----------------------------------------------------------------------


def scan(data: bytes) -> str:
    """The verdict on a PDF, by reading it with pypdf: one of ``VERDICTS``.

    Unbounded: the server calls it through ``check``, in the child process.
    """
    try:
        try:
            reader = PdfReader(io.BytesIO(data), strict=True)
        except DependencyError:
            # Opening an AES-encrypted file tries its empty password, which needs the
            # optional crypto library pypdf is installed without.
            return ENCRYPTED
        if reader.is_encrypted:
            return ENCRYPTED
        if any(_is_active(obj) for obj in _objects(reader)):
            return ACTIVE
    except (LimitReachedError, MemoryError, RecursionError):
        return COMPLEX
    except Exception:
        return DAMAGED
    return OK


def _objects(reader: PdfReader) -> Iterator[PdfObject]:
    """The trailer and every indirect object in the cross-reference data."""
    yield reader.trailer
    listed = [(number, gen) for gen, numbers in reader.xref.items() for number in numbers]
    listed += [(number, 0) for number in reader.xref_objStm]
    for number, generation in listed:
        obj = reader.get_object(IndirectObject(number, generation, reader))
        if obj is not None:
            yield obj


def _is_active(root: PdfObject) -> bool:
    """Whether ``root`` or anything directly in it (not through a reference) is active."""
    pending = [root]
    while pending:
        obj = pending.pop()
        if isinstance(obj, NameObject):
            if obj in _ACTIVE_NAMES:
                return True
        elif isinstance(obj, DictionaryObject):  # stream dictionaries too
            for key, value in obj.items():
                if key in _ACTIVE_KEYS or (key == "/URI" and not _safe_link(value)):
                    return True
                pending.append(value)
        elif isinstance(obj, ArrayObject):
            pending.extend(obj)
    return False


def _safe_link(value: PdfObject) -> bool:
    """Whether a /URI entry is a web or mail link (or the catalog's base-URI dictionary)."""
    value = value.get_object()
    if isinstance(value, DictionaryObject):
        return True
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return bool(_SAFE_LINK.match(text))


def _within_hard_limit(value: int, hard: int) -> int:
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def _out_of_time(signum: int, frame: object) -> None:
    # SIGKILL rather than SIGXCPU's default action, which would dump core.
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    """The checking process: requests ``<size> <cpu seconds>\\n<PDF>`` on standard input,
    one verdict line each on standard output, until standard input closes (the server
    ended)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    signal.signal(signal.SIGXCPU, _out_of_time)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on broken files
    _, memory_hard = resource.getrlimit(resource.RLIMIT_AS)
    memory = _within_hard_limit(MEMORY_BYTES, memory_hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory_hard))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    requests, verdicts = sys.stdin.buffer, sys.stdout.buffer
    while header := requests.readline():
        size, seconds = (int(part) for part in header.split())
        data = requests.read(size)
        # RLIMIT_CPU counts the process's whole life: the budget starts from what it has
        # used so far. Past it the kernel sends SIGXCPU (every second, until handled).
        usage = resource.getrusage(resource.RUSAGE_SELF)
        budget = math.ceil(usage.ru_utime + usage.ru_stime) + seconds
        resource.setrlimit(resource.RLIMIT_CPU, (_within_hard_limit(budget, cpu_hard), cpu_hard))
        verdict = scan(data)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))
        verdicts.write(verdict.encode("ascii") + b"\n")
        verdicts.flush()


if __name__ == "__main__":
    main()
