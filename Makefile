# The two set-up commands: `make demo` and `make test`.
#
# Both install from the committed locks in requirements/ (exact versions with hashes), so a fresh
# machine gets exactly the environment the tests ran in. `make test` only adds the test tools:
# requirements/test.lock is compiled under the constraint of requirements/all.lock, so no version
# that `make demo` installed changes. `make lock` refreshes the locks from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements
PIP_QUIET := --quiet --disable-pip-version-check
# The newest releases that pyproject.toml allows, without the locks (an early warning of upstream breaks).
LATEST := .venv-latest
# Benchmarks compare against lifelines, which caps pandas: they get a virtualenv of their own.
BENCH := .venv-bench

.PHONY: demo test test-latest bench lock install install-test lint typecheck pytest clean

# A virtualenv with pip; Debian splits venv off into python3-venv.
%/bin/python:
	$(PYTHON) -m venv $* || { apt-get install -y python3-venv && $(PYTHON) -m venv $*; }
	$*/bin/python -m pip install $(PIP_QUIET) --upgrade pip

$(VENV)/.installed: $(BIN)/python $(LOCKS)/all.lock pyproject.toml
	$(BIN)/python -m pip install $(PIP_QUIET) --require-hashes --no-deps -r $(LOCKS)/all.lock
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(LOCKS)/test.lock
	$(BIN)/python -m pip install $(PIP_QUIET) --require-hashes --no-deps -r $(LOCKS)/test.lock
	$(BIN)/python -m pip check
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/hepatrial demo

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/vulture src vulture_whitelist.py --min-confidence 60

typecheck: install-test
	$(BIN)/mypy src

pytest: install-test
	$(BIN)/python -m pytest

test: lint typecheck pytest

# The same suite against the newest releases pyproject.toml allows, in a fresh virtualenv.
test-latest:
	rm -rf $(LATEST)
	$(MAKE) $(LATEST)/bin/python
	$(LATEST)/bin/python -m pip install $(PIP_QUIET) --upgrade -e '.[all,test]'
	$(LATEST)/bin/python -m pip check
	$(LATEST)/bin/python -m pip list --format=freeze | grep -iE '^(numpy|pandas|scipy|statsmodels|sqlalchemy|pydantic|matplotlib|pyarrow)=='
	HEPATRIAL_UNLOCKED=1 $(LATEST)/bin/python -m pytest

$(BENCH)/.installed: $(BENCH)/bin/python $(LOCKS)/bench.lock pyproject.toml
	$(BENCH)/bin/python -m pip install $(PIP_QUIET) --require-hashes --no-deps -r $(LOCKS)/bench.lock
	$(BENCH)/bin/python -m pip install $(PIP_QUIET) --no-deps -e .
	touch $@

bench: $(BENCH)/.installed
	for script in benchmarks/bench_*.py; do $(BENCH)/bin/python $$script || exit 1; done

# Refresh the locks from pyproject.toml (run after changing a dependency, or to take new releases).
UV_COMPILE = .venv-lock/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' --quiet --upgrade
lock: .venv-lock/bin/python
	.venv-lock/bin/python -m pip install $(PIP_QUIET) --upgrade uv
	$(UV_COMPILE) --extra all -o $(LOCKS)/all.lock
	$(UV_COMPILE) --extra all --extra test -c $(LOCKS)/all.lock -o $(LOCKS)/test.lock
	$(UV_COMPILE) --extra all --extra bench -o $(LOCKS)/bench.lock

clean:
	rm -rf $(VENV) $(LATEST) $(BENCH) .venv-lock build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
