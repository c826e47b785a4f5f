package clickhouse

// The rollup table: per-minute aggregate states of the points, kept by
// ClickHouse itself, so that dashboard queries read O(range) minute rows
// instead of every point (see rollupquery.go for how they are answered).
//
//	points_rollup[_local]: project UInt64, dataset String, minute DateTime,
//	  index1 String, dblobs Array(String), dnums Array(Float64),
//	  n  AggregateFunction(count)                      points
//	  w  AggregateFunction(sum, UInt64)                Σ sample interval
//	  s  AggregateFunction(sumForEach, Array(Float64)) Σ w·double1..N
//	  mn, mx  (minForEach, maxForEach)                 min, max of double1..N
//	  sk AggregateFunction(sumMap, Array(UInt64), Array(UInt64))  sketches
//	ENGINE = [Replicated]AggregatingMergeTree
//	PARTITION BY toDate(minute) ORDER BY (project, dataset, minute, index1, dblobs, dnums)
//
// A MATERIALIZED VIEW … TO on the points' local table fills it: every
// INSERT into a shard's points (through the Distributed table, alidade
// migrate's, a replayed log group's) is aggregated into the same shard's
// rollup in the same INSERT. A dataset's dimensions and distributions are
// its rollup.DefaultSpec (the built-in datasets' specs; index1 alone for
// the others): dblobs and dnums hold the values of its blob and double
// dimensions in spec order, and the sketch keys are
// slot<<24 | (ord + 2^23) with slot the 1-based distribution and ord the
// value's bin (see sketchOrdSQL). A per-project schema's own spec is not
// used here: queries on its other dimensions read raw points. N is the
// number of doubles of a built-in dataset's schema (requests: 4), 20 for
// the others: sums, minima and maxima of a built-in dataset's doubles past
// its schema's are read from points.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/rollup"
)

const (
	// SketchAccuracy is the rollup sketches' relative accuracy: each
	// value is read as its bin's representative, within this fraction of
	// it (the embedded rollup's rollup.RelativeAccuracy), so a quantile
	// from the rollup table is within it of the exact one (for values of
	// one sign; values with |x| < 1e-300 are read as 0).
	SketchAccuracy = rollup.RelativeAccuracy
	sketchBias     = 1 << 20 // makes every bin's ord nonzero and signed like its values
	sketchOffset   = 1 << 23 // makes ords unsigned in a key
	sketchSlotBits = 24
)

// sketchGamma is the ratio of consecutive bins' bounds: bin k of |x|
// holds (γ^(k-1), γ^k], and its representative 2γ^k/(γ+1) is within
// (γ-1)/(γ+1) = SketchAccuracy of every value in it.
var sketchGamma = (1 + SketchAccuracy) / (1 - SketchAccuracy)

// sketchOrdSQL is the bin of x as ClickHouse computes it in the view:
// 0 for |x| < 1e-300, else ±(ceil(log|x| / log γ) + 2^20).
func sketchOrdSQL(x string) string {
	return fmt.Sprintf("if(abs(%[1]s) < 1e-300, 0, if(%[1]s > 0, 1, -1) * (toInt64(ceil(log(abs(%[1]s)) / log(%[2]s))) + %[3]d))",
		x, strconv.FormatFloat(sketchGamma, 'g', -1, 64), sketchBias)
}

// sketchValue is the representative value of bin ord.
func sketchValue(ord int64) float64 {
	switch {
	case ord == 0:
		return 0
	case ord < 0:
		return -sketchValue(-ord)
	}
	k := float64(ord - sketchBias)
	return 2 * math.Pow(sketchGamma, k) / (sketchGamma + 1)
}

// A rollup tier: the minute table, and the hour and day tables that long
// ranges read (1/60 and 1/1440 of the rows where a series has points
// every minute).
type rollupTier struct {
	suffix string // of the tables' names
	trunc  string // the function that makes a timestamp the row's bucket
	ms     int64  // bucket width
}

var (
	minuteTier  = rollupTier{"", "toStartOfMinute", 60_000}
	hourTier    = rollupTier{"_hour", "toStartOfHour", 3_600_000}
	dayTier     = rollupTier{"_day", "toStartOfDay", 86_400_000}
	rollupTiers = []rollupTier{minuteTier, hourTier, dayTier}
)

// rollupNames are the names of a rollup tier's tables in s's database:
// what queries read (the Distributed table with a cluster) and the
// shards' own.
func (s *Store) rollupNames(t rollupTier) (table, local string) {
	db := s.cfg.Database
	if s.cfg.Cluster != "" {
		return db + ".points_rollup" + t.suffix, db + ".points_rollup" + t.suffix + "_local"
	}
	return db + ".points_rollup" + t.suffix, db + ".points_rollup" + t.suffix
}

// rollupLayout is a dataset's rollup.DefaultSpec as the rollup table
// holds it: the positions of its blob and double dimensions (dblobs[i],
// dnums[i], 1-based in SQL) and of its distributions (sketch slot i+1).
// doubles is how many doubles (double1 on) its states keep sums, minima
// and maxima of: a built-in dataset's schema's, every one for the others.
type rollupLayout struct {
	blobs, nums, dists []int
	doubles            int
	spec               *rollup.Spec
}

func layoutOf(dataset string) *rollupLayout {
	spec := rollup.DefaultSpec(0, dataset)
	l := &rollupLayout{spec: spec, doubles: point.MaxDoubles}
	if b := point.Builtin(dataset); b != nil {
		l.doubles = len(b.Doubles)
	}
	l.blobs, l.nums, l.dists = spec.Positions()
	return l
}

// keptDoubles prints the array of the doubles a row's dataset's states
// keep (rollupLayout.doubles): double1 to doubleN.
func keptDoubles() string {
	doubles := make([]string, point.MaxDoubles)
	for i := range doubles {
		doubles[i] = "double" + strconv.Itoa(i+1)
	}
	names := []string{}
	counts := []string{strconv.Itoa(point.MaxDoubles)}
	for _, ds := range point.BuiltinNames() {
		names = append(names, chString(ds))
		counts = append(counts, strconv.Itoa(layoutOf(ds).doubles))
	}
	return "arraySlice([" + strings.Join(doubles, ", ") + "], 1, arrayElement([" + strings.Join(counts, ", ") + "], indexOf([" +
		strings.Join(names, ", ") + "], dataset) + 1))"
}

// perDataset prints the array of each row's values of the columns (col1
// to colN) that pick gives for its dataset (none for a dataset with no
// spec). The dataset's place among those with positions is looked up once
// a row (di, 0 for the others), and each element of the array picks its
// column by it, the datasets grouped by the column they take there:
//
//	di = indexOf(['requests', …], dataset)
//	arraySlice([multiIf(di IN (1, 4), col2, col3), col5, …], 1, [0, 2, …][di + 1])
//
// The last group of an element is its multiIf's default (a dataset
// without that element has it sliced off), so most elements are a column
// or a choice of two. Measured on 400,000 points (one 18.16 server, 2
// loaded cores), the minute view's SELECT took 230–400 ms where printing
// each element as an index into the array of every column (the same
// answers) took 630–790 ms.
func perDataset(pick func(*rollupLayout) []int, col string, plusZero bool) string {
	var names, lens []string
	var byDataset [][]int
	k := 0
	for _, ds := range point.BuiltinNames() {
		pos := pick(layoutOf(ds))
		if len(pos) == 0 {
			continue
		}
		names = append(names, chString(ds))
		lens = append(lens, strconv.Itoa(len(pos)))
		byDataset = append(byDataset, pos)
		k = max(k, len(pos))
	}
	if k == 0 {
		return "arraySlice([" + col + "1], 1, 0)"
	}
	di := "indexOf([" + strings.Join(names, ", ") + "], dataset)"
	elems := make([]string, k)
	for i := range elems {
		// The datasets (1-based, as di) that have element i, by column.
		var cols []int
		who := map[int][]string{}
		for d, pos := range byDataset {
			if i < len(pos) {
				if who[pos[i]] == nil {
					cols = append(cols, pos[i])
				}
				who[pos[i]] = append(who[pos[i]], strconv.Itoa(d+1))
			}
		}
		e := col + strconv.Itoa(cols[len(cols)-1])
		if len(cols) > 1 {
			var args []string
			for _, c := range cols[:len(cols)-1] {
				args = append(args, di+" IN ("+strings.Join(who[c], ", ")+")", col+strconv.Itoa(c))
			}
			e = "multiIf(" + strings.Join(args, ", ") + ", " + e + ")"
		}
		if plusZero {
			e = "(" + e + " + 0)" // -0 and 0 are one value, as for groups
		}
		elems[i] = e
	}
	return "arraySlice([" + strings.Join(elems, ", ") + "], 1, arrayElement([0, " + strings.Join(lens, ", ") + "], " + di + " + 1))"
}

// rollupSelect is a tier's view's SELECT over the points' local table.
func rollupSelect(t rollupTier, from string) string { return rollupSelectWhere(t, from, "") }

// rollupSelectWhere is rollupSelect over the points that pass where ("":
// every point).
func rollupSelectWhere(t rollupTier, from, where string) string {
	if where != "" {
		from += " WHERE " + where
	}
	all := keptDoubles()
	// The distributions' values; double, not (double + 0): a sketch bins
	// -0 and 0 alike.
	dv := perDataset(func(l *rollupLayout) []int { return l.dists }, "double", false)
	key := fmt.Sprintf("bitShiftLeft(toUInt64(i_), %d) + toUInt64(%s + %d)", sketchSlotBits, sketchOrdSQL("x_"), sketchOffset)
	return "SELECT project, dataset, " + t.trunc + "(timestamp) AS minute, index1, " +
		perDataset(func(l *rollupLayout) []int { return l.blobs }, "blob", false) + " AS dblobs, " +
		perDataset(func(l *rollupLayout) []int { return l.nums }, "double", true) + " AS dnums, " +
		"countState() AS n, sumState(toUInt64(_sample_interval)) AS w, " +
		"sumForEachState(arrayMap(x_ -> x_ * _sample_interval, " + all + ")) AS s, " +
		"minForEachState(" + all + ") AS mn, maxForEachState(" + all + ") AS mx, " +
		"sumMapState(arrayMap((x_, i_) -> " + key + ", " + dv + ", arrayEnumerate(" + dv + ")), " +
		"arrayMap(x_ -> toUInt64(_sample_interval), " + dv + ")) AS sk " +
		"FROM " + from + " GROUP BY project, dataset, minute, index1, dblobs, dnums"
}

// rollupMergeSelect is the SELECT of a coarser tier's view over the rows
// of a finer tier (from): their states merged into t's buckets.
func rollupMergeSelect(t rollupTier, from string) string {
	return "SELECT project, dataset, " + t.trunc + "(minute) AS minute, index1, dblobs, dnums, " +
		"countMergeState(n) AS n, sumMergeState(w) AS w, sumForEachMergeState(s) AS s, " +
		"minForEachMergeState(mn) AS mn, maxForEachMergeState(mx) AS mx, sumMapMergeState(sk) AS sk " +
		"FROM " + from + " GROUP BY project, dataset, minute, index1, dblobs, dnums"
}

// viewSelects are the SELECTs of the tiers' views, in rollupTiers' order:
// the minute tier's over the points (pointsLocal), the hour tier's over
// the minute rows and the day tier's over the hour rows, each read from
// the finer tier's table (cascadeTable) or view (see cascadesFromTable).
func (s *Store) viewSelects(pointsLocal string) []string {
	out := []string{rollupSelect(minuteTier, pointsLocal)}
	for i, t := range rollupTiers[1:] {
		_, from := s.rollupNames(rollupTiers[i])
		if !s.cascadeTable {
			from += "_mv"
		}
		out = append(out, rollupMergeSelect(t, from))
	}
	return out
}

// rollupSpecID names the views' SELECTs (the specs, the sketch mapping
// and what the coarser tiers read): a database whose views were made
// with others is not read.
func (s *Store) rollupSpecID() string {
	h := sha256.Sum256([]byte(strings.Join((&Store{cascadeTable: s.cascadeTable, cfg: Config{Database: "db"}}).viewSelects("points"), "\n")))
	return hex.EncodeToString(h[:8])
}

// cascadesFromTable finds which of a view's sources a materialized view
// fires on when another view's INSERT writes rows into its TO table:
// ClickHouse 18.16 fires the views that read FROM that other view, not
// those that read its TO table; newer servers (19.13 already, issue
// ClickHouse#7195) the other way round. It tries it on the server, with
// tables it drops again: a Null table, a view TO a Memory table, and a
// view reading that table.
func (s *Store) cascadesFromTable(ctx context.Context) (bool, error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	p := s.cfg.Database + ".cascade_probe_" + hex.EncodeToString(b[:]) + "_"
	drops := []string{"DROP TABLE IF EXISTS " + p + "out_mv", "DROP TABLE IF EXISTS " + p + "out",
		"DROP TABLE IF EXISTS " + p + "mid_mv", "DROP TABLE IF EXISTS " + p + "mid", "DROP TABLE IF EXISTS " + p + "src"}
	defer func() {
		for _, st := range drops {
			_, _ = s.query(context.WithoutCancel(ctx), st, nil)
		}
	}()
	for _, st := range []string{
		"CREATE TABLE " + p + "src (x UInt8) ENGINE = Null",
		"CREATE TABLE " + p + "mid (x UInt8) ENGINE = Memory",
		"CREATE MATERIALIZED VIEW " + p + "mid_mv TO " + p + "mid AS SELECT x FROM " + p + "src",
		"CREATE TABLE " + p + "out (x UInt8) ENGINE = Memory",
		"CREATE MATERIALIZED VIEW " + p + "out_mv TO " + p + "out AS SELECT x FROM " + p + "mid",
		"INSERT INTO " + p + "src VALUES (1)",
	} {
		if _, err := s.query(ctx, st, nil); err != nil {
			return false, fmt.Errorf("try how the server's views cascade: %w", err)
		}
	}
	out, err := s.query(ctx, "SELECT count() FROM "+p+"out", nil)
	if err != nil {
		return false, fmt.Errorf("try how the server's views cascade: %w", err)
	}
	return strings.TrimSpace(out) == "1", nil
}

const rollupColumns = "project UInt64, dataset String, minute DateTime, index1 String, dblobs Array(String), dnums Array(Float64), " +
	"n AggregateFunction(count), w AggregateFunction(sum, UInt64), s AggregateFunction(sumForEach, Array(Float64)), " +
	"mn AggregateFunction(minForEach, Array(Float64)), mx AggregateFunction(maxForEach, Array(Float64)), " +
	"sk AggregateFunction(sumMap, Array(UInt64), Array(UInt64))"

// rollupState is what the rollup_state table records: the view's spec
// and from when the rollup table holds every point (0: all of them).
type rollupState struct {
	spec       string
	coverFrom  int64 // Unix ms
	backfilled bool
	found      bool
}

// openRollup finds whether the database has rollup tables (the minute
// tier's view, in system.tables) and does what the URL's rollups asks:
// on creates them when missing (createRollup), off refuses a database
// that has them (their views cost every INSERT), and nothing keeps what
// the database has. A database with rollup tables has its rollup_state
// read.
func (s *Store) openRollup(ctx context.Context, replicated bool) error {
	_, firstLocal := s.rollupNames(minuteTier)
	_, firstName, _ := strings.Cut(firstLocal, ".")
	out, err := s.query(ctx, "SELECT count() FROM system.tables WHERE database = "+chString(s.cfg.Database)+" AND name = "+chString(firstName+"_mv"), nil)
	if err != nil {
		return fmt.Errorf("find the rollup tables: %w", err)
	}
	hadView := strings.TrimSpace(out) == "1"
	switch {
	case s.cfg.Rollups == "on" || hadView && s.cfg.Rollups == "":
		s.hasRollup = true
		return s.createRollup(ctx, replicated, hadView)
	case hadView:
		return fmt.Errorf("clickhouse %s: database %s has rollup tables (made with rollups=on), and the URL says rollups=off; "+
			"a database keeps its rollups: leave rollups=off out of the URL, or drop the tables (see the README, Rollups on a cluster)", s.cfg.HTTP, s.cfg.Database)
	}
	return nil
}

// rollupTables are the rollup tiers the database has: none without
// rollup tables.
func (s *Store) rollupTables() []rollupTier {
	if !s.hasRollup {
		return nil
	}
	return rollupTiers
}

// createRollup creates the rollup table(s), the view that fills them and
// the rollup_state table when missing, and backfills the points written
// before the view existed (a database made without rollups, opened with
// rollups=on): see backfillRollup. replicated is as for the points
// table; hadView, whether the minute tier's view was there at Open.
func (s *Store) createRollup(ctx context.Context, replicated, hadView bool) error {
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	db := s.cfg.Database
	_, pointsLocal, _ := strings.Cut(s.local, ".")
	var err error
	if s.cascadeTable, err = s.cascadesFromTable(ctx); err != nil {
		return err
	}
	s.specID = s.rollupSpecID()
	selects := s.viewSelects(db + "." + pointsLocal)
	stmts := []string{"CREATE TABLE IF NOT EXISTS " + db + ".rollup_state" + on +
		" (spec String, cover_from Int64, backfilled UInt8, at DateTime) ENGINE = MergeTree() ORDER BY at"}
	for i, t := range rollupTiers {
		table, local := s.rollupNames(t)
		_, localName, _ := strings.Cut(local, ".")
		engine := "AggregatingMergeTree()"
		if replicated {
			engine = fmt.Sprintf("ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}')", db, localName)
		}
		engine += " PARTITION BY toDate(minute) ORDER BY (project, dataset, minute, index1, dblobs, dnums) SETTINGS index_granularity = 8192"
		if replicated {
			engine += fmt.Sprintf(", replicated_deduplication_window = %d", DedupWindow)
		}
		stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+local+on+" ("+rollupColumns+") ENGINE = "+engine)
		if s.cfg.Cluster != "" {
			stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+table+on+" AS "+local+
				" ENGINE = Distributed("+s.cfg.Cluster+", "+db+", "+localName+", rand())")
		}
		stmts = append(stmts, "CREATE MATERIALIZED VIEW IF NOT EXISTS "+local+"_mv"+on+" TO "+local+" AS "+selects[i])
	}
	for _, st := range stmts {
		if _, err := s.query(ctx, st, nil); err != nil {
			return fmt.Errorf("create the rollup table: %w", err)
		}
	}
	st, err := s.readRollupState(ctx)
	if err != nil {
		return err
	}
	switch {
	case !st.found && !hadView:
		// The view is new: the points already there are not rolled up.
		return s.backfillRollup(ctx, 0)
	case !st.found:
		// Another node made the view and is backfilling, or died doing so
		// before it recorded anything: read raw points until a record says.
		s.rollup = rollupState{spec: s.specID, coverFrom: math.MaxInt64}
	case !st.backfilled:
		if st.spec == s.specID && time.Since(time.UnixMilli(st.coverFrom)) > time.Hour {
			// A backfill started over an hour ago and never finished.
			if s.cascadeTable {
				// Its redo deletes and rewrites each tier's rows before
				// the cover, which a cascade into the coarser tiers
				// would count twice.
				return fmt.Errorf("clickhouse %s: the rollup backfill of database %s started at %s never finished, and on this server (ClickHouse %s) it cannot be redone in place: "+
					"drop the rollup tables and rollup_state (see the README, Rollups on a cluster) and start again with rollups=on",
					s.cfg.HTTP, s.cfg.Database, time.UnixMilli(st.coverFrom).UTC().Format(time.RFC3339), s.version.Text)
			}
			return s.backfillRollup(ctx, st.coverFrom)
		}
		s.rollup = st
	default:
		s.rollup = st
	}
	return nil
}

// readRollupState reads the latest record of rollup_state (every shard's,
// with a cluster: a node may talk to any of them).
func (s *Store) readRollupState(ctx context.Context) (rollupState, error) {
	from := s.cfg.Database + ".rollup_state"
	if s.cfg.Cluster != "" {
		from = "cluster(" + s.cfg.Cluster + ", " + s.cfg.Database + ", rollup_state)"
	}
	out, err := s.query(ctx, "SELECT spec, cover_from, backfilled FROM "+from+" ORDER BY backfilled DESC, at DESC LIMIT 1 FORMAT TabSeparated", nil)
	if err != nil {
		return rollupState{}, fmt.Errorf("read the rollup state: %w", err)
	}
	line := strings.TrimSpace(out)
	if line == "" {
		return rollupState{}, nil
	}
	f := strings.Split(line, "\t")
	if len(f) != 3 {
		return rollupState{}, fmt.Errorf("clickhouse %s: unreadable rollup state %q", s.cfg.HTTP, line)
	}
	cover, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return rollupState{}, fmt.Errorf("clickhouse %s: unreadable rollup state %q", s.cfg.HTTP, line)
	}
	return rollupState{spec: f[0], coverFrom: cover, backfilled: f[2] == "1", found: true}, nil
}

func (s *Store) recordRollupState(ctx context.Context, st rollupState) error {
	b := 0
	if st.backfilled {
		b = 1
	}
	_, err := s.query(ctx, fmt.Sprintf("INSERT INTO %s.rollup_state VALUES (%s, %d, %d, now())", s.cfg.Database, chString(st.spec), st.coverFrom, b), nil)
	if err != nil {
		return fmt.Errorf("record the rollup state: %w", err)
	}
	return nil
}

// backfillRollup rolls up the points written before the view existed:
// those with timestamps before the next whole minute (cover, or now when
// 0), by one INSERT … SELECT through the rollup's Distributed table. While
// it runs the rollup answers from cover on (recorded first); a backfill
// that dies is redone by the next Open an hour later, after deleting what
// it had written. Points with timestamps before cover written while it
// runs are counted twice in the rollup (once by the view, once here): run
// the upgrade on one node while the others are stopped, or without writes
// of old timestamps.
func (s *Store) backfillRollup(ctx context.Context, cover int64) error {
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	redo := cover != 0
	if cover == 0 {
		cover = (time.Now().UnixMilli()/60000 + 1) * 60000
	}
	st := rollupState{spec: s.specID, coverFrom: cover}
	if err := s.recordRollupState(ctx, st); err != nil {
		return err
	}
	for _, t := range rollupTiers {
		table, local := s.rollupNames(t)
		until := cover
		if redo {
			// The delete takes the view's rows of the hour the cover falls
			// in too: that hour is rolled up again whole.
			until = (cover + t.ms - 1) / t.ms * t.ms
			if _, err := s.query(ctx, "ALTER TABLE "+local+on+" DELETE WHERE minute < toDateTime("+strconv.FormatInt(cover/1000, 10)+")", nil); err != nil {
				return fmt.Errorf("backfill the rollup table: %w", err)
			}
			if err := s.waitMutationsOf(ctx, local); err != nil {
				return err
			}
		}
		if t != minuteTier && s.cascadeTable {
			continue // the minute tier's INSERT cascades into it
		}
		where := fmt.Sprintf("timestamp < toDateTime(%d)", until/1000)
		if _, err := s.query(ctx, "INSERT INTO "+table+" "+rollupSelectWhere(t, s.table, where), nil, "insert_distributed_sync", "1"); err != nil {
			return fmt.Errorf("backfill the rollup table: %w", err)
		}
	}
	st.coverFrom, st.backfilled = 0, true
	if err := s.recordRollupState(ctx, st); err != nil {
		return err
	}
	s.rollup = st
	return nil
}

// RollupCoverFrom says from when (Unix ms) the rollup table holds every
// point, and whether it can be read at all (its view was made with this
// Alidade's specs).
func (s *Store) RollupCoverFrom() (from int64, ok bool) {
	return s.rollup.coverFrom, s.hasRollup && s.rollup.spec == s.specID
}
