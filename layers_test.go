package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The layers, as .golangci.yml's depguard rules also enforce them (this test runs them in make
// test, which does not run the linter): provider -> engine -> store / apple, nothing pointing back
// up, and each outside dependency in the one layer that owns it.
var layerRules = []struct {
	dir    string // a package under internal/; "*" for every package but except
	except string
	deny   []string // import path prefixes
	why    string
}{
	{"*", "apple", []string{"github.com/hashicorp/go-retryablehttp"}, "only internal/apple talks to Apple"},
	{"engine", "", []string{"github.com/hashicorp/terraform-plugin", mod + "/internal/applesim"},
		"the engine speaks no Terraform and never runs the simulator"},
	{"provider", "", []string{mod + "/internal/store", mod + "/internal/apple", mod + "/internal/applesim"},
		"the provider reaches everything through the engine (and internal/sandbox for sandbox mode)"},
}

const mod = "github.com/vppkit/terraform-provider-vpp"

// importsOf returns, per non-test Go file of dir, the packages it imports.
func importsOf(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[f] = append(out[f], p)
		}
	}
	return out
}

func TestLayers(t *testing.T) {
	entries, err := os.ReadDir("internal")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for file, imports := range importsOf(t, filepath.Join("internal", e.Name())) {
			checked++
			for _, r := range layerRules {
				if (r.dir != "*" && r.dir != e.Name()) || r.except == e.Name() {
					continue
				}
				for _, imp := range imports {
					for _, d := range r.deny {
						if imp == d || strings.HasPrefix(imp, d) {
							t.Errorf("%s imports %s: %s", file, imp, r.why)
						}
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d files checked: is the test running from the module's root?", checked)
	}
}
