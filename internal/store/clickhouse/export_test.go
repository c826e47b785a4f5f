package clickhouse

// ForgetRowCounts makes source auto's next decision read the tables'
// rows again (rollupcost.go), for tests that have just written.
func ForgetRowCounts(s *Store) {
	s.rowCache.mu.Lock()
	defer s.rowCache.mu.Unlock()
	s.rowCache.rows = nil
}
