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

// setListType is a list of strings that compares as a set under a rule R: two lists that hold the
// same values in another order or spelling (as R compares them) are semantically equal, so
// reordering or re-casing them shows no diff. It is a list, not a set, because Terraform's cost for
// a set grows much faster with its size (a set of 2,000 strings costs more than a list of 10,000 to
// plan and apply), and rosters have up to 100,000 people.
//
// emailsType (a user group's members: Apple Account emails, case-insensitive) and serialsType (a
// device group's serial numbers, upper-cased) are its two kinds.
type setListType[R setRule] struct {
	basetypes.ListType
}

// setRule is how a setListType compares its values: the engine's rule for them.
type setRule interface {
	// typeName names the type (its String).
	typeName() string
	// same reports whether a and b hold the same values, in any order and spelling.
	same(a, b []string) bool
}

// emailRule compares Apple Account emails (engine.SameMembers).
type emailRule struct{}

func (emailRule) typeName() string        { return "emailsType" }
func (emailRule) same(a, b []string) bool { return engine.SameMembers(a, b) }

// serialRule compares device serial numbers (engine.SameSerials).
type serialRule struct{}

func (serialRule) typeName() string        { return "serialsType" }
func (serialRule) same(a, b []string) bool { return engine.SameSerials(a, b) }

type (
	// emailsType is a list of Apple Account emails that compares as a set of people.
	emailsType  = setListType[emailRule]
	emailsValue = setListValue[emailRule]
	// serialsType is a list of device serial numbers that compares as a set of devices.
	serialsType  = setListType[serialRule]
	serialsValue = setListValue[serialRule]
)

var (
	_ basetypes.ListTypable = emailsType{}
	_ basetypes.ListTypable = serialsType{}
)

func newSetListType[R setRule]() setListType[R] {
	return setListType[R]{ListType: basetypes.ListType{ElemType: types.StringType}}
}

func newEmailsType() emailsType { return newSetListType[emailRule]() }

func newSerialsType() serialsType { return newSetListType[serialRule]() }

func (t setListType[R]) Equal(o attr.Type) bool {
	other, ok := o.(setListType[R])
	return ok && t.ListType.Equal(other.ListType)
}

func (t setListType[R]) String() string {
	var r R
	return r.typeName()
}

func (t setListType[R]) ValueFromList(_ context.Context, in basetypes.ListValue) (basetypes.ListValuable, diag.Diagnostics) {
	return setListValue[R]{ListValue: in}, nil
}

func (t setListType[R]) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.ListType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	list, ok := v.(basetypes.ListValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return setListValue[R]{ListValue: list}, nil
}

func (t setListType[R]) ValueType(_ context.Context) attr.Value { return setListValue[R]{} }

// setListValue is a value of setListType.
type setListValue[R setRule] struct {
	basetypes.ListValue
}

var (
	_ basetypes.ListValuableWithSemanticEquals = emailsValue{}
	_ basetypes.ListValuableWithSemanticEquals = serialsValue{}
)

func (v setListValue[R]) Type(_ context.Context) attr.Type { return newSetListType[R]() }

func (v setListValue[R]) Equal(o attr.Value) bool {
	other, ok := o.(setListValue[R])
	return ok && v.ListValue.Equal(other.ListValue)
}

// ListSemanticEquals reports whether both lists hold the same values under the rule, ignoring
// order and spelling: O(n log n) in the number of values.
func (v setListValue[R]) ListSemanticEquals(_ context.Context, newValuable basetypes.ListValuable) (bool, diag.Diagnostics) {
	other, ok := newValuable.(setListValue[R])
	if !ok {
		return false, nil
	}
	return v.sameSet(other), nil
}

// sameSet is ListSemanticEquals for known values; unknown or null lists are the same only when
// both are.
func (v setListValue[R]) sameSet(other setListValue[R]) bool {
	if v.IsNull() || v.IsUnknown() || other.IsNull() || other.IsUnknown() {
		return v.IsNull() == other.IsNull() && v.IsUnknown() == other.IsUnknown()
	}
	var r R
	return r.same(v.strings(), other.strings())
}

// samePeople is sameSet, under the name a user group's members are compared by.
func (v setListValue[R]) samePeople(other setListValue[R]) bool { return v.sameSet(other) }

// strings returns the known elements in order (unknown or null elements are left out); nil for a
// null or unknown list.
func (v setListValue[R]) strings() []string {
	values, _ := v.known()
	return values
}

// known returns the known elements in order (unknown or null elements are left out), each with
// its index in the list; nil for a null or unknown list.
func (v setListValue[R]) known() (values []string, index []int) {
	if v.IsNull() || v.IsUnknown() {
		return nil, nil
	}
	els := v.Elements()
	values, index = make([]string, 0, len(els)), make([]int, 0, len(els))
	for i, el := range els {
		if s, ok := el.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			values, index = append(values, s.ValueString()), append(index, i)
		}
	}
	return values, index
}

// setListOf returns a known list holding values in order.
func setListOf[R setRule](values []string) setListValue[R] {
	els := make([]attr.Value, len(values))
	for i, m := range values {
		els[i] = types.StringValue(m)
	}
	return setListValue[R]{ListValue: types.ListValueMust(types.StringType, els)}
}

// emailsOf returns a known emailsValue holding members in order.
func emailsOf(members []string) emailsValue { return setListOf[emailRule](members) }

func emailsNull() emailsValue { return emailsValue{ListValue: types.ListNull(types.StringType)} }
