// Command terraform-provider-fake is claimdrift's own test provider: one
// binary that Terraform loads, through dev_overrides, as coder/coder,
// kreuzwerker/docker and hashicorp/kubernetes.
//
// It has no backend. Its schemas are a faithful subset of the real
// providers' schemas, so that a real `terraform plan` produces the same
// replace_paths a real provider would (metadata[0].name, env, labels, …),
// and its coder data sources read the workspace and owner from the
// environment the way the real coder provider does, so that a "prebuild"
// run and a "claim" run differ only in those values. Resources echo their
// planned values into state; computed values are derived deterministically
// from the plan, so regenerated fixtures change only when the plan does.
//
// The provider to serve is chosen by the executable name
// (terraform-provider-coder, terraform-provider-docker,
// terraform-provider-kubernetes) or by the environment variable
// CLAIMDRIFT_FAKE_PROVIDER (coder, docker or kubernetes), which wins.
package main
