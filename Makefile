# gallra — the two commands on a fresh machine: `make demo` and `make test`.
GO      ?= go
BIN     := bin/gallra
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CGO_ENABLED = 1

.PHONY: all build demo test test-short race fuzz lint bench bench-quick pgo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gallra

## demo: build, generate synthetic exports, run the pipeline, query the lake with DuckDB, verify
demo: build
	./$(BIN) demo --dir demo --rows 20000 --seed 1

## test: vet, then every test with the race detector (the command CI runs)
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

## test-short: the quick loop while developing
test-short:
	$(GO) test -short ./...

## fuzz: run each fuzz target for a while (FUZZTIME=60s by default)
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./transforms/identity/
	$(GO) test -run '^$$' -fuzz '^FuzzCSV$$' -fuzztime $(FUZZTIME) ./pipeline/source/
	$(GO) test -run '^$$' -fuzz '^FuzzSameAsCSV$$' -fuzztime $(FUZZTIME) ./pipeline/source/csvscan/
	$(GO) test -run '^$$' -fuzz '^FuzzBind$$' -fuzztime $(FUZZTIME) ./schemas/

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: Go benchmarks and the end-to-end harness, reported as ratios against a baseline:
## a 10M-row night (ROWS=...), and with BIG=100000000 the 10-year lake's delta merge and statistics;
## REUSE=DIR keeps the generated inbox there for the next run; PARTS=10 builds a night too large
## for one generator run (ROWS=100000000) from ten parts with seeds 1..10
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./transforms/... ./pipeline/... ./benchmarks/ | tee benchmarks/out.txt
	$(GO) run ./benchmarks/harness -gallra $(BIN) -rows $${ROWS:-10000000} -runs 1 -parts $${PARTS:-1} -big $${BIG:-0} $${REUSE:+-reuse $$REUSE}

## bench-quick: the end-to-end harness only, one run of 50,000 rows: a CI-sized check
bench-quick: build
	$(GO) run ./benchmarks/harness -gallra $(BIN) -rows $${ROWS:-50000} -runs 1 $${REUSE:+-reuse $$REUSE}

## pgo: regenerate the CPU profiles Go builds with (profile-guided optimisation): cmd/gallra/default.pgo
## from an ingest of a synthetic night of PGOROWS rows, benchmarks/harness/default.pgo from the bare
## stream over the same exports, so that gallra and its baseline are both built with a profile of their
## own work. The profiles hold function names and timings, never data. PGODIR keeps the night.
PGOROWS ?= 10000000
pgo:
	@set -e; dir=$${PGODIR:-$$(mktemp -d)}; \
	$(GO) build -pgo=off -o $$dir/gallra ./cmd/gallra; \
	$(GO) build -pgo=off -o $$dir/harness ./benchmarks/harness; \
	rm -rf $$dir/inbox $$dir/lake $$dir/bare; \
	$$dir/gallra generate --out $$dir/inbox --rows $(PGOROWS) --seed 1 >/dev/null; \
	$$dir/harness -mode ingest -inbox $$dir/inbox -out $$dir/lake -cpuprofile cmd/gallra/default.pgo; \
	$$dir/harness -mode bare-stream -inbox $$dir/inbox -out $$dir/bare -cpuprofile benchmarks/harness/default.pgo; \
	echo "wrote cmd/gallra/default.pgo and benchmarks/harness/default.pgo from $$dir"

clean:
	rm -rf bin demo benchmarks/out.txt
