# memgen: two commands on a fresh machine.
#   make verify  -> creates .venv, installs, runs every fast claim and its negative controls, draws the figures,
#                   writes the ledger (claims that fail are findings in the ledger; make fails on errors and on
#                   a control that does not fail, not on findings)
#   make test    -> creates .venv if needed, installs, runs pytest (fast tier)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
PYTEST_WORKERS ?= 2
MEMGEN := $(VENV)/bin/memgen

CLUSTER_WORKERS ?= 2
# claims and figures in parallel on a local process pool (numbers do not depend on it)
VERIFY_WORKERS ?= 2

.PHONY: install verify verify-full record verify-cluster figures report test test-slow lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	# the dask extra too, so the cluster tests (tests/test_dask.py) run
	$(PY) -m pip install -q -e ".[test,dask]"
	# the interop extra's libraries too (tqdm: flow_matching.solver imports it without declaring it), so the flow_matching / torchcfm tests (tests/test_interop_*.py) run,
	# pinned to the torch installed above (their unpinned torch would replace it with a CUDA build); torchcfm
	# without its dependencies: its matchers and models need only torch, numpy and POT, while its torchdyn
	# dependency pulls torchvision, a CUDA build that does not load with a CPU torch
	$(PY) -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(VENV)/torch-pin.txt
	$(PY) -m pip install -q -c $(VENV)/torch-pin.txt "flow_matching>=1.0.10" tqdm
	$(PY) -m pip install -q --no-deps "torchcfm>=1.0.7"
	touch $@

install: $(VENV)/.installed

verify: install
	$(MEMGEN) verify --controls --workers $(VERIFY_WORKERS) --json reports/verdicts.json --markdown reports/verdicts.md; \
	status=$$?; [ $$status -eq 1 ] && status=0; \
	$(MEMGEN) figures --workers $(VERIFY_WORKERS) || status=1; \
	$(MEMGEN) report --from reports/verdicts.json || status=1; \
	exit $$status

verify-full: install
	$(MEMGEN) verify --full --workers $(VERIFY_WORKERS) --json reports/verdicts.json --markdown reports/verdicts.md; \
	status=$$?; [ $$status -eq 1 ] && status=0; \
	$(MEMGEN) figures --full --workers $(VERIFY_WORKERS) || status=1; \
	$(MEMGEN) report --from reports/verdicts.json || status=1; \
	exit $$status

# every claim at the spec's sizes, each claim's record written to proofs_checks/records/ as it finishes (commit
# them); the fast tier first, for the values later runs compare with; make record RESUME=1 goes on after a stop
record: install
	$(MEMGEN) verify --full --record --workers $(VERIFY_WORKERS) --json reports/full/verdicts.json \
		--markdown reports/full/verdicts.md $(if $(RESUME),--resume); \
	status=$$?; [ $$status -eq 1 ] && status=0; exit $$status

# the fast tier on a Dask LocalCluster of CLUSTER_WORKERS one-thread workers (loopback only)
verify-cluster: install
	$(MEMGEN) verify --controls --scheduler local:$(CLUSTER_WORKERS) --json reports/verdicts.json --markdown reports/verdicts.md

figures: install
	$(MEMGEN) figures

report: install
	$(MEMGEN) report

test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

test-slow: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m slow

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf reports figures/out .cache .pytest_cache
