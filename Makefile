# The two commands: `make run` (the whole system on 127.0.0.1) and `make test` (every test tier).
.PHONY: run test fuzz bench lint format deps images

UV_RUN := uv run --frozen

deps:
	@./scripts/bootstrap.sh

run: deps
	@$(UV_RUN) roster-run $(RUN_ARGS)

lint: deps
	$(UV_RUN) ruff check .
	$(UV_RUN) ruff format --check .
	$(UV_RUN) mypy .

# The container images (app, Kafka, PostgreSQL), built only when their inputs changed.
images: deps
	@$(UV_RUN) python -m devinfra.images

# Two pytest sessions side by side (devinfra/suite.py); with PYTEST_ARGS, one session with them.
test: lint images
	$(UV_RUN) python -m devinfra.suite $(PYTEST_ARGS)

# The fuzzing tier at length, with fresh examples each run (make test runs it bounded and repeatable).
FUZZ_EXAMPLES ?= 5000
fuzz: deps images
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(UV_RUN) pytest tests/test_fuzz_e2e.py -p no:cacheprovider --timeout=0 $(PYTEST_ARGS)

bench: deps
	$(UV_RUN) python -m devinfra.bench compare $(BENCH_ARGS)
	$(UV_RUN) python -m services.users.benchmark $(LOOKUP_BENCH_ARGS)
	$(UV_RUN) python -m devinfra.group_bench $(GROUP_BENCH_ARGS)
	$(UV_RUN) python -m devinfra.activity_bench $(ACTIVITY_BENCH_ARGS)
	$(UV_RUN) python -m devinfra.batch_bench $(BATCH_BENCH_ARGS)

format:
	uv run ruff format .
	uv run ruff check --fix .
