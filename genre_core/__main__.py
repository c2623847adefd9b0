"""``python -m genre_core``: the command line (see `genre_core.cli`)."""

from genre_core.cli import main

raise SystemExit(main())
