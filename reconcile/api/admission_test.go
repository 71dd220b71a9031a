package api

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestAdmissionFirstInFirstOut: with every slot taken, waiting requests
// get in in the order they came, and one whose context ends stops
// waiting without taking a slot.
func TestAdmissionFirstInFirstOut(t *testing.T) {
	a := newAdmission(1)
	if err := a.enter(t.Context()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.enter(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			a.leave()
		}()
		time.Sleep(20 * time.Millisecond) // each waits before the next arrives
	}
	gone, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := a.enter(gone); err == nil {
		t.Fatal("a request whose context ended got a slot while all were taken")
	}
	a.leave()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("admitted in order %v, want 0 1 2 3 4", order)
		}
	}
	if len(order) != 5 || len(a.slots) != 0 {
		t.Fatalf("admitted %d, %d slots still taken", len(order), len(a.slots))
	}
}
