package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var _ datasource.DataSourceWithConfigure = (*bookDataSource)(nil)

// bookDataSource is vpp_book: exactly one purchased book, by adamId or by exact title.
type bookDataSource struct {
	data *providerData
}

// NewBookDataSource returns the vpp_book data source.
func NewBookDataSource() datasource.DataSource { return &bookDataSource{} }

func (d *bookDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_book"
}

func (d *bookDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := bookAttributes()
	attrs["adam_id"] = lookupArgument(bookDescriptions["adam_id"]+" Look the book up by it; when several tokens' locations "+
		"bought it, add `token_id`. Exactly one of `adam_id` and `title` is required.",
		stringvalidator.ExactlyOneOf(path.MatchRoot("adam_id"), path.MatchRoot("title")),
		stringvalidator.LengthAtLeast(1),
	)
	attrs["title"] = lookupArgument(bookDescriptions["title"]+" Look the book up by its exact title (case-sensitive, as "+
		"Apple spells it; `vpp_books` matches substrings). Exactly one of `adam_id` and `title` is required.",
		stringvalidator.LengthAtLeast(1))
	attrs["token_id"] = lookupArgument(bookDescriptions["token_id"]+" Set it to choose among several tokens holding the book.",
		stringvalidator.LengthAtLeast(1))
	resp.Schema = schema.Schema{
		MarkdownDescription: "One purchased book, found by `adam_id` (with `token_id` when several tokens hold it) " +
			"or by exact `title`, with its license counts as of its token's last sync. Finding none, or several, is an " +
			"error that lists what matched. Reading it syncs the token first when its last sync is older than the " +
			"provider's `sync_interval`; it never changes anything at Apple.",
		Attributes: attrs,
	}
}

func (d *bookDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *bookDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m bookModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_book data source", decode(req.Config, &m)) {
		return
	}
	adamID, tokenID, title := m.AdamID.ValueString(), m.TokenID.ValueString(), m.Title.ValueString()
	blame := path.Root("adam_id")
	if adamID == "" {
		blame = path.Root("title")
	}
	at := attrs{aboutToken: path.Root("token_id"), aboutBook: blame}
	b, ok := readFresh(ctx, d.data.engine, tokenID, &resp.Diagnostics, "Unable to Read Book", at, func() (engine.Book, error) {
		return d.data.engine.FindBook(ctx, adamID, tokenID, title)
	})
	if !ok {
		return
	}
	out, diags := newBookModel(ctx, b)
	resp.Diagnostics.Append(diags...)
	setRead(ctx, &resp.State, &out, &resp.Diagnostics)
}
