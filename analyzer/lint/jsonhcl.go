package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A .tf.json file (Terraform's JSON configuration syntax) is translated into
// native syntax and read like a .tf file. Each key is written on the line
// it has in the JSON source, so that findings point at the right line.
//
// What JSON leaves open without the provider's schema is settled this way:
// a property whose value is an array of objects is a list of nested blocks,
// one whose value is an object is an argument of map or object type
// (except lifecycle, connection, provisioner, dynamic and content, which
// are always blocks). References in depends_on, ignore_changes and
// replace_triggered_by are written as references, as Terraform reads them.

// jnode is a JSON value with the line it starts on.
type jnode struct {
	line  int
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	props []jprop
	elems []*jnode
	str   string
	b     bool
}

type jprop struct {
	key  string
	line int
	val  *jnode
}

type jparser struct {
	dec    *json.Decoder
	src    []byte
	starts []int // byte offset of each line's start
}

// maxJSONDepth bounds nesting, against hostile input.
const maxJSONDepth = 200

func (p *jparser) lineAt(off int64) int {
	i := int(off)
	for i < len(p.src) && strings.IndexByte(" \t\r\n,:", p.src[i]) >= 0 {
		i++
	}
	return sort.Search(len(p.starts), func(k int) bool { return p.starts[k] > i })
}

func (p *jparser) value(depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	line := p.lineAt(p.dec.InputOffset())
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	n := &jnode{line: line}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = 'o'
			for p.dec.More() {
				kl := p.lineAt(p.dec.InputOffset())
				kt, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.props = append(n.props, jprop{key: key, line: kl, val: v})
			}
		case '[':
			n.kind = 'a'
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
		default:
			return nil, fmt.Errorf("unexpected %v", t)
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.kind, n.str = 's', t
	case json.Number:
		n.kind, n.str = 'n', t.String()
	case bool:
		n.kind, n.b = 'b', t
	case nil:
		n.kind = 'z'
	}
	return n, nil
}

// hclWriter writes native syntax, padding with newlines to source lines.
type hclWriter struct {
	buf  bytes.Buffer
	line int
}

func (w *hclWriter) at(line int) {
	for w.line < line {
		w.buf.WriteByte('\n')
		w.line++
	}
}

func (w *hclWriter) nl() {
	w.buf.WriteByte('\n')
	w.line++
}

// jsonToHCL translates a Terraform JSON configuration file into native
// syntax. Only the blocks lint reads are kept (resource, data, module,
// output, locals).
func jsonToHCL(src []byte) ([]byte, error) {
	p := &jparser{dec: json.NewDecoder(bytes.NewReader(src)), src: src, starts: []int{0}}
	p.dec.UseNumber()
	for i, c := range src {
		if c == '\n' {
			p.starts = append(p.starts, i+1)
		}
	}
	root, err := p.value(0)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON configuration: %w", err)
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON configuration: data after the top-level object")
	}
	if root.kind != 'o' {
		return nil, errors.New("invalid JSON configuration: not an object")
	}
	w := &hclWriter{line: 1}
	for _, top := range root.props {
		switch top.key {
		case "resource", "data":
			for _, typ := range top.val.props {
				for _, name := range typ.val.props {
					for _, body := range bodies(name.val) {
						w.block(name.line, top.key+" "+strconv.Quote(typ.key)+" "+strconv.Quote(name.key), body)
					}
				}
			}
		case "module", "output":
			for _, name := range top.val.props {
				for _, body := range bodies(name.val) {
					w.block(name.line, top.key+" "+strconv.Quote(name.key), body)
				}
			}
		case "locals":
			for _, body := range bodies(top.val) {
				w.block(top.line, "locals", body)
			}
		}
	}
	w.nl()
	return w.buf.Bytes(), nil
}

// bodies returns the block bodies of a value: an object, or an array of
// objects.
func bodies(n *jnode) []*jnode {
	switch n.kind {
	case 'o':
		return []*jnode{n}
	case 'a':
		var out []*jnode
		for _, e := range n.elems {
			if e.kind == 'o' {
				out = append(out, e)
			}
		}
		return out
	}
	return nil
}

func (w *hclWriter) block(line int, header string, body *jnode) {
	w.at(line)
	if w.buf.Len() > 0 && w.buf.Bytes()[w.buf.Len()-1] != '\n' {
		w.nl()
	}
	w.buf.WriteString(header + " {")
	w.nl()
	w.body(body)
	w.buf.WriteString("}")
	w.nl()
}

func (w *hclWriter) body(n *jnode) {
	for _, p := range n.props {
		if !hclsyntax.ValidIdentifier(p.key) {
			continue // comments ("//") and what is not an argument name
		}
		switch p.key {
		case "lifecycle", "connection", "content":
			for _, b := range bodies(p.val) {
				w.block(p.line, p.key, b)
			}
			continue
		case "provisioner", "dynamic":
			for _, label := range p.val.props {
				for _, b := range bodies(label.val) {
					w.block(label.line, p.key+" "+strconv.Quote(label.key), b)
				}
			}
			continue
		}
		if p.val.kind == 'a' && len(p.val.elems) > 0 && len(bodies(p.val)) == len(p.val.elems) {
			for _, b := range p.val.elems {
				w.block(b.line, p.key, b)
			}
			continue
		}
		w.at(p.line)
		w.buf.WriteString(p.key + " = ")
		refs := p.key == "depends_on" || p.key == "ignore_changes" || p.key == "replace_triggered_by"
		w.expr(p.val, refs)
		w.nl()
	}
}

func (w *hclWriter) expr(n *jnode, refs bool) {
	switch n.kind {
	case 's':
		if refs && isTraversal(n.str) {
			w.buf.WriteString(n.str)
			return
		}
		w.buf.WriteString(quoteTemplate(n.str))
	case 'n':
		w.buf.WriteString(n.str)
	case 'b':
		w.buf.WriteString(strconv.FormatBool(n.b))
	case 'z':
		w.buf.WriteString("null")
	case 'a':
		w.buf.WriteString("[")
		for i, e := range n.elems {
			if i > 0 {
				w.buf.WriteString(", ")
			}
			w.expr(e, refs)
		}
		w.buf.WriteString("]")
	case 'o':
		w.buf.WriteString("{")
		for i, p := range n.props {
			if i > 0 {
				w.buf.WriteString(", ")
			}
			w.buf.WriteString(strconv.Quote(p.key) + " = ")
			w.expr(p.val, false)
		}
		w.buf.WriteString("}")
	}
}

// isTraversal reports whether s is a reference such as docker_image.x.id
// or metadata[0].name.
func isTraversal(s string) bool {
	t, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.Pos{Line: 1, Column: 1})
	return !diags.HasErrors() && len(t) > 0
}

// quoteTemplate writes a JSON string as a native quoted template: the
// interpolation and directive sequences (${ }, %{ }) are code and stay as
// they are, quotes inside them included; everything else is escaped.
func quoteTemplate(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") || strings.HasPrefix(s[i:], "%%{") {
			b.WriteString(s[i : i+3])
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "${") || strings.HasPrefix(s[i:], "%{") {
			end := codeEnd(s, i+2)
			// Line breaks in the code become spaces, so that the
			// translation keeps the JSON file's line numbers.
			b.WriteString(strings.NewReplacer("\r", " ", "\n", " ").Replace(s[i:end]))
			i = end
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// codeEnd returns the index just after the } that closes the template
// sequence whose code starts at i, following braces, quoted strings and
// the sequences nested in them; len(s) when it is not closed (the parser
// then reports it).
func codeEnd(s string, i int) int {
	type level struct {
		str    bool // inside a quoted string of the code
		braces int  // open braces of the code
	}
	stack := []level{{}}
	for i < len(s) {
		top := &stack[len(stack)-1]
		c := s[i]
		if top.str {
			switch {
			case c == '\\':
				i += 2
			case c == '"':
				stack = stack[:len(stack)-1]
				i++
			case strings.HasPrefix(s[i:], "$${"), strings.HasPrefix(s[i:], "%%{"):
				i += 3
			case strings.HasPrefix(s[i:], "${"), strings.HasPrefix(s[i:], "%{"):
				stack = append(stack, level{})
				i += 2
			default:
				i++
			}
			continue
		}
		switch c {
		case '"':
			stack = append(stack, level{str: true})
		case '{':
			top.braces++
		case '}':
			if top.braces > 0 {
				top.braces--
				break
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1
			}
		}
		i++
	}
	return len(s)
}
