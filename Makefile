# OfficeMap — the two commands that matter are `make run` and `make test`.
.PHONY: run test setup setup-test lint typecheck bench clean-state

run: setup
	.venv/bin/officemap serve

test: setup-test
	.venv/bin/python -m pytest -q -p no:cacheprovider

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

lint: setup-test
	.venv/bin/ruff check backend gis map_ui tests benchmarks
	.venv/bin/ruff format --check backend gis map_ui tests benchmarks

typecheck: setup-test
	.venv/bin/mypy

bench: setup-test
	.venv/bin/python -m benchmarks.run

clean-state:
	rm -rf .state
