package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// write is one statement of a batch: an INSERT, UPDATE or DELETE with ?
// placeholders, its arguments, and what it records (for errors).
type write struct {
	what  string
	query string
	args  []any
}

// maxBatchParams bounds the parameters of one combined statement, below
// PostgreSQL's 65,535 per statement.
const maxBatchParams = 30000

// execBatch runs writes in order through q and returns the rows each
// affected. Where the database takes data-modifying WITH queries
// (Dialect.WritableCTE), consecutive writes go to the server as one
// statement (up to maxBatchParams parameters), one round trip instead of
// one per write; more than one statement needs q to be a transaction for
// the batch to be atomic. The writes of one statement see the snapshot taken
// before it and not each other's rows, and constraints are checked at its
// end, so a batch must not read what an earlier write of it wrote (inserting
// a row and a row that references it is fine).
func (s *Store) execBatch(ctx context.Context, q querier, ws []write) ([]int64, error) {
	out := make([]int64, 0, len(ws))
	if !s.d.WritableCTE {
		for _, w := range ws {
			n, err := s.execOne(ctx, q, w)
			if err != nil {
				return out, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	for len(ws) > 0 {
		k, params := 0, 0
		for k < len(ws) && (k == 0 || params+len(ws[k].args) <= maxBatchParams) {
			params += len(ws[k].args)
			k++
		}
		counts, err := s.execCombined(ctx, q, ws[:k])
		if err != nil {
			return out, err
		}
		out = append(out, counts...)
		ws = ws[k:]
	}
	return out, nil
}

// execCombined sends ws as one statement:
//
//	WITH w0 AS (INSERT ... RETURNING 1), w1 AS (...)
//	SELECT (SELECT COUNT(*) FROM w0), (SELECT COUNT(*) FROM w1)
//
// (an INSERT ... ON CONFLICT DO NOTHING returns only the rows it wrote, so
// each count is the rows that write affected).
func (s *Store) execCombined(ctx context.Context, q querier, ws []write) ([]int64, error) {
	if len(ws) == 1 {
		// Nothing to combine.
		n, err := s.execOne(ctx, q, ws[0])
		if err != nil {
			return nil, err
		}
		return []int64{n}, nil
	}
	var b strings.Builder
	var args []any
	whats := make([]string, len(ws))
	b.WriteString("WITH ")
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("w" + strconv.Itoa(i) + " AS (" + w.query + " RETURNING 1)")
		args = append(args, w.args...)
		whats[i] = w.what
	}
	b.WriteString(" SELECT ")
	for i := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(SELECT COUNT(*) FROM w" + strconv.Itoa(i) + ")")
	}
	counts := make([]int64, len(ws))
	dest := make([]any, len(ws))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := q.QueryRowContext(ctx, s.q(b.String()), args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(dedupe(whats), ", "), err)
	}
	return counts, nil
}

// execOne runs one write and returns the rows it affected.
func (s *Store) execOne(ctx context.Context, q querier, w write) (int64, error) {
	res, err := q.ExecContext(ctx, s.q(w.query), w.args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", w.what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", w.what, err)
	}
	return n, nil
}

// params counts the parameters of ws.
func params(ws []write) int {
	n := 0
	for _, w := range ws {
		n += len(w.args)
	}
	return n
}

// dedupe drops repeats from ss, keeping the first of each.
func dedupe(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
