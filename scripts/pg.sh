#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#   scripts/pg.sh start   start (or find running) cluster, write .tools/pg/env
#   scripts/pg.sh stop    stop it and remove its data directory
#   scripts/pg.sh status  print whether it runs (exit 0 running, 3 not)
# The server runs as the `postgres` user (initdb and pg_ctl refuse root),
# listens on 127.0.0.1 only, trusts loopback connections and has a database
# claimdrift_test. .tools/pg/env holds CLAIMDRIFT_TEST_POSTGRES_DSN (sourceable
# by sh and make) and PGDATA_DIR/PGPORT bookkeeping for this script.
set -euo pipefail
cd "$(dirname "$0")/.."
state_dir="$(pwd)/.tools/pg"
env_file="$state_dir/env"
state_file="$state_dir/state"
db=claimdrift_test
default_port=${CLAIMDRIFT_PG_PORT:-54329}

log() { printf 'pg: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pg_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
	die "no PostgreSQL server binaries (initdb) found; run: make tools"
}

# as_pg runs a command as the postgres user (initdb/pg_ctl refuse root).
as_pg() {
	if [ "$(id -un)" = postgres ]; then
		"$@"
	elif [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		sudo -n -u postgres -- "$@"
	fi
}

port_busy() {
	# Succeeds when something listens on 127.0.0.1:$1.
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

read_state() {
	data_dir= port=
	if [ -f "$state_file" ]; then
		# shellcheck disable=SC1090
		. "$state_file"
		data_dir=${PG_DATA_DIR:-}
		port=${PG_PORT:-}
	fi
}

running() {
	read_state
	[ -n "$data_dir" ] && [ -d "$data_dir/data" ] &&
		as_pg "$bin/pg_ctl" -D "$data_dir/data" status >/dev/null 2>&1 &&
		"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 5 >/dev/null 2>&1
}

write_env() {
	mkdir -p "$state_dir"
	printf 'CLAIMDRIFT_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:%s/%s?sslmode=disable\n' \
		"$port" "$db" >"$env_file.tmp"
	mv "$env_file.tmp" "$env_file"
}

start() {
	if running; then
		write_env
		log "already running on 127.0.0.1:$port (data $data_dir)"
		return
	fi
	# A stale state (crashed or hung server, rebooted machine): clean it up.
	if [ -n "${data_dir:-}" ]; then
		if [ -d "$data_dir/data" ]; then
			as_pg "$bin/pg_ctl" -D "$data_dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
		fi
		rm -rf "$data_dir"
	fi
	rm -f "$state_file" "$env_file"
	id postgres >/dev/null 2>&1 || die "no postgres user; run: make tools"

	port=$default_port
	local tries=0
	while port_busy "$port"; do
		tries=$((tries + 1))
		[ $tries -le 50 ] || die "no free port found from $default_port"
		port=$((default_port + tries))
	done

	data_dir=$(mktemp -d /tmp/claimdrift-pg.XXXXXX)
	chmod 0700 "$data_dir"
	mkdir -p "$state_dir"
	printf 'PG_DATA_DIR=%s\nPG_PORT=%s\n' "$data_dir" "$port" >"$state_file"
	if [ "$(id -un)" != postgres ]; then
		if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data_dir"; else sudo -n chown postgres: "$data_dir"; fi
	fi

	as_pg "$bin/initdb" -D "$data_dir/data" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$data_dir.initdb.log" 2>&1 ||
		{ cat "$data_dir.initdb.log" >&2; die "initdb failed"; }
	rm -f "$data_dir.initdb.log"
	cat >"$data_dir/hba" <<-HBA
	local all all trust
	host all all 127.0.0.1/32 trust
	HBA
	as_pg cp "$data_dir/hba" "$data_dir/data/pg_hba.conf"
	# Sockets go into the data dir (the default /var/run/postgresql may not
	# exist or be writable); fsync off: the data is thrown away.
	local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
	if ! as_pg "$bin/pg_ctl" -D "$data_dir/data" -l "$data_dir/server.log" -o "$opts" -w -t 60 start >/dev/null; then
		cat "$data_dir/server.log" >&2 || true
		die "server did not start"
	fi
	as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
		-c "CREATE DATABASE $db" >/dev/null || die "create database $db failed"
	write_env
	log "started on 127.0.0.1:$port (data $data_dir); env in ${env_file#"$(pwd)/"}"
}

stop() {
	if running; then
		as_pg "$bin/pg_ctl" -D "$data_dir/data" -m fast -w -t 60 stop >/dev/null ||
			die "pg_ctl stop failed (data $data_dir)"
		log "stopped (127.0.0.1:$port)"
	else
		if [ -n "${data_dir:-}" ] && [ -d "$data_dir/data" ]; then
			as_pg "$bin/pg_ctl" -D "$data_dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
		fi
		log "not running"
	fi
	if [ -n "${data_dir:-}" ] && [ -d "$data_dir" ]; then
		rm -rf "$data_dir"
	fi
	rm -f "$state_file" "$env_file"
}

status() {
	if running; then
		echo "running on 127.0.0.1:$port (data $data_dir)"
	else
		echo "not running"
		exit 3
	fi
}

bin=$(pg_bin)
case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
