# One-command set-up: every target below creates .venv/ and installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
XLEARN_VERSION := 0.40a1
PDQHASH_VERSION := 0.2.8
APT_PACKAGES := tesseract-ocr tesseract-ocr-kor fonts-nanum fonts-dejavu-core chromium
# xlearn aborts the whole process when USER is unset (CI and containers often lack it).
export USER := $(or $(USER),bunjang)
export OMP_THREAD_LIMIT ?= 1

.PHONY: help install system-deps demo s3-demo sample test lock serve airflow airflow-smoke airflow-celery-smoke clean

help:
	@echo "make demo          run the whole pipeline on data/sample (sets everything up first)"
	@echo "make s3-demo       the demo with the lake on an S3 API (moto's server on loopback, stopped after)"
	@echo "make test          run the whole test suite (sets everything up first)"
	@echo "make sample        add the simulator's later event streams to data/sample (tools/sample.py)"
	@echo "make serve         start the HTTP service on 127.0.0.1:8000 (HOST, PORT, WORKERS, CACHE)"
	@echo "make airflow       start a local Airflow with this repo's DAGs"
	@echo "make airflow-smoke start Airflow, run the sample chain end to end, stop it"
	@echo "make airflow-celery-smoke  the same chain on the CeleryExecutor, two workers, one killed mid-run"
	@echo "make lock          re-pin requirements.lock from the current .venv"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# xlearn only ships as source: build its wheel once and keep it in wheelhouse/.
wheelhouse/.xlearn-$(XLEARN_VERSION): | $(PY)
	mkdir -p wheelhouse
	$(PIP) wheel --quiet --no-deps --wheel-dir wheelhouse xlearn==$(XLEARN_VERSION)
	touch $@

# pdqhash too (a C++ extension; the wheel keeps reinstalls from compiling it again).
wheelhouse/.pdqhash-$(PDQHASH_VERSION): | $(PY)
	mkdir -p wheelhouse
	$(PIP) wheel --quiet --no-deps --wheel-dir wheelhouse pdqhash==$(PDQHASH_VERSION)
	touch $@

$(VENV)/.installed: requirements.lock pyproject.toml wheelhouse/.xlearn-$(XLEARN_VERSION) \
		wheelhouse/.pdqhash-$(PDQHASH_VERSION) | $(PY)
	$(PIP) install --quiet --find-links wheelhouse -r requirements.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed system-deps

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

demo: install
	$(PY) -m bunjang_lab demo

# The lake at s3://bunjang/lake on moto's S3 server, started on a free port and stopped after.
s3-demo: install
	$(PY) tools/s3_local.py run -- $(PY) -m bunjang_lab demo

# data/sample's later event streams (reports and decisions...) written into its day files; idempotent.
sample: install
	$(PY) tools/sample.py

test: install
	$(PY) -m pytest -n 2 --dist loadgroup -q

lock: | $(PY)
	$(PIP) freeze --exclude-editable | grep -v '^bunjang' > requirements.lock

clean:
	rm -rf var/ models/*/ models/latest .pytest_cache

# The HTTP service over the published cache (SIGTERM or Ctrl-C stop it gracefully).
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
serve: install
	$(PY) -m bunjang_lab.score serve --host $(HOST) --port $(PORT) --workers $(WORKERS) $(if $(CACHE),--cache $(CACHE))

# Local Airflow (api-server, scheduler, dag-processor) with this repo's dags/; Ctrl-C stops it.
airflow: install
	$(PY) tools/airflow_local.py start

# Start Airflow, drop the newest sample day in the landing folder, wait for
# marketplace_ingest -> fraud_scan -> publish to succeed, print the run states, stop.
airflow-smoke: install
	$(PY) tools/airflow_local.py smoke

# The whole chain on the CeleryExecutor (Redis broker, PostgreSQL metadata and results,
# two workers, one SIGKILLed while image shards run); needs root (a host name per worker).
airflow-celery-smoke: install
	$(PY) tools/airflow_celery_smoke.py
