package store

import (
	"strconv"
	"strings"
)

// conditions builds the WHERE clause of a filtered query, with numbered placeholders ($1, $2, …),
// which both backends accept.
type conditions struct {
	where []string
	args  []any
}

// add appends cond, in which $? stands for v.
func (c *conditions) add(cond string, v any) {
	c.args = append(c.args, v)
	c.where = append(c.where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(c.args))))
}

// in appends "col IN (…)" over values.
func (c *conditions) in(col string, values []string) {
	marks := make([]string, len(values))
	for i, v := range values {
		c.args = append(c.args, v)
		marks[i] = "$" + strconv.Itoa(len(c.args))
	}
	c.where = append(c.where, col+` IN (`+strings.Join(marks, ", ")+`)`)
}

// clause is " WHERE" and the conditions joined by AND, or "" when there is none.
func (c *conditions) clause() string {
	if len(c.where) == 0 {
		return ""
	}
	return ` WHERE ` + strings.Join(c.where, " AND ")
}
