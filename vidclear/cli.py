"""Command line: the parser, logging, and one place where errors become exit codes.

The commands themselves are thin modules in ``vidclear/commands/``. Errors a
user can cause print one line, ``vidclear: error: ...``, and exit 2;
``--debug`` adds the traceback. A failing stage is named (exit 1); Ctrl-C
exits 130 with a playable output.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import select
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .errors import OutputError, StageFailed, VidclearError, write_fault
from .exit_codes import EXIT_FAILED, EXIT_PIPE_CLOSED, EXIT_SIGNAL, EXIT_USAGE
from .io.names import NAME_MAX
from .secrets import RedactingFilter, redact

log = logging.getLogger("vidclear")



class _CurrentStderr:
    """Writes to whatever sys.stderr is now (rich's live display swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


LOG_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFile(logging.FileHandler):
    """--log-file. A write that fails (a full disk, a quota) is said once on stderr instead of a traceback for every
    record, and the run goes on; each record tries again, and the first one written afterwards is preceded by a
    line that counts the records lost."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lost = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.lost:
            lost = logging.makeLogRecord({"name": "vidclear", "levelno": logging.WARNING, "levelname": "WARNING",
                                          "created": record.created, "msecs": record.msecs,
                                          "msg": f"{self.lost} log record(s) lost here: the file could not be written"})
            try:
                self.stream.write(self.format(lost) + self.terminator)
                self.flush()
            except OSError:
                self.lost += 1
                return
            self.lost = 0
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            return super().handleError(record)
        if not self.lost:
            sys.stderr.write(f"vidclear: warning: cannot write the log file {self.baseFilename}: {write_fault(error)}; "
                             "its records are lost until it can be written again\n")
        self.lost += 1


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\n", " ")
        if record.levelno >= logging.WARNING:
            text = f"vidclear: {record.levelname.lower()}: {msg}"
        else:
            text = f"vidclear: {msg}"
        if record.exc_info and record.levelno >= logging.ERROR:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return text


def setup_logging(quiet: bool, debug: bool, log_file: Optional[Path] = None) -> None:
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.INFO
    handler = logging.StreamHandler(_CurrentStderr())  # type: ignore[arg-type]
    handler.setFormatter(_Formatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("vidclear")
    root.handlers[:] = [handler]
    if log_file is not None:
        try:
            file_handler = LogFile(log_file)
        except OSError as e:
            raise OutputError(f"cannot write the log file {log_file}: {e.strerror or e}") from None
        file_handler.setFormatter(logging.Formatter(LOG_FILE_FORMAT))
        file_handler.addFilter(RedactingFilter())
        file_handler.setLevel(logging.DEBUG)
        root.addHandler(file_handler)
        level = min(level, logging.INFO)
        handler.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.INFO)
    root.setLevel(level)
    root.propagate = False


def logging_options(in_command: bool) -> argparse.ArgumentParser:
    """--quiet, --debug and --log-file, taken before the command or after it.

    In a command's parser they default to "not given" (SUPPRESS): argparse lets a
    subparser's defaults overwrite what the main parser read, so otherwise
    ``vidclear --quiet enhance ...`` would silently lose its --quiet.
    """
    unset = {"default": argparse.SUPPRESS} if in_command else {}
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--quiet", action="store_true", help="print only errors", **unset)
    options.add_argument("--debug", action="store_true", help="verbose logs and tracebacks", **unset)
    options.add_argument("--log-file", type=Path, help="also write the log here (credentials redacted)", **unset)
    return options


def build_parser() -> argparse.ArgumentParser:
    from .commands import COMMANDS

    common = logging_options(in_command=True)
    ap = argparse.ArgumentParser(
        prog="vidclear",
        description="Make surveillance video clearer: super-resolution and low-light enhancement.",
        parents=[logging_options(in_command=False)],
    )
    ap.add_argument("--version", action="version", version=f"vidclear {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(sub, common)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .commands import COMMANDS

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        setup_logging(args.quiet, args.debug, args.log_file)
        code = COMMANDS[args.command].run(args)
        sys.stdout.flush()  # here, where a reader that went away is caught, not at exit
        return code
    except StageFailed as e:
        print(f"vidclear: error: {one_line(redact(str(e)))}", file=sys.stderr)
        if args.debug:
            print(redact("".join(traceback.format_exception(e.error))), file=sys.stderr)
        return EXIT_USAGE if isinstance(e.error, VidclearError) else EXIT_FAILED
    except VidclearError as e:
        print(f"vidclear: error: {one_line(redact(str(e)))}", file=sys.stderr)
        if args.debug:
            print(redact(traceback.format_exc()), file=sys.stderr)
        return e.exit_code
    except OSError as e:
        if e.errno == errno.EPIPE and stdout_closed():
            # `vidclear models | head -1`: the reader has what it wanted. Stop as quietly as a writer ended by
            # SIGPIPE (its default is not restored: a live output's socket must raise EPIPE, not end the process).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left flushes into the pipe
            return EXIT_PIPE_CLOSED
        if e.errno != errno.ENAMETOOLONG:
            raise
        # Python's path checks (exists, is_dir) raise it wherever a path is looked at: the user's to fix.
        print(f"vidclear: error: a name in this path is longer than the file system allows ({NAME_MAX} bytes on most): "
              f"{redact(str(e.filename2 or e.filename))}", file=sys.stderr)
        if args.debug:
            print(redact(traceback.format_exc()), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vidclear: error: interrupted", file=sys.stderr)
        return EXIT_SIGNAL["SIGINT"]


def stdout_closed() -> bool:
    """Whether standard output is a pipe or socket whose reader has gone (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):  # no file descriptor (a replaced sys.stdout)
        return False


def one_line(text: str) -> str:
    return " ".join(text.split())
