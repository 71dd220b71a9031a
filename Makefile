# claimdrift — see README.md. Every target works on a fresh machine: what a
# target needs and is missing, `make tools` installs.

GO       ?= go
BIN      := bin/claimdrift
TOOLS    := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)
# Terraform warns on every run without a CLI config file.
export TF_CLI_CONFIG_FILE := /dev/null
# Short fuzz run per target inside `make test`: a count of executions, not a
# duration. Go 1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when a duration ends mid-execution
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
FUZZTIME ?= 30000x
SAMPLE   ?= testdata/plans/providers/docker.json
# The concurrency-heavy packages (pool passes, claims, dispatcher lanes,
# store transactions) run once more under the race detector in `make test`.
RACE_PKGS ?= ./notify/ ./reconcile/ ./reconcile/internal/sqlstore/ ./reconcile/sqlite/ ./reconcile/postgres/

.PHONY: all run build test test-go fuzz tools fixtures bench bench-serve lint clean pg-start pg-stop

all: build

## run: build claimdrift and analyze the sample plan shipped in testdata/
run: build
	@./$(BIN) analyze $(SAMPLE); code=$$?; \
	  if [ $$code -eq 2 ]; then echo "(exit 2: the plan replaces resources)"; exit 0; fi; exit $$code

## build: compile bin/claimdrift
build:
	$(GO) build -trimpath -o $(BIN) ./cmd/claimdrift

## tools: install what the tests need when missing (terraform 1.5.7, OpenTofu 1.10.10, PostgreSQL, SARIF Multitool)
tools:
	@scripts/tools.sh

## test: install tools, start a throwaway PostgreSQL, run every test and a short fuzz run
test: tools
	@scripts/pg.sh start
	@set -a; . $(TOOLS)/pg/env; set +a; \
	  status=0; \
	  $(GO) test -count=1 ./... || status=$$?; \
	  [ $$status -eq 0 ] && { $(GO) test -race -count=1 $(RACE_PKGS) || status=$$?; }; \
	  [ $$status -eq 0 ] && { $(MAKE) --no-print-directory fuzz || status=$$?; }; \
	  scripts/pg.sh stop; exit $$status

## fuzz: run every fuzz target for FUZZTIME each (a duration like 30s, or a count like 30000x)
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## fixtures: regenerate testdata/ from fixtures/ with a real terraform
fixtures: tools
	@scripts/fixtures.sh

## bench: generate large plans and compare claimdrift with tfjson and jq
bench: build
	@scripts/bench.sh

## bench-serve: load figures of claimdrift serve (claims, tracks, reconcile pass; SQLite and PostgreSQL)
bench-serve:
	@scripts/bench-serve.sh

## lint: gofmt, go vet and staticcheck (scripts/tools.sh installs it when missing)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@[ -x $(TOOLS)/bin/staticcheck ] || scripts/tools.sh
	$(TOOLS)/bin/staticcheck ./...

pg-start:
	@scripts/pg.sh start
pg-stop:
	@scripts/pg.sh stop

clean:
	rm -rf bin .bench
