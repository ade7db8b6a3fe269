package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// valueKind is the type of a computed attribute of a data source's list entry.
type valueKind int

const (
	stringValue     valueKind = iota // a string (the default)
	timeValue                        // an RFC 3339 time
	wholeNumber                      // an int64
	stringListValue                  // a list of strings
)

// computedAttributes are the computed attributes descriptions describes (name: description), each
// a string unless kinds gives it another type.
func computedAttributes(descriptions map[string]string, kinds map[string]valueKind) map[string]schema.Attribute {
	attrs := make(map[string]schema.Attribute, len(descriptions))
	for name, desc := range descriptions {
		switch kinds[name] {
		case timeValue:
			attrs[name] = schema.StringAttribute{CustomType: timetypes.RFC3339Type{}, Computed: true, MarkdownDescription: desc}
		case wholeNumber:
			attrs[name] = schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
		case stringListValue:
			attrs[name] = schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: desc}
		default:
			attrs[name] = schema.StringAttribute{Computed: true, MarkdownDescription: desc}
		}
	}
	return attrs
}
