"""Command line: ``python -m genre_core <command> ...``.

One module per verb, each with a `COMMAND` (`common.Command`: a function that adds its flags to a subparser
and a function that runs it and returns the exit status); `common` holds what the verbs share. To add a verb,
write its module and append its `COMMAND` to `COMMANDS`. A `GenreLensError` becomes one line
``error: <message>`` on stderr and exit status 1; argparse reports usage errors itself with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from genre_core import paths
from genre_core.atomic import recover_leftovers
from genre_core.cli import demo, evaluate, extract, musicnn_weights, predict, pretrain, sweep, train, trust, walkthrough
from genre_core.cli.common import Command, one_line, shown
from genre_core.errors import GenreLensError

#: Every verb of ``python -m genre_core``.
COMMANDS: tuple[Command, ...] = (
    extract.COMMAND, train.COMMAND, evaluate.COMMAND, predict.COMMAND, trust.COMMAND, pretrain.COMMAND,
    musicnn_weights.COMMAND, demo.COMMAND, sweep.COMMAND, walkthrough.COMMAND,
)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m genre_core", description="GenreLens: music-genre classification with explanations."
    )
    verbs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        subparser = verbs.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


class _NoteHandler(logging.Handler):
    """Prints the ``genre_core`` logger's warnings (e.g. leftovers recovered after a crash) as ``note: ...`` lines
    on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"note: {one_line(record.getMessage())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return its exit status. Leftovers of an
    interrupted bundle save in the workspace are recovered first, with a note."""
    args = build_parser().parse_args(argv)
    logger = logging.getLogger("genre_core")
    if not any(isinstance(handler, _NoteHandler) for handler in logger.handlers):
        logger.addHandler(_NoteHandler(logging.WARNING))
    try:
        recover_leftovers(paths.WORKSPACE_MODELS_DIR)
        return args.run(args)
    except GenreLensError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return 1
    except OSError as error:  # the system refused a read or write (disk full, no permission): one line too
        where = shown(error.filename) if error.filename is not None else "system"
        print(f"error: {one_line(f'{where}: {error.strerror or error}')}", file=sys.stderr)
        return 1
