//go:build generate

// Package tools pins the documentation generator in its own module, keeping it out of the
// provider's dependency graph. `make generate` runs the directives below in order.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)

// Format the examples, then render docs/ from schemas, templates and examples.
//go:generate terraform fmt -recursive ../examples/
//go:generate go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs generate --provider-dir .. --provider-name vpp
