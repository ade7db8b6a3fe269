package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// ebookAssignmentResource is vpp_ebook_assignment: one book given to one user group.
type ebookAssignmentResource = assignmentResource[ebookAssignmentResourceModel, *ebookAssignmentResourceModel]

// NewEbookAssignmentResource returns the vpp_ebook_assignment resource.
func NewEbookAssignmentResource() resource.Resource {
	return &ebookAssignmentResource{product: ebookProduct}
}

type ebookAssignmentResourceModel struct {
	BookID types.String `tfsdk:"book_id"`
	assignmentFields
}

func (m *ebookAssignmentResourceModel) parts() (*types.String, *assignmentFields) {
	return &m.BookID, &m.assignmentFields
}

// ebookProduct is what vpp_ebook_assignment assigns: a book, whose licenses Apple never takes back.
var ebookProduct = assignedProduct{
	kind:        engine.KindBook,
	typeName:    "_ebook_assignment",
	title:       "eBook",
	lower:       "eBook",
	noun:        "book",
	attr:        "book_id",
	about:       aboutBook,
	idValidator: bookIDValidator,
	description: "Assigns one purchased eBook to one `vpp_user_group`, as `required` (every member gets a " +
		"license now) or `available` (a member gets a license once their invitation is accepted, or at once for " +
		"Managed Apple Accounts). Apply delivers the licenses, batched and rate-limited to Apple's limits; an " +
		"interrupted apply resumes on the next one without losing or spending a license twice.\n\n" +
		"The plan fails, before anything is sent to Apple, when the group needs more licenses than the book has " +
		"available, unless `allow_oversubscription = true`. When licenses are bought, an invitation is accepted or " +
		"a failure is fixed, the next plan shows an update that delivers the remainder.\n\n" +
		"-> Destroying an assignment never takes a book license back: Apple does not allow reclaiming books. The " +
		"plan warns how many licenses stay with their users.",
	assetDescription: "The book to assign, as `<token_id>:<adam_id>:<pricing_param>`: the `id` of a book " +
		"from the `vpp_books` or `vpp_book` data source.",
	replaced: " (the licenses already given stay with their users)",
	createStopped: "Terraform marks the new assignment as tainted because its creation reported an error, so the next apply " +
		"replaces it: that resumes delivery, and licenses already given stay with their users.",
	warnRemoving: warnBookLicensesKept,
	removed: func(_ context.Context, _ *engine.Engine, diags *diag.Diagnostics, rm removal, rep engine.RemoveReport) {
		warnLicensesKept(diags, nil, upperFirst(rm.what())+" was removed.", licenseCount{books: rep.LicensesKept}, "their users")
	},
}

// warnBookLicensesKept warns, in a plan that removes the assignment of a book, how many licenses
// stay with their users.
func warnBookLicensesKept(ctx context.Context, eng *engine.Engine, diags *diag.Diagnostics, rm removal, doing string) {
	kept := rm.licensed
	if f, err := eng.Forecast(ctx, rm.in, nil); err == nil {
		kept = f.LicensesKept
	}
	warnLicensesKept(diags, nil, doing+" "+rm.what()+" removes it from the engine only.", licenseCount{books: kept}, "their users")
}

// assignmentAttrs are the attributes an engine error about a book's assignment is blamed on (see
// assignedProduct.blame).
var assignmentAttrs = ebookProduct.blame()

// bookIDValidator checks the form of a book id (<token_id>:<adam_id>:<pricing_param>).
var bookIDValidator = stringCheck{
	description: "value must be a book id of the form <token_id>:<adam_id>:<pricing_param>",
	check: func(at path.Path, value string, diags *diag.Diagnostics) {
		if _, _, _, err := engine.ParseBookID(value); err != nil {
			x := explain(err)
			diags.AddAttributeError(at, x.summary, x.detail)
		}
	},
}
