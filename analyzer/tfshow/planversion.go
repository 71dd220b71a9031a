package tfshow

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
)

// ErrNotPlanFile is returned when a file is not a binary plan file.
var ErrNotPlanFile = errors.New("not a binary plan file")

// PlanVersion returns the version of Terraform (or OpenTofu) that wrote the
// binary plan file at path, read from the "tfplan" entry of the zip
// archive (protobuf field 14, terraform_version). It returns "" without an
// error when the file is a plan archive that does not record it.
func PlanVersion(path string) (string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotPlanFile, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "tfplan" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", fmt.Errorf("read plan file: %w", err)
		}
		defer rc.Close()
		// The plan message is small next to the archive's other entries,
		// but bound what is read anyway.
		data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		if err != nil {
			return "", fmt.Errorf("read plan file: %w", err)
		}
		return protoStringField(data, 14), nil
	}
	return "", fmt.Errorf("%w: no tfplan entry in the archive", ErrNotPlanFile)
}

// protoStringField returns the first length-delimited field number num of
// a protobuf message, or "" when absent or malformed.
func protoStringField(b []byte, num uint64) string {
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return ""
		}
		b = b[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0: // varint
			_, n := uvarint(b)
			if n <= 0 {
				return ""
			}
			b = b[n:]
		case 1: // 64-bit
			if len(b) < 8 {
				return ""
			}
			b = b[8:]
		case 2: // length-delimited
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return ""
			}
			if field == num {
				return string(b[n : n+int(l)])
			}
			b = b[n+int(l):]
		case 5: // 32-bit
			if len(b) < 4 {
				return ""
			}
			b = b[4:]
		default:
			return ""
		}
	}
	return ""
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}
