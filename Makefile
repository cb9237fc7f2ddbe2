# The two set-up commands of the README.
.PHONY: demo test lint

demo:  ## one evening of patrols end to end, embedded (no server needed)
	@scripts/setup-venv.sh
	.venv/bin/ronde demo

test:  ## installs what the tests need (Debian packages, venv), then lint, types and every test
	@scripts/setup-system.sh
	.venv/bin/ruff check ronde tests bench
	.venv/bin/mypy
	.venv/bin/pytest

lint:
	.venv/bin/ruff check ronde tests bench
	.venv/bin/mypy
