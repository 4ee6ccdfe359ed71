# mcp.k8s: everything a developer or CI runs. `make demo` and `make test` work on a fresh
# machine: they build their own virtual environments from PyPI (Galaxy is not needed:
# kubernetes.core comes with the `ansible` package).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
OLD_VENV := .venv-old
GALAXY_VENV := .venv-galaxy
MUTATION_VENV := .venv-mutation
# The second environment runs the oldest ansible-core meta/runtime.yml claims (2.16), which
# needs a controller Python from 3.10 to 3.12.
OLD_PYTHON ?= $(PYTHON)
BUILD := build
# ansible-test needs the collection at ansible_collections/<namespace>/<name>.
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/mcp/k8s
ANSIBLE_TEST_CACHE := $(HOME)/.ansible/test/cache
# Sanity tests such as compile and import run once per Python version ansible-test finds on
# PATH; pyenv's interpreters (present on our machine image) are added when they exist.
EXTRA_PYTHONS := $(subst $(eval) ,,$(foreach d,$(wildcard $(HOME)/.pyenv/versions/3.*/bin),$(d):))

.PHONY: help venv demo test sanity units integration lint changelog-lint galaxy bench clean cluster kube-binaries targets targets-oldest matrix mcp-servers mutation

help:
	@echo "make demo   start the API server double and provision mcp-k8s-server against it"
	@echo "            (make demo CLUSTER=real: against a real kube-apiserver built from Go modules)"
	@echo "make cluster  a real control plane in the foreground (Ctrl-C stops it); prints its kubeconfig"
	@echo "make test   sanity, unit and integration tests (both kubernetes clients), ansible-lint"
	@echo "make galaxy build the collection tarball and run Galaxy's importer and the docs linter on it"
	@echo "make bench  benchmarks, written to docs/benchmarks.md"
	@echo "make mutation  mutation testing of the security-critical module_utils (slow; docs/testing.md)"
	@echo "make matrix every supported Kubernetes minor: build, targets, role tests; docs/kubernetes-versions.md"

$(VENV)/.installed: tests/requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-dev.txt
	touch $@

$(OLD_VENV)/.installed: tests/requirements-old-client.txt
	@$(OLD_PYTHON) -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' || \
	  { echo "$(OLD_VENV): ansible-core 2.16 needs Python 3.10 to 3.12; set OLD_PYTHON to one"; exit 1; }
	rm -rf $(OLD_VENV) && $(OLD_PYTHON) -m venv $(OLD_VENV)
	$(OLD_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-old-client.txt
	touch $@

venv: $(VENV)/.installed $(OLD_VENV)/.installed

demo: $(VENV)/.installed
	CLUSTER="$(CLUSTER)" $(VENV)/bin/python scripts/demo.py

# The real control plane: kube-apiserver, kube-controller-manager and etcd built from Go
# modules (tests/kube_real/go), cached per machine under ~/.cache/mcp-k8s/kube-<version>/bin.
# KUBE_VERSION=v1.34.4 (or a minor, 1.34) builds and runs another release (its Go module:
# tests/kube_real/versions/<minor>/); the default is the pinned one. Every target that starts
# a control plane (cluster, targets, integration) takes it from $(KUBE_ENV).
KUBE_VERSION ?=
KUBE_ENV := $(if $(strip $(KUBE_VERSION)),MCP_K8S_KUBE_VERSION=$(strip $(KUBE_VERSION)))
kube-binaries: $(VENV)/.installed
	cd tests && $(KUBE_ENV) ../$(VENV)/bin/python -m kube_real build

cluster: kube-binaries
	cd tests && $(KUBE_ENV) ../$(VENV)/bin/python -m kube_real

# Each stage's wall time is printed at the end (scripts/stages.py), also when one fails.
TEST_STAGES := changelog-lint lint galaxy kube-binaries units integration targets targets-oldest sanity
test: venv
	MAKE="$(MAKE)" $(PYTHON) scripts/stages.py $(TEST_STAGES)

changelog-lint: $(VENV)/.installed
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

# What Galaxy and Automation Hub run on every upload: galaxy-importer on the built tarball (its
# ansible-doc and offline ansible-lint; no Galaxy, no container, see tests/galaxy-importer.cfg),
# which must pass with no warning, and antsibull-docs' collection docs linter. In their own
# environment: galaxy-importer pins libraries older than the test environment's.
$(GALAXY_VENV)/.installed: tests/requirements-galaxy.txt
	rm -rf $(GALAXY_VENV) && $(PYTHON) -m venv $(GALAXY_VENV)
	$(GALAXY_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-galaxy.txt
	touch $@

galaxy: $(GALAXY_VENV)/.installed
	rm -rf $(BUILD)/galaxy && mkdir -p $(BUILD)/galaxy
	PATH="$(CURDIR)/$(GALAXY_VENV)/bin:$$PATH" ansible-galaxy collection build --output-path $(BUILD)/galaxy
	cd $(BUILD)/galaxy && GALAXY_IMPORTER_CONFIG="$(CURDIR)/tests/galaxy-importer.cfg" \
	  PATH="$(CURDIR)/$(GALAXY_VENV)/bin:$$PATH" python -m galaxy_importer.main *.tar.gz | tee importer.log
	@! grep -E '^(WARNING|ERROR|CRITICAL):' $(BUILD)/galaxy/importer.log || \
	  { echo "galaxy: galaxy-importer warned (above); Galaxy would show that on the collection's page"; exit 1; }
	PATH="$(CURDIR)/$(GALAXY_VENV)/bin:$$PATH" antsibull-docs lint-collection-docs --plugin-docs .

# --offline: Galaxy is unreachable. ansible-lint then does not link this collection into its
# own collections path, so the playbooks could not resolve mcp.k8s.*: link it here.
lint: $(VENV)/.installed
	mkdir -p $(BUILD)/lint/ansible_collections/mcp && ln -sfn $(CURDIR) $(BUILD)/lint/ansible_collections/mcp/k8s
	ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/$(BUILD)/lint" PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	  $(VENV)/bin/ansible-lint --profile production --offline roles playbooks

units: venv
	$(VENV)/bin/python -m pytest tests/unit -q
	@echo "--- unit tests again with ansible-core 2.16 and kubernetes 31 ($(OLD_VENV))"
	$(OLD_VENV)/bin/python -m pytest tests/unit -q

# The two MCP servers the end-to-end tests start (test dependencies only, never needed by the
# collection), each in its own cache folder named after what is in it, so a new pin installs anew:
# the upstream mcp-k8s-server under pyenv's Python 3.13 (it needs 3.13), and the client-go based
# kubernetes-mcp-server from its npm package (a static linux-amd64 binary).
MCP_CACHE ?= $(HOME)/.cache/mcp-k8s
MCP_UPSTREAM_PYTHON ?= $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python)))
MCP_UPSTREAM_PINS := tests/requirements-mcp-k8s-server.txt
MCP_UPSTREAM_ENV := $(MCP_CACHE)/mcp-k8s-server-0.1.2-$(shell sha256sum $(MCP_UPSTREAM_PINS) | cut -c1-12)
KMS_VERSION := 0.0.67
KMS_DIR := $(MCP_CACHE)/kubernetes-mcp-server-linux-amd64-$(KMS_VERSION)
KMS_BIN := $(KMS_DIR)/package/bin/kubernetes-mcp-server-linux-amd64

$(MCP_UPSTREAM_ENV)/.installed:
	@test -n "$(MCP_UPSTREAM_PYTHON)" || { echo "mcp-servers: no Python 3.13 (set MCP_UPSTREAM_PYTHON)"; exit 1; }
	rm -rf $(MCP_UPSTREAM_ENV) && $(MCP_UPSTREAM_PYTHON) -m venv $(MCP_UPSTREAM_ENV)
	$(MCP_UPSTREAM_ENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r $(MCP_UPSTREAM_PINS)
	touch $@

$(KMS_BIN):
	rm -rf $(KMS_DIR) && mkdir -p $(KMS_DIR)
	cd $(KMS_DIR) && npm pack --silent kubernetes-mcp-server-linux-amd64@$(KMS_VERSION) >/dev/null && tar xzf kubernetes-mcp-server-linux-amd64-$(KMS_VERSION).tgz
	test -x $@

mcp-servers: $(MCP_UPSTREAM_ENV)/.installed $(KMS_BIN)

# Two workers (one per core); a test file stays on one worker, so its playbooks run in order.
INTEGRATION_WORKERS ?= 2
integration: venv mcp-servers
	MCP_K8S_UPSTREAM_ENV="$(MCP_UPSTREAM_ENV)" MCP_K8S_KMS_BIN="$(KMS_BIN)" \
	  PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m pytest tests/integration -q -n $(INTEGRATION_WORKERS) --dist loadfile
	@echo "--- module and lookup integration tests with ansible-core 2.16 and kubernetes 31 ($(OLD_VENV)), against the double"
	# The client generations differ on the client side only: the real control plane was just
	# run with the newer client, and leaving it out here keeps CI well inside its time.
	MCP_K8S_REAL_CLUSTER=0 PATH="$(CURDIR)/$(OLD_VENV)/bin:$$PATH" $(OLD_VENV)/bin/python -m pytest tests/integration -q -m both_clients -n $(INTEGRATION_WORKERS) --dist loadfile

# Sanity runs on a copy of the tracked tree placed where ansible-test wants it. Every test
# ansible-test offers runs, in its own virtual environments (--venv); pip in those comes
# from scripts/get_pip_offline.py (see its docstring for why).
sanity: $(VENV)/.installed
	rm -rf $(BUILD)/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_ROOT)
	# The copy lies inside this (ignored) build folder: give it its own git index so that
	# ansible-test lists its files instead of finding them ignored by the outer repository.
	cd $(SANITY_ROOT) && git init -q && git add -A
	mkdir -p $(ANSIBLE_TEST_CACHE)
	pip_version=$$(grep -oP "pip='\K[0-9.]+" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py); \
	  cp scripts/get_pip_offline.py $(ANSIBLE_TEST_CACHE)/get_pip_$${pip_version//./_}.py
	cd $(SANITY_ROOT) && PATH="$(CURDIR)/$(VENV)/bin:$(EXTRA_PYTHONS)$$PATH" ansible-test sanity --venv --color no

# ansible-test integration targets (tests/integration/targets) against a real control plane.
targets: kube-binaries
	$(KUBE_ENV) $(VENV)/bin/python scripts/run_targets.py

# The targets on the oldest Kubernetes minor the collection supports (CI; the newest runs the
# whole real tier in `integration`).
targets-oldest: $(VENV)/.installed
	$(MAKE) --no-print-directory targets \
	  KUBE_VERSION=$$(cd tests && ../$(VENV)/bin/python -c 'from kube_real.versions import SUPPORTED; print(SUPPORTED[0])')

# Every supported minor, one after the other: build (cached), targets, the role's real-tier
# tests; writes docs/kubernetes-versions.md. MINORS=1.33,1.34 runs some (their rows replaced).
MINORS ?=
matrix: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python scripts/matrix.py $(if $(strip $(MINORS)),--minors $(MINORS))

bench: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-bench.txt
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python tests/bench/run.py

# Mutation testing (docs/testing.md): the hand-written mutants of the security invariants, then
# cosmic-ray over each security-critical file against its unit tests, in a copy of the tree under
# build/mutation. Not part of `make test`: about 5 s per mutant, some 1,600 mutants (2 h and more
# on a shared 2-core machine); MUTATION_ARGS=tokens (or several keys) runs only those files, MUTATION_ARGS="--survivors tokens" only what survived its last run.
MUTATION_ARGS ?=
$(MUTATION_VENV)/.installed: tests/requirements-mutation.txt
	rm -rf $(MUTATION_VENV) && $(PYTHON) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-mutation.txt
	touch $@

mutation: $(VENV)/.installed $(MUTATION_VENV)/.installed
	$(MUTATION_VENV)/bin/python tests/mutation/hand_mutants.py
	$(MUTATION_VENV)/bin/python tests/mutation/run.py $(MUTATION_ARGS)

clean:
	rm -rf $(BUILD) tests/output .demo
