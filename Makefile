# The two set-up commands of the README.
.PHONY: demo test lint lock

demo:  ## one evening of patrols end to end, embedded (no server needed)
	@scripts/setup-venv.sh
	.venv/bin/ronde demo

test:  ## installs what the tests need (Debian packages, venv), then lint, types and every test
	@python3 scripts/lock.py --check
	@scripts/setup-system.sh
	.venv/bin/ruff check ronde tests bench scripts
	.venv/bin/mypy
	.venv/bin/pytest

lint:
	.venv/bin/ruff check ronde tests bench scripts
	.venv/bin/mypy

lock:  ## recompile requirements/*.txt from pyproject.toml (keeps current pins; UPGRADE=1 takes newer ones)
	python3 scripts/lock.py $(if $(UPGRADE),--upgrade)
