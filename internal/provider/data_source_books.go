package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var _ datasource.DataSourceWithConfigure = (*booksDataSource)(nil)

// booksDataSource is vpp_books: the purchased books the engine holds, optionally filtered.
type booksDataSource struct {
	data *providerData
}

// NewBooksDataSource returns the vpp_books data source.
func NewBooksDataSource() datasource.DataSource { return &booksDataSource{} }

type booksDataSourceModel struct {
	ID           types.String `tfsdk:"id"`
	TokenID      types.String `tfsdk:"token_id"`
	Title        types.String `tfsdk:"title"`
	MinAvailable types.Int64  `tfsdk:"min_available"`
	Books        []bookModel  `tfsdk:"books"`
}

// bookModel is one book, as vpp_books lists it and vpp_book returns it.
type bookModel struct {
	ID                types.String `tfsdk:"id"`
	AdamID            types.String `tfsdk:"adam_id"`
	PricingParam      types.String `tfsdk:"pricing_param"`
	Title             types.String `tfsdk:"title"`
	Author            types.String `tfsdk:"author"`
	Genres            types.List   `tfsdk:"genres"`
	Language          types.String `tfsdk:"language"`
	CoverURL          types.String `tfsdk:"cover_url"`
	TokenID           types.String `tfsdk:"token_id"`
	TotalLicenses     types.Int64  `tfsdk:"total_licenses"`
	AssignedLicenses  types.Int64  `tfsdk:"assigned_licenses"`
	AvailableLicenses types.Int64  `tfsdk:"available_licenses"`
	RetiredLicenses   types.Int64  `tfsdk:"retired_licenses"`
}

// bookDescriptions describes each attribute of a book; vpp_book adds to some of them.
var bookDescriptions = withLicenses(map[string]string{
	"id": "The book's identifier in the engine, `<token_id>:<adam_id>:<pricing_param>`. Pass it as `book_id` " +
		"to `vpp_ebook_assignment`.",
	"adam_id":           "Apple's store identifier of the book (`adamId`).",
	"title":             "The book's title, from Apple's content metadata (empty until a sync has looked it up).",
	"author":            "The book's author, from Apple's content metadata.",
	"genres":            "The book's genres, from Apple's content metadata.",
	"language":          "The book's language, from Apple's content metadata.",
	"cover_url":         "URL of the book's cover artwork, from Apple's content metadata (may be a template with `{w}`, `{h}` and `{f}`).",
	"assigned_licenses": "Licenses assigned to users, as of the token's last sync.",
})

// bookAttributes are the computed attributes of a book in vpp_books' list.
func bookAttributes() map[string]schema.Attribute {
	kinds := maps.Clone(licenseKinds)
	kinds["genres"] = stringListValue
	return computedAttributes(bookDescriptions, kinds)
}

func (d *booksDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_books"
}

func (d *booksDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = assetList{plural: "books", one: "A book", entry: bookAttributes(), filters: map[string]schema.Attribute{
		"title": textFilter("Only books whose title contains this text, ignoring case."),
	}}.schema()
}

func (d *booksDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *booksDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m booksDataSourceModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_books data source", decode(req.Config, &m)) {
		return
	}
	books, ok := readFresh(ctx, d.data.engine, m.TokenID.ValueString(), &resp.Diagnostics, "Unable to Read Books",
		attrs{aboutToken: path.Root("token_id")}, func() ([]engine.Book, error) {
			return d.data.engine.ListBooks(ctx, engine.BookFilter{
				TokenID:       m.TokenID.ValueString(),
				TitleContains: m.Title.ValueString(),
				MinAvailable:  int(m.MinAvailable.ValueInt64()),
			})
		})
	if !ok {
		return
	}
	m.ID = types.StringValue(filterID("books", m.TokenID.ValueString(), m.Title.ValueString(), m.MinAvailable.String()))
	m.Books = modelsOf(ctx, books, newBookModel, &resp.Diagnostics)
	setRead(ctx, &resp.State, &m, &resp.Diagnostics)
}

// filterID is the id of a list data source read with these filters: prefix-<16 hex digits>, the
// same for the same filters (in their order).
func filterID(prefix string, filters ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(filters, "\x00")))
	return prefix + "-" + hex.EncodeToString(sum[:])[:16]
}

func newBookModel(ctx context.Context, b engine.Book) (bookModel, diag.Diagnostics) {
	genres, diags := stringList(ctx, b.Genres)
	return bookModel{
		ID:                types.StringValue(b.ID),
		AdamID:            types.StringValue(b.AdamID),
		PricingParam:      types.StringValue(b.PricingParam),
		Title:             types.StringValue(b.Title),
		Author:            types.StringValue(b.Author),
		Genres:            genres,
		Language:          types.StringValue(b.Language),
		CoverURL:          types.StringValue(b.CoverURL),
		TokenID:           types.StringValue(b.TokenID),
		TotalLicenses:     types.Int64Value(int64(b.Total)),
		AssignedLicenses:  types.Int64Value(int64(b.Assigned)),
		AvailableLicenses: types.Int64Value(int64(b.Available)),
		RetiredLicenses:   types.Int64Value(int64(b.Retired)),
	}, diags
}
