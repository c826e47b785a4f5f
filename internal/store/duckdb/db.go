// Package duckdb is Alidade's embedded store: metadata (projects, keys,
// datasets) in one DuckDB file and points in one DuckDB file per UTC day, so
// that expiring a day frees its disk space by deleting a file. Each day file
// holds one table per dataset name (rows of every project, tagged by a project
// column), with only the blob and double columns that dataset has used.
//
// It owns the physical layout and the SQL it prints; it does not know HTTP,
// keys in clear, or the query JSON.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/meta"
)

// Options configure the store.
type Options struct {
	// Dir is the data directory; created when missing.
	Dir string
	// MemoryLimit is DuckDB's memory limit, e.g. "1GB". Empty leaves DuckDB's default.
	MemoryLimit string
	// Threads is DuckDB's thread count; 0 means the number of CPUs.
	Threads int
	// WriteLanes is how many appends may commit concurrently; 0 means 2.
	WriteLanes int
	Logger     *slog.Logger
}

// DefaultOptions returns options for a store in ./alidade-data.
func DefaultOptions() Options {
	return Options{Dir: "./alidade-data", MemoryLimit: DefaultMemoryLimit}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Dir == "" {
		return errors.New("data directory is empty")
	}
	if o.Threads < 0 {
		return fmt.Errorf("threads must be >= 0, got %d", o.Threads)
	}
	if o.WriteLanes < 0 || o.WriteLanes > 64 {
		return fmt.Errorf("write lanes must be 0 to 64, got %d", o.WriteLanes)
	}
	return nil
}

const dayMs = 24 * 60 * 60 * 1000

// DefaultMemoryLimit is DuckDB's memory limit unless set. DuckDB fills it
// with cached blocks of the day files; scans of 100M points run as fast
// with 256MB as with 1GB (measured), and larger hash tables and sorts
// spill to the data directory's temporary files.
const DefaultMemoryLimit = "256MB"

// metaBlockSize is the block size of a new metadata database
// (alidade.duckdb); dayBlockSize that of the day files, DuckDB's default.
// DuckDB keeps the rows appended to a table since its last checkpoint in
// blocks of one column each, a block for every column and its validity
// mask however few the rows: with 256 KiB blocks, error tracking's
// tables (error_groups alone has 28 columns) held about 20 MiB so, most
// of it empty. The metadata database holds small tables only. A
// database keeps the block size it was made with.
const (
	metaBlockSize = 16 << 10
	dayBlockSize  = 256 << 10
)

// width is how many blob and double columns a day table has.
type width struct{ blobs, doubles int }

// partition is one attached day file.
type partition struct {
	day    int64  // days since the Unix epoch
	alias  string // catalog name, e.g. p20261127
	path   string
	tables map[string]width // dataset -> columns present
	// idem says the file has its idempotency table; logPos its log
	// position table.
	idem, logPos atomic.Bool
	// lastWrite is when a commit last wrote to the file (Unix ns); dirty
	// says one did since the last checkpoint.
	lastWrite atomic.Int64
	dirty     atomic.Bool
}

// Store is the DuckDB backend.
type Store struct {
	opts      Options
	log       *slog.Logger
	connector *duckdb.Connector
	db        *sql.DB

	// lanes hands out writer connections; allLanes lists them. ddl's read
	// side is held by every append, its write side by schema changes,
	// retention and Close.
	lanes    chan *lane
	allLanes []*lane
	ddl      sync.RWMutex

	pmu   sync.RWMutex
	parts map[int64]*partition
	// widths is the widest each dataset has been, used for new day tables.
	widths map[string]width

	metaMu   sync.Mutex
	datasets map[dsKey]*meta.Dataset

	// errw commits error tracking's groups and events (errors.go).
	errw errWriter
}

type dsKey struct {
	project int64
	name    string
}

// Open opens or creates the store in opts.Dir.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "points"), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	threads := opts.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	path := filepath.Join(opts.Dir, "alidade.duckdb")
	dsn := fmt.Sprintf("%s?default_block_size=%d", path, metaBlockSize)
	connector, err := duckdb.NewConnector(dsn, func(execer driver.ExecerContext) error {
		stmts := []string{fmt.Sprintf("SET threads = %d", threads),
			// Return freed memory to the system instead of keeping it
			// in the allocator's caches, which RSS would count.
			"SET allocator_background_threads = true",
			"SET allocator_flush_threshold = '32MB'"}
		if opts.MemoryLimit != "" {
			stmts = append(stmts, "SET memory_limit = '"+strings.ReplaceAll(opts.MemoryLimit, "'", "")+"'")
		}
		for _, s := range stmts {
			if _, err := execer.ExecContext(ctx, s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (is another alidade using this data directory?)", path, err)
	}
	s := &Store{
		opts:      opts,
		log:       log,
		connector: connector,
		db:        sql.OpenDB(connector),
		parts:     map[int64]*partition{},
		widths:    map[string]width{},
		datasets:  map[dsKey]*meta.Dataset{},
	}
	if err := s.init(ctx); err != nil {
		s.db.Close()
		connector.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.initMeta(ctx); err != nil {
		return err
	}
	n := s.opts.WriteLanes
	if n == 0 {
		n = 2
	}
	s.lanes = make(chan *lane, n)
	for range n {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("open writer connection: %w", err)
		}
		l := &lane{conn: conn, appenders: map[string]*tableAppender{}}
		s.allLanes = append(s.allLanes, l)
		s.lanes <- l
	}
	if err := s.attachExisting(ctx); err != nil {
		return err
	}
	return s.loadDatasets(ctx)
}

// Close commits nothing new; it closes appenders and the database.
func (s *Store) Close() error {
	s.ddl.Lock()
	defer s.ddl.Unlock()
	var errs []error
	s.dropAppenders(func(string) bool { return true })
	s.closeErrors()
	if _, err := s.db.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
		s.log.Warn("checkpoint on close", "err", err)
	}
	for _, l := range s.allLanes {
		errs = append(errs, l.conn.Close())
	}
	errs = append(errs, s.db.Close(), s.connector.Close())
	return errors.Join(errs...)
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.opts.Dir }

// SizeBytes returns the bytes the data directory's DuckDB files take on disk.
func (s *Store) SizeBytes() int64 {
	var total int64
	_ = filepath.WalkDir(s.opts.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	return total
}

// Ping checks the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.PingContext(ctx)
}

func dayOf(ms int64) int64 {
	if ms < 0 {
		return (ms - dayMs + 1) / dayMs
	}
	return ms / dayMs
}

func dayName(day int64) string {
	return time.UnixMilli(day * dayMs).UTC().Format("2006-01-02")
}

func (s *Store) partitionPath(day int64) string {
	return filepath.Join(s.opts.Dir, "points", dayName(day)+".duckdb")
}

func aliasOf(day int64) string {
	return "p" + strings.ReplaceAll(dayName(day), "-", "")
}

// attachExisting attaches every day file in the points directory.
func (s *Store) attachExisting(ctx context.Context) error {
	entries, err := os.ReadDir(filepath.Join(s.opts.Dir, "points"))
	if err != nil {
		return fmt.Errorf("list day files: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".duckdb")
		if !ok || e.IsDir() {
			continue
		}
		t, err := time.Parse("2006-01-02", name)
		if err != nil {
			s.log.Warn("ignoring unexpected file in points directory", "file", e.Name())
			continue
		}
		if _, err := s.attach(ctx, dayOf(t.UnixMilli())); err != nil {
			return err
		}
	}
	return nil
}

// attach attaches (creating when missing) the day file for day and loads its
// table widths. It runs on the writer connection's goroutine or at start.
func (s *Store) attach(ctx context.Context, day int64) (*partition, error) {
	s.pmu.RLock()
	p := s.parts[day]
	s.pmu.RUnlock()
	if p != nil {
		return p, nil
	}
	p = &partition{day: day, alias: aliasOf(day), path: s.partitionPath(day), tables: map[string]width{}}
	// The path is built from a date, never from user input.
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("ATTACH IF NOT EXISTS '%s' AS %s (BLOCK_SIZE %d)", p.path, p.alias, dayBlockSize)); err != nil {
		return nil, fmt.Errorf("attach day file %s: %w", p.path, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ?`, p.alias)
	if err != nil {
		return nil, fmt.Errorf("read tables of %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, err
		}
		switch table {
		case idemTableName:
			p.idem.Store(true)
			continue
		case logPosTableName:
			p.logPos.Store(true)
			continue
		}
		w := p.tables[table]
		var n int
		if _, err := fmt.Sscanf(col, "blob%d", &n); err == nil && n > w.blobs {
			w.blobs = n
		} else if _, err := fmt.Sscanf(col, "double%d", &n); err == nil && n > w.doubles {
			w.doubles = n
		}
		p.tables[table] = w
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for table, w := range p.tables {
		s.widths[table] = maxWidth(s.widths[table], w)
	}
	s.parts[day] = p
	return p, nil
}

func maxWidth(a, b width) width {
	return width{max(a.blobs, b.blobs), max(a.doubles, b.doubles)}
}

// partView is a read-only snapshot of one partition's table for a dataset.
type partView struct {
	alias string
	w     width
}

// viewsFor returns, in day order, the partitions overlapping [from, to) that
// have a table for dataset.
func (s *Store) viewsFor(dataset string, from, to int64) []partView {
	first, last := dayOf(from), dayOf(to-1)
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	var out []partView
	for day, p := range s.parts {
		if day < first || day > last {
			continue
		}
		if w, ok := p.tables[dataset]; ok {
			out = append(out, partView{alias: p.alias, w: w})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].alias < out[j].alias })
	return out
}

// quoteIdent quotes an SQL identifier for DuckDB.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// CheckpointIdle checkpoints the day files written to since their last
// checkpoint but not in the last idle: their write-ahead log moves into
// the file, and DuckDB frees the memory that held the logged rows (up to
// its checkpoint_threshold of log per file, which adds up when a backfill
// writes many days). Today's file, written every second, is left to
// DuckDB's own checkpoints. It returns how many files it checkpointed; a
// file that fails, or is written meanwhile, stays dirty for the next call.
func (s *Store) CheckpointIdle(ctx context.Context, idle time.Duration) (int, error) {
	cutoff := time.Now().Add(-idle).UnixNano()
	s.pmu.RLock()
	var due []*partition
	for _, p := range s.parts {
		if p.dirty.Load() && p.lastWrite.Load() <= cutoff {
			due = append(due, p)
		}
	}
	s.pmu.RUnlock()
	sort.Slice(due, func(i, j int) bool { return due[i].day < due[j].day })
	n := 0
	var errs []error
	for _, p := range due {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		p.dirty.Store(false)
		// The alias is built from a date, never from user input.
		if _, err := s.db.ExecContext(ctx, "CHECKPOINT "+p.alias); err != nil {
			p.dirty.Store(true)
			errs = append(errs, fmt.Errorf("checkpoint %s: %w", p.path, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
