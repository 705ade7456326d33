#!/usr/bin/env bash
# e2e.sh — runs stock non-Go Kafka clients against Chronik (behind `make e2e`).
#
# Clients: kcat (librdkafka), kafka-python and confluent-kafka-python, as
# Debian packages them, and kafkajs from npm (the version pinned in
# e2e/clients/kafkajs/package-lock.json, installed there with npm ci);
# whatever is missing is installed (Node.js itself with apt-get). Each
# round-trip check sends 1000 compressed, keyed records through its own new
# topic and compares them exactly; each group check runs two group
# consumers sharing a topic, their commits, and a member that resumes from
# them; each transaction check (confluent-kafka-python and kafkajs) commits,
# aborts and commits transactions, sending a group's offsets in them, and a
# read_committed consumer must read exactly the committed records (see
# e2e/clients/). Then a second broker with two listeners, a SASL_SSL one
# (certificates made with openssl) and a plaintext one named INTERNAL,
# serves kcat through each: with PLAIN and with SCRAM-SHA-256 over TLS on
# the first, without a login on the second, each told its own listener's
# address.
#
# By default it builds bin/chronik, starts it on a free loopback port with a
# temporary log dir, and stops it on exit. Set E2E_BROKER=host:port
# to test a broker that is already running instead, and
# E2E_CHECK_TIMEOUT_S to change the per-check limit (default 180).
#
# The last line is always "e2e: N passed, M failed"; the exit status is
# non-zero when anything failed or could not run.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
clients_dir=$repo_root/e2e/clients

# Debian's python3-kafka and python3-confluent-kafka install for the system
# interpreter, which is not necessarily the python3 first on PATH.
PY=/usr/bin/python3
BROKER_START_WAIT_S=20
BROKER_STOP_WAIT_S=10
CHECK_TIMEOUT_S=${E2E_CHECK_TIMEOUT_S:-180}
# Unique per run, so topics never collide on a long-lived broker.
run_id=$(date +%s)-$$

passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/chronik-e2e.XXXXXX")
broker_pid=
check_pid=

summary() {
	echo "e2e: $passed passed, $failed failed"
}

stop_broker() {
	[[ -n $broker_pid ]] || return 0
	kill -TERM "$broker_pid" 2>/dev/null || true
	local waited=0
	while kill -0 "$broker_pid" 2>/dev/null && ((waited < BROKER_STOP_WAIT_S * 10)); do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$broker_pid" 2>/dev/null; then
		echo "note: bin/chronik did not exit ${BROKER_STOP_WAIT_S}s after SIGTERM; killing it"
		kill -KILL "$broker_pid" 2>/dev/null || true
	fi
	wait "$broker_pid" 2>/dev/null || true
	broker_pid=
}

cleanup() {
	if [[ -n $check_pid ]]; then
		kill -TERM "$check_pid" 2>/dev/null || true
		wait "$check_pid" 2>/dev/null || true
	fi
	stop_broker
	rm -rf "$work"
}
trap cleanup EXIT
interrupted() {
	echo "FAIL e2e: interrupted by $1"
	failed=$((failed + 1))
	summary
	exit "$2"
}
trap 'interrupted SIGINT 130' INT
trap 'interrupted SIGTERM 143' TERM

# A failure that keeps the suite from running at all: report, summarise, stop.
abort() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
	summary
	exit 1
}

# --- 1. clients -------------------------------------------------------------

install_missing_clients() {
	local missing=()
	command -v kcat >/dev/null 2>&1 || missing+=(kcat)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	[[ -x $PY ]] && "$PY" -c 'import kafka' 2>/dev/null || missing+=(python3-kafka)
	[[ -x $PY ]] && "$PY" -c 'import confluent_kafka' 2>/dev/null || missing+=(python3-confluent-kafka)
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
	((${#missing[@]} > 0)) || return 0

	echo "installing ${missing[*]} with apt-get"
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 || {
			echo "FAIL install: not root and no sudo to install ${missing[*]}"
			failed=$((failed + 1))
			return 0
		}
		sudo=(sudo -n)
	fi
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$work/apt.log" 2>&1 ||
		! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >>"$work/apt.log" 2>&1; then
		tail -n 20 "$work/apt.log"
		echo "FAIL install: apt-get could not install ${missing[*]}"
		failed=$((failed + 1))
	fi
}

# kafkajs goes into e2e/clients/kafkajs/node_modules, exactly as locked.
install_kafkajs() {
	local dir=$clients_dir/kafkajs want have
	want=$(node -p 'require(process.argv[1]).packages["node_modules/kafkajs"].version' "$dir/package-lock.json" 2>/dev/null || true)
	have=$(node -p 'require(process.argv[1]).version' "$dir/node_modules/kafkajs/package.json" 2>/dev/null || true)
	[[ -n $want && $have == "$want" ]] && return 0
	command -v npm >/dev/null 2>&1 || return 0 # reported by install_missing_clients
	echo "installing kafkajs with npm ci"
	if ! (cd "$dir" && npm ci --no-audit --no-fund) >"$work/npm.log" 2>&1; then
		tail -n 20 "$work/npm.log"
		echo "FAIL install: npm ci could not install kafkajs"
		failed=$((failed + 1))
	fi
}

print_client_versions() {
	echo "clients:"
	if command -v kcat >/dev/null 2>&1; then
		echo "  kcat $(kcat -V 2>&1 | grep -m1 -o "Version .*" || echo "version unknown")"
	else
		echo "  kcat: not installed"
	fi
	"$PY" -c 'import kafka; print("  kafka-python", kafka.__version__)' 2>/dev/null ||
		echo "  kafka-python: not importable by $PY"
	"$PY" -c 'import confluent_kafka as ck; print("  confluent-kafka", ck.version()[0], "librdkafka", ck.libversion()[0])' \
		2>/dev/null || echo "  confluent-kafka: not importable by $PY"
	if command -v node >/dev/null 2>&1; then
		echo "  node $(node --version) kafkajs $(node -p 'require(process.argv[1]).version' \
			"$clients_dir/kafkajs/node_modules/kafkajs/package.json" 2>/dev/null || echo "not installed")"
	else
		echo "  node: not installed"
	fi
	if command -v dpkg-query >/dev/null 2>&1; then
		dpkg-query -W -f '  deb ${Package} ${Version}\n' kcat python3-kafka python3-confluent-kafka librdkafka1 \
			2>/dev/null || true
	fi
}

install_missing_clients
install_kafkajs
print_client_versions

# --- 2. broker --------------------------------------------------------------

# Polls until host:port accepts a TCP connection, for at most $2 seconds.
# Returns non-zero if the deadline passes or the started broker exits.
wait_for_listener() {
	local addr=$1 limit_s=$2 host port deadline
	host=${addr%:*} port=${addr##*:}
	deadline=$((SECONDS + limit_s))
	while ((SECONDS < deadline)); do
		if timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
			return 0
		fi
		if [[ -n $broker_pid ]] && ! kill -0 "$broker_pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

if [[ -n ${E2E_BROKER:-} ]]; then
	broker=$E2E_BROKER
	echo "broker: using running broker at $broker (E2E_BROKER)"
	wait_for_listener "$broker" "$BROKER_START_WAIT_S" ||
		abort broker "nothing accepts connections at $broker (E2E_BROKER) within ${BROKER_START_WAIT_S}s"
else
	go=$(command -v go || echo /usr/local/go/bin/go)
	echo "broker: building bin/chronik"
	if ! "$go" build -o bin/chronik ./cmd/chronik >"$work/build.log" 2>&1; then
		cat "$work/build.log"
		abort broker "'go build -o bin/chronik ./cmd/chronik' failed (see above); the suite needs the broker binary"
	fi
	port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	broker=127.0.0.1:$port
	mkdir -p "$work/data"
	echo "broker: starting bin/chronik on $broker, log dir $work/data"
	bin/chronik --set "listeners=PLAINTEXT://$broker" --set "log.dirs=$work/data" >"$work/broker.log" 2>&1 &
	broker_pid=$!
	if ! wait_for_listener "$broker" "$BROKER_START_WAIT_S"; then
		echo "--- last 40 lines of the bin/chronik log"
		tail -n 40 "$work/broker.log"
		if kill -0 "$broker_pid" 2>/dev/null; then
			abort broker "bin/chronik did not accept connections on $broker within ${BROKER_START_WAIT_S}s (log above)"
		fi
		abort broker "bin/chronik exited before accepting connections on $broker (log above)"
	fi
fi

# --- 3. checks --------------------------------------------------------------

# Runs one check under a time limit. The check prints its own PASS/FAIL line;
# the exit status decides, and a check that died without a FAIL line (crash,
# timeout, missing client) gets one here. The check runs in the background so
# that an interrupt reaches this script's trap at once, not after the check.
run_check() {
	local name=$1 status=0
	shift
	echo "--- $name"
	timeout -k 5 "$CHECK_TIMEOUT_S" "$@" >"$work/check.out" 2>&1 </dev/null &
	check_pid=$!
	wait "$check_pid" || status=$?
	check_pid=
	cat "$work/check.out"
	if ((status == 0)); then
		passed=$((passed + 1))
		return 0
	fi
	failed=$((failed + 1))
	if ((status == 124 || status == 137)); then
		echo "FAIL $name: timed out after ${CHECK_TIMEOUT_S}s"
	elif ! grep -q '^FAIL ' "$work/check.out"; then
		echo "FAIL $name: exited with status $status"
	fi
}

topic() { echo "e2e-$1-$run_id"; }

run_check "kcat snappy" "$clients_dir/kcat_roundtrip.sh" "$broker" "$(topic kcat-snappy)" snappy
run_check "kcat lz4" "$clients_dir/kcat_roundtrip.sh" "$broker" "$(topic kcat-lz4)" lz4
run_check "kafka-python gzip" "$PY" "$clients_dir/kafka_python_roundtrip.py" \
	--broker "$broker" --topic "$(topic kafka-python-gzip)" --compression gzip
run_check "confluent-kafka zstd" "$PY" "$clients_dir/confluent_kafka_roundtrip.py" \
	--broker "$broker" --topic "$(topic confluent-zstd)" --compression zstd
run_check "confluent-kafka lz4" "$PY" "$clients_dir/confluent_kafka_roundtrip.py" \
	--broker "$broker" --topic "$(topic confluent-lz4)" --compression lz4
run_check "confluent-kafka zstd idempotent" "$PY" "$clients_dir/confluent_kafka_roundtrip.py" \
	--broker "$broker" --topic "$(topic confluent-zstd-idempotent)" --compression zstd --idempotent
# The broker recompresses into the topic's compression.type (snappy in the
# Java broker's xerial framing); librdkafka must read it back.
run_check "confluent-kafka lz4 into a snappy topic" "$PY" "$clients_dir/confluent_kafka_roundtrip.py" \
	--broker "$broker" --topic "$(topic confluent-lz4-to-snappy)" --compression lz4 --idempotent --topic-compression snappy
# Consumer groups: two members share a topic, commit, and a new member resumes.
run_check "kcat -G group" "$clients_dir/kcat_group.sh" "$broker" "$(topic kcat-group)"
run_check "kafka-python group" "$PY" "$clients_dir/group_consumers.py" \
	--client kafka-python --broker "$broker" --topic "$(topic kafka-python-group)"
run_check "confluent-kafka group" "$PY" "$clients_dir/group_consumers.py" \
	--client confluent-kafka --broker "$broker" --topic "$(topic confluent-group)"
# Transactions (KIP-98): committed, aborted, committed with a group's offsets.
run_check "confluent-kafka transactions" "$PY" "$clients_dir/confluent_kafka_txn.py" \
	--broker "$broker" --topic "$(topic confluent-txn)"

run_check "kafkajs gzip idempotent" node "$clients_dir/kafkajs/check.js" roundtrip "$broker" "$(topic kafkajs-gzip)"
run_check "kafkajs group" node "$clients_dir/kafkajs/check.js" group "$broker" "$(topic kafkajs-group)"
run_check "kafkajs transactions" node "$clients_dir/kafkajs/check.js" txn "$broker" "$(topic kafkajs-txn)"

if ((failed > 0)) && [[ -n $broker_pid ]]; then
	echo "--- last 40 lines of the bin/chronik log"
	tail -n 40 "$work/broker.log"
fi
stop_broker

# --- 4. security ------------------------------------------------------------

# A second broker with a SASL_SSL listener (TLS with a throwaway CA made
# with openssl, PLAIN users in Kafka's JAAS line, a SCRAM-SHA-256 user
# seeded with --add-scram) and a plaintext INTERNAL
# one, and kcat round-tripping through each as Debian's librdkafka is set
# up for it: were a client sent to the other listener's address (Metadata
# names the brokers' endpoints of the client's listener), it would speak
# TLS to a plaintext port or plaintext to a TLS one. Not with E2E_BROKER:
# that broker's listeners are its own.
start_sasl_ssl_broker() {
	local pki=$work/pki
	mkdir -p "$pki" "$work/data-sasl"
	if ! {
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
			-subj /CN=chronik-e2e-ca -keyout "$pki/ca.key" -out "$pki/ca.pem" &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj /CN=127.0.0.1 -keyout "$pki/broker.key" -out "$pki/broker.csr" &&
			printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/san.ext" &&
			openssl x509 -req -in "$pki/broker.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
				-days 1 -extfile "$pki/san.ext" -out "$pki/broker.crt" &&
			cat "$pki/broker.key" "$pki/broker.crt" >"$pki/broker.pem"
	} >"$work/openssl.log" 2>&1; then
		tail -n 20 "$work/openssl.log"
		echo "FAIL security: openssl could not make the test certificates"
		failed=$((failed + 1))
		return 1
	fi
	local ports
	ports=$("$PY" -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
	broker=127.0.0.1:${ports% *}
	internal_broker=127.0.0.1:${ports#* }
	echo "broker: starting bin/chronik with a SASL_SSL listener on $broker and a plaintext INTERNAL one on $internal_broker"
	bin/chronik --set "listeners=SASL_SSL://$broker,INTERNAL://$internal_broker" --set "log.dirs=$work/data-sasl" \
		--set "listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT" \
		--set "ssl.keystore.location=$pki/broker.pem" \
		--set 'listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_e2e="e2e-secret";' \
		--set listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256 \
		--add-scram 'SCRAM-SHA-256=[name=e2e-scram,password=e2e-scram-secret]' \
		>"$work/broker-sasl.log" 2>&1 &
	broker_pid=$!
	if ! wait_for_listener "$broker" "$BROKER_START_WAIT_S" || ! wait_for_listener "$internal_broker" "$BROKER_START_WAIT_S"; then
		tail -n 40 "$work/broker-sasl.log"
		echo "FAIL security: bin/chronik with two listeners did not accept connections on $broker and $internal_broker"
		failed=$((failed + 1))
		return 1
	fi
}

if [[ -z ${E2E_BROKER:-} ]] && start_sasl_ssl_broker; then
	sasl_x="-X security.protocol=sasl_ssl -X ssl.ca.location=$work/pki/ca.pem -X sasl.mechanisms=PLAIN -X sasl.username=e2e -X sasl.password=e2e-secret"
	run_check "kcat SASL_SSL PLAIN" env KCAT_SECURITY=SASL_SSL KCAT_X="$sasl_x" \
		"$clients_dir/kcat_roundtrip.sh" "$broker" "$(topic kcat-sasl-ssl)" gzip
	scram_x="-X security.protocol=sasl_ssl -X ssl.ca.location=$work/pki/ca.pem -X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=e2e-scram -X sasl.password=e2e-scram-secret"
	run_check "kcat SASL_SSL SCRAM-SHA-256" env KCAT_SECURITY="SASL_SSL SCRAM" KCAT_X="$scram_x" \
		"$clients_dir/kcat_roundtrip.sh" "$broker" "$(topic kcat-scram)" snappy
	run_check "kcat second listener" "$clients_dir/kcat_roundtrip.sh" "$internal_broker" "$(topic kcat-internal)" lz4
	if ((failed > 0)); then
		echo "--- last 40 lines of the two-listener bin/chronik log"
		tail -n 40 "$work/broker-sasl.log"
	fi
	stop_broker
fi
summary
((failed == 0))
