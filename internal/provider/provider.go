// Package provider is the Terraform surface of vpp: schemas, plan checks and diagnostics. It holds
// no business logic; every decision about tokens, licenses and delivery belongs to the engine.
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

var _ provider.Provider = (*vppProvider)(nil)

// vppProvider is the provider implementation; version and commit identify the build.
type vppProvider struct {
	version string
	commit  string
}

// New returns a factory for the provider, so tests can serve it in-process with New("test", "")().
func New(version, commit string) func() provider.Provider {
	return func() provider.Provider {
		return &vppProvider{version: version, commit: commit}
	}
}

func (p *vppProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "vpp"
	resp.Version = p.version
}

func (p *vppProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manage Apple volume-purchased eBooks as code: upload location tokens, " +
			"sync purchased books and license counts, and assign books to user groups.",
	}
}

func (p *vppProvider) Configure(_ context.Context, _ provider.ConfigureRequest, _ *provider.ConfigureResponse) {
}

func (p *vppProvider) Resources(_ context.Context) []func() resource.Resource {
	return nil
}

func (p *vppProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return nil
}
