package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/loader"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/postgres"
	"github.com/alidade/alidade/internal/wal"
)

// alidade migrate copies an embedded data directory into a cluster: the
// metadata into PostgreSQL first (one transaction, ids kept), then the
// points into ClickHouse day by day, then it checks that every (project,
// dataset, day) holds as many points on both sides.
//
// It is resumable. The migration's state is in PostgreSQL settings: the
// metadata import writes migrateStateSetting (in its transaction), and
// each day is marked started before its first point goes to ClickHouse
// and done after its last one is in. A run that finds the state resumes:
// the metadata is not copied again, done days are skipped, and a day
// marked started but not done — its points may be partly in — has its
// ClickHouse partition dropped and is copied again.

const (
	// migrateStateSetting holds the migration's state (migrateState as
	// JSON) in the target's settings.
	migrateStateSetting = "migrate/state"
	// migrateDayPrefix + the day (2006-01-02) marks a day: "started", or
	// "done N" with the points copied.
	migrateDayPrefix = "migrate/day/"
	// migrateBatch is the points of one INSERT into ClickHouse: large
	// inserts are what it wants, and 100,000 points take about 50 MB here.
	migrateBatch = 100_000
)

// migrateState is what the target records of the migration.
type migrateState struct {
	// Source is the data directory's absolute path: a resumed run must
	// copy from the same one.
	Source   string    `json:"source"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// ErrorsCopied says error tracking's groups, events and attachments
	// are copied (after the points).
	ErrorsCopied bool `json:"errorsCopied,omitempty"`
}

func runMigrate(ctx context.Context, args []string) error {
	var dataDir, to, metaURL string
	var verifyOnly bool
	fs := newFlagSet("migrate", "migrate --to clickhouse://… --meta postgres://… [--data-dir DIR] [--verify-only]")
	fs.group("Source: the embedded store (no server may be running on it)")
	fs.str(&dataDir, "data-dir", "ALIDADE_DATA_DIR", "./alidade-data", "directory holding the embedded store")
	fs.group("Target: a cluster's stores (as serve's --store and --meta)")
	fs.str(&to, "to", "ALIDADE_STORE", "", "clickhouse://HOST:8123/DATABASE[?cluster=NAME&user=U&password=P]: where the points go")
	fs.str(&metaURL, "meta", "ALIDADE_META", "", "postgres://USER@HOST:5432/DB?sslmode=...: where projects, keys, schemas and settings go (a database without projects)")
	fs.group("Check")
	boolFlag(fs, &verifyOnly, "verify-only", "", "copy nothing: only compare the points per project, dataset and day on both sides")
	fs.footer = `
The metadata goes first, with its ids, into a PostgreSQL database that has no project yet;
then the points, day by day, into ClickHouse; then the count of every (project, dataset, day)
is compared on both sides, and any difference is an error. Stopped or failed, it resumes
where it was when run again with the same flags: the days already copied are kept, a day
it was copying is dropped from ClickHouse and copied again. Progress goes to stderr.
Start the cluster's nodes (serve --store … --meta …) once it has finished.
Then error tracking's groups (with their ids), events and attachments, counted at the end too.
`
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade migrate --help", fs.Arg(0))}
	}
	if to == "" || metaURL == "" {
		return &usageError{msg: "give both --to clickhouse://HOST:8123/DATABASE (or ALIDADE_STORE) and --meta postgres://USER@HOST:5432/DB (or ALIDADE_META)\nTry: alidade migrate --help"}
	}
	if _, err := clickhouse.ParseURL(to); err != nil {
		return &usageError{msg: "--to: " + err.Error()}
	}
	pgOpts := postgres.Options{URL: metaURL}
	if err := pgOpts.Validate(); err != nil {
		return &usageError{msg: "--meta: " + err.Error()}
	}
	knobs, err := migrateKnobsFromEnv()
	if err != nil {
		return err
	}

	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	// duckdb.Open would make an empty store where there is none.
	if _, err := os.Stat(filepath.Join(dir, "alidade.duckdb")); err != nil {
		return fmt.Errorf("no embedded store in %s (no alidade.duckdb there): give the data directory with --data-dir or ALIDADE_DATA_DIR", dir)
	}
	dopts := duckdb.DefaultOptions()
	dopts.Dir = dir
	src, err := duckdb.Open(ctx, dopts)
	if err != nil {
		return fmt.Errorf("open the embedded store in %s: %w; stop the server using it, then migrate", dir, err)
	}
	defer src.Close()
	if !verifyOnly {
		if n, err := unloadedLog(ctx, dir, src); err != nil {
			return err
		} else if n > 0 {
			return fmt.Errorf("the write-ahead log in %s holds %d point(s) not loaded into the store yet: start alidade serve --data-dir %s once and stop it (it loads them at start), then migrate",
				filepath.Join(dir, "wal"), n, dir)
		}
	}
	pg, err := postgres.Open(ctx, pgOpts)
	if err != nil {
		return err
	}
	defer pg.Close()
	ch, err := clickhouse.Open(ctx, clickhouse.Options{URL: to})
	if err != nil {
		return err
	}
	defer ch.Close()

	m := &migration{src: src, pg: pg, ch: ch, dir: dir, out: os.Stdout, progress: os.Stderr, knobs: knobs}
	if verifyOnly {
		return m.verify(ctx)
	}
	return m.run(ctx)
}

// migrateKnobs are settings for the tests only.
type migrateKnobs struct {
	// crashAfterDays kills the process (SIGKILL) once this many days were
	// copied in this run, after the last one's points are in ClickHouse
	// and before it is marked done: a crash at the worst moment.
	crashAfterDays int
}

func migrateKnobsFromEnv() (migrateKnobs, error) {
	var k migrateKnobs
	if v := os.Getenv("ALIDADE_TEST_MIGRATE_CRASH_AFTER_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return k, fmt.Errorf("ALIDADE_TEST_MIGRATE_CRASH_AFTER_DAYS=%q: use a positive number of days", v)
		}
		k.crashAfterDays = n
	}
	return k, nil
}

// errUnloaded stops the probe of unloadedLog at the first point to load.
var errUnloaded = errors.New("unloaded points")

// logProbe is a loader target that loads nothing: it counts the points
// the write-ahead log holds that the store has not loaded.
type logProbe struct {
	src    *duckdb.Store
	points int64
}

func (p *logProbe) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	for _, b := range batches {
		p.points += int64(len(b.Points))
	}
	if p.points > 0 {
		return errUnloaded
	}
	return nil
}

func (p *logProbe) LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error) {
	return p.src.LoadedPositions(ctx)
}

// unloadedLog returns how many points of the data directory's write-ahead
// log (of a serve --wal on killed before it loaded them) the store lacks,
// counted up to the first record that has any: those would be left
// behind.
func unloadedLog(ctx context.Context, dir string, src *duckdb.Store) (int64, error) {
	walDir := filepath.Join(dir, "wal")
	if _, err := os.Stat(walDir); err != nil {
		return 0, nil
	}
	lg, err := wal.Open(wal.Options{Dir: walDir})
	if err != nil {
		return 0, fmt.Errorf("read the write-ahead log in %s: %w", walDir, err)
	}
	defer lg.Close()
	probe := &logProbe{src: src}
	if _, _, err := loader.New(lg, probe, loader.Options{}).Replay(ctx); err != nil && !errors.Is(err, errUnloaded) {
		return 0, fmt.Errorf("read the write-ahead log in %s: %w", walDir, err)
	}
	return probe.points, nil
}

// migration is one run of alidade migrate.
type migration struct {
	src      *duckdb.Store
	pg       *postgres.Store
	ch       *clickhouse.Store
	dir      string
	out      io.Writer // the results
	progress io.Writer // progress lines
	knobs    migrateKnobs
}

func (m *migration) run(ctx context.Context) error {
	raw, err := m.pg.Setting(ctx, migrateStateSetting)
	if err != nil {
		return err
	}
	var state migrateState
	if raw == "" {
		if state, err = m.copyMeta(ctx); err != nil {
			return err
		}
	} else {
		if err := json.Unmarshal([]byte(raw), &state); err != nil {
			return fmt.Errorf("the metadata database's setting %s is unreadable (%v): it was not written by this alidade migrate", migrateStateSetting, err)
		}
		if state.Source != m.dir {
			return fmt.Errorf("the metadata database holds a migration from %s, not from %s: migrate each cluster from one data directory", state.Source, m.dir)
		}
		fmt.Fprintf(m.out, "Resuming the migration from %s started %s: metadata copied already.\n", state.Source, state.Started.Format(time.RFC3339))
	}
	if err := m.copyPoints(ctx); err != nil {
		return err
	}
	if err := m.verify(ctx); err != nil {
		return err
	}
	if !state.ErrorsCopied {
		if err := m.copyErrors(ctx); err != nil {
			return err
		}
	}
	if err := m.verifyErrors(ctx); err != nil {
		return err
	}
	if state.Finished.IsZero() || !state.ErrorsCopied {
		state.Finished = time.Now().UTC().Truncate(time.Second)
		state.ErrorsCopied = true
		b, _ := json.Marshal(state)
		if err := m.pg.SetSetting(ctx, migrateStateSetting, string(b)); err != nil {
			return err
		}
	}
	fmt.Fprintln(m.out, "Migration done.")
	return nil
}

// copyMeta copies the metadata into an empty target, with the migration's
// state in the same transaction.
func (m *migration) copyMeta(ctx context.Context) (migrateState, error) {
	state := migrateState{Source: m.dir, Started: time.Now().UTC().Truncate(time.Second)}
	days, err := m.ch.DaysContext(ctx)
	if err != nil {
		return state, err
	}
	if len(days) > 0 {
		return state, fmt.Errorf("the ClickHouse database already holds points of %d day(s), %s to %s: migrate only into an empty one",
			len(days), dayText(days[0]), dayText(days[len(days)-1]))
	}
	snap, err := m.snapshot(ctx)
	if err != nil {
		return state, err
	}
	b, _ := json.Marshal(state)
	snap.Settings[migrateStateSetting] = string(b)
	if err := m.pg.Import(ctx, snap); err != nil {
		var ne *postgres.NotEmptyError
		if errors.As(err, &ne) {
			return state, fmt.Errorf("%w, and it holds no migration of alidade migrate to resume", err)
		}
		return state, err
	}
	fmt.Fprintf(m.out, "Metadata copied: %d projects, %d keys (and %d revoked), %d datasets, %d settings, %d dashboard sessions, %d saved queries, %d alert rules, %d checks (%d runs), %d cron monitors.\n",
		len(snap.Projects), len(snap.Keys), len(snap.RevokedKeys), len(snap.Datasets), len(snap.Settings)-1, len(snap.Sessions), len(snap.SavedQueries),
		len(snap.AlertRules), len(snap.Checks), len(snap.CheckRuns), len(snap.Monitors))
	return state, nil
}

// maxCheckRuns bounds the runs read of one check; a check keeps far fewer
// (its keepRuns).
const maxCheckRuns = 1 << 20

// snapshot reads the embedded store's metadata.
func (m *migration) snapshot(ctx context.Context) (*postgres.Snapshot, error) {
	snap := &postgres.Snapshot{}
	var err error
	if snap.Settings, err = m.src.Settings(ctx); err != nil {
		return nil, err
	}
	if snap.Projects, err = m.src.Projects(ctx); err != nil {
		return nil, err
	}
	if snap.Keys, err = m.src.Keys(ctx, 0); err != nil {
		return nil, err
	}
	revoked, err := m.src.RevokedKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range revoked {
		snap.RevokedKeys = append(snap.RevokedKeys, postgres.RevokedKey{Key: k.Key, Revoked: k.Revoked})
	}
	snap.Datasets = m.src.DatasetRecords()
	if snap.Sessions, err = m.src.Sessions(ctx); err != nil {
		return nil, err
	}
	for _, p := range snap.Projects {
		err := m.src.SavedQueries(ctx, p.ID, func(id int64, name, sql string, created, updated time.Time) {
			snap.SavedQueries = append(snap.SavedQueries, postgres.SavedQuery{ID: id, Project: p.ID, Name: name, SQL: sql, Created: created, Updated: updated})
		})
		if err != nil {
			return nil, err
		}
	}
	if snap.AlertRules, err = m.src.AlertRules(ctx); err != nil {
		return nil, err
	}
	if snap.Checks, err = m.src.Checks(ctx); err != nil {
		return nil, err
	}
	for _, c := range snap.Checks {
		runs, err := m.src.CheckRuns(ctx, c.Project, c.ID, maxCheckRuns)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if r.ReportJSON, err = m.src.CheckReport(ctx, c.Project, c.ID, r.ID, false); err != nil {
				return nil, err
			}
			if r.ReportHTML, err = m.src.CheckReport(ctx, c.Project, c.ID, r.ID, true); err != nil {
				return nil, err
			}
			snap.CheckRuns = append(snap.CheckRuns, r)
		}
	}
	if snap.Monitors, err = m.src.Monitors(ctx); err != nil {
		return nil, err
	}
	return snap, nil
}

// copyPoints copies every day not marked done.
func (m *migration) copyPoints(ctx context.Context) error {
	days := m.src.Days()
	// The total, for the rate and the ETA.
	perDay := make([]int64, len(days))
	var total int64
	for i, day := range days {
		counts, err := m.src.DayCounts(ctx, day)
		if err != nil {
			return err
		}
		for _, n := range counts {
			perDay[i] += n
		}
		total += perDay[i]
	}
	now := time.Now()
	p := &migrateProgress{w: m.progress, days: len(days), total: total, start: now, lastW: now}
	copied := 0
	for i, day := range days {
		mark := migrateDayPrefix + dayText(day)
		v, err := m.pg.Setting(ctx, mark)
		if err != nil {
			return err
		}
		if strings.HasPrefix(v, "done") {
			p.skip(perDay[i])
			continue
		}
		if v != "" {
			// Started, not done: some of its points may be in.
			fmt.Fprintf(m.progress, "migrate: %s was being copied when the last run stopped: dropping it from ClickHouse to copy it again\n", dayText(day))
			if err := m.ch.DropDay(ctx, day); err != nil {
				return err
			}
		}
		if err := m.pg.SetSetting(ctx, mark, "started"); err != nil {
			return err
		}
		n, err := m.copyDay(ctx, day, p)
		if err != nil {
			return err
		}
		copied++
		if m.knobs.crashAfterDays > 0 && copied >= m.knobs.crashAfterDays {
			fmt.Fprintf(m.progress, "migrate: ALIDADE_TEST_MIGRATE_CRASH_AFTER_DAYS=%d: killed after copying %s, before marking it done\n", m.knobs.crashAfterDays, dayText(day))
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		if err := m.pg.SetSetting(ctx, mark, fmt.Sprintf("done %d", n)); err != nil {
			return err
		}
		p.dayDone(day, n)
	}
	fmt.Fprintf(m.out, "Points copied: %d days, %d points (%d copied in this run, in %s).\n",
		len(days), total, p.copied, time.Since(p.start).Round(time.Millisecond))
	return nil
}

// copyDay copies a day's points in batches of migrateBatch and returns how
// many it copied.
func (m *migration) copyDay(ctx context.Context, day int64, p *migrateProgress) (int64, error) {
	byProject := map[int64][]point.Point{}
	var pending, n int64
	flush := func() error {
		if pending == 0 {
			return nil
		}
		batches := make([]store.Batch, 0, len(byProject))
		for project, pts := range byProject {
			batches = append(batches, store.Batch{Project: project, Points: pts})
		}
		sort.Slice(batches, func(i, j int) bool { return batches[i].Project < batches[j].Project })
		if err := m.ch.Append(ctx, batches); err != nil {
			return fmt.Errorf("copy the points of %s: %w", dayText(day), err)
		}
		n += pending
		p.add(pending)
		clear(byProject)
		pending = 0
		return nil
	}
	err := m.src.ScanDay(ctx, day, 0, "", func(project int64, pt *point.Point) error {
		// The scan reuses the point and its slices, not its strings.
		blobs := pt.Blobs
		for len(blobs) > 0 && blobs[len(blobs)-1] == "" {
			blobs = blobs[:len(blobs)-1]
		}
		c := *pt
		c.Blobs = append([]string(nil), blobs...)
		c.Doubles = append([]float64(nil), pt.Doubles...)
		byProject[project] = append(byProject[project], c)
		if pending++; pending >= migrateBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, nil
}

// migrateProgress writes the progress lines: days done of the total,
// points, rate and the time left.
type migrateProgress struct {
	w            io.Writer
	days, done   int
	total, seen  int64 // points in all, points done (copied or skipped)
	copied       int64 // points copied in this run
	start, lastW time.Time
}

// skip counts a day copied by an earlier run.
func (p *migrateProgress) skip(points int64) {
	p.done++
	p.seen += points
}

// add counts points copied; a line every few seconds within a long day.
func (p *migrateProgress) add(points int64) {
	p.seen += points
	p.copied += points
	if time.Since(p.lastW) >= 5*time.Second {
		p.line("")
	}
}

// dayDone counts a day copied.
func (p *migrateProgress) dayDone(day, points int64) {
	p.done++
	p.line(fmt.Sprintf(" (%s: %d points)", dayText(day), points))
}

func (p *migrateProgress) line(what string) {
	p.lastW = time.Now()
	el := time.Since(p.start)
	rate := float64(p.copied) / max(el.Seconds(), 1e-3)
	eta := "-"
	if left := p.total - p.seen; left <= 0 {
		eta = "0s"
	} else if secs := float64(left) / rate; p.copied > 0 && secs < 1e6 {
		eta = (time.Duration(secs) * time.Second).String()
	}
	fmt.Fprintf(p.w, "migrate: days %d/%d%s, points %d/%d, %.0f points/s, ETA %s\n", p.done, p.days, what, p.seen, p.total, rate, eta)
}

// verify compares the points per (project, dataset, day) on both sides.
func (m *migration) verify(ctx context.Context) error {
	chDays, err := m.ch.DaysContext(ctx)
	if err != nil {
		return err
	}
	days := mergeDays(m.src.Days(), chDays)
	var diffs []string
	var points, tables int64
	for _, day := range days {
		a, err := m.src.DayCounts(ctx, day)
		if err != nil {
			return err
		}
		b, err := m.ch.DayCounts(ctx, day)
		if err != nil {
			return err
		}
		diffs = append(diffs, compareCounts(a, b)...)
		for _, n := range a {
			points += n
			tables++
		}
	}
	if len(diffs) > 0 {
		shown, more := diffs, ""
		if len(shown) > 20 {
			shown, more = shown[:20], fmt.Sprintf("\n  ... and %d more", len(diffs)-20)
		}
		return fmt.Errorf("counts differ for %d (project, dataset, day):\n  %s%s", len(diffs), strings.Join(shown, "\n  "), more)
	}
	fmt.Fprintf(m.out, "Counts checked: %d points in %d (project, dataset, day) over %d days, the same in ClickHouse as in the embedded store.\n",
		points, tables, len(days))
	return nil
}

// mergeDays returns the days of a and b, in order, once each.
func mergeDays(a, b []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, d := range append(append([]int64(nil), a...), b...) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// compareCounts lists, in order, every (project, dataset, day) whose count
// differs between the embedded store (a) and ClickHouse (b).
func compareCounts(a, b map[store.TableDay]int64) []string {
	keys := map[store.TableDay]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]store.TableDay, 0, len(keys))
	for k := range keys {
		if a[k] != b[k] {
			sorted = append(sorted, k)
		}
	}
	sort.Slice(sorted, func(i, j int) bool {
		x, y := sorted[i], sorted[j]
		if x.Day != y.Day {
			return x.Day < y.Day
		}
		if x.Project != y.Project {
			return x.Project < y.Project
		}
		return x.Dataset < y.Dataset
	})
	out := make([]string, len(sorted))
	for i, k := range sorted {
		out[i] = fmt.Sprintf("project %d, dataset %s, %s: %d points in the embedded store, %d in ClickHouse", k.Project, k.Dataset, dayText(k.Day), a[k], b[k])
	}
	return out
}

// copyErrors copies error tracking: the groups with their ids (the id
// sequence moved past the largest), then the events with their payloads
// and the attachments into ClickHouse, their ids claimed in PostgreSQL
// (an SDK's retry of a copied event is a duplicate). Run again after a
// failure it copies everything again: the groups are written by id, and
// reads keep one row per event.
func (m *migration) copyErrors(ctx context.Context) error {
	groups, err := m.src.ExportErrorGroups(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < len(groups); i += 1000 {
		if err := m.pg.PutErrorGroups(ctx, groups[i:min(i+1000, len(groups))]); err != nil {
			return err
		}
	}
	var events, atts int
	err = m.src.ExportErrorEvents(ctx, 1000, func(evs []errtrack.StoredEvent, as []errtrack.Attachment) error {
		if err := m.ch.AppendErrors(ctx, evs, as); err != nil {
			return err
		}
		if err := m.pg.ClaimErrorEvents(ctx, evs); err != nil {
			return err
		}
		events, atts = events+len(evs), atts+len(as)
		fmt.Fprintf(m.progress, "error tracking: %d groups, %d events, %d attachments copied\n", len(groups), events, atts)
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy error events: %w", err)
	}
	return nil
}

// verifyErrors compares error tracking's counts on both sides.
func (m *migration) verifyErrors(ctx context.Context) error {
	groups, events, atts, err := m.src.ErrorCounts(ctx)
	if err != nil {
		return err
	}
	g, err := m.pg.ErrorGroupCount(ctx)
	if err != nil {
		return err
	}
	e, a, err := m.ch.ErrorCounts(ctx)
	if err != nil {
		return err
	}
	if g != groups || e != events || a != atts {
		return fmt.Errorf("error tracking differs: %d groups, %d events, %d attachments in the embedded store; %d, %d and %d in the cluster",
			groups, events, atts, g, e, a)
	}
	fmt.Fprintf(m.out, "Error tracking copied: %d groups, %d events, %d attachments.\n", groups, events, atts)
	return nil
}

// dayText is a day's start (Unix ms) as 2006-01-02.
func dayText(day int64) string {
	return time.UnixMilli(day).UTC().Format(time.DateOnly)
}
