// Package lint finds, without running Terraform, the resources of a
// workspace template that a claim would replace.
//
// When a prebuilt workspace is claimed, values such as the owner's name and
// the workspace name change and Terraform runs again. Lint reads the
// template's .tf and .tf.json files with hashicorp/hcl/v2 (override files
// merged as Terraform merges them), follows every claim-sensitive reference
// (analyzer.ClaimMatcher: the attributes of data.coder_workspace_owner, the
// claim-changing attributes of data.coder_workspace, and any extra patterns
// the caller gives) through locals, variables, module inputs and outputs,
// data sources (an attribute of a data source depends on all its
// arguments), other resources' arguments and the computed values of
// resources a claim replaces (the coder_agent token and init script),
// count/for_each and dynamic blocks, within the directory and its local
// modules, and reports each resource attribute that depends on one and that
// no lifecycle.ignore_changes covers, count/for_each that do, triggers in
// replace_triggered_by that a claim fires, modules it could not read, and
// presets Coder refuses.
//
// Whether a change forces replacement is looked up in an embedded table of
// common workspace resource types (replace_table.json, each entry with the
// provider source it was checked against): findings are errors when the
// attribute is known to force replacement, warnings when the table does not
// know, and info when the provider updates the attribute in place.
//
// Lint reads files only through the fs.FS it is given; the writers render a
// Result as text, JSON (schema claimdrift.lint/v1), SARIF 2.1.0 or GitHub
// Actions workflow commands; Confirm checks the findings against an analyzed
// plan.
package lint
