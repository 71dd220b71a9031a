#!/usr/bin/env bash
# Load figures of `claimdrift serve` (issue 12): claims at 10 and 10,000
# presets, tracks of a 20 KB claim plan (of claimed prebuilds' claim builds,
# then of builds and workspaces the store has never seen), and a reconcile
# pass over full pools
# at 10,000 presets / 100,000 prebuilds, on SQLite and on PostgreSQL
# ($CLAIMDRIFT_TEST_POSTGRES_DSN, as scripts/pg.sh writes it; skipped when
# unset). cmd/serveload seeds the database, starts `claimdrift serve` on it
# (built here, in its own process, on a loopback port) and runs 32
# concurrent clients over HTTP. Writes .bench/serve.md.
#   BENCH_SERVE_DURATION=5s  BENCH_SERVE_CLIENTS=32  BENCH_SERVE_STORES="sqlite postgres"
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bench
out=.bench/serve.md
duration=${BENCH_SERVE_DURATION:-5s}
clients=${BENCH_SERVE_CLIENTS:-32}
stores=${BENCH_SERVE_STORES:-sqlite postgres}
if [ -z "${CLAIMDRIFT_TEST_POSTGRES_DSN:-}" ] && [ -f .tools/pg/env ]; then
	set -a; . .tools/pg/env; set +a
fi
go build -o .bench/serveload ./cmd/serveload
go build -o .bench/claimdrift ./cmd/claimdrift

{
	echo "serve load, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $clients clients, $duration per run"
	echo
	echo "| store | scenario | presets | ready prebuilds | clients | rate | p50 | p99 | max | CPU per request |"
	echo "|---|---|---:|---:|---:|---|---|---|---|---|"
} | tee "$out"
for store in $stores; do
	if [ "$store" = postgres ] && [ -z "${CLAIMDRIFT_TEST_POSTGRES_DSN:-}" ]; then
		echo "(postgres skipped: CLAIMDRIFT_TEST_POSTGRES_DSN is not set; scripts/pg.sh start)" | tee -a "$out"
		continue
	fi
	for presets in 10 10000; do
		.bench/serveload -serve .bench/claimdrift -store "$store" -scenario claims -presets "$presets" -clients "$clients" -duration "$duration" 2>/dev/null | tee -a "$out"
	done
	for scenario in tracks tracks-new; do
		.bench/serveload -serve .bench/claimdrift -store "$store" -scenario "$scenario" -presets 10 -clients "$clients" -duration "$duration" 2>/dev/null | tee -a "$out"
	done
	.bench/serveload -store "$store" -scenario pass -presets 10000 -prebuilds 10 -passes 3 2>/dev/null | tee -a "$out"
done
