"""Errors a run reports as one clear line. Messages never carry record values (PHI)."""


class ClaimreconError(Exception):
    """Base: the CLI prints ``str(error)`` as the one-line reason and exits non-zero."""


class RunRefused(ClaimreconError):
    """An input cannot be trusted (FE-CONTROL, unreadable inbox): the run publishes nothing."""


class WarehouseBusy(ClaimreconError):
    """Another run holds the writer's lock on this warehouse."""


class BalanceError(ClaimreconError):
    """billed != paid + adjustments somewhere: the run fails loudly and publishes nothing."""


# ---------------------------------------------------------------- one-line causes, in words

import errno as _errno  # noqa: E402
import unicodedata as _ud  # noqa: E402

_OS_CAUSES = {
    _errno.ENOSPC: "the disk is full", _errno.EDQUOT: "the disk quota is used up",
    _errno.EACCES: "permission denied", _errno.EPERM: "permission denied",
    _errno.EROFS: "the file system is read-only", _errno.ENOENT: "it does not exist",
    _errno.EISDIR: "it is a folder, not a file", _errno.ENOTDIR: "a part of the path is not a folder",
    _errno.EIO: "an input/output error (a failing disk or network share)", _errno.EFBIG: "the file is too large",
    _errno.ELOOP: "too many symbolic links", _errno.ENAMETOOLONG: "the name is too long",
}


def printable(text: object, limit: int = 500) -> str:
    """Text safe for a terminal or a log line: control and formatting characters (escape sequences,
    line breaks, bidirectional overrides) shown as backslash escapes, and at most ``limit`` characters."""
    out = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif _ud.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= limit else s[:limit] + f"… ({len(s) - limit} more characters)"


def describe_os_error(e: OSError) -> str:
    """The cause of an OS error in words ("the disk is full", "permission denied"), never only a class."""
    return _OS_CAUSES.get(e.errno or -1) or (printable(e.strerror) if e.strerror else type(e).__name__)


def describe_error(e: BaseException, where: str = "") -> str:
    """One line for an error that is not one of ours: the cause in words where it is known (disk full,
    permission denied, a damaged DuckDB file), the file it concerns, never a record value (PHI)."""
    where = f"{printable(where)}: " if where else ""
    chain, x = [], e
    while x is not None and len(chain) < 10:  # a framework's wrapper around ours: say ours
        chain.append(x)
        x = x.__cause__ or x.__context__
    e = next((x for x in chain if isinstance(x, ClaimreconError)), None) or \
        next((x for x in chain if isinstance(x, OSError)), None) or e
    if isinstance(e, ClaimreconError):
        return printable(str(e))
    if isinstance(e, OSError):
        name = f"{printable(e.filename)}: " if e.filename else ""
        return f"{where}{name}{describe_os_error(e)}"
    text = str(e)
    for needle, words in (("No space left on device", "the disk is full"), ("Disk quota exceeded", "the disk quota is used up"),
                          ("Permission denied", "permission denied"), ("Read-only file system", "the file system is read-only")):
        if needle in text:
            return f"{where}{words}"
    return f"{where}{type(e).__name__} (details withheld: they may quote a record; set CLAIMRECON_DEBUG=1 for where it happened)"


def debug_traceback(e: BaseException, max_frames: int = 40, max_chain: int = 6) -> str:
    """CLAIMRECON_DEBUG=1: where the error happened, bounded (frames, not locals; at most ``max_chain``
    chained exceptions of ``max_frames`` frames each) and without PHI (messages of errors other than
    ours are withheld: a conversion error quotes the record it could not convert)."""
    import traceback

    out, seen, exc = [], set(), e
    while exc is not None and id(exc) not in seen and len(seen) < max_chain:
        seen.add(id(exc))
        frames = traceback.extract_tb(exc.__traceback__)
        shown = frames[-max_frames:]
        out.append(f"{type(exc).__module__}.{type(exc).__name__}: "
                   + (printable(exc) if isinstance(exc, ClaimreconError) else "(message withheld: it may quote a record)"))
        if len(frames) > len(shown):
            out.append(f"  … {len(frames) - len(shown)} earlier frames")
        out += [f"  {f.filename}:{f.lineno} in {f.name}" + (f"\n      {f.line.strip()[:160]}" if f.line else "")
                for f in shown]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(out)
