package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// ErrNotDirectory is returned when DIR is not a directory.
var ErrNotDirectory = errors.New("not a directory")

// ErrNoConfiguration is returned when DIR holds no Terraform files.
var ErrNoConfiguration = errors.New("no Terraform configuration files (*.tf, *.tf.json)")

// checkDir fails unless dir is a directory holding Terraform files.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w (it does not exist)", dir, ErrNotDirectory)
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w", dir, ErrNotDirectory)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() && isConfigFile(e.Name()) {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", dir, ErrNoConfiguration)
}

func isConfigFile(name string) bool {
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json") ||
		strings.HasSuffix(name, ".tofu") || strings.HasSuffix(name, ".tofu.json")
}

// skipped names what the private copy leaves out: everything that holds
// state, plans or the working directory's own data.
func skipped(d fs.DirEntry) bool {
	base := d.Name()
	if d.IsDir() {
		return base == ".terraform" || base == ".git" || base == "terraform.tfstate.d"
	}
	return base == "terraform.tfstate" || base == "terraform.tfstate.backup" ||
		base == ".terraform.tfstate.lock.info" || strings.HasSuffix(base, ".tfplan")
}

// prepareWorkdir makes work a private copy of the template in dir: its
// files (not its state, plans or .terraform), the modules and providers
// dir was initialized with linked read-only from its data directory
// (dataDir: dir/.terraform, or TF_DATA_DIR), its lock file copied, and the
// root module's backend removed so that the state is local and synthetic.
func prepareWorkdir(dir, work, dataDir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if skipped(d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(work, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil // sockets, devices: not part of a template
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", dir, err)
	}
	// The initialized working directory: modules and providers, linked.
	data := dataDir
	if !filepath.IsAbs(data) {
		data = filepath.Join(dir, data)
	}
	entries, err := os.ReadDir(data)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", data, err)
	}
	if len(entries) > 0 {
		if err := os.MkdirAll(filepath.Join(work, ".terraform"), 0o755); err != nil {
			return err
		}
	}
	absData, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch e.Name() {
		case "terraform.tfstate", "environment":
			// The backend's configuration and the selected workspace: the
			// copy has no backend and uses the default workspace.
			continue
		}
		if err := os.Symlink(filepath.Join(absData, e.Name()), filepath.Join(work, ".terraform", e.Name())); err != nil {
			return fmt.Errorf("link %s: %w", e.Name(), err)
		}
	}
	return stripBackends(work)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// stripBackends removes backend and cloud blocks from the root module's
// terraform blocks in the copy, so that Terraform uses the local default
// backend without `init` and never touches the template's real state.
// Files that do not parse are left as they are: Terraform reports them.
func stripBackends(work string) error {
	entries, err := os.ReadDir(work)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !isConfigFile(name) {
			continue
		}
		p := filepath.Join(work, name)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var out []byte
		if strings.HasSuffix(name, ".json") {
			out = stripBackendJSON(src)
		} else {
			out = stripBackendHCL(src, name)
		}
		if out != nil {
			if err := os.WriteFile(p, out, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// stripBackendHCL returns the file without backend/cloud blocks inside
// terraform blocks, nil when there is nothing to remove or it does not
// parse.
func stripBackendHCL(src []byte, name string) []byte {
	f, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	changed := false
	for _, b := range f.Body().Blocks() {
		if b.Type() != "terraform" {
			continue
		}
		for _, inner := range b.Body().Blocks() {
			if inner.Type() == "backend" || inner.Type() == "cloud" {
				b.Body().RemoveBlock(inner)
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	return f.Bytes()
}

// stripBackendJSON is stripBackendHCL for the JSON syntax.
func stripBackendJSON(src []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(src, &doc) != nil {
		return nil
	}
	raw, ok := doc["terraform"]
	if !ok {
		return nil
	}
	strip := func(m map[string]json.RawMessage) bool {
		_, a := m["backend"]
		_, b := m["cloud"]
		delete(m, "backend")
		delete(m, "cloud")
		return a || b
	}
	var changed bool
	var one map[string]json.RawMessage
	var many []map[string]json.RawMessage
	var val any
	if json.Unmarshal(raw, &one) == nil {
		changed, val = strip(one), one
	} else if json.Unmarshal(raw, &many) == nil {
		for _, m := range many {
			if strip(m) {
				changed = true
			}
		}
		val = many
	}
	if !changed {
		return nil
	}
	b, err := json.Marshal(val)
	if err != nil {
		return nil
	}
	doc["terraform"] = b
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil
	}
	return out
}

// outsideModules reads the module manifest of the data directory and
// returns the local module directories outside DIR ("../modules/x"), by
// the path that leads out ("../modules"), and how many levels up the
// deepest goes.
func outsideModules(dataDir string) ([]string, int) {
	b, err := os.ReadFile(filepath.Join(dataDir, "modules", "modules.json"))
	if err != nil {
		return nil, 0
	}
	var m struct {
		Modules []struct {
			Dir string `json:"Dir"`
		} `json:"Modules"`
	}
	if json.Unmarshal(b, &m) != nil {
		return nil, 0
	}
	seen := map[string]bool{}
	var out []string
	maxUp := 0
	for _, mod := range m.Modules {
		d := filepath.Clean(filepath.FromSlash(mod.Dir))
		if filepath.IsAbs(d) {
			continue
		}
		parts := strings.Split(d, string(filepath.Separator))
		up := 0
		for up < len(parts) && parts[up] == ".." {
			up++
		}
		if up == 0 || up == len(parts) {
			continue
		}
		top := filepath.Join(parts[:up+1]...)
		if !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
		if up > maxUp {
			maxUp = up
		}
	}
	return out, maxUp
}

// linkOutside links each directory outside DIR that modules come from at
// the same relative place beside the working copy.
func linkOutside(dir, work string, outside []string) error {
	for _, rel := range outside {
		target := filepath.Join(work, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(filepath.Join(dir, rel), target); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("link module directory %s: %w", rel, err)
		}
	}
	return nil
}
