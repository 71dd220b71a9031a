package postgres_test

import (
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/storetest"
)

func TestNotifyConformance(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) func() storetest.NotifyStore {
		dsn := pgtest.Schema(t)
		return func() storetest.NotifyStore {
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
