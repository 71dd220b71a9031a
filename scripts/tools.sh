#!/usr/bin/env bash
# Installs what the tests and `make fixtures` need when it is missing:
#   - terraform 1.5.7 in ./.tools/bin (built with `go install`, ~3 minutes)
#   - OpenTofu 1.10.10 in ./.tools/bin (built from the module proxy, ~5
#     minutes): `claimdrift simulate` is tested with it too, and
#     `FIXTURES_TOOL=tofu scripts/fixtures.sh` writes testdata/plans/opentofu
#   - the real coder provider v2.20.0 in ./.tools/bin (`go install`, ~1 minute;
#     `claimdrift simulate` tests load it through dev_overrides)
#   - PostgreSQL server binaries (Debian package `postgresql`)
#   - jq (Debian package, used by `make bench`)
#   - python3-aiosmtpd (Debian package, a real SMTP server for the email tests)
#   - SARIF Multitool + the SARIF 2.1.0 schema (npm, in ./.tools/node)
# Idempotent and fast when everything is present. Runs as root in CI; uses
# sudo for apt-get only when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
tf_version=1.5.7
mkdir -p "$tools/bin"

log() { printf 'tools: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
	if [ -z "$apt_updated" ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

tf_ok() {
	local v
	[ -x "$tools/bin/terraform" ] || return 1
	v=$(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 "$tools/bin/terraform" version 2>/dev/null) || return 1
	[ "${v%%$'\n'*}" = "Terraform v$tf_version" ]
}

# One run at a time (a lock file): parallel `make` runs wait for each other
# instead of building terraform or running npm install twice.
exec 9>"$tools/tools.lock"
if ! flock -n 9; then
	log "another scripts/tools.sh is running; waiting for it"
	flock 9
fi

if ! tf_ok; then
	log "building terraform $tf_version into $tools/bin (about 3 minutes)"
	# go install will not overwrite a file it did not build (a wrapper script).
	rm -f "$tools/bin/terraform"
	GOBIN="$tools/bin" GOFLAGS= go install "github.com/hashicorp/terraform@v$tf_version"
	tf_ok || { log "terraform in $tools/bin does not report $tf_version"; exit 1; }
fi

# OpenTofu, for the simulate tests and `FIXTURES_TOOL=tofu scripts/fixtures.sh`,
# from the module proxy. Its go.mod has a replace directive, which
# `go install pkg@version` refuses: the module is downloaded and built as
# the main module instead. version.dev=no makes it report the release
# version (a source build says 1.10.10-dev otherwise).
tofu_version=1.10.10
tofu_ok() {
	[ -x "$tools/bin/tofu" ] &&
		[ "$(TF_CLI_CONFIG_FILE=/dev/null "$tools/bin/tofu" version 2>/dev/null | head -1)" = "OpenTofu v$tofu_version" ]
}
if ! tofu_ok; then
	log "building OpenTofu $tofu_version into $tools/bin (about 5 minutes)"
	tofu_dir=$(GOFLAGS= go mod download -json "github.com/opentofu/opentofu@v$tofu_version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$tofu_dir" ] || { log "could not download github.com/opentofu/opentofu@v$tofu_version"; exit 1; }
	tofu_src=$(mktemp -d)
	cp -R "$tofu_dir/." "$tofu_src/"
	chmod -R u+w "$tofu_src"
	rm -f "$tools/bin/tofu"
	if ! (cd "$tofu_src" && GOFLAGS= go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$tools/bin/tofu" ./cmd/tofu); then
		rm -rf "$tofu_src"
		log "building OpenTofu $tofu_version failed"
		exit 1
	fi
	rm -rf "$tofu_src"
	tofu_ok || { log "tofu in $tools/bin does not report OpenTofu v$tofu_version"; exit 1; }
fi

# The real coder provider, for the simulate tests (analyzer/simulate): they
# load it through dev_overrides from .tools/bin.
coder_provider_version=v2.20.0
coder_ok() {
	[ -x "$tools/bin/terraform-provider-coder" ] &&
		go version -m "$tools/bin/terraform-provider-coder" 2>/dev/null |
		grep -q "github.com/coder/terraform-provider-coder/v2[[:space:]]*$coder_provider_version"
}
if ! coder_ok; then
	log "building terraform-provider-coder $coder_provider_version into $tools/bin (about a minute)"
	rm -f "$tools/bin/terraform-provider-coder"
	GOBIN="$tools/bin" GOFLAGS= go install "github.com/coder/terraform-provider-coder/v2@$coder_provider_version"
	coder_ok || { log "terraform-provider-coder in $tools/bin is not $coder_provider_version"; exit 1; }
fi

# PostgreSQL server binaries.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
	log "installing PostgreSQL (Debian package postgresql)"
	apt_install postgresql
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
		{ log "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"; exit 1; }
fi

# jq.
if ! command -v jq >/dev/null 2>&1; then
	log "installing jq"
	apt_install jq
fi

# SARIF Multitool and the official SARIF 2.1.0 schema (in @microsoft/jest-sarif).
node_dir="$tools/node"
if [ ! -x "$node_dir/node_modules/.bin/sarif-multitool" ] ||
	[ ! -f "$node_dir/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		log "installing npm"
		apt_install npm
	fi
	log "installing SARIF Multitool into $node_dir"
	mkdir -p "$node_dir"
	npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error \
		@microsoft/sarif-multitool @microsoft/jest-sarif >&2
fi

# A real SMTP server for the email notification tests (Debian package
# python3-aiosmtpd, in the system python3).
if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
	log "installing python3-aiosmtpd"
	apt_install python3-aiosmtpd
fi

# Headless Chromium for the status page test of `claimdrift serve`
# (reconcile/api, driven with chromedp).
if ! command -v chromium >/dev/null 2>&1; then
	log "installing chromium"
	apt_install chromium
fi

# staticcheck for `make lint` (issue 11), built from the module proxy at a
# version that supports the Go toolchain in use (0.8.x: Go 1.26).
staticcheck_version=0.8.2
if ! "$tools/bin/staticcheck" -version 2>/dev/null | grep -q "($staticcheck_version)"; then
	log "building staticcheck $staticcheck_version into $tools/bin (about a minute)"
	GOBIN="$tools/bin" GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@v$staticcheck_version"
fi
