"""Speed goals of GenreLens, measured in one run (`make bench`); see `benchmarks/__main__.py`."""
