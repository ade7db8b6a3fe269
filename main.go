// Command terraform-provider-vpp serves the vpp Terraform provider, which manages Apple
// volume-purchased eBooks (tokens, user groups and book assignments) through an embedded engine.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/vppkit/terraform-provider-vpp/internal/provider"
)

// Set by goreleaser through -ldflags at release time.
var (
	version = "dev"
	commit  = "none"
)

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version, commit), providerserver.ServeOpts{
		Address: "registry.terraform.io/vppkit/vpp",
		Debug:   debug,
	})
	provider.Shutdown()
	if err != nil {
		log.Fatal(err.Error())
	}
}
