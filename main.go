// Command terraform-provider-vpp serves the vpp Terraform provider, which manages Apple
// volume-purchased eBooks (tokens, user groups and book assignments) through an embedded engine.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
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

	for name, value := range quietLogsUnlessAsked(os.Environ()) {
		_ = os.Setenv(name, value)
	}
	engine.TuneGC()

	err := providerserver.Serve(context.Background(), provider.New(version, commit), providerserver.ServeOpts{
		Address: "registry.terraform.io/vppkit/vpp",
		Debug:   debug,
	})
	provider.Shutdown()
	if err != nil {
		log.Fatal(err.Error())
	}
}

// quietLogsUnlessAsked returns the log levels to set when nobody asked for logs. Terraform shows a
// provider's log lines only when a TF_LOG* variable is set, yet the plugin SDK and framework
// format a trace line for every call regardless: more than half of the provider's CPU time when
// a thousand resources are refreshed. With no TF_LOG* variable in the environment (Terraform passes
// its own environment to the provider), those levels are switched off; any TF_LOG* variable
// leaves everything as the user set it.
func quietLogsUnlessAsked(environ []string) map[string]string {
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TF_LOG") && value != "" {
			return nil
		}
	}
	return map[string]string{
		"TF_LOG_SDK":           "OFF",
		"TF_LOG_SDK_PROTO":     "OFF",
		"TF_LOG_SDK_FRAMEWORK": "OFF",
		"TF_LOG_PROVIDER_VPP":  "OFF",
	}
}
