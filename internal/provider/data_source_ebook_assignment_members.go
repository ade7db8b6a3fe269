package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var (
	_ datasource.DataSourceWithConfigure        = (*ebookAssignmentMembersDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*ebookAssignmentMembersDataSource)(nil)
)

// ebookAssignmentMembersDataSource is vpp_ebook_assignment_members: who holds a book through an
// assignment (or through every assignment of a book), who still waits, and why.
type ebookAssignmentMembersDataSource struct {
	data *providerData
}

// NewEbookAssignmentMembersDataSource returns the vpp_ebook_assignment_members data source.
func NewEbookAssignmentMembersDataSource() datasource.DataSource {
	return &ebookAssignmentMembersDataSource{}
}

type ebookAssignmentMembersModel struct {
	AssignmentID    types.String          `tfsdk:"assignment_id"`
	BookID          types.String          `tfsdk:"book_id"`
	States          types.Set             `tfsdk:"states"`
	Members         []assignmentMemberRow `tfsdk:"members"`
	LicensedCount   types.Int64           `tfsdk:"licensed_count"`
	PendingCount    types.Int64           `tfsdk:"pending_count"`
	QueuedCount     types.Int64           `tfsdk:"queued_count"`
	UnlicensedCount types.Int64           `tfsdk:"unlicensed_count"`
	FailedCount     types.Int64           `tfsdk:"failed_count"`
}

// assignmentMemberRow is one member of one assignment's group.
type assignmentMemberRow struct {
	Email        types.String `tfsdk:"email"`
	GroupID      types.String `tfsdk:"group_id"`
	AssignmentID types.String `tfsdk:"assignment_id"`
	State        types.String `tfsdk:"state"`
	Reason       types.String `tfsdk:"reason"`
	ErrorNumber  types.Int64  `tfsdk:"error_number"`
	ErrorMessage types.String `tfsdk:"error_message"`
}

// deliveryStates are the delivery states, in the order the documentation lists them.
var deliveryStates = []string{engine.DeliveryLicensed, engine.DeliveryPending, engine.DeliveryQueued, engine.DeliveryUnlicensed, engine.DeliveryFailed}

// memberStatesDoc describes each delivery state.
const memberStatesDoc = "`licensed` (the member holds the book's license), `pending` (the assignment's intent is " +
	"`available` and the member has not accepted their invitation yet), `queued` (the member is due a license " +
	"that is not delivered yet: the next apply sends it, or the book lacks licenses and `reason` says how many), " +
	"`unlicensed` (the assignment allows oversubscription and the licenses ran out before this member; members are " +
	"licensed in email order) or `failed` (Apple refused the member: see `error_number` and `error_message`)"

func (d *ebookAssignmentMembersDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ebook_assignment_members"
}

func (d *ebookAssignmentMembersDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Who holds a book and who does not yet, member by member: for one `vpp_ebook_assignment` " +
			"(`assignment_id`), or for every assignment of one book (`book_id`). Use it to output who still has to " +
			"accept their invitation, or to feed a reminder. Reading it is as fresh as refreshing the assignment: it " +
			"syncs the book's token first when its last sync is older than the provider's `sync_interval`, and it never " +
			"changes anything at Apple. It holds no invitation URL: those are in `vpp_user_group`'s sensitive " +
			"`invitations`.",
		Attributes: map[string]schema.Attribute{
			"assignment_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The members of this assignment's group (`vpp_ebook_assignment.<name>.id`). Exactly " +
					"one of `assignment_id` and `book_id` is required.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"book_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The members of every group this book is assigned to, once per assignment (a person " +
					"in two groups appears twice). The book's id, `<token_id>:<adam_id>:<pricing_param>`, as " +
					"`vpp_books`, `vpp_book` and `vpp_ebook_assignment.<name>.book_id` give it. A book assigned to no " +
					"group has no members.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"states": schema.SetAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Only members in these states: any of " + memberStatesDoc + ". By default, every " +
					"member. The counts are not filtered.",
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.OneOf(deliveryStates...)),
				},
			},
			"members": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The members (in `states`, when given), ordered by email, then group.",
				NestedObject:        schema.NestedAttributeObject{Attributes: memberRowAttributes()},
			},
			"licensed_count":   countAttribute(engine.DeliveryLicensed, ""),
			"pending_count":    countAttribute(engine.DeliveryPending, waitingNote),
			"queued_count":     countAttribute(engine.DeliveryQueued, waitingNote),
			"unlicensed_count": countAttribute(engine.DeliveryUnlicensed, ""),
			"failed_count":     countAttribute(engine.DeliveryFailed, ""),
		},
	}
}

// memberRowAttributes are the attributes of one member in the list.
func memberRowAttributes() map[string]schema.Attribute {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return map[string]schema.Attribute{
		"email":         computed("The member's Apple Account email, lower-case."),
		"group_id":      computed("The `vpp_user_group` through which the member is assigned the book."),
		"assignment_id": computed("The `vpp_ebook_assignment` this row is about."),
		"state":         computed("The member's delivery state: " + memberStatesDoc + "."),
		"reason": computed("Why the member is in that state, in a sentence: for example `invitation not accepted: ...` " +
			"when pending, the shortage (licenses available and needed) when queued for lack of licenses, Apple's " +
			"refusal with its error number and message when failed."),
		"error_number": schema.Int64Attribute{Computed: true,
			MarkdownDescription: "Apple's error number when Apple refused the member (state `failed`), such as `9635`; null otherwise."},
		"error_message": computed("Apple's error message when Apple refused the member (state `failed`); null otherwise."),
	}
}

// countAttribute is the count of members in one state; note completes its description.
func countAttribute(state, note string) schema.Int64Attribute {
	return schema.Int64Attribute{Computed: true,
		MarkdownDescription: strings.TrimSpace(fmt.Sprintf("How many members are `%s`, whatever `states` filters. %s", state, note))}
}

// waitingNote relates the pending and queued counts to the assignment's.
const waitingNote = "`pending_count` and `queued_count` together are what `vpp_ebook_assignment` counts as `pending_count`."

func (d *ebookAssignmentMembersDataSource) ConfigValidators(_ context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("assignment_id"), path.MatchRoot("book_id")),
	}
}

func (d *ebookAssignmentMembersDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *ebookAssignmentMembersDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m ebookAssignmentMembersModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_ebook_assignment_members data source", decode(req.Config, &m)) {
		return
	}
	var want []string
	resp.Diagnostics.Append(m.States.ElementsAs(ctx, &want, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	members, err := d.readMembers(ctx, m)
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read eBook Assignment Members", err, membersAttrs(m))
		return
	}
	m.fill(members, want)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// readMembers reads the members of the assignment, or of the book, that m names.
func (d *ebookAssignmentMembersDataSource) readMembers(ctx context.Context, m ebookAssignmentMembersModel) ([]engine.MemberState, error) {
	if !m.AssignmentID.IsNull() {
		return d.data.engine.AssignmentMembers(ctx, m.AssignmentID.ValueString())
	}
	return d.data.engine.BookMembers(ctx, m.BookID.ValueString())
}

// membersAttrs maps what an engine error is about to the argument m was given: the assignment id
// is to blame for anything reading an assignment meets that names no other subject.
func membersAttrs(m ebookAssignmentMembersModel) attrs {
	if !m.AssignmentID.IsNull() {
		return attrs{aboutNothing: path.Root("assignment_id")}
	}
	return attrs{aboutBook: path.Root("book_id"), aboutToken: path.Root("book_id")}
}

// fill sets the members in the wanted states (every member when want is empty) and the counts
// of every member by state.
func (m *ebookAssignmentMembersModel) fill(members []engine.MemberState, want []string) {
	count := map[string]int64{}
	m.Members = make([]assignmentMemberRow, 0, len(members))
	for _, ms := range members {
		count[ms.State]++
		if len(want) == 0 || slices.Contains(want, ms.State) {
			m.Members = append(m.Members, memberRow(ms))
		}
	}
	m.LicensedCount = types.Int64Value(count[engine.DeliveryLicensed])
	m.PendingCount = types.Int64Value(count[engine.DeliveryPending])
	m.QueuedCount = types.Int64Value(count[engine.DeliveryQueued])
	m.UnlicensedCount = types.Int64Value(count[engine.DeliveryUnlicensed])
	m.FailedCount = types.Int64Value(count[engine.DeliveryFailed])
}

// memberRow is one member as the data source lists it: Apple's error only when there is one.
func memberRow(ms engine.MemberState) assignmentMemberRow {
	row := assignmentMemberRow{
		Email:        types.StringValue(ms.Email),
		GroupID:      types.StringValue(ms.GroupID),
		AssignmentID: types.StringValue(ms.AssignmentID),
		State:        types.StringValue(ms.State),
		Reason:       types.StringValue(ms.Reason),
		ErrorNumber:  types.Int64Null(),
		ErrorMessage: types.StringNull(),
	}
	if ms.ErrorNumber != 0 {
		row.ErrorNumber = types.Int64Value(int64(ms.ErrorNumber))
	}
	if ms.ErrorMessage != "" {
		row.ErrorMessage = types.StringValue(ms.ErrorMessage)
	}
	return row
}
