# GenreLens: `make run` starts the dashboard, `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The pinned musicnn wheel (ISC licence): its TF1 checkpoints are the source of assets/pretrained/*.keras.
# Only its files are read (never its code); the tests convert it again and compare with the shipped files.
MUSICNN_WHEEL := $(VENV)/musicnn-0.1.0-py3-none-any.whl
STREAMLIT_FLAGS := --server.address 127.0.0.1 --browser.gatherUsageStats false

.PHONY: run demo test test-fast bench bench-class pretrain chromium clean musicnn-wheel musicnn-weights musicnn-reference

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# After installing, compile librosa's numba kernels once (~20 s) so that no two processes compile them at once.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/python -c "from genre_core.features import compile_kernels; compile_kernels()"
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime $(MUSICNN_WHEEL)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(MUSICNN_WHEEL): | $(BIN)/python
	$(BIN)/pip download --quiet --no-deps --only-binary=:all: --dest $(VENV) musicnn==0.1.0

musicnn-wheel: $(MUSICNN_WHEEL)

# Re-create assets/pretrained/ (the Keras ports of the four musicnn networks) from the pinned wheel.
musicnn-weights: $(MUSICNN_WHEEL) $(VENV)/.runtime
	$(BIN)/python -m genre_core musicnn-weights --wheel $(MUSICNN_WHEEL) --out assets/pretrained

# Reference outputs of the ORIGINAL musicnn code for the port tests, in a throwaway venv (docs/musicnn-port.md).
MUSICNN_REFERENCE_VENV ?= /tmp/genrelens-musicnn-reference
musicnn-reference:
	$(PYTHON) -m venv $(MUSICNN_REFERENCE_VENV)
	$(MUSICNN_REFERENCE_VENV)/bin/pip install --quiet tensorflow-cpu==2.15.1 "numpy<2" librosa==0.10.2 soundfile
	$(MUSICNN_REFERENCE_VENV)/bin/pip install --quiet --no-deps musicnn==0.1.0
	$(MUSICNN_REFERENCE_VENV)/bin/python scripts/musicnn_reference.py --gtzan ../shared/data/gtzan_mini/genres \
		--out tests/fixtures/musicnn_reference.json

# The demo dataset and its features, made in the workspace (data/) as part of the install, so that the app's
# first use reads them from the cache instead of generating and extracting them (a few seconds once made).
demo: $(VENV)/.runtime
	$(BIN)/python -m genre_core demo

run: demo
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

# A class at once: 20 browser sessions against one server, one of them training (minutes, all cores; see RELIABILITY.md).
bench-class: $(VENV)/.dev chromium
	$(BIN)/python -m benchmarks.class_load --sessions 19 --trainers 1

pretrain: $(VENV)/.runtime
	$(BIN)/python -m genre_core pretrain --gtzan-csv ../shared/data/gtzan_features_30_sec.csv \
		--gtzan-audio ../shared/data/gtzan_mini/genres --splits ../shared/data/splits/sturm_artist_filtered_3fold

clean:
	rm -rf $(VENV) data/cache data/demo data/uploads .pytest_cache test-artifacts
