// Package plangen writes large, realistic Terraform plan documents (the JSON
// of `terraform show -json PLAN`) for benchmarks and for the tests that
// compare the streaming analyzer with a decode-everything reference.
//
// A generated plan has every section Terraform 1.5 writes, in Terraform's
// key order, on one line: variables, planned_values, resource_drift,
// resource_changes, output_changes, prior_state, configuration,
// relevant_attributes, timestamp and errored. Its resources look like the
// kreuzwerker/docker provider's (docker_container bodies with env lists,
// label blocks, ports, maps, sensitive and unknown values) inside a
// `module "ws"` whose for_each keys contain spaces, dots, quotes,
// backslashes, template sequences and non-ASCII letters. A configurable
// share of them is replaced: most with nested replace_paths, some
// create_before_destroy, some tainted, triggered or requested (no
// replace_paths); some resources drifted.
//
// Output depends only on Options: the same options give the same bytes.
package plangen
