package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
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
var bookDescriptions = map[string]string{
	"id": "The book's identifier in the engine, `<token_id>:<adam_id>:<pricing_param>`. Pass it as `book_id` " +
		"to `vpp_ebook_assignment`.",
	"adam_id":       "Apple's store identifier of the book (`adamId`).",
	"pricing_param": "The quality the licenses were bought at: `STDQ` (standard) or `PLUS` (high quality).",
	"title":         "The book's title, from Apple's content metadata (empty until a sync has looked it up).",
	"author":        "The book's author, from Apple's content metadata.",
	"genres":        "The book's genres, from Apple's content metadata.",
	"language":      "The book's language, from Apple's content metadata.",
	"cover_url":     "URL of the book's cover artwork, from Apple's content metadata (may be a template with `{w}`, `{h}` and `{f}`).",
	"token_id":      "The `vpp_token` whose location bought the licenses.",
	"total_licenses": "Licenses bought, as of the token's last sync. Counts refresh when a refresh finds the token's last " +
		"sync older than the provider's `sync_interval`, or when the token's `sync_trigger` changes.",
	"assigned_licenses":  "Licenses assigned to users, as of the token's last sync.",
	"available_licenses": "Licenses neither assigned nor retired, as of the token's last sync: what new assignments can use.",
	"retired_licenses":   "Licenses Apple retired (refunded), as of the token's last sync.",
}

// bookAttributes are the computed attributes of a book in vpp_books' list.
func bookAttributes() map[string]schema.Attribute {
	return computedAttributes(bookDescriptions, map[string]valueKind{"genres": stringListValue, "total_licenses": wholeNumber,
		"assigned_licenses": wholeNumber, "available_licenses": wholeNumber, "retired_licenses": wholeNumber})
}

func (d *booksDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_books"
}

func (d *booksDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The purchased books the engine holds for its tokens, with license counts as of each " +
			"token's last sync, optionally filtered. Reading it syncs a token first when its last sync is older than " +
			"the provider's `sync_interval`; it never changes anything at Apple.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "An identifier derived from the filters, stable for the same filters.",
			},
			"token_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Only books of this `vpp_token` (its `id`). By default, books of every token.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"title": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Only books whose title contains this text, ignoring case.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"min_available": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Only books with at least this many available licenses.",
				Validators:          []validator.Int64{int64validator.AtLeast(0)},
			},
			"books": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "The matching books, ordered by token, then `adam_id`, then `pricing_param`. A book " +
					"bought by several locations appears once per token.",
				NestedObject: schema.NestedAttributeObject{Attributes: bookAttributes()},
			},
		},
	}
}

func (d *booksDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *booksDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m booksDataSourceModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_books data source", decode(req.Config, &m)) {
		return
	}
	at := attrs{aboutToken: path.Root("token_id")}
	if err := d.data.engine.RefreshBooks(ctx, m.TokenID.ValueString()); err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Books", err, at)
		return
	}
	books, err := d.data.engine.ListBooks(ctx, engine.BookFilter{
		TokenID:       m.TokenID.ValueString(),
		TitleContains: m.Title.ValueString(),
		MinAvailable:  int(m.MinAvailable.ValueInt64()),
	})
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Books", err, at)
		return
	}
	m.ID = types.StringValue(filterID("books", m.TokenID.ValueString(), m.Title.ValueString(), m.MinAvailable.String()))
	m.Books = make([]bookModel, 0, len(books))
	for _, b := range books {
		bm, diags := newBookModel(ctx, b)
		resp.Diagnostics.Append(diags...)
		m.Books = append(m.Books, bm)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// filterID is the id of a list data source read with these filters: prefix-<16 hex digits>, the
// same for the same filters (in their order).
func filterID(prefix string, filters ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(filters, "\x00")))
	return prefix + "-" + hex.EncodeToString(sum[:])[:16]
}

func newBookModel(ctx context.Context, b engine.Book) (bookModel, diag.Diagnostics) {
	genres := b.Genres
	if genres == nil {
		genres = []string{}
	}
	list, diags := types.ListValueFrom(ctx, types.StringType, genres)
	return bookModel{
		ID:                types.StringValue(b.ID),
		AdamID:            types.StringValue(b.AdamID),
		PricingParam:      types.StringValue(b.PricingParam),
		Title:             types.StringValue(b.Title),
		Author:            types.StringValue(b.Author),
		Genres:            list,
		Language:          types.StringValue(b.Language),
		CoverURL:          types.StringValue(b.CoverURL),
		TokenID:           types.StringValue(b.TokenID),
		TotalLicenses:     types.Int64Value(int64(b.Total)),
		AssignedLicenses:  types.Int64Value(int64(b.Assigned)),
		AvailableLicenses: types.Int64Value(int64(b.Available)),
		RetiredLicenses:   types.Int64Value(int64(b.Retired)),
	}, diags
}
