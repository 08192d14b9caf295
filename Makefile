# Two commands on a fresh Linux machine:
#   make run   - set everything up and start the desktop app
#   make test  - set everything up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip

.PHONY: run test venv sysdeps lint bench bench-quick suite docs screenshots clean help

help:
	@echo "make run          set up and start the desktop app"
	@echo "make test         set up and run the whole test suite (unit + end-to-end under Xvfb)"
	@echo "make lint         ruff + mypy"
	@echo "make bench-quick  rpa-vision bench --quick"
	@echo "make bench        the full benchmark suite, JSON in artifacts/bench.json"
	@echo "make docs         docs/PERFORMANCE.md from artifacts/bench.json (run make bench first)"
	@echo "make suite        rebuild the evaluation suite's screens in data/suite (pixel-identical)"
	@echo "make screenshots  re-render the README screenshots in docs/img"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -c constraints.txt -e '.[dev,ocr]'
	# rapidocr declares opencv-python, whose bundled Qt plugins break PySide6: we ship the
	# headless OpenCV and install rapidocr without its declared dependencies (the rest are in [ocr]).
	$(PIP) install -q --no-deps 'rapidocr-onnxruntime>=1.3'
	@touch $@

venv: $(STAMP)

sysdeps:
	@bash scripts/install-system-deps.sh

run: venv sysdeps
	$(BIN)/rpa-vision app

test: venv sysdeps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check rpa_vision ui benchmarks tests
	$(BIN)/mypy

bench-quick: venv sysdeps
	$(BIN)/rpa-vision bench --quick

bench: venv sysdeps
	mkdir -p artifacts
	$(BIN)/rpa-vision bench --json artifacts/bench.json

docs: venv
	$(BIN)/python scripts/make_performance_doc.py artifacts/bench.json

suite: venv sysdeps
	$(BIN)/python -m benchmarks.suite.build --out data/suite

screenshots: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/render_screenshots.py --out docs/img

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
