#!/usr/bin/env bash
# Regenerates testdata/plans/ from the Terraform templates in fixtures/ with
# a real terraform 1.5.7 (./.tools/bin/terraform, installed by `make tools`).
#
# For each fixture, in a temporary copy of fixtures/<name>/:
#   terraform init                      (offline: only terraform_data is used)
#   terraform apply  <prebuild values>  (owner "prebuilds", "ws-prebuilds-1")
#   <scenario steps>                    (taint, new template version, ...)
#   terraform plan   <claimant values> -out    (owner "alice", "ws-alice-1")
# and writes testdata/plans/<name>.json (terraform show -json of that plan),
# testdata/plans/<name>.stream.jsonl (terraform plan -json, same arguments)
# and, for the claim fixture only, the binary plan testdata/plans/claim.tfplan.
# A fixture with a before/ directory is applied from before/*.tf (the previous
# template version) and planned with its own *.tf.
#
#   scripts/fixtures.sh [NAME...]     (default: every fixture below)
#
# With FIXTURES_TOOL=tofu it runs OpenTofu instead ($TOFU, default
# ./.tools/bin/tofu, version $tofu_version below) and writes the same files
# to testdata/plans/opentofu/, so that the analyzer is tested on both tools'
# plans of one template (scripts/tools.sh opentofu builds that tofu).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tofu_version=1.10.10
case ${FIXTURES_TOOL:-terraform} in
terraform)
	tf="$root/.tools/bin/terraform" tf_version=1.5.7 tool_name=Terraform
	out_dir="$root/testdata/plans"
	;;
tofu)
	tf="${TOFU:-$root/.tools/bin/tofu}" tf_version=$tofu_version tool_name=OpenTofu
	out_dir="$root/testdata/plans/opentofu"
	;;
*)
	echo "fixtures: FIXTURES_TOOL=$FIXTURES_TOOL: want terraform or tofu" >&2
	exit 2
	;;
esac

# Fixture name and what its plan exercises (also written to the README).
fixtures=(
	"claim|the sample plan (\`make run\`): a workspace template claimed by alice; replacements with paths at the root, through a local, through a child module's variable (module.agent) and through module instances with for_each keys (module.apps[\"jupyter.lab\"]); an in-place update, a no-op, an output change; \`configuration\` records module calls and references for cause attribution"
	"replace-paths|replacements with replace_paths [[\"triggers_replace\"]] whose values are objects/maps (a key with dots), a tuple and a string; an in-place update; a no-op"
	"replace-triggered-by|replacements caused by lifecycle replace_triggered_by (whole resource and one attribute; reason replace_by_triggers, no paths); the triggering in-place update; a trigger that does not fire"
	"replace-request|a replacement requested with -replace=terraform_data.disk (reason replace_by_request, no paths); an in-place update"
	"tainted|a replacement of a resource marked with \`terraform taint\` (reason replace_because_tainted, no paths); a no-op"
	"create-before-destroy|one replacement with create_before_destroy (actions [\"create\",\"delete\"]) and one without ([\"delete\",\"create\"])"
	"nested-modules|replacements in nested modules whose for_each keys contain a space, a dot and a double quote (\`module.ws[\"q\\\"uote\"].module.agent[\"arch.amd64\"].terraform_data.agent[0]\`), and counted resources"
	"count|counted instances: two replaced, one no-op, one deleted because count went from 1 to 0"
	"sensitive|a sensitive variable (fake values s3cr3t-prebuilds / s3cr3t-alice) feeding replaced attributes, whole and nested in an object next to a value that is not sensitive (before_sensitive/after_sensitive); the plan's \`variables\` section holds the token in clear text (only \`configuration\` marks the variable sensitive): it must never be printed"
	"moved|a new template version with moved blocks applied over the old state: a resource moved and replaced (previous_address on a replacement), one moved into a for_each instance with no change, one removed (delete) and one added (create)"
	"destroy|a destroy plan (plan -destroy): every resource deleted, including a create_before_destroy one and counted ones; nothing replaced"
	"no-change|the fixed template (ignore_changes on the claimant-specific triggers_replace): the claim plan changes nothing"
)

prebuild_vars=(-var owner_name=prebuilds -var workspace_name=ws-prebuilds-1)
claimant_vars=(-var owner_name=alice -var workspace_name=ws-alice-1)

log_prefix=fixtures
# shellcheck source=scripts/fixtures-lib.sh
. "$root/scripts/fixtures-lib.sh"

export TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
unset TF_DATA_DIR TF_WORKSPACE TF_LOG TF_PLUGIN_CACHE_DIR
for v in $(compgen -e); do
	case $v in TF_VAR_* | TF_CLI_ARGS*) unset "$v" ;; esac
done
require_terraform

mkdir -p "$out_dir"
work_root=$(mktemp -d)
trap 'rm -rf "$work_root"' EXIT

# tfrun runs terraform in the current directory, its output in $logf; shows
# the log and fails when terraform fails.
tfrun() {
	if ! "$tf" "$@" >>"$logf" 2>&1; then
		cat "$logf" >&2
		die "$name: $tool_name $1 failed"
	fi
}

generate() {
	name=$1
	local src="$root/fixtures/$name"
	[ -f "$src/main.tf" ] || die "no fixture fixtures/$name"
	local work="$work_root/$name"
	logf="$work_root/$name.log"
	: >"$logf"
	mkdir -p "$work"
	cp -R "$src/." "$work/"
	rm -rf "$work/.terraform" "$work"/terraform.tfstate* "$work/.terraform.lock.hcl"
	cd "$work"

	local pre=("${prebuild_vars[@]}") claim=("${claimant_vars[@]}") plan_args=()
	case $name in
	replace-request) plan_args+=(-replace=terraform_data.disk) ;;
	sensitive)
		pre+=(-var owner_token=s3cr3t-prebuilds)
		claim+=(-var owner_token=s3cr3t-alice)
		;;
	destroy) plan_args+=(-destroy) ;;
	esac

	# The previous template version, when there is one.
	if [ -d before ]; then
		mkdir next
		mv ./*.tf next/
		cp before/*.tf .
	fi

	tfrun init -input=false -no-color
	tfrun apply -auto-approve -input=false -no-color "${pre[@]}"

	case $name in
	tainted) tfrun taint -no-color terraform_data.session ;;
	esac

	if [ -d next ]; then
		rm ./*.tf
		mv next/*.tf .
		tfrun init -input=false -no-color
	fi

	tfrun plan -input=false -no-color -out=plan.tfplan "${claim[@]}" "${plan_args[@]}"
	"$tf" show -json plan.tfplan >"$work_root/$name.json" 2>>"$logf" ||
		{ cat "$logf" >&2; die "$name: terraform show -json failed"; }
	# The stream: the same plan arguments, machine-readable UI.
	if ! "$tf" plan -json -input=false -out=stream.tfplan "${claim[@]}" "${plan_args[@]}" \
		>"$work_root/$name.stream.jsonl" 2>>"$logf"; then
		cat "$logf" "$work_root/$name.stream.jsonl" >&2
		die "$name: terraform plan -json failed"
	fi

	mv "$work_root/$name.json" "$out_dir/$name.json"
	mv "$work_root/$name.stream.jsonl" "$out_dir/$name.stream.jsonl"
	if [ "$name" = claim ]; then
		cp plan.tfplan "$out_dir/claim.tfplan"
	fi
	cd "$root"
	log "$name: $(summary "$out_dir/$name.json")"
}

write_readme() {
	{
		echo "# testdata/plans"
		echo
		echo "Generated by \`make fixtures\` (scripts/fixtures.sh) from the Terraform"
		echo "templates in \`fixtures/<name>/\` with Terraform $tf_version; do not edit by hand."
		echo "Every fixture uses only the built-in \`terraform_data\` resource. Each is"
		echo "applied as the prebuild owner (\`owner_name=prebuilds\`,"
		echo "\`workspace_name=ws-prebuilds-1\`), then planned as the claimant"
		echo "(\`owner_name=alice\`, \`workspace_name=ws-alice-1\`)."
		echo
		echo "For each fixture NAME:"
		echo
		echo "- \`NAME.json\`: \`terraform show -json\` of the claim plan (plan format 1.2)."
		echo "- \`NAME.stream.jsonl\`: \`terraform plan -json\` with the same arguments (one"
		echo "  message a line; no replace paths, no values)."
		echo
		echo "Plus \`claim.tfplan\`, the binary plan behind \`claim.json\`; only Terraform"
		echo "$tf_version can show it (\`terraform show -json claim.tfplan\`)."
		echo
		echo "\`terraform_data\` always reports \`replace_paths\` \`[[\"triggers_replace\"]]\`;"
		echo "the structure is in the before/after values under that path."
		echo
		echo "Resource ids (random UUIDs of \`terraform_data\`) and timestamps change on"
		echo "every regeneration. In \`NAME.json\` nothing else changes (\`resource_changes\`"
		echo "is sorted by address). In \`NAME.stream.jsonl\` the ORDER of the messages,"
		echo "\`planned_change\` included, also changes from run to run (Terraform walks the"
		echo "graph concurrently): consumers and golden tests must not depend on it."
		echo
		echo "| fixture | exercises |"
		echo "|---|---|"
		local entry
		for entry in "${fixtures[@]}"; do
			echo "| \`${entry%%|*}\` | ${entry#*|} |"
		done
		echo
		echo "Files not listed here (if any) are written by"
		echo "\`scripts/fixtures-providers.sh\` (fixtures with the project's test provider)."
	} >"$out_dir/README.md"
}

write_readme_opentofu() {
	{
		echo "# testdata/plans/opentofu"
		echo
		echo "Generated by \`FIXTURES_TOOL=tofu scripts/fixtures.sh\` from the same"
		echo "templates in \`fixtures/<name>/\`, with the same steps and variables as"
		echo "\`../README.md\` describes, but with OpenTofu $tf_version instead of"
		echo "Terraform; do not edit by hand. \`NAME.json\` is \`tofu show -json\` of the"
		echo "claim plan, \`NAME.stream.jsonl\` is \`tofu plan -json\`, and \`claim.tfplan\` is"
		echo "the binary plan behind \`claim.json\` (only OpenTofu $tf_version can show it)."
		echo
		echo "The analyzer's tests read each of them next to Terraform's plan of the"
		echo "same fixture and expect the same replacements, paths and causes."
	} >"$out_dir/README.md"
}

selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
	for entry in "${fixtures[@]}"; do selected+=("${entry%%|*}"); done
fi
for name in "${selected[@]}"; do
	generate "$name"
done
if [ "$tool_name" = OpenTofu ]; then
	write_readme_opentofu
	exit 0
fi
write_readme

if [ -x "$root/scripts/fixtures-providers.sh" ]; then
	log "running scripts/fixtures-providers.sh"
	"$root/scripts/fixtures-providers.sh"
fi
