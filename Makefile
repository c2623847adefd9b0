# GenreLens: `make run` starts the dashboard, `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STREAMLIT_FLAGS := --server.address 127.0.0.1 --browser.gatherUsageStats false

.PHONY: run test test-fast bench bench-class pretrain chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# After installing, compile librosa's numba kernels once (~20 s) so that no two processes compile them at once.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/python -c "from genre_core.features import compile_kernels; compile_kernels()"
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py $(STREAMLIT_FLAGS)

# Chromium for the browser tests: installed with apt when CI is set; elsewhere those tests skip and say how.
chromium:
	@if [ -n "$$CI" ] && [ ! -x /usr/bin/chromium ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); \
	fi

test: $(VENV)/.dev chromium
	$(BIN)/python -m pytest

test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks

# A class at once: 20 browser sessions against one server (minutes, all cores; see RELIABILITY.md).
bench-class: $(VENV)/.dev chromium
	$(BIN)/python -m benchmarks.class_load --sessions 20

pretrain: $(VENV)/.runtime
	$(BIN)/python -m genre_core pretrain --gtzan-csv ../shared/data/gtzan_features_30_sec.csv \
		--gtzan-audio ../shared/data/gtzan_mini/genres --splits ../shared/data/splits/sturm_artist_filtered_3fold

clean:
	rm -rf $(VENV) data/cache data/demo data/uploads .pytest_cache test-artifacts
