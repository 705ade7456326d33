# Chronik — see README.md. Every target works on a fresh clone with Go installed.
GO ?= go
BIN := bin/chronik
BENCH := bin/chronik-bench

.PHONY: build run test e2e fuzz vet clean bench soak

build:
	$(GO) build -o $(BIN) ./cmd/chronik

# A broker on 127.0.0.1:9092 with its data in ./data; Ctrl-C stops it cleanly.
run: build
	./$(BIN) --set listeners=PLAINTEXT://127.0.0.1:9092 --set log.dirs=./data

vet:
	$(GO) vet ./...

# Unit, integration and Go-client end-to-end tests (starts real brokers on
# random loopback ports), including the fuzz targets' seed corpora.
test: vet
	$(GO) test -race -timeout 20m ./...

# Non-Go clients (kcat, kafka-python, confluent-kafka-python) against the binary.
e2e:
	./scripts/e2e.sh

# 1,000 kill -9 cycles of the crash test (make test runs 20).
soak:
	CRASH_CYCLES=1000 $(GO) test -count=1 -timeout 3h -run TestCrashKillNineLosesNothingAcknowledged -v ./e2e

# Fuzz the request decoder for a while (not part of make test).
fuzz:
	$(GO) test ./engine -run '^$$' -fuzz FuzzServeRequest -fuzztime 60s

# The figures in BENCHMARKS.md (a few minutes; run on a quiet machine).
bench: build
	$(GO) build -o $(BENCH) ./cmd/chronik-bench
	./$(BENCH) compare --chronik $(BIN) --runs 3 --records 1000000 --record-size 1024 --acks 1 --partitions 6
	./$(BENCH) compare --chronik $(BIN) --runs 3 --records 1000000 --record-size 1024 --acks 1 --partitions 6 --kfake process
	./$(BENCH) topics --chronik $(BIN) --runs 5
	./$(BENCH) idle-rss --chronik $(BIN) --topics 100 --partitions 6

clean:
	rm -rf bin
