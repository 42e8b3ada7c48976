# BERT Lab. The two commands a user needs: `make run` (the app) and `make test` (the test suite).
# Each does all set-up first, and each step is idempotent (a no-op, in well under a second, when
# already done):
#   .venv      the virtual environment from requirements.txt (rebuilt when that file changes);
#   vendor/    the bertviz views' JavaScript, fetched with npm (scripts/vendor_js.sh, git-ignored),
#              and its copies in static/bertviz/ that the app serves to the views (git-ignored);
#   system     chromium + a Chinese font for the browser tests, npm for vendor/, with apt when
#              missing and run as root (scripts/system_deps.sh; never fails the target: the tests
#              that need what could not be installed skip with the reason).

PY     ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: setup system vendor run class test test-fast bench models clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

# System packages (chromium, a CJK font, npm): only when missing, only as root with apt.
system:
	@bash scripts/system_deps.sh

# The bertviz views' JavaScript (the script skips what is already there). Without npm or a
# registry the app still runs (the attention page says what is missing) and the tests that need
# it skip, so a failure here is a warning.
vendor: system
	@bash scripts/vendor_js.sh || echo "make: vendor/ incomplete; the bertviz views stay off" >&2

setup: $(STAMP) vendor

run: setup
	$(BIN)/python -m ui.serve --server.port $(PORT) --browser.gatherUsageStats false

# The app for a classroom: served on this machine's network address, with its URL and a QR code
# printed for the students' phones (scripts/class_server.py).
class: setup
	$(BIN)/python scripts/class_server.py --port $(PORT)

# Two workers (pytest-xdist), a test file each at a time: the browser tests wait on a server and a
# browser much of their time, so two files at once fill the two cores (the suite takes ~8 min on
# the 2-core machine, ~16 min in one process).
test: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# Everything but the real-browser tests.
test-fast: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --ignore-glob='tests/test_browser*.py'

bench: setup
	$(BIN)/python -m benchmarks

# The real BERTs, fetched once (needs a network): into $BERTLAB_MODELS if set (a folder to carry to a
# classroom; the app started with the same BERTLAB_MODELS finds them), else the Hugging Face cache.
# Where huggingface.co is blocked: HF_ENDPOINT=https://hf-mirror.com make models
models: $(STAMP)
	$(BIN)/python -m bertcore download bert-base-uncased bert-base-chinese \
		$(if $(BERTLAB_MODELS),--to "$(BERTLAB_MODELS)")

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
