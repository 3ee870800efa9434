# tinyforge: `make demo` shows a blue-green deploy on this machine,
# `make test` runs every test against real Docker, Redis, registry and Caddy.

GO        ?= go
BIN       := bin/tinyforge
FUZZTIME  ?= 10s
TESTFLAGS ?=

.PHONY: build test unit e2e swarm swarm-stack fuzz bench bench-deploy demo vet clean image vulncheck deps

# The version and commit `tinyforge version` prints, stamped at link time.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/tinyforge/tinyforge/internal/buildinfo.Version=$(VERSION) \
           -X github.com/tinyforge/tinyforge/internal/buildinfo.Commit=$(COMMIT)

# The image compose.example.yml runs by default (TINYFORGE_IMAGE).
IMAGE       ?= ghcr.io/tinyforge/tinyforge:latest
IMAGE_CTX   ?= bin/image
IMAGE_FLAGS ?=
CA_CERTS    ?= /etc/ssl/certs/ca-certificates.crt
GOVULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tinyforge

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The services the tests start (redis-server, docker-registry, caddy,
# nginx, haproxy, knot, and promtool to check metrics): installed as root
# on Debian, else named.
deps:
	scripts/install-deps.sh

# The swarm tests (swarmhost, test/swarm) make their swarms on private
# Docker engines in network namespaces of their own (testsvc.PrivateEngine,
# root needed): the shared engine never joins a swarm, so they run in
# parallel with everything else. `make swarm` runs the swarm e2e alone.
SWARM_PKGS := ./swarmhost/... ./test/swarm/...

# Every test, race detector on, e2e included (independent packages run in
# parallel, as go test does), then each fuzz target for a bounded time.
test: deps vet
	$(GO) test -race -count=1 -timeout 25m $(TESTFLAGS) ./...
	$(MAKE) fuzz

swarm:
	$(GO) test -race -count=1 -timeout 15m -v $(SWARM_PKGS)

# compose.swarm.yml deployed as a stack on a private swarm, alone (it is
# part of `make test` and `make swarm` too).
swarm-stack:
	CI=true $(GO) test -race -count=1 -timeout 15m -v -run '^TestComposeSwarmStack$$' ./test/swarm/

unit:
	$(GO) test -race -count=1 -short ./...

e2e:
	$(GO) test -race -count=1 -timeout 25m -v ./test/e2e/

# Every Fuzz* function of every package, each for FUZZTIME: a real
# finding fails, Go 1.26's end-of-fuzztime coordinator race does not
# (see scripts/fuzz.sh).
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# The container image compose.example.yml names, FROM scratch, built here
# from the local (stripped, version-stamped) binary with Dockerfile.local:
# this machine cannot pull base images. With network access,
# `docker build -t ghcr.io/tinyforge/tinyforge:latest .` builds it from source.
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
