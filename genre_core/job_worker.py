"""A job's worker process: ``python -m genre_core.job_worker FOLDER --target MODULE:FUNCTION --parent-pid PID``.

`genre_core.jobs.JobManager` starts every worker as a fresh interpreter on this module (`subprocess`, in a process
group of its own so a cancel ends whatever the worker started too). Not through `multiprocessing`: its spawn and
forkserver start methods first re-run the parent's ``__main__`` file in each child (`multiprocessing.spawn.prepare`
imports it as ``__mp_main__``), which under Streamlit is ``app.py`` — Streamlit and every page imported again before
a job could start (submit to first event 2.2–6.6 s on 2 shared cores, against 0.18–0.30 s this way) — and under
pytest whatever script an ``AppTest`` last ran. This module imports nothing but the job layer before the runner.

The job's config is read from its ``job.json``; the thread counts come in the environment the manager sets.
Exit status 0 when the runner returned (``result.json`` written), 1 when it raised (``error.json`` written),
2 for arguments that name no job.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from genre_core import jobs
from genre_core.errors import InputError


def main(argv: list[str] | None = None) -> int:
    """Run the job in the folder named by ``argv`` (default: the command line); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m genre_core.job_worker", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the job's folder (holds job.json)")
    parser.add_argument("--target", required=True, help="the runner, as 'module:function'")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="the server's process id: the job stops gracefully when that process is gone")
    args = parser.parse_args(argv)
    try:
        config = jobs.JobStore(args.folder.parent).get(args.folder.name).config
    except InputError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    try:
        jobs.run_job(args.folder, args.target, config, args.parent_pid)
    except BaseException:  # written to error.json by run_job; the exit status tells the manager
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
