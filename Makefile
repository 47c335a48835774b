# `make serve` and `make test` set everything up from nothing (a virtualenv in .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= ./oortgate-data
PYTEST_WORKERS ?= 2

.PHONY: install serve test test-backends lint typecheck unit protocol reliability clean \
	browser-deps ceph-deps pg-deps pgbench-deps redis-deps tools-deps fuzz soak

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/oortgate serve --data-dir $(DATA_DIR)

lint: $(STAMP)
	$(BIN)/ruff check oortgate tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict oortgate bench tests

# Debian's packages for the tests, installed once (each *-deps target checks first):
# $(call apt_install,PACKAGES[,OPTIONS]) as root or through sudo, again after refreshing
# the package lists if the first try fails. Another process may hold the package
# manager's lock (an unattended upgrade, a parallel install): wait for it, up to five
# minutes, instead of failing at once.
APT_WAIT := -o DPkg::Lock::Timeout=300
APT_GET = $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get $(APT_WAIT)
apt_install = { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$(APT_GET) install -y -q $(2) $(1) >/dev/null 2>&1 || \
	{ $(APT_GET) update -q >/dev/null && $(APT_GET) install -y -q $(2) $(1) >/dev/null; }; }

# Headless Chromium for the browser test (a cross-origin upload through CORS).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || $(call apt_install,chromium)

# Ceph for the RADOS blob store's tests (tests/ceph_cluster.py boots a private one-monitor,
# one-OSD cluster per run). The binding, python3-rados, is made importable in the venv by
# linking its one extension module into site-packages, not by putting dist-packages on
# the path (its other modules would shadow the venv's).
CEPH_PACKAGES := ceph-mon ceph-osd ceph-common python3-rados
PY_EXT = $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PY_SITE = $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ceph-deps: $(STAMP)
	@{ command -v ceph-mon && command -v ceph-osd && \
	   ls /usr/lib/python3/dist-packages/rados$(PY_EXT); } >/dev/null 2>&1 || \
	  $(call apt_install,$(CEPH_PACKAGES),--no-install-recommends)
	@$(BIN)/python -c 'import rados' 2>/dev/null || \
	  ln -sf /usr/lib/python3/dist-packages/rados$(PY_EXT) $(PY_SITE)/

# PostgreSQL's server binaries for the contract suite and the protocol tests on the
# PostgreSQL metadata store (tests/pg_service.py starts a private instance when none
# answers).
pg-deps:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || $(call apt_install,postgresql)

# pgbench (in postgresql-client) for the benchmark's PostgreSQL ceiling.
pgbench-deps: pg-deps
	@{ command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench; } >/dev/null 2>&1 || \
	  $(call apt_install,postgresql-client)

# redis-server for the tests of the shared rate limit, which start private instances
# (and stop them) besides the one on 127.0.0.1:6379 if it answers.
redis-deps:
	@command -v redis-server >/dev/null 2>&1 || $(call apt_install,redis-server)

# rclone and restic for the tests of real tools on (versioned) buckets
# (tests/protocol/test_versioned_tools.py).
tools-deps:
	@{ command -v rclone && command -v restic; } >/dev/null 2>&1 || $(call apt_install,rclone restic)

unit: $(STAMP) redis-deps
	$(BIN)/pytest -q tests/unit

protocol: $(STAMP) browser-deps pg-deps redis-deps tools-deps
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/protocol

# The full form: 20 SIGKILL rounds and 4 power cuts under mixed load (`make test`: 3 and 1).
CRASH_ROUNDS ?= 20
POWER_CUTS ?= 4
reliability: $(STAMP)
	CRASH_ROUNDS=$(CRASH_ROUNDS) POWER_CUTS=$(POWER_CUTS) $(BIN)/pytest -q -s -n 0 tests/reliability

# The protocol tests run on the embedded store, and those of the modules that exercise
# the metadata store on PostgreSQL too (tests/protocol/conftest.py, PER_BACKEND_MODULES).
# The outage scenarios (PostgreSQL restarted, Redis stopped, under load) run here too:
# they judge who answered what from the gateway's counters, not from timing.
test: $(STAMP) lint typecheck browser-deps ceph-deps pg-deps redis-deps tools-deps
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --durations=15 tests

# Every protocol test on every metadata backend (the full double run `make test` has no
# time for).
test-backends: $(STAMP) browser-deps pg-deps redis-deps tools-deps
	OORTGATE_TEST_BACKENDS=embedded,postgres $(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/protocol

# A longer fuzz run than the 45 s of `make test` (FUZZ_SEED=n replays one).
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_REQUESTS=$${FUZZ_REQUESTS:-100000000} \
	  $(BIN)/pytest -q -n 0 tests/protocol/test_fuzz.py

# A steady mixed load at 80% of measured capacity; plot in docs/soak.png (bench/soak.py).
SOAK_SECONDS ?= 1800
soak: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,soak]'
	$(BIN)/python -m bench.soak --seconds $(SOAK_SECONDS) --out docs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Benchmark: oortgate against moto, nginx, s3rver and seaweedfs plus the machine's limits (bench/),
# and the scale-out rows (PostgreSQL, RADOS, 1 vs 3 gateways, pgbench; --no-pg, --no-rados,
# --no-gateways, --no-pgbench in BENCH_ARGS skip them). Installs its peers itself; results
# in bench/out/results.{jsonl,md}.
.PHONY: bench bench-quick
bench: $(STAMP) ceph-deps pgbench-deps redis-deps
	sh bench/install_peers.sh $(BIN)
	$(BIN)/python -m bench.run --out bench/out $(BENCH_ARGS)

bench-quick: $(STAMP) ceph-deps pgbench-deps redis-deps
	sh bench/install_peers.sh $(BIN)
	$(BIN)/python -m bench.run --quick --out bench/out $(BENCH_ARGS)
