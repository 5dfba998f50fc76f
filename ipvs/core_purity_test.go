package ipvs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// TestCorePurity keeps the decision core free of I/O and of the wall clock:
// the non-test files of package ipvs must not import net, os, syscall,
// log/slog or golang.org/x/sys, must not call time.Now or time.Sleep (nor
// start clock-driven timers: time.Since, time.After, time.NewTimer, ...).
func TestCorePurity(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbiddenImport := func(path string) bool {
		switch path {
		case "net", "os", "syscall", "log/slog", "os/exec", "os/signal":
			return true
		}
		return strings.HasPrefix(path, "golang.org/x/sys") || strings.HasPrefix(path, "net/") && path != "net/netip"
	}
	// Functions of package time that read the clock or run timers.
	clockFuncs := map[string]bool{"Now": true, "Sleep": true, "Since": true, "Until": true, "After": true,
		"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}
	grep := regexp.MustCompile(`time\.(Now|Sleep)\(`)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "ipvs" {
			continue
		}
		checked++
		timeName := ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbiddenImport(path) {
				t.Errorf("%s imports %q", name, path)
			}
			if path == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		// Plain text search, as asked: time.Now( / time.Sleep( anywhere
		// outside comments.
		for i, line := range strings.Split(string(src), "\n") {
			code := line
			if j := strings.Index(code, "//"); j >= 0 {
				code = code[:j]
			}
			if grep.MatchString(code) {
				t.Errorf("%s:%d: %s", name, i+1, strings.TrimSpace(line))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && clockFuncs[x.Sel.Name] {
					t.Errorf("%s: uses time.%s", fset.Position(x.Pos()), x.Sel.Name)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source files of package ipvs found")
	}
	_ = ipvs.Jiffy
}
