# Two entry points: `make demo` (the main job) and `make test` (the test suite).
# Both create or reuse the project-local virtual environment .venv first.
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
DATA_ROOT ?=
CHECKPOINT ?=
WORK_DIR ?=

.PHONY: venv test demo clean-venv

venv:
	@PYTHON=$(PYTHON) ROPEVIT_VENV=$(abspath $(VENV)) bash tools/setup_env.sh

test: venv
	$(VENV)/bin/python -m pytest tests $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/python tools/demo.py \
		$(if $(DATA_ROOT),--data-root $(DATA_ROOT)) \
		$(if $(CHECKPOINT),--checkpoint $(CHECKPOINT)) \
		$(if $(WORK_DIR),--work-dir $(WORK_DIR))

clean-venv:
	rm -rf $(VENV)
