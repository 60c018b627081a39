# Two commands set everything up on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
# DVC lives in its own environment: it pulls hydra-core / omegaconf, which pin antlr4-python3-runtime 4.9, while
# Dagster's asset-selection parser needs 4.13. $(VENV)/bin/dvc links to it, so one PATH serves both.
DVC_VENV ?= .venv-dvc
DVC_PKG := dvc==3.67.1
DVC_STAMP := $(DVC_VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install run test ui mlflow bench browser

$(DVC_STAMP):
	test -x $(DVC_VENV)/bin/python || python3 -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/python -m pip install --quiet '$(DVC_PKG)'
	touch $(DVC_STAMP)

$(STAMP): pyproject.toml $(DVC_STAMP)
	test -x $(PY) || python3 -m venv $(VENV)
	# CPU-sized torch wheel first, pinned: an unpinned install would pull gigabytes of CUDA wheels.
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	ln -sf $(abspath $(DVC_VENV))/bin/dvc $(VENV)/bin/dvc
	touch $(STAMP)

install: $(STAMP)

# Full pipeline on the built-in procedural source: dvc repro runs every stage that is out of date.
run: install
	test -d .dvc || $(VENV)/bin/dvc init --quiet
	# dvc stages call `python -m fourdpqa`: put the venv first on PATH so that python is ours
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/dvc repro
	@echo "outputs: data/ (scenes, tracks, qa, dataset, validation, review/index.html, models, eval/report.md)"

# Headless Chromium renders the review page in the tests (Debian package, installed once if we may).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the review-page browser test will be skipped"; }

test: install browser
	$(PY) -m pytest -q -n 2 --dist loadfile

# AUTOMATION=on: the sensors (new videos -> per-video runs -> one dataset rebuild) and the nightly schedule start
# running; otherwise they start stopped and are switched on in the UI (Automation). HOST / UI_PORT / MLFLOW_PORT:
# where the UIs listen (e.g. `make ui HOST=0.0.0.0 UI_PORT=3100` on a shared machine).
AUTOMATION ?= off
HOST ?= 127.0.0.1
UI_PORT ?= 3000
MLFLOW_PORT ?= 5000
# litellm (which MLflow's server imports) fetches a model price list on import; offline each worker waits for it
export LITELLM_LOCAL_MODEL_COST_MAP ?= True
ui: install
	mkdir -p $(DAGSTER_HOME)
	# the portable CPU kernels the CLI pins for model stages (fourdpqa/numerics.py), for Dagster's processes too
	ATEN_CPU_CAPABILITY=$${ATEN_CPU_CAPABILITY:-default} MKL_CBWR=$${MKL_CBWR:-COMPATIBLE} \
	  ONEDNN_MAX_CPU_ISA=$${ONEDNN_MAX_CPU_ISA:-SSE41} FOURDPQA_AUTOMATION=$(AUTOMATION) \
	  $(VENV)/bin/dagster dev -m dagster_project.definitions -h $(HOST) -p $(UI_PORT)

# The store is laid out as `mlflow server` keeps its own (fourdpqa/stages/mlflow_store.py): database + proxied artifacts.
MLFLOW_STORE ?= data/mlflow
mlflow: install
	$(VENV)/bin/mlflow server --backend-store-uri sqlite:///$(MLFLOW_STORE)/mlflow.db \
	  --artifacts-destination $(MLFLOW_STORE)/mlartifacts --host $(HOST) --port $(MLFLOW_PORT)

# Performance figures, each next to the baseline a peer would write and the ratio (benchmarks/*.py; about a minute on
# a CPU, plus a few minutes for the export's pipeline inputs). BENCH_FULL=1: the issue-16 sizes (tracks at 16,384
# queries x 48 frames; the export on the default 96-video configuration; training throughput of the 7B
# configuration, which needs a >= 70 GiB GPU; long videos of 300/900/1,800 frames at 512x512, a few minutes per
# 100 frames on one core: add `--size 1408` by hand for the 1408x1408 variant; the scale model's larger builds). VLM4D=/path/to/VLM4D also scores the
# answer extractor there. BENCH_DATA=/path/to/data (a finished default run): validate / probe cost and the dataset scaling on it instead of
# a small pipeline built first.
bench: install
	$(PY) benchmarks/tracks.py $(if $(BENCH_FULL),--full)
	$(PY) benchmarks/render.py
	$(PY) benchmarks/qa.py
	$(PY) benchmarks/qa_clutter.py
	$(PY) benchmarks/train_throughput.py $(if $(BENCH_FULL),--size 7b --steps 10)
	$(PY) benchmarks/export.py $(if $(BENCH_FULL),--videos 96)
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/dagster_partitions.py $(if $(BENCH_FULL),--videos 24 --frames 32 --size 256,--videos 24)
	$(PY) benchmarks/long_video.py $(if $(BENCH_FULL),--full)
	$(PY) benchmarks/hash_once.py $(if $(BENCH_FULL),--raw data/raw/procedural)
	$(PY) benchmarks/validate_cost.py $(if $(BENCH_DATA),--data $(BENCH_DATA))
	$(PY) benchmarks/dataset_scaling.py $(if $(BENCH_DATA),--data $(BENCH_DATA))
	$(PY) benchmarks/dagster_vs_dvc.py
	$(PY) benchmarks/pipeline.py $(if $(BENCH_FULL),--full)
	$(if $(VLM4D),$(PY) benchmarks/vlm4d_extractor.py $(VLM4D))
