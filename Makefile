# Chronik — see README.md. Every target works on a fresh clone with Go installed.
GO ?= go
BIN := bin/chronik
BENCH := bin/chronik-bench

.PHONY: build run test e2e fuzz vet clean bench bench-build bench-quick bench-check soak

build:
	$(GO) build -o $(BIN) ./cmd/chronik
	$(GO) build -o bin/chronik-dump-log ./tools/chronik-dump-log

# A broker on 127.0.0.1:9092 with its data in ./data; Ctrl-C stops it cleanly.
run: build
	./$(BIN) --set listeners=PLAINTEXT://127.0.0.1:9092 --set log.dirs=./data

vet:
	$(GO) vet ./...

# Unit, integration and Go-client end-to-end tests (starts real brokers on
# random loopback ports), including the fuzz targets' seed corpora. -count=1:
# the e2e tests build the broker binary themselves, which Go's test cache
# cannot see, so a cached e2e result could hide a broken broker.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

# Non-Go clients (kcat, kafka-python, confluent-kafka-python) against the binary.
e2e:
	./scripts/e2e.sh

# 3,000 kill -9 cycles of the crash tests: 500 on each write path with the WAL and 500
# without it, 500 on a compacted topic with and without the WAL, and 500 on a topic that
# retention trims all the time (make test runs 20 of each).
soak:
	CRASH_CYCLES=500 $(GO) test -count=1 -timeout 3h -run TestCrashKillNine -v ./e2e

# Fuzz the request decoder for a while (not part of make test).
fuzz:
	$(GO) test ./engine -run '^$$' -fuzz FuzzServeRequest -fuzztime 60s
	$(GO) test ./engine -run '^$$' -fuzz FuzzScramFirst -fuzztime 30s
	$(GO) test ./engine -run '^$$' -fuzz FuzzScramFinal -fuzztime 30s

# The suite behind BENCHMARKS.md: every scenario against chronik and the
# references (kfake, the null broker, raw loopback TCP and disk), alternating,
# 3 repetitions (~20-30 minutes on the 2-core VM; run on a quiet machine).
# The run is kept in bench/results/last.json (bench-check's baseline), and
# BENCHMARKS.md's generated section and plots are rewritten from it, even when
# some runs failed (they are shown as failed); the hand-measured sections and
# their commands (topics, idle-rss, issue 2's compare) follow.
BENCH_RESULTS := bench/results

bench-build:
	$(GO) build -o $(BENCH) ./cmd/chronik-bench

bench: build bench-build
	./$(BENCH) suite --chronik $(BIN) --suite full --reps 3 --out $(BENCH_RESULTS)/last.json; status=$$?; \
	./$(BENCH) report --in $(BENCH_RESULTS)/last.json --markdown BENCHMARKS.md --plots $(BENCH_RESULTS) && exit $$status
	./$(BENCH) compare --chronik $(BIN) --runs 3 --records 1000000 --record-size 1024 --acks 1 --partitions 6
	./$(BENCH) compare --chronik $(BIN) --runs 3 --records 1000000 --record-size 1024 --acks 1 --partitions 6 --kfake process
	./$(BENCH) topics --chronik $(BIN) --runs 5
	./$(BENCH) idle-rss --chronik $(BIN) --topics 100 --partitions 6

# A subset of the suite in under two minutes: the headline produce scenario,
# fsync-every-write against the raw disk, latency at 50% of the maximum.
bench-quick: build bench-build
	./$(BENCH) suite --chronik $(BIN) --suite quick --reps 3 --out bin/bench-quick.json

# Run the quick suite and compare it with the last recorded full run; names
# any scenario whose throughput fell more than 10% or whose p99 rose more than
# 20%. A tool for people, not part of make test.
bench-check: build bench-build
	./$(BENCH) suite --chronik $(BIN) --suite quick --reps 3 --out bin/bench-check.json
	./$(BENCH) check --last $(BENCH_RESULTS)/last.json --fresh bin/bench-check.json

clean:
	rm -rf bin
