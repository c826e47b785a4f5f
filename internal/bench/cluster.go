package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrClusterMismatch is wrapped by Run's error when the cluster node's
// answers disagree with the embedded store's.
var ErrClusterMismatch = errors.New("the cluster's answers disagree with the embedded store's")

// clusterVisibleWait bounds the wait, after ingest, for the cluster to
// count every point it acknowledged. A node inserts before it
// acknowledges, so the wait is expected to end at the first count; a lag
// is reported, and a count still short after it is a disagreement.
const clusterVisibleWait = time.Minute

// ClusterTarget is the ClickHouse and PostgreSQL the bench runs a cluster
// node on (alidade bench --store … --meta …).
type ClusterTarget struct {
	// HTTP is ClickHouse's HTTP interface, http://HOST:PORT/.
	HTTP string
	// Database is the database the --store URL names. The node is given a
	// fresh one named after it, Database_bench_XXXXXXXX, so that earlier
	// runs do not count; it is dropped at the end unless Options.Keep.
	Database string
	// Cluster is the remote_servers cluster ("" for one server); User and
	// Password are ClickHouse's credentials ("" for its default user).
	Cluster, User, Password string
	// Rollups is the --store URL's rollups parameter ("on", "off" or ""):
	// the node's fresh database is made with it.
	Rollups string
	// Meta is the PostgreSQL URL of the metadata store.
	Meta string
	// RootKey is the metadata store's root key, needed when the store was
	// initialised before: the bench creates its project with it, and
	// never gives it to the node (a node started with ALIDADE_ROOT_KEY
	// replaces the root key every node shares).
	RootKey string
}

// storeURL is the --store URL of the node over database db; without the
// password when redacted.
func (t *ClusterTarget) storeURL(db string, redacted bool) string {
	q := url.Values{}
	if t.Cluster != "" {
		q.Set("cluster", t.Cluster)
	}
	if t.User != "" {
		q.Set("user", t.User)
		if t.Password != "" && !redacted {
			q.Set("password", t.Password)
		}
	}
	if t.Rollups != "" {
		q.Set("rollups", t.Rollups)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(t.HTTP, "http://"), "/")
	u := url.URL{Scheme: "clickhouse", Host: host, Path: "/" + db, RawQuery: q.Encode()}
	return u.String()
}

// freshDatabase returns the database name of one run: base with a random
// suffix, a plain ClickHouse identifier when base is one.
func freshDatabase(base string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return base + "_bench_" + hex.EncodeToString(b[:])
}

// chExec runs one statement on ClickHouse's HTTP interface.
func (t *ClusterTarget) chExec(ctx context.Context, sql string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", t.HTTP, strings.NewReader(sql))
	if err != nil {
		return err
	}
	if t.User != "" {
		req.SetBasicAuth(t.User, t.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("clickhouse %s: %w", t.HTTP, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("clickhouse %s: %s: %s", t.HTTP, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// dropDatabase drops db, on every shard with a cluster.
func (t *ClusterTarget) dropDatabase(ctx context.Context, db string) error {
	sql := "DROP DATABASE IF EXISTS " + db
	if t.Cluster != "" {
		sql += " ON CLUSTER " + t.Cluster
	}
	return t.chExec(ctx, sql)
}

// ClusterComparison is the embedded store against a cluster node (points
// in ClickHouse, metadata in PostgreSQL) on the same points in the same
// run: ingest rates in alternating rounds, the same queries from raw
// points on both, the bytes on disk, and whether the answers agree.
type ClusterComparison struct {
	// Store is the node's --store URL (the run's fresh database; no
	// password), Meta its --meta URL (no password or parameters).
	Store    string `json:"store"`
	Meta     string `json:"meta"`
	Database string `json:"database"`
	// Cluster is the ClickHouse cluster's name; "" for one server.
	Cluster string `json:"cluster"`
	// Project is the bench's project in the metadata store.
	Project string `json:"project"`
	// LeftBehind says what the run left in ClickHouse and PostgreSQL.
	LeftBehind string `json:"left_behind"`

	// Points were sent to each, in Rounds rounds; each round sent a
	// share of the requests to one, then to the other (the embedded store
	// first in odd rounds, counted from 1).
	Points int64 `json:"points"`
	Rounds int   `json:"rounds"`
	// EmbeddedPointsPerS and ClusterPointsPerS are each round's rates, in
	// order; IngestRatio is the medians' ratio, cluster over embedded.
	EmbeddedPointsPerS []float64 `json:"embedded_points_per_s"`
	ClusterPointsPerS  []float64 `json:"cluster_points_per_s"`
	EmbeddedMedian     float64   `json:"embedded_median_points_per_s"`
	ClusterMedian      float64   `json:"cluster_median_points_per_s"`
	IngestRatio        float64   `json:"ingest_ratio"`
	// ClusterCommitP50Ms and ClusterCommitP99Ms are the cluster's write
	// round trips over all its rounds.
	ClusterCommitP50Ms float64 `json:"cluster_commit_p50_ms"`
	ClusterCommitP99Ms float64 `json:"cluster_commit_p99_ms"`
	ClusterRetries429  int64   `json:"cluster_retries_429"`
	// ClusterInserts and ClusterInsertAvgMs are the node's group commits
	// during its rounds (alidade_commit_duration_seconds): each is one
	// INSERT into ClickHouse, which wants about one a second per table.
	// Null when the node does not expose them.
	ClusterInserts     *int64   `json:"cluster_inserts"`
	ClusterInsertAvgMs *float64 `json:"cluster_insert_avg_ms"`
	// VisibleAfterMs is how long after ingest the cluster first counted
	// every point it acknowledged.
	VisibleAfterMs float64 `json:"visible_after_ms"`

	// ErrorEvents Sentry envelopes of ErrorEnvelopeBytes on average, one
	// error event each over ErrorGroups fingerprints, were sent to each
	// through POST /api/{project}/envelope/ from ErrorClients concurrent
	// clients, in Rounds alternating rounds after the points' (the
	// embedded store first in odd rounds). The rates are each round's
	// acknowledged events/s; ErrorIngestRatio is the medians' ratio,
	// cluster over embedded; the latencies are over all rounds.
	ErrorEvents             int       `json:"error_events"`
	ErrorGroups             int       `json:"error_groups"`
	ErrorClients            int       `json:"error_clients"`
	ErrorEnvelopeBytes      int       `json:"error_envelope_bytes"`
	EmbeddedErrorEventsPerS []float64 `json:"embedded_error_events_per_s"`
	ClusterErrorEventsPerS  []float64 `json:"cluster_error_events_per_s"`
	EmbeddedErrorMedian     float64   `json:"embedded_median_error_events_per_s"`
	ClusterErrorMedian      float64   `json:"cluster_median_error_events_per_s"`
	ErrorIngestRatio        float64   `json:"error_ingest_ratio"`
	EmbeddedErrorP50Ms      float64   `json:"embedded_error_p50_ms"`
	EmbeddedErrorP99Ms      float64   `json:"embedded_error_p99_ms"`
	ClusterErrorP50Ms       float64   `json:"cluster_error_p50_ms"`
	ClusterErrorP99Ms       float64   `json:"cluster_error_p99_ms"`
	EmbeddedErrorsRejected  int       `json:"embedded_errors_rejected"`
	ClusterErrorsRejected   int       `json:"cluster_errors_rejected"`

	// Queries are the bench's queries with source raw on both, and as each
	// server chooses (its rollups where they cover the query: the
	// embedded store's in memory, the cluster's rollup table), medians of
	// Repeat runs, alternating.
	Repeat  int            `json:"repeat"`
	Queries []ClusterQuery `json:"queries"`

	// EmbeddedStoreBytes is the embedded data directory after its
	// shutdown checkpoint, rollup snapshots left out (a cluster has none);
	// ClusterStoreBytes is the node's alidade_store_bytes after the
	// queries: ClickHouse's active parts of the run's database, every
	// shard. Null when unknown.
	EmbeddedStoreBytes    *int64   `json:"embedded_store_bytes"`
	ClusterStoreBytes     *int64   `json:"cluster_store_bytes"`
	EmbeddedBytesPerPoint *float64 `json:"embedded_bytes_per_point"`
	ClusterBytesPerPoint  *float64 `json:"cluster_bytes_per_point"`

	// The node's resident set after ingest and at its peak (Alidade's
	// process only: ClickHouse and PostgreSQL are not the bench's
	// children).
	ClusterRSSAfterIngestBytes *int64 `json:"cluster_rss_after_ingest_bytes"`
	ClusterPeakRSSBytes        *int64 `json:"cluster_peak_rss_bytes"`

	// Disagreements lists where the answers differ (empty when they
	// agree): counts exactly, every other figure to a relative 1e-9.
	Disagreements []string `json:"disagreements"`
}

// ClusterQuery is one query's median time on both.
type ClusterQuery struct {
	Name       string  `json:"name"`
	EmbeddedMs float64 `json:"embedded_ms"`
	ClusterMs  float64 `json:"cluster_ms"`
	// Ratio is ClusterMs / EmbeddedMs: above 1, the cluster is slower.
	Ratio float64 `json:"ratio"`
	Rows  int     `json:"rows"`
	// EmbeddedAutoMs and ClusterAutoMs are the same query with source
	// auto; the sources say what answered it.
	EmbeddedAutoMs     float64 `json:"embedded_auto_ms"`
	ClusterAutoMs      float64 `json:"cluster_auto_ms"`
	EmbeddedAutoSource string  `json:"embedded_auto_source"`
	ClusterAutoSource  string  `json:"cluster_auto_source"`
}

// clusterRun is the cluster node of a run and what it leaves behind.
type clusterRun struct {
	t       *ClusterTarget
	db      string
	dataDir string
	srv     *Server
	c       *client
	keys    map[string]string // the bench project's keys by kind
	project int64             // the bench project's id
	keep    bool
	cmp     *ClusterComparison
	logf    func(string, ...any)
	done    bool
}

// startCluster starts a node over a fresh database of o.Cluster and the
// metadata store, and creates the bench's project on it.
func startCluster(ctx context.Context, o *Options, logf func(string, ...any)) (_ *clusterRun, err error) {
	t := o.Cluster
	cr := &clusterRun{t: t, db: freshDatabase(t.Database), keep: o.Keep, logf: logf}
	cr.cmp = &ClusterComparison{
		Store: t.storeURL(cr.db, true), Meta: redactMetaURL(t.Meta), Database: cr.db, Cluster: t.Cluster,
		Rounds: o.VsRounds, Repeat: o.Repeat, Disagreements: []string{},
	}
	if cr.dataDir, err = os.MkdirTemp("", "alidade-bench-node-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cr.cleanup(ctx)
		}
	}()
	logf("starting a cluster node: %s serve --store %s --meta %s (its local files in %s)", o.ServerExe, cr.cmp.Store, cr.cmp.Meta, cr.dataDir)
	cr.srv, err = StartServer(ctx, ServerOptions{
		Exe: o.ServerExe, DataDir: cr.dataDir, SharedMeta: true,
		Args: append([]string{"--store", t.storeURL(cr.db, false), "--meta", t.Meta}, o.ServerArgs...),
		// The first start creates the database and its tables ON CLUSTER
		// (through ZooKeeper), and may migrate the metadata store.
		StartTimeout: 3 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("start the cluster node: %w", err)
	}
	logf("cluster node at %s, pid %d", cr.srv.URL, cr.srv.PID())
	root := t.RootKey
	switch {
	case cr.srv.RootKey != "":
		// An empty metadata store: the node initialised it as serve's
		// first start does, and its root key is printed once, as serve does.
		root = cr.srv.RootKey
		logf("the metadata store was empty: the node initialised it (project default; its keys were not kept) with root key %s — the store's root key from now on", root)
	case root == "":
		return nil, fmt.Errorf("the metadata store at %s was initialised before and has its own root key: give it with --root-key or ALIDADE_ROOT_KEY, so that the bench can create its project there (the bench never replaces it)", cr.cmp.Meta)
	}
	cr.cmp.Project = "bench-" + strings.TrimPrefix(cr.db[len(t.Database):], "_bench_")
	if cr.keys, cr.project, err = createProjectKeys(ctx, cr.srv.URL, root, cr.cmp.Project); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			return nil, fmt.Errorf("the root key given is not the metadata store's (%s): %w", cr.cmp.Meta, err)
		}
		return nil, err
	}
	logf("project %s in the metadata store, points in ClickHouse database %s", cr.cmp.Project, cr.db)
	cr.c = newClient(cr.srv.URL, o.Concurrency)
	return cr, nil
}

// createProjectKeys creates project name with the root key and returns
// its keys by kind and its id.
func createProjectKeys(ctx context.Context, url, rootKey, name string) (map[string]string, int64, error) {
	c := newClient(url, 1)
	defer c.close()
	var p struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
	}
	body, _ := json.Marshal(map[string]string{"name": name})
	if err := c.do(ctx, "POST", "/api/v1/projects", rootKey, body, nil, &p); err != nil {
		return nil, 0, fmt.Errorf("create project %q: %w", name, err)
	}
	for _, k := range []string{"write", "read", "admin", "public"} {
		if p.Keys[k] == "" {
			return nil, 0, fmt.Errorf("create project %q: the answer holds no %s key", name, k)
		}
	}
	if p.ID < 1 {
		return nil, 0, fmt.Errorf("create project %q: the answer holds no id", name)
	}
	return p.Keys, p.ID, nil
}

// ingested fills the comparison's ingest figures from alt (the embedded
// store is side 0, the cluster side 1) and the node's commits since
// before, and waits until the cluster counts the points it acknowledged.
func (cr *clusterRun) ingested(ctx context.Context, alt *alternation, before commitMetrics, from, to int64) {
	cc := cr.cmp
	if after := cr.c.scrapeCommits(ctx); after.ok && after.count > before.count {
		n := after.count - before.count
		avg := round((after.seconds-before.seconds)/float64(n)*1000, 2)
		cc.ClusterInserts, cc.ClusterInsertAvgMs = &n, &avg
	}
	cc.EmbeddedPointsPerS, cc.ClusterPointsPerS = alt.rates[0], alt.rates[1]
	cc.Points = alt.events
	cc.EmbeddedMedian = math.Round(Median(cc.EmbeddedPointsPerS))
	cc.ClusterMedian = math.Round(Median(cc.ClusterPointsPerS))
	if cc.EmbeddedMedian > 0 {
		cc.IngestRatio = round(cc.ClusterMedian/cc.EmbeddedMedian, 3)
	}
	in := alt.total[1]
	cc.ClusterCommitP50Ms = round(Percentile(in.LatenciesMs, 0.5), 2)
	cc.ClusterCommitP99Ms = round(Percentile(in.LatenciesMs, 0.99), 2)
	cc.ClusterRetries429 = in.Retries429
	if st, err := cr.srv.Status(); err == nil {
		cc.ClusterRSSAfterIngestBytes = &st.RSS
	}
	cr.logf("ingest medians of %d rounds: embedded %s points/s, cluster %s points/s: ×%.2f; cluster commit p50 %s ms, p99 %s ms",
		cc.Rounds, groupDigits(int64(cc.EmbeddedMedian)), groupDigits(int64(cc.ClusterMedian)), cc.IngestRatio, ms(cc.ClusterCommitP50Ms), ms(cc.ClusterCommitP99Ms))

	t0 := time.Now()
	for {
		n, err := countInRange(ctx, cr.c, cr.keys["read"], from, to)
		if err == nil && n >= in.Points {
			break
		}
		if time.Since(t0) > clusterVisibleWait || ctx.Err() != nil {
			cr.logf("the cluster counts %d of the %d points it acknowledged after %v (%v); the answers will tell", n, in.Points, clusterVisibleWait, err)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cc.VisibleAfterMs = round(msOf(time.Since(t0)), 1)
}

// queries runs the bench's queries with source raw on the embedded store
// (ec, eKey) and the cluster, repeat times each, alternating, records the
// medians, and compares the answers: with each other exactly when the
// embedded store held nothing else in the range, and the cluster's with
// what was written.
func (cr *clusterRun) queries(ctx context.Context, ec *client, eKey string, bodies map[string][]byte, repeat int, exp expectation) error {
	cc := cr.cmp
	cmp := &comparison{left: "embedded", right: "cluster", exact: true}
	rcmp := &comparison{left: "cluster raw", right: "cluster auto"}
	clusterAns := map[string]*queryAnswer{}
	for _, name := range QueryNames {
		body, auto := withSource(bodies[name], "raw"), withSource(bodies[name], "auto")
		// Four ways, rotated each round: embedded raw, cluster raw,
		// embedded auto, cluster auto.
		var times [4][]float64
		var answers [4]*queryAnswer
		for i := range repeat {
			for j := range 4 {
				k := (i + j) % 4
				c, key, who, b := ec, eKey, "embedded store", body
				if k%2 == 1 {
					c, key, who = cr.c, cr.keys["read"], "cluster"
				}
				if k >= 2 {
					b = auto
				}
				a, d, err := runQuery(ctx, c, key, b)
				if err != nil {
					return fmt.Errorf("query %s on the %s: %w", name, who, err)
				}
				times[k] = append(times[k], msOf(d))
				answers[k] = a
			}
		}
		ea, ca := answers[0], answers[1]
		q := ClusterQuery{Name: name, EmbeddedMs: round(Median(times[0]), 2), ClusterMs: round(Median(times[1]), 2), Rows: len(ca.Rows),
			EmbeddedAutoMs: round(Median(times[2]), 2), ClusterAutoMs: round(Median(times[3]), 2),
			EmbeddedAutoSource: answers[2].Meta.Source, ClusterAutoSource: answers[3].Meta.Source}
		if q.EmbeddedMs > 0 {
			q.Ratio = round(q.ClusterMs/q.EmbeddedMs, 2)
		}
		cc.Queries = append(cc.Queries, q)
		cr.logf("%s with source raw (medians of %d): embedded %s ms, cluster %s ms (×%.2f); source auto: embedded %s ms (%s), cluster %s ms (%s)",
			name, repeat, ms(q.EmbeddedMs), ms(q.ClusterMs), q.Ratio, ms(q.EmbeddedAutoMs), orUnknown(q.EmbeddedAutoSource), ms(q.ClusterAutoMs), orUnknown(q.ClusterAutoSource))
		clusterAns[name] = ca
		if exp.Baseline == 0 {
			cmp.compare(name, rowsAsAny(ea.Rows), rowsAsAny(ca.Rows))
		}
		// The cluster's rollup answer against its raw one: counts and
		// rates equal, quantiles within the sketch's accuracy.
		rcmp.compare(name, rowsAsAny(ca.Rows), rowsAsAny(answers[3].Rows))
	}
	cexp := exp
	cexp.Total, cexp.Baseline = exp.Written.Points, 0
	if err := checkAnswers(clusterAns, cexp); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			cc.Disagreements = append(cc.Disagreements, "cluster: "+line)
		}
	}
	cc.Disagreements = append(cc.Disagreements, cmp.mismatches...)
	cc.Disagreements = append(cc.Disagreements, rcmp.mismatches...)
	if cmp.dropped > 0 {
		cc.Disagreements = append(cc.Disagreements, fmt.Sprintf("and %d more", cmp.dropped))
	}
	if exp.Baseline > 0 {
		cr.logf("the embedded data directory held %d points in the range before the run: its answers are not compared with the cluster's", exp.Baseline)
	}
	for _, d := range cc.Disagreements {
		cr.logf("DISAGREEMENT embedded vs cluster: %s", d)
	}
	if n, ok := cr.c.scrapeGauge(ctx, "alidade_store_bytes"); ok && n >= 0 {
		b := int64(n)
		cc.ClusterStoreBytes = &b
		if cc.Points > 0 {
			per := round(float64(b)/float64(cc.Points), 2)
			cc.ClusterBytesPerPoint = &per
		}
	}
	return nil
}

// stop stops the node and records its peak memory.
func (cr *clusterRun) stop() error {
	if cr.srv == nil {
		return nil
	}
	cr.logf("stopping the cluster node")
	err := cr.srv.Stop(2 * time.Minute)
	if peak := cr.srv.PeakRSS(); peak > 0 {
		cr.cmp.ClusterPeakRSSBytes = &peak
	}
	return err
}

// cleanup revokes the bench project's keys and drops the run's database
// unless keep, stops the node and removes its local files, and records
// what is left behind. It runs once.
func (cr *clusterRun) cleanup(ctx context.Context) {
	if cr.done {
		return
	}
	cr.done = true
	// Cleaning up still runs when the run was interrupted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	var left []string
	if cr.keys != nil {
		left = append(left, fmt.Sprintf("project %s in PostgreSQL (Alidade deletes no project)", cr.cmp.Project))
		if !cr.keep {
			if err := cr.revokeKeys(ctx); err != nil {
				cr.logf("revoking the bench project's keys: %v", err)
				left = append(left, "its keys, not revoked: "+err.Error())
			} else {
				left[len(left)-1] += ", its keys revoked"
			}
		}
	}
	if cr.srv != nil {
		if err := cr.stop(); err != nil {
			cr.logf("%v", err)
		}
	}
	if cr.c != nil {
		cr.c.close()
	}
	if cr.keep {
		left = append(left, "ClickHouse database "+cr.db+" (--keep)", "the node's local files in "+cr.dataDir)
	} else {
		_ = os.RemoveAll(cr.dataDir)
		// Also when the node failed to start: it may have created it.
		if err := cr.t.dropDatabase(ctx, cr.db); err != nil {
			cr.logf("dropping ClickHouse database %s: %v", cr.db, err)
			left = append(left, "ClickHouse database "+cr.db+", not dropped: "+err.Error())
		} else {
			cr.logf("dropped ClickHouse database %s", cr.db)
		}
	}
	cr.cmp.LeftBehind = strings.Join(left, "; ")
	if cr.cmp.LeftBehind != "" {
		cr.logf("left behind: %s", cr.cmp.LeftBehind)
	}
}

// revokeKeys revokes every key of the bench project, its admin key last.
func (cr *clusterRun) revokeKeys(ctx context.Context) error {
	admin := cr.keys["admin"]
	var list struct {
		Keys []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"keys"`
	}
	if err := cr.c.do(ctx, "GET", "/api/v1/keys", admin, nil, nil, &list); err != nil {
		return err
	}
	var last []int64
	for _, k := range list.Keys {
		if k.Kind == "admin" {
			last = append(last, k.ID)
			continue
		}
		if err := cr.c.do(ctx, "DELETE", fmt.Sprintf("/api/v1/keys/%d", k.ID), admin, nil, nil, nil); err != nil {
			return err
		}
	}
	for _, id := range last {
		if err := cr.c.do(ctx, "DELETE", fmt.Sprintf("/api/v1/keys/%d", id), admin, nil, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// redactMetaURL drops a URL's password and parameters (which may hold
// one).
func redactMetaURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// writeRows adds the comparison's rows to the report table.
func (cc *ClusterComparison) writeRows(row func(cells ...string)) {
	where := "one ClickHouse server"
	if cc.Cluster != "" {
		where = "ClickHouse cluster " + cc.Cluster
	}
	row("vs cluster", "node", cc.Store, where+", metadata "+cc.Meta, "")
	row("", "points, each", groupDigits(cc.Points), fmt.Sprintf("the same ones, in %d alternating rounds", cc.Rounds), "")
	row("", "embedded points/s", groupDigits(int64(cc.EmbeddedMedian)), "median of rounds "+rates(cc.EmbeddedPointsPerS), "")
	row("", "cluster points/s", groupDigits(int64(cc.ClusterMedian)), "median of rounds "+rates(cc.ClusterPointsPerS), "")
	row("", "ingest ratio", fmt.Sprintf("×%.2f", cc.IngestRatio), "cluster over embedded", "")
	row("", "cluster commit p50 / p99", fmt.Sprintf("%s / %s ms", ms(cc.ClusterCommitP50Ms), ms(cc.ClusterCommitP99Ms)), fmt.Sprintf("client round trip; all counted after %.0f ms", cc.VisibleAfterMs), "")
	if cc.ClusterInserts != nil && cc.ClusterInsertAvgMs != nil {
		row("", "cluster INSERTs", fmt.Sprintf("%s, avg %s ms", groupDigits(*cc.ClusterInserts), ms(*cc.ClusterInsertAvgMs)), fmt.Sprintf("the node's group commits: %s points each on average", groupDigits(cc.Points / *cc.ClusterInserts)), "")
	}
	if cc.ErrorEvents > 0 {
		row("", "error events, each", groupDigits(int64(cc.ErrorEvents)), fmt.Sprintf("Sentry envelopes of %s bytes, %d fingerprints, %d clients, %d alternating rounds", groupDigits(int64(cc.ErrorEnvelopeBytes)), cc.ErrorGroups, cc.ErrorClients, len(cc.ClusterErrorEventsPerS)), "")
		row("", "embedded error events/s", groupDigits(int64(cc.EmbeddedErrorMedian)), fmt.Sprintf("median of rounds %s; p50 / p99 %s / %s ms", rates(cc.EmbeddedErrorEventsPerS), ms(cc.EmbeddedErrorP50Ms), ms(cc.EmbeddedErrorP99Ms)), "")
		row("", "cluster error events/s", groupDigits(int64(cc.ClusterErrorMedian)), fmt.Sprintf("median of rounds %s; p50 / p99 %s / %s ms", rates(cc.ClusterErrorEventsPerS), ms(cc.ClusterErrorP50Ms), ms(cc.ClusterErrorP99Ms)), "")
		row("", "error ingest ratio", fmt.Sprintf("×%.2f", cc.ErrorIngestRatio), "cluster over embedded", "")
	}
	for _, q := range cc.Queries {
		row("", q.Name, fmt.Sprintf("%s ms vs %s ms (×%.2f)", ms(q.ClusterMs), ms(q.EmbeddedMs), q.Ratio), fmt.Sprintf("cluster vs embedded, source raw, medians of %d", cc.Repeat), "")
		row("", q.Name+" auto", fmt.Sprintf("%s ms (%s) vs %s ms (%s)", ms(q.ClusterAutoMs), orUnknown(q.ClusterAutoSource), ms(q.EmbeddedAutoMs), orUnknown(q.EmbeddedAutoSource)),
			"cluster vs embedded, source auto (their rollups where they cover)", "")
	}
	disk := "unknown"
	if cc.ClusterBytesPerPoint != nil && cc.EmbeddedBytesPerPoint != nil {
		disk = fmt.Sprintf("%.2f vs %.2f (×%.2f)", *cc.ClusterBytesPerPoint, *cc.EmbeddedBytesPerPoint, *cc.ClusterBytesPerPoint / *cc.EmbeddedBytesPerPoint)
	} else if cc.ClusterBytesPerPoint != nil {
		disk = fmt.Sprintf("%.2f (embedded unknown)", *cc.ClusterBytesPerPoint)
	}
	row("", "disk bytes/point", disk, "ClickHouse's active parts vs the embedded points", "")
	mem := "unknown"
	if cc.ClusterPeakRSSBytes != nil {
		mem = "peak " + humanBytes(*cc.ClusterPeakRSSBytes)
		if cc.ClusterRSSAfterIngestBytes != nil {
			mem += ", after ingest " + humanBytes(*cc.ClusterRSSAfterIngestBytes)
		}
	}
	row("", "node RSS", mem, "the Alidade node only", "")
	v := "all agree"
	if n := len(cc.Disagreements); n > 0 {
		v = plural(n, "disagreement")
	}
	row("", "answers", v, "counts exact, the rest to 1e-9", mark(len(cc.Disagreements) == 0))
}
