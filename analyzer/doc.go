// Package analyzer turns Terraform and OpenTofu plan output into a Report:
// every resource the plan replaces, the attribute paths that forced it, the
// reason, the before → after values at those paths, the resources that
// drifted outside Terraform, and a summary of all planned actions.
//
// It reads three inputs, told apart by content: the JSON plan document of
// `terraform show -json PLAN`, the line-delimited machine-readable stream of
// `terraform plan -json`, and (by recognising it, not by reading it) the
// binary plan file of `terraform plan -out`, which callers must first turn
// into JSON (see ErrBinaryPlan).
//
// The parser streams: it walks the document once with a small tokenizer,
// holds one resource change at a time, and keeps only what the report needs,
// so memory does not grow with the size of the plan.
//
// The package does no I/O beyond the reader it is given and imports none of
// claimdrift's other packages.
package analyzer
