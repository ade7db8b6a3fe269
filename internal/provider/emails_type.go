package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// emailsType is a list of Apple Account emails that compares as a set of people: two lists that
// hold the same emails in another order or case are semantically equal, so reordering or re-casing
// a roster shows no diff. It is a list, not a set, because Terraform's cost for a set grows much
// faster with its size (a set of 2,000 strings costs more than a list of 10,000 to plan and
// apply), and rosters have up to 100,000 people.
type emailsType struct {
	basetypes.ListType
}

var _ basetypes.ListTypable = emailsType{}

func newEmailsType() emailsType {
	return emailsType{ListType: basetypes.ListType{ElemType: types.StringType}}
}

func (t emailsType) Equal(o attr.Type) bool {
	other, ok := o.(emailsType)
	return ok && t.ListType.Equal(other.ListType)
}

func (t emailsType) String() string { return "emailsType" }

func (t emailsType) ValueFromList(_ context.Context, in basetypes.ListValue) (basetypes.ListValuable, diag.Diagnostics) {
	return emailsValue{ListValue: in}, nil
}

func (t emailsType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.ListType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	list, ok := v.(basetypes.ListValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return emailsValue{ListValue: list}, nil
}

func (t emailsType) ValueType(_ context.Context) attr.Value { return emailsValue{} }

// emailsValue is a value of emailsType.
type emailsValue struct {
	basetypes.ListValue
}

var _ basetypes.ListValuableWithSemanticEquals = emailsValue{}

func (v emailsValue) Type(_ context.Context) attr.Type { return newEmailsType() }

func (v emailsValue) Equal(o attr.Value) bool {
	other, ok := o.(emailsValue)
	return ok && v.ListValue.Equal(other.ListValue)
}

// ListSemanticEquals reports whether both lists name the same Apple Accounts, ignoring order and
// case: O(n log n) in the number of members.
func (v emailsValue) ListSemanticEquals(_ context.Context, newValuable basetypes.ListValuable) (bool, diag.Diagnostics) {
	other, ok := newValuable.(emailsValue)
	if !ok {
		return false, nil
	}
	return v.samePeople(other), nil
}

// samePeople is ListSemanticEquals for known values; unknown or null lists are the same only when
// both are.
func (v emailsValue) samePeople(other emailsValue) bool {
	if v.IsNull() || v.IsUnknown() || other.IsNull() || other.IsUnknown() {
		return v.IsNull() == other.IsNull() && v.IsUnknown() == other.IsUnknown()
	}
	return engine.SameMembers(v.strings(), other.strings())
}

// strings returns the known elements in order (unknown or null elements are left out); nil for a
// null or unknown list.
func (v emailsValue) strings() []string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	els := v.Elements()
	out := make([]string, 0, len(els))
	for _, el := range els {
		if s, ok := el.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			out = append(out, s.ValueString())
		}
	}
	return out
}

// emailsOf returns a known emailsValue holding members in order.
func emailsOf(members []string) emailsValue {
	els := make([]attr.Value, len(members))
	for i, m := range members {
		els[i] = types.StringValue(m)
	}
	return emailsValue{ListValue: types.ListValueMust(types.StringType, els)}
}

func emailsNull() emailsValue { return emailsValue{ListValue: types.ListNull(types.StringType)} }
