# Everything a fresh clone needs is created here: `make run` and `make test` work with nothing installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What running needs (the service and the README's example clients), then the development tools, then the GPU
# engine's stack: `make run` installs only the first.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DIFFUSION_STAMP := $(VENV)/.installed-diffusion
# torch is installed on its own first: a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= data

.PHONY: install install-dev install-diffusion run test test-container lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[examples]'
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

$(DIFFUSION_STAMP): $(DEV_STAMP) constraints/diffusion.txt
	$(BIN)/pip install --quiet -c constraints/diffusion.txt '$(TORCH_SPEC)'
	$(BIN)/pip install --quiet -c constraints/diffusion.txt -e '.[dev,diffusion]'
	touch $(DIFFUSION_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

install-diffusion: $(DIFFUSION_STAMP)

run: $(STAMP)
	$(BIN)/stillmotion serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --print-dev-key

test: $(DIFFUSION_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

# Builds the Dockerfile's image with podman and runs it: serve alone, then API and worker containers on PostgreSQL
# and an S3-protocol server (needs root, podman, runc and debootstrap; `.ci/run` installs them).
test-container: $(DEV_STAMP)
	$(BIN)/pytest -m container tests/container --timeout=1800 -s

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/generation.py
	$(BIN)/python benchmarks/motion_eval.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
