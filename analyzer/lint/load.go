package lint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// ErrSyntax is wrapped by every *ParseError.
var ErrSyntax = errors.New("invalid HCL")

// ErrNoConfig is returned when the directory holds no .tf file.
var ErrNoConfig = errors.New("no .tf files")

// ParseError is a file that hashicorp/hcl/v2 cannot parse.
type ParseError struct {
	File    string
	Line    int
	Column  int
	Message string
}

// Error renders the error as file:line: message, on one line.
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}

// Unwrap returns ErrSyntax.
func (e *ParseError) Unwrap() error { return ErrSyntax }

// maxModuleDepth bounds nested module calls (and so module call cycles).
const maxModuleDepth = 16

// module is one directory of .tf files.
type module struct {
	dir       string
	resources []*resource
	byAddr    map[string]*resource
	// data holds the data sources by address (data.TYPE.NAME).
	data      map[string]*resource
	locals    map[string]*hclsyntax.Attribute
	outputs   map[string]*hclsyntax.Attribute
	calls     map[string]*moduleCall
	callOrder []string
}

type resource struct {
	typ, name string
	file      string
	block     *hclsyntax.Block
	managed   bool
	lifecycle *lifecycle
}

func (r *resource) addr() string {
	if !r.managed {
		return "data." + r.typ + "." + r.name
	}
	return r.typ + "." + r.name
}

// meta returns the count or for_each argument of a resource, data source or
// module call body, nil when it has none.
func meta(body *hclsyntax.Body) *hclsyntax.Attribute {
	if a, ok := body.Attributes["for_each"]; ok {
		return a
	}
	return body.Attributes["count"]
}

type moduleCall struct {
	name   string
	source string
	// dir is the called module's directory inside the file system, "" when
	// the source is not a local path inside it.
	dir   string
	attrs map[string]*hclsyntax.Attribute
	block *hclsyntax.Block
	file  string
	// notRead says why the module was not read ("" when it was).
	notRead string
}

// loader reads modules from a file system.
type loader struct {
	fsys    fs.FS
	prefix  string
	modules map[string]*module
}

// displayName is the file name shown in findings and errors.
func (l *loader) displayName(name string) string {
	if l.prefix == "" || l.prefix == "." {
		return name
	}
	return path.Join(l.prefix, name)
}

// load reads the module in dir and, recursively, the local modules it calls.
func (l *loader) load(dir string, depth int) (*module, error) {
	if m, ok := l.modules[dir]; ok {
		return m, nil
	}
	entries, err := fs.ReadDir(l.fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.displayName(dir), err)
	}
	m := &module{
		dir:     dir,
		byAddr:  map[string]*resource{},
		data:    map[string]*resource{},
		locals:  map[string]*hclsyntax.Attribute{},
		outputs: map[string]*hclsyntax.Attribute{},
		calls:   map[string]*moduleCall{},
	}
	l.modules[dir] = m
	var names []string
	var overrides []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")) {
			continue
		}
		if isOverride(name) {
			overrides = append(overrides, name)
		} else {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	sort.Strings(overrides)
	if len(names)+len(overrides) == 0 {
		delete(l.modules, dir)
		return nil, fmt.Errorf("%s: %w", l.displayName(dir), ErrNoConfig)
	}
	// Override files are merged into the others after them, in name
	// order, as Terraform does.
	for i, name := range append(names, overrides...) {
		p := path.Join(dir, name)
		src, err := l.readFile(p)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(name, ".json") {
			if src, err = jsonToHCL(src); err != nil {
				return nil, &ParseError{File: l.displayName(p), Line: 1, Column: 1, Message: err.Error()}
			}
		}
		if err := l.parseFile(m, p, src, i >= len(names)); err != nil {
			return nil, err
		}
	}
	for _, name := range m.callOrder {
		c := m.calls[name]
		switch {
		case c.dir == "" && c.source == "":
			c.notRead = "its source is not a literal string"
			continue
		case c.dir == "":
			c.notRead = fmt.Sprintf("its source %q is not a local directory inside the linted one (registry, remote and git modules are not downloaded)", c.source)
			continue
		case depth >= maxModuleDepth:
			c.notRead = fmt.Sprintf("it is nested more than %d modules deep", maxModuleDepth)
			c.dir = ""
			continue
		}
		if _, err := l.load(c.dir, depth+1); err != nil {
			if errors.Is(err, ErrNoConfig) || errors.Is(err, fs.ErrNotExist) {
				// A local module that is missing is not followed, and
				// the finding says so.
				c.notRead = fmt.Sprintf("its source %q has no .tf files here (run terraform get, or check the path)", c.source)
				c.dir = ""
				continue
			}
			return nil, err
		}
	}
	return m, nil
}

// maxFileSize bounds one configuration file; real ones are kilobytes.
const maxFileSize = 32 << 20

// readFile reads one configuration file: a regular file (a symlink to one
// counts) of at most maxFileSize bytes. A FIFO would block the read forever
// and a device (a link to /dev/zero) never ends, so they are errors.
func (l *loader) readFile(p string) ([]byte, error) {
	info, err := fs.Stat(l.fsys, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.displayName(p), err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file (%s)", l.displayName(p), info.Mode().Type())
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d MiB", l.displayName(p), maxFileSize>>20)
	}
	f, err := l.fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.displayName(p), err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.displayName(p), err)
	}
	if len(src) > maxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d MiB", l.displayName(p), maxFileSize>>20)
	}
	return src, nil
}

// isOverride reports whether a file name is an override file:
// override.tf, *_override.tf and their .tf.json forms.
func isOverride(name string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".tf")
	return base == "override" || strings.HasSuffix(base, "_override")
}

// parseFile reads one file into m; an override file's blocks are merged
// into those already read (see mergeBody).
func (l *loader) parseFile(m *module, p string, src []byte, override bool) error {
	display := l.displayName(p)
	if err := checkNesting(src, display); err != nil {
		return err
	}
	file, diags := hclsyntax.ParseConfig(src, display, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	if diags.HasErrors() {
		return parseError(display, diags)
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return &ParseError{File: display, Line: 1, Column: 1, Message: "not a native HCL body"}
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "resource", "data":
			if len(b.Labels) != 2 {
				continue
			}
			r := &resource{typ: b.Labels[0], name: b.Labels[1], file: display, block: b, managed: b.Type == "resource"}
			if override {
				base := m.byAddr[r.addr()]
				if !r.managed {
					base = m.data[r.addr()]
				}
				if base != nil {
					mergeBody(base.block.Body, b.Body)
					base.lifecycle = parseLifecycle(base.block.Body)
					continue
				}
			}
			r.lifecycle = parseLifecycle(b.Body)
			if r.managed {
				m.resources = append(m.resources, r)
				m.byAddr[r.addr()] = r
			} else {
				m.data[r.addr()] = r
			}
		case "locals":
			for name, a := range b.Body.Attributes {
				m.locals[name] = a
			}
		case "output":
			if len(b.Labels) == 1 {
				// An override's value replaces the output's.
				if a, ok := b.Body.Attributes["value"]; ok {
					m.outputs[b.Labels[0]] = a
				}
			}
		case "module":
			if len(b.Labels) != 1 {
				continue
			}
			if base, ok := m.calls[b.Labels[0]]; ok && override {
				mergeBody(base.block.Body, b.Body)
				b = base.block
			}
			c := &moduleCall{name: b.Labels[0], attrs: map[string]*hclsyntax.Attribute{}, block: b, file: display}
			for name, a := range b.Body.Attributes {
				c.attrs[name] = a
			}
			if a, ok := b.Body.Attributes["source"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().FriendlyName() == "string" {
					c.source = v.AsString()
				}
			}
			c.dir = localModuleDir(m.dir, c.source)
			if _, dup := m.calls[c.name]; !dup {
				m.callOrder = append(m.callOrder, c.name)
			}
			m.calls[c.name] = c
		}
	}
	return nil
}

// localModuleDir resolves a local module source ("./mod", "../x") against
// the calling module's directory; "" when the source is not local or leaves
// the file system.
func localModuleDir(dir, source string) string {
	if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
		return ""
	}
	p := path.Join(dir, source)
	if !fs.ValidPath(p) {
		return ""
	}
	return p
}

// maxNesting bounds how deeply brackets, braces, parentheses, quotes and
// template sequences may nest in one file. hashicorp/hcl's parser recurses
// once per level, and a goroutine stack overflow is fatal (no recover), so
// a hostile file must be refused before it is parsed. Real templates stay
// far below it.
const maxNesting = 500

// checkNesting lexes src (the lexer does not recurse) and returns a
// ParseError at the first token that opens a level deeper than maxNesting.
func checkNesting(src []byte, file string) error {
	tokens, _ := hclsyntax.LexConfig(src, file, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	depth := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if depth > maxNesting {
				return &ParseError{File: file, Line: tok.Range.Start.Line, Column: tok.Range.Start.Column,
					Message: fmt.Sprintf("expressions nested more than %d levels deep", maxNesting)}
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// parseError turns the first error diagnostic into a one-line ParseError.
func parseError(file string, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		e := &ParseError{File: file, Line: 1, Column: 1}
		if d.Subject != nil {
			e.Line, e.Column = d.Subject.Start.Line, d.Subject.Start.Column
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		e.Message = strings.Join(strings.Fields(msg), " ")
		return e
	}
	return &ParseError{File: file, Line: 1, Column: 1, Message: "invalid HCL"}
}

// lifecycle is what claimdrift needs of a lifecycle block.
type lifecycle struct {
	present bool
	all     bool
	// allRange is where `ignore_changes = all` is written.
	allRange hcl.Range
	// paths are the ignore_changes entries as paths; rendered keeps their
	// rendering for fix suggestions, in source order.
	paths    []ignorePath
	rendered []string
	// triggers are the replace_triggered_by entries.
	triggers []hcl.Expression
}

type ignorePath []any

// parseLifecycle reads lifecycle.ignore_changes from a resource body.
// Entries it cannot read are skipped: Terraform itself reports them.
func parseLifecycle(body *hclsyntax.Body) *lifecycle {
	lc := &lifecycle{}
	for _, b := range body.Blocks {
		if b.Type != "lifecycle" {
			continue
		}
		lc.present = true
		if a, ok := b.Body.Attributes["replace_triggered_by"]; ok {
			if exprs, diags := hcl.ExprList(a.Expr); !diags.HasErrors() {
				lc.triggers = append(lc.triggers, exprs...)
			}
		}
		a, ok := b.Body.Attributes["ignore_changes"]
		if !ok {
			continue
		}
		if hcl.ExprAsKeyword(a.Expr) == "all" {
			lc.all = true
			lc.allRange = a.SrcRange
			continue
		}
		exprs, diags := hcl.ExprList(a.Expr)
		if diags.HasErrors() {
			continue
		}
		for _, e := range exprs {
			p, ok := ignoreEntryPath(e)
			if !ok {
				continue
			}
			lc.paths = append(lc.paths, p)
			lc.rendered = append(lc.rendered, renderPath(p))
		}
	}
	return lc
}

// ignoreEntryPath reads one ignore_changes entry: a relative traversal
// (name, metadata[0].name, labels["k"]) or, as older Terraform allowed, a
// quoted string holding one.
func ignoreEntryPath(e hcl.Expression) (ignorePath, bool) {
	if t, diags := hcl.RelTraversalForExpr(e); !diags.HasErrors() && len(t) > 0 {
		return traversalPath(t)
	}
	if v, diags := e.Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().FriendlyName() == "string" {
		t, diags := hclsyntax.ParseTraversalPartial([]byte(v.AsString()), "", hcl.Pos{Line: 1, Column: 1})
		if !diags.HasErrors() && len(t) > 0 {
			return traversalPath(t)
		}
	}
	return nil, false
}

// coversNames reports whether ignore_changes holds the argument named by
// names (attribute and block names, indexes left out) or one above it.
func (lc *lifecycle) coversNames(names []string) bool {
	if lc.all {
		return true
	}
	for _, ip := range lc.paths {
		var steps []string
		for _, s := range ip {
			if n, ok := s.(string); ok {
				steps = append(steps, n)
			}
		}
		if len(steps) > len(names) {
			continue
		}
		ok := true
		for i := range steps {
			if steps[i] != names[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// mergeBody merges an override block's body into base the way Terraform
// merges override files: each argument replaces the base's; a nested
// lifecycle block is merged argument by argument; any other nested block
// type replaces all of the base's blocks of that type (dynamic ones
// included).
func mergeBody(base, over *hclsyntax.Body) {
	for name, a := range over.Attributes {
		base.Attributes[name] = a
	}
	replaced := map[string]bool{}
	for _, b := range over.Blocks {
		typ := b.Type
		if typ == "dynamic" && len(b.Labels) == 1 {
			typ = b.Labels[0]
		}
		if typ == "lifecycle" {
			merged := false
			for _, bb := range base.Blocks {
				if bb.Type == "lifecycle" {
					for name, a := range b.Body.Attributes {
						bb.Body.Attributes[name] = a
					}
					merged = true
				}
			}
			if !merged {
				base.Blocks = append(base.Blocks, b)
			}
			continue
		}
		if !replaced[typ] {
			replaced[typ] = true
			kept := base.Blocks[:0:0]
			for _, bb := range base.Blocks {
				t := bb.Type
				if t == "dynamic" && len(bb.Labels) == 1 {
					t = bb.Labels[0]
				}
				if t != typ {
					kept = append(kept, bb)
				}
			}
			base.Blocks = kept
		}
		base.Blocks = append(base.Blocks, b)
	}
}
