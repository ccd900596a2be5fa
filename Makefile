# dcplan: two commands do all the set-up (see README.md).
#   make run    create/refresh .venv from pyproject.toml (and chromium for the PDF report), then
#               run the main job
#   make test   create/refresh .venv (with dev tools), install what the browser and PDF tests
#               need (Debian chromium, chromium-driver, poppler-utils), then run every test
#   make test-gpu  the GPU tests only, from the source tree with the python that has a CUDA torch and
#               pytest (no venv, no dashboard extras): PYTHON=python3 make test-gpu
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch comes from the CPU wheel pip already finds on machines like CI's; users with GPUs
# install a CUDA build first (README, "GPUs") and this step then keeps theirs.
TORCH_PIN ?= torch==2.13.0

.PHONY: run test test-gpu setup setup-dev system-deps lint mutation i18n clean

$(VENV)/.stamp-base: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-base pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(VENV)/.stamp-base
setup-dev: $(VENV)/.stamp-dev

system-deps:
	@scripts/system-deps.sh

# chromium renders the PDF report; without root/sudo the main job still runs (the PDF is skipped, said so)
run: setup
	-@scripts/system-deps.sh
	$(PY) -m dcplan run $(ARGS)

test: setup-dev system-deps
	DCPLAN_REQUIRE_BROWSER=1 $(PY) -m pytest $(PYTEST_ARGS)

test-gpu:
	PYTHONPATH=. $(PYTHON) -m pytest -m gpu -q $(PYTEST_ARGS)

lint: setup-dev
	$(PY) -m ruff check dcplan dashboards tests scripts

# message catalogs: extract the text (Babel), merge it into each language's .po, compile the .mo; then
# translate what `python scripts/i18n.py check` lists and run it again
i18n: setup-dev
	$(PY) scripts/i18n.py all
	$(PY) scripts/i18n.py check

# break one model term at a time (scripts/mutation_check.py) and show which tests catch it
mutation: setup-dev
	$(PY) scripts/mutation_check.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
