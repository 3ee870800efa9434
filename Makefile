# tinyforge: `make demo` shows a blue-green deploy on this machine,
# `make test` runs every test against real Docker, Redis, registry and Caddy.

GO        ?= go
BIN       := bin/tinyforge
FUZZTIME  ?= 10s
TESTFLAGS ?=

.PHONY: build test unit e2e fuzz bench bench-deploy demo vet clean image vulncheck

IMAGE       ?= tinyforge:dev
IMAGE_CTX   ?= bin/image
IMAGE_FLAGS ?=
CA_CERTS    ?= /etc/ssl/certs/ca-certificates.crt
GOVULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/tinyforge

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every test, race detector on, e2e included, then each fuzz target for
# a bounded time.
test: vet
	$(GO) test -race -count=1 -timeout 25m $(TESTFLAGS) ./...
	$(MAKE) fuzz

unit:
	$(GO) test -race -count=1 -short ./...

e2e:
	$(GO) test -race -count=1 -timeout 25m -v ./test/e2e/

# Every Fuzz* function of every package, each for FUZZTIME (go test
# -fuzz takes one target per run): a new parser's fuzz target runs in CI
# as soon as it exists.
fuzz:
	@set -e; for file in $$(grep -rl --include='*_test.go' --exclude-dir=.git '^func Fuzz' . | sort); do \
	  dir=$$(dirname $$file); \
	  for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz $$dir $$fn ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$dir; \
	  done; \
	done

# The container image, FROM scratch, built here from the local binary
# (Dockerfile.local): this machine cannot pull base images. With network
# access, `docker build -t tinyforge .` builds it from source instead.
image: build
	rm -rf $(IMAGE_CTX) && mkdir -p $(IMAGE_CTX)
	cp $(BIN) $(IMAGE_CTX)/tinyforge
	cp $(CA_CERTS) $(IMAGE_CTX)/ca-certificates.crt
	docker build -f Dockerfile.local -t $(IMAGE) $(IMAGE_FLAGS) $(IMAGE_CTX)

# Known vulnerabilities in the code and its dependencies. Needs network
# access (govulncheck fetches its database), so it is not part of test/CI.
vulncheck:
	$(GO) run $(GOVULNCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -skip '^BenchmarkWebhookIngest' -benchmem ./...
	$(GO) test -run '^$$' -bench '^BenchmarkWebhookIngest' -benchtime 20000x ./intake/

# Push to served, side by side with `docker run` and the stop-then-start
# update, on this machine (see BENCHMARKS.md). A release build of the
# sidecar (no race detector); BENCH_RUNS runs (5).
BENCH_RUNS ?= 5
bench-deploy: build
	CI=true TINYFORGE_BENCH=1 TINYFORGE_BENCH_RUNS=$(BENCH_RUNS) TINYFORGE_BIN=$(CURDIR)/$(BIN) \
	  $(GO) test -count=1 -timeout 20m -v -run '^TestBenchDeploy$$' ./test/e2e/

demo: build
	scripts/demo.sh

clean:
	rm -rf bin
