# Enclave — make targets. `make` alone lists them.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/enclave
PKGS  := ./...

.PHONY: help build run test test-browser lint generate bench setup chart-lint image

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install what tests need (Debian packages, Go tools); idempotent
	@scripts/setup.sh

build: ## build bin/enclave
	$(GO) build -o $(BIN) ./cmd/enclave

run: build ## run the embedded default server on 127.0.0.1:8080 (no external services) with the example catalogue; installs snakemake and cwltool first when missing (as root)
	@scripts/engines.sh
	ENCLAVE_ZONE_CATALOG=examples/catalog/catalog.yaml $(BIN) server

generate: ## regenerate api/ from openapi/wes.yaml
	$(GO) generate ./api/...

lint: ## go vet, gofmt, staticcheck, and a stale-generated-code check
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	@if [ -d api ]; then $(GO) generate ./api/... && git diff --exit-code -- api || { echo "api/ is stale: run make generate"; exit 1; }; fi

test: setup ## all tests with -race against real Redis, Snakemake and cwltool
	scripts/test-services.sh $(GO) test -race -count=1 -timeout 20m $(PKGS)

image: ## build the enclave image and the engine image on the Docker engine at DOCKER_HOST (IMAGE=, ENGINE_IMAGE= name them; docs/deploy.md)
	scripts/image.sh build $(IMAGE)
	scripts/engine-image.sh build $(ENGINE_IMAGE)

test-browser: setup ## only the browser suite (test/browser: Chromium, playwright-core, axe-core) against real Dex, Redis and MinIO; screenshots in test/browser/screenshots
	scripts/test-services.sh $(GO) test -race -count=1 -timeout 20m -v ./test/browser/...

chart-lint: ## helm lint + template of charts/enclave and its Go test (builds helm once)
	@scripts/helm.sh build
	scripts/helm.sh lint

bench: setup build ## throughput and latency against a same-run baseline
	scripts/test-services.sh $(GO) run ./test/bench
