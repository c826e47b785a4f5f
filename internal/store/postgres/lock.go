package postgres

import "context"

// Exclusive runs fn while holding the cluster-wide lock name (a PostgreSQL
// session-level advisory lock on a connection of its own): no other node
// runs an Exclusive of the same name meanwhile. What must happen once in a
// cluster goes through it — the first start's default project and keys.
// The lock is released when fn returns, or by PostgreSQL when the
// connection is lost.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	key := lockKey(name)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.fail("lock "+name, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return s.fail("lock "+name, err)
	}
	defer func() {
		// A context ended by fn must not leave the lock held on a
		// connection that goes back to the pool.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	return fn(ctx)
}
