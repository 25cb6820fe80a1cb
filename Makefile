# berth: `make run` builds and starts the server (embedded SQLite, SPA);
# `make test` installs and starts what the tests need (MariaDB, the Docker
# engine with local test images, Chromium)
# and runs every test. See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO      ?= go
BIN     := bin/berth
# Root over the local MariaDB's socket; tests create their own databases.
export BERTH_TEST_MYSQL ?= root@unix(/run/mysqld/mysqld.sock)/

# What `make generate` writes; `make check-generated` fails if it changes any.
GENERATED := ent graph migrations frontend/src/gql

.PHONY: build run frontend frontend-deps generate check-generated test test-go \
        test-browser bench services mariadb docker chromium test-image clean

## build: the berth binary with the SPA embedded
build: frontend
	$(GO) build -o $(BIN) ./cmd/berth

## run: build and serve on 127.0.0.1:8080 with the embedded SQLite in ./data
run: build
	./$(BIN) serve

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

frontend-deps: frontend/node_modules/.package-lock.json

## frontend: the SPA, built into frontend/dist (embedded by the binary)
frontend: frontend-deps
	cd frontend && npm run --silent build

## generate: ent, gqlgen, migrations and frontend types from their sources
generate: frontend-deps mariadb
	$(GO) run -mod=mod ./ent/entc.go
	$(GO) tool gqlgen generate
	$(GO) run -mod=mod ./migrations/gen
	cd frontend && npm run --silent codegen

## check-generated: fail when generated code is out of date
check-generated:
	@before=$$(scripts/tree-state.sh $(GENERATED)); \
	$(MAKE) --no-print-directory generate >/dev/null; \
	after=$$(scripts/tree-state.sh $(GENERATED)); \
	if [ "$$before" != "$$after" ]; then \
		echo "generated code was out of date; 'make generate' changed:"; \
		git status --short -- $(GENERATED); exit 1; \
	fi; echo "generated code is up to date"

services: mariadb test-image

mariadb:
	@scripts/ensure-mariadb.sh

docker:
	@scripts/ensure-docker.sh

chromium:
	@scripts/ensure-chromium.sh

## test-image: the local busybox images app tests run (no registry needed)
test-image: docker
	@scripts/test-image.sh

## test: everything, against real MariaDB, SQLite and Chromium
test: services chromium check-generated frontend
	$(GO) vet ./...
	$(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory test-browser

test-go:
	$(GO) test -count=1 -timeout 15m ./...

## test-browser: the SPA in Chromium against a real berth serve
test-browser: build chromium
	scripts/browser-test.sh $(BIN)

## bench: benchmarks, printing their figures
bench: services
	$(GO) test -run '^$$' -bench . -benchtime 1x ./... | grep -v '^\(goos\|goarch\|pkg\|cpu\):'


clean:
	rm -rf bin data
