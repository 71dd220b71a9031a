package tfshow

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixturePlan = "../../testdata/plans/claim.tfplan"

func TestPlanVersion(t *testing.T) {
	v, err := PlanVersion(fixturePlan)
	if err != nil || v != "1.5.7" {
		t.Fatalf("PlanVersion = %q, %v; want 1.5.7 (make fixtures writes it with terraform 1.5.7)", v, err)
	}
	notZip := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(notZip, []byte(`{"format_version":"1.2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := PlanVersion(notZip); !errors.Is(err, ErrNotPlanFile) {
		t.Errorf("JSON file: err = %v, want ErrNotPlanFile", err)
	}
}

func TestProtoStringField(t *testing.T) {
	// field 1 varint 3, field 14 string "1.5.7", field 2 string "x"
	msg := []byte{0x08, 0x03, 0x72, 0x05, '1', '.', '5', '.', '7', 0x12, 0x01, 'x'}
	if got := protoStringField(msg, 14); got != "1.5.7" {
		t.Errorf("field 14 = %q", got)
	}
	if got := protoStringField(msg, 2); got != "x" {
		t.Errorf("field 2 = %q", got)
	}
	for _, bad := range [][]byte{{0x72, 0x09, '1'}, {0x72}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x0f}} {
		if got := protoStringField(bad, 14); got != "" {
			t.Errorf("malformed %x gave %q", bad, got)
		}
	}
}

func FuzzProtoStringField(f *testing.F) {
	f.Add([]byte{0x08, 0x03, 0x72, 0x05, '1', '.', '5', '.', '7'})
	f.Add([]byte{0x72, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := protoStringField(b, 14); len(s) > len(b) {
			t.Fatalf("field longer than the message")
		}
	})
}

func TestSelect(t *testing.T) {
	bins := []Binary{{Path: "/a/terraform", Version: "1.11.4"}, {Path: "/b/terraform", Version: "1.5.7"}, {Path: "/c/tofu", Version: ""}}
	b, err := Select(bins, "1.5.7")
	if err != nil || b.Path != "/b/terraform" {
		t.Errorf("Select 1.5.7 = %+v, %v", b, err)
	}
	if b, err := Select(bins, ""); err != nil || b.Path != "/a/terraform" {
		t.Errorf("Select unknown version = %+v, %v", b, err)
	}
	_, err = Select(bins, "1.6.0")
	if !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"written by 1.6.0", "/a/terraform (1.11.4)", "/c/tofu (unknown version)", "terraform show -json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if _, err := Select(nil, "1.5.7"); !errors.Is(err, ErrNoTerraform) {
		t.Errorf("no binaries: %v", err)
	}
}

func TestOpenPlanPassesJSONThrough(t *testing.T) {
	const doc = `{"format_version":"1.2"}`
	rc, err := OpenPlan(context.Background(), "-", strings.NewReader(doc), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if err := rc.Close(); err != nil || string(b) != doc {
		t.Errorf("got %q, %v", b, err)
	}
	if _, err := OpenPlan(context.Background(), filepath.Join(t.TempDir(), "missing.json"), nil, OpenOptions{}); err == nil {
		t.Error("missing file: no error")
	}
}

func TestOpenPlanWithoutTerraform(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := OpenPlan(context.Background(), fixturePlan, nil, OpenOptions{})
	if !errors.Is(err, ErrNoTerraform) || !strings.Contains(err.Error(), "terraform show -json") || !strings.Contains(err.Error(), "1.5.7") {
		t.Errorf("err = %v", err)
	}
}
