"""Every exit code vidclear uses, in one place (README.md's table, Exit codes, lists them per command)."""

EXIT_OK = 0  # done; for serve: stopped cleanly (signal or --duration)
EXIT_FAILED = 1  # a stage failed (enhance), a camera's output failed (serve), a camera or publish server
#   did not answer (serve --check)
EXIT_USAGE = 2  # a user error: bad config, path, model, unreachable camera, damaged input
EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}  # enhance stopped by a signal, output finalised
EXIT_PIPE_CLOSED = 141  # what was printed had no reader left (`vidclear models | head -1`), as a writer SIGPIPE ends
