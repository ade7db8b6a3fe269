package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// rosterModel is vpp_user_group's roster: members read from a file, of which only the hash and the
// counts travel through Terraform.
type rosterModel struct {
	File    types.String `tfsdk:"file"`
	Format  types.String `tfsdk:"format"`
	Column  types.String `tfsdk:"column"`
	Roles   types.List   `tfsdk:"roles"`
	SHA256  types.String `tfsdk:"sha256"`
	Changes types.String `tfsdk:"changes"`
}

var rosterAttrTypes = map[string]attr.Type{
	"file": types.StringType, "format": types.StringType, "column": types.StringType,
	"roles": types.ListType{ElemType: types.StringType}, "sha256": types.StringType, "changes": types.StringType,
}

func rosterNull() types.Object { return types.ObjectNull(rosterAttrTypes) }

var rosterPath = path.Root("roster")

func rosterSchema() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "Members from a roster file instead of `members`, for rosters too big for Terraform's values " +
			"(tens of thousands of people): only the file's SHA-256 and the member count travel through Terraform, and " +
			"the plan shows how many members are added and removed, naming the first few. The file is read at plan " +
			"and again at apply (an apply refuses a file that changed since its plan), and on refresh to rebuild the " +
			"engine's records on a new runner. Every row is checked before anything is stored: bad rows are refused " +
			"with their line numbers. Invitations of a roster group are not kept in the state: read them with the " +
			"`vpp_user_group` data source.",
		Attributes: map[string]schema.Attribute{
			"file": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Path of the roster file, usually `\"${path.module}/students.csv\"`. A CSV file with " +
					"a header row, one row per person (UTF-8; a byte order mark is ignored; quoted fields may span lines).",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"format": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(engine.RosterFormatCSV),
				MarkdownDescription: "`csv` (the default): every row is a member. `oneroster`: a OneRoster 1.1 " +
					"`users.csv` as student information systems export for Apple School Manager; rows with `status` " +
					"`tobedeleted` or `enabledUser` `false` are left out, and `roles` can keep only some roles.",
				Validators: []validator.String{stringvalidator.OneOf(engine.RosterFormatCSV, engine.RosterFormatOneRoster)},
			},
			"column": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(engine.DefaultRosterColumn),
				MarkdownDescription: "Header of the column that holds the Apple Account emails (case-insensitive). Defaults to `email`.",
			},
			"roles": schema.ListAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "With `format = \"oneroster\"`: keep only the rows whose `role` is one of these " +
					"(for example `[\"student\"]`). Without it every role is kept.",
			},
			"sha256": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "SHA-256 of the roster file as last applied (as planned, in a plan).",
			},
			"changes": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "How the membership changes: in a plan, the change the apply will make (for example " +
					"`2 added (ann@example.com, bo@example.com), 1 removed (cy@example.com)`); in the state, the change the " +
					"last apply of a new roster made.",
			},
		},
	}
}

// rosterOf reads the roster object; nil when it is null. known reports whether every setting that
// selects the members is known.
func rosterOf(ctx context.Context, o types.Object) (rm *rosterModel, known bool, diags diag.Diagnostics) {
	if o.IsNull() {
		return nil, true, nil
	}
	if o.IsUnknown() {
		return nil, false, nil
	}
	rm = &rosterModel{}
	diags = o.As(ctx, rm, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})
	known = !rm.File.IsUnknown() && !rm.Format.IsUnknown() && !rm.Column.IsUnknown() && !rm.Roles.IsUnknown()
	return rm, known, diags
}

func (rm *rosterModel) object() types.Object {
	return types.ObjectValueMust(rosterAttrTypes, map[string]attr.Value{
		"file": rm.File, "format": rm.Format, "column": rm.Column, "roles": rm.Roles, "sha256": rm.SHA256, "changes": rm.Changes,
	})
}

func (rm *rosterModel) source() engine.RosterSource {
	src := engine.RosterSource{Path: rm.File.ValueString(), Format: rm.Format.ValueString(), Column: rm.Column.ValueString()}
	for _, el := range rm.Roles.Elements() {
		if s, ok := el.(types.String); ok {
			src.Roles = append(src.Roles, s.ValueString())
		}
	}
	return src
}

// sameSource reports whether two rosters select members the same way from the same file.
func (rm *rosterModel) sameSource(other *rosterModel) bool {
	return other != nil && rm.File.Equal(other.File) && rm.Format.Equal(other.Format) &&
		strings.EqualFold(rm.Column.ValueString(), other.Column.ValueString()) && rm.Roles.Equal(other.Roles)
}

// readRoster reads and checks the roster file, reporting a bad file on roster.
func readRoster(rm *rosterModel, diags *diag.Diagnostics) (engine.Roster, bool) {
	roster, err := engine.ReadRoster(rm.source())
	if err != nil {
		engineError(diags, "Unable to Read the Roster File", err, rosterAttrs)
		return engine.Roster{}, false
	}
	return roster, true
}

// rosterAtApply reads the roster file at apply and refuses it when it is not the file the plan
// read: the plan showed its members, and nothing is changed on a file nobody has reviewed.
func rosterAtApply(rm *rosterModel, diags *diag.Diagnostics) (engine.Roster, bool) {
	roster, ok := readRoster(rm, diags)
	if !ok {
		return roster, false
	}
	if planned := rm.SHA256.ValueString(); !rm.SHA256.IsUnknown() && planned != roster.SHA256 {
		diags.AddAttributeError(rosterPath.AtName("file"), "Roster File Changed Since the Plan",
			fmt.Sprintf("The roster file %q changed after the plan was made (SHA-256 %.12s… when planned, %.12s… now), so "+
				"the members this apply would give the group are not those the plan showed. Nothing was changed. Run the "+
				"plan again to review the new roster, then apply that plan.", rm.File.ValueString(), planned, roster.SHA256))
		return roster, false
	}
	return roster, true
}

// rosterChange describes, for the plan, how the group's members change to planned: against the
// engine's record of the group when it holds the members last applied (read from the roster file
// whose hash is applied, or from the members list when applied is empty).
func (r *userGroupResource) rosterChange(ctx context.Context, groupID, applied string, planned []string) string {
	if groupID == "" || r.data == nil {
		return engine.DiffMembers(nil, planned).String()
	}
	before, from, err := r.data.engine.GroupMembers(ctx, groupID)
	if err == nil && from != applied {
		err = errors.New("the engine's database lost its record of them, and the roster file changed since they were applied")
	}
	if err != nil {
		return fmt.Sprintf("%d members in the new roster; the members before are not known: %s", len(planned), err)
	}
	return engine.DiffMembers(before, planned).String()
}

// rosterAttrs blame an engine error about a roster on its attributes.
var rosterAttrs = attrs{aboutRoster: rosterPath.AtName("file"), aboutRosterRoles: rosterPath.AtName("roles"),
	aboutInput: rosterPath.AtName("file"), aboutMembers: rosterPath.AtName("file"), aboutGroup: rosterPath.AtName("file"),
	aboutManagedAccounts: path.Root("managed_apple_accounts")}
