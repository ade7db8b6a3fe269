package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var _ function.Function = (*parseTokenFunction)(nil)

// parseTokenFunction reads a .vpptoken file without contacting Apple.
type parseTokenFunction struct{}

// NewParseTokenFunction returns provider::vpp::parse_token.
func NewParseTokenFunction() function.Function { return &parseTokenFunction{} }

var parseTokenResultTypes = map[string]attr.Type{
	"organization_name": types.StringType,
	"expires_at":        types.StringType,
}

func (f *parseTokenFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "parse_token"
}

func (f *parseTokenFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Read a .vpptoken file without contacting Apple",
		MarkdownDescription: "Decodes the contents of an Apple location token file (`.vpptoken`) and returns its " +
			"`organization_name` and `expires_at` (RFC 3339, UTC), for `check` blocks and variable validation. It never " +
			"contacts Apple and never returns the secret. A malformed file is an error that says what is wrong.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "contents",
				MarkdownDescription: "The token file's contents, e.g. `file(\"sToken_for_Library.vpptoken\")` or a sensitive variable.",
			},
		},
		Return: function.ObjectReturn{AttributeTypes: parseTokenResultTypes},
	}
}

func (f *parseTokenFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var contents string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &contents))
	if resp.Error != nil {
		return
	}
	file, err := engine.ParseTokenFile(contents)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, "Invalid token file: "+err.Error())
		return
	}
	result, diags := types.ObjectValue(parseTokenResultTypes, map[string]attr.Value{
		"organization_name": types.StringValue(file.OrganizationName),
		"expires_at":        types.StringValue(file.ExpiresAt.UTC().Format(time.RFC3339)),
	})
	resp.Error = function.ConcatFuncErrors(resp.Error, function.FuncErrorFromDiags(ctx, diags))
	if resp.Error != nil {
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, result))
}
