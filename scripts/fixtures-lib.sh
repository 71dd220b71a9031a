# Shared by scripts/fixtures.sh and scripts/fixtures-providers.sh (sourced,
# not run). The sourcing script sets log_prefix, tf and tf_version first
# (and tool_name when the tool is not Terraform).

log() { printf '%s: %s\n' "$log_prefix" "$*" >&2; }
die() { log "$*"; exit 1; }

# require_terraform fails unless $tf exists and reports $tf_version.
require_terraform() {
	[ -x "$tf" ] || die "$tf is missing; run: make tools"
	local got
	got=$(TF_CLI_CONFIG_FILE=/dev/null "$tf" version) || die "$tf version failed"
	got=${got%%$'\n'*}
	[ "$got" = "${tool_name:-Terraform} v$tf_version" ] ||
		die "$tf reports \"$got\", want ${tool_name:-Terraform} v$tf_version; run: make tools"
}

# summary prints the actions of a plan JSON, e.g. "replace=3 update=1".
summary() {
	if command -v jq >/dev/null 2>&1; then
		jq -r '[.resource_changes[]?.change.actions
			| if . == ["delete","create"] or . == ["create","delete"] then "replace"
			  elif . == ["no-op"] then "no_op" else .[0] end]
			| group_by(.) | map("\(.[0])=\(length)") | join(" ")
			| if . == "" then "no resources" else . end' "$1"
	else
		echo "written"
	fi
}
