package applesim

import (
	"net/url"
	"strconv"
)

// query reads typed query parameters; the first malformed one makes err 9602.
type query struct {
	v   url.Values
	err *apiError
}

func newQuery(u *url.URL) *query { return &query{v: u.Query()} }

func (q *query) str(name string) string { return q.v.Get(name) }

// boolean accepts true/false and 1/0.
func (q *query) boolean(name string) (value, set bool) {
	raw := q.v.Get(name)
	switch raw {
	case "":
		return false, false
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	q.fail()
	return false, false
}

func (q *query) integer(name string) (value int, set bool) {
	raw := q.v.Get(name)
	if raw == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(raw, 10, 32)
	if err != nil {
		q.fail()
		return 0, false
	}
	return int(n), true
}

// oneOf returns the parameter if it is empty or one of the allowed values.
func (q *query) oneOf(name string, allowed ...string) string {
	raw := q.v.Get(name)
	if raw == "" {
		return ""
	}
	for _, a := range allowed {
		if raw == a {
			return raw
		}
	}
	q.fail()
	return ""
}

func (q *query) fail() {
	if q.err == nil {
		q.err = errorFor(9602)
	}
}
