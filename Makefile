# tinyforge: `make demo` shows a blue-green deploy on this machine,
# `make test` runs every test against real Docker, Redis, registry and Caddy.

GO        ?= go
BIN       := bin/tinyforge
FUZZTIME  ?= 10s
TESTFLAGS ?=

.PHONY: build test unit e2e fuzz bench demo vet clean

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

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzWorkloads$$' -fuzztime $(FUZZTIME) ./labels/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDistribution$$' -fuzztime $(FUZZTIME) ./webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzParseGitHub$$' -fuzztime $(FUZZTIME) ./webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzParseGitea$$' -fuzztime $(FUZZTIME) ./webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHarbor$$' -fuzztime $(FUZZTIME) ./webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDockerHub$$' -fuzztime $(FUZZTIME) ./webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzParseQuay$$' -fuzztime $(FUZZTIME) ./webhook/

bench:
	$(GO) test -run '^$$' -bench . -skip '^BenchmarkWebhookIngest' -benchmem ./...
	$(GO) test -run '^$$' -bench '^BenchmarkWebhookIngest' -benchtime 20000x ./sidecar/

demo: build
	scripts/demo.sh

clean:
	rm -rf bin
