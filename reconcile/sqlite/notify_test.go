package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/sqlite"
	"github.com/claimdrift/claimdrift/reconcile/storetest"
)

func TestNotifyConformance(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) func() storetest.NotifyStore {
		path := filepath.Join(t.TempDir(), "claimdrift.db")
		return func() storetest.NotifyStore {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
