package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Resource identity (Terraform and OpenTofu 1.12 and later): what names each resource's object
// for as long as it lives, so that an import block can name it by identity. Every operation that
// leaves state also sets identity (create, read, update, import): a path that did not would fail
// with "Missing Resource Identity After ..." on the CLIs that support identity. On older CLIs the
// identity argument is nil and nothing is set.
//
// - vpp_token: the location (Apple's uId). A renewal keeps the location, so the identity survives
//   it; the token's id is derived from the location (engine.TokenID).
// - vpp_user_group: its id.
// - vpp_ebook_assignment: the book and the group, as one book has one assignment per group;
//   vpp_app_assignment likewise, the app and the group, whichever its kind: the identity's
//   group_id holds a device group's id for an assignment to a device group (the resource's
//   device_group_id). Group ids are unique across kinds, so the pair names the assignment; and the
//   identity schema stays as it was before device licensing, so the identities stored by earlier
//   versions read as they are (a new attribute would make the CLI refuse them without an identity
//   upgrade). An import by identity reads them by the attribute names
//   (assignmentResource.importedIdentity).

type tokenIdentityModel struct {
	LocationID types.String `tfsdk:"location_id"`
}

type groupIdentityModel struct {
	ID types.String `tfsdk:"id"`
}

type assignmentIdentityModel struct {
	BookID  types.String `tfsdk:"book_id"`
	GroupID types.String `tfsdk:"group_id"`
}

type appAssignmentIdentityModel struct {
	AppID   types.String `tfsdk:"app_id"`
	GroupID types.String `tfsdk:"group_id"`
}

var (
	_ resource.ResourceWithIdentity = (*tokenResource)(nil)
	_ resource.ResourceWithIdentity = (*userGroupResource)(nil)
	_ resource.ResourceWithIdentity = (*ebookAssignmentResource)(nil)
	_ resource.ResourceWithIdentity = (*appAssignmentResource)(nil)
)

func (r *tokenResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{Attributes: map[string]identityschema.Attribute{
		"location_id": identityschema.StringAttribute{RequiredForImport: true,
			Description: "Apple's identifier (uId) of the location the token manages; it stays the same when the token is renewed."},
	}}
}

func (r *userGroupResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{Attributes: map[string]identityschema.Attribute{
		"id": identityschema.StringAttribute{RequiredForImport: true, Description: "The user group's id."},
	}}
}

func (r *assignmentResource[M, P]) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	n := r.product.noun
	resp.IdentitySchema = identityschema.Schema{Attributes: map[string]identityschema.Attribute{
		r.product.attr: identityschema.StringAttribute{RequiredForImport: true, Description: "The assigned " + n + "'s id (<token_id>:<adam_id>:<pricing_param>)."},
		"group_id":     identityschema.StringAttribute{RequiredForImport: true, Description: "The id of the user group the " + n + " is assigned to."},
	}}
	if r.product.devices {
		resp.IdentitySchema.Attributes["group_id"] = identityschema.StringAttribute{RequiredForImport: true,
			Description: "The id of the group the " + n + " is assigned to: a user group's (group_id), or a device group's (device_group_id)."}
	}
}

// setIdentity stores v as the resource's identity, when the CLI supports identity and v is known.
func setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, ok bool, v any, diags *diag.Diagnostics) {
	if identity == nil || !ok {
		return
	}
	diags.Append(identity.Set(ctx, v)...)
}

// known reports whether every one of vs holds a value.
func known(vs ...types.String) bool {
	for _, v := range vs {
		if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
			return false
		}
	}
	return true
}

func (m tokenResourceModel) setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	setIdentity(ctx, identity, known(m.LocationID), tokenIdentityModel{LocationID: m.LocationID}, diags)
}

func (m userGroupResourceModel) setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	setIdentity(ctx, identity, known(m.ID), groupIdentityModel{ID: m.ID}, diags)
}

func (m ebookAssignmentResourceModel) setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	setIdentity(ctx, identity, known(m.BookID, m.GroupID), assignmentIdentityModel{BookID: m.BookID, GroupID: m.GroupID}, diags)
}

func (m appAssignmentResourceModel) setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	group := m.GroupID
	if group.IsNull() {
		group = m.DeviceGroupID // the identity's group_id names a group of either kind
	}
	setIdentity(ctx, identity, known(m.AppID, group), appAssignmentIdentityModel{AppID: m.AppID, GroupID: group}, diags)
}

// importIdentity reads the identity an import block gave into v; false when the import gave an
// id instead (or reading failed, with a diagnostic).
func importIdentity(ctx context.Context, req resource.ImportStateRequest, v any, diags *diag.Diagnostics) bool {
	if req.ID != "" || req.Identity == nil || req.Identity.Raw.IsNull() {
		return false
	}
	diags.Append(req.Identity.Get(ctx, v)...)
	return !diags.HasError()
}
