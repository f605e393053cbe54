# Developer entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The demo needs gpuctl and its runtime dependencies only; the tests add the test tools and
# Ray (for the `gpuctl simulate sweep --backend ray` tests).
$(BIN)/.installed-demo: pyproject.toml
	@if [ -f $(BIN)/.installed ] && [ $(BIN)/.installed -nt pyproject.toml ]; then \
		echo "gpuctl already installed with the test extras"; \
	else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install -q --upgrade pip && \
		$(BIN)/python -m pip install -q -e .; \
	fi
	touch $@

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,ray]'
	touch $@

.PHONY: install demo test lint bench image
install: $(BIN)/.installed

demo: $(BIN)/.installed-demo
	$(BIN)/gpuctl demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two workers, each running whole files (module- and session-scoped fixtures stay per worker).
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(BIN)/.installed
	$(BIN)/python -m bench

# The image deploy/Dockerfile describes, built without Docker (root, mmdebstrap): an OCI archive
# for `ctr images import` (deploy/README.md).
image: $(BIN)/.installed-demo
	PYTHON=$(BIN)/python deploy/build-image.sh --out build/gpuctl-image.tar
