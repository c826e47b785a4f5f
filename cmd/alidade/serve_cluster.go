package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/live"
	"github.com/alidade/alidade/internal/loader"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/sampling"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/cluster"
	"github.com/alidade/alidade/internal/store/postgres"
	livetail "github.com/alidade/alidade/internal/tail"
)

// nodeStore is what serve needs of a store: the embedded DuckDB store, or
// a cluster node's (points in ClickHouse, metadata in PostgreSQL).
type nodeStore interface {
	server.Store
	planner.Store
	Sampling(project int64, dataset string) float64
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
	Close() error
}

// clusterStore is a cluster node's store, with the URLs it was opened
// with (passwords removed) for the logs.
type clusterStore struct {
	*cluster.Store
	pointsURL, metaURL string
	engine             string
}

func (c *clusterStore) PointsURL() string { return c.pointsURL }
func (c *clusterStore) MetaURL() string   { return c.metaURL }

// Engine is the engine of ClickHouse's points table (for the logs).
func (c *clusterStore) Engine() string { return c.engine }

// openCluster opens the metadata store, then the points store.
// With rollups, queries the rollup table covers are answered from it.
func openCluster(ctx context.Context, storeURL, metaURL string, rollups bool, log *slog.Logger) (*clusterStore, error) {
	pg, err := postgres.Open(ctx, postgres.Options{URL: metaURL, Logger: log})
	if err != nil {
		return nil, err
	}
	ch, err := clickhouse.Open(ctx, clickhouse.Options{URL: storeURL, Rollups: rollups})
	if err != nil {
		pg.Close()
		return nil, err
	}
	if log != nil {
		log.Info("clickhouse: newer server features in use (see README: ClickHouse versions)",
			"version", ch.Version().String(), "features", ch.Features().String())
	}
	cfg, _ := clickhouse.ParseURL(storeURL)
	return &clusterStore{Store: cluster.Open(pg, ch), pointsURL: cfg.HTTP + cfg.Database, metaURL: redactURL(metaURL), engine: ch.Engine()}, nil
}

// sampledLog is the ingest pipeline's Appender of a node in a cluster with
// --wal on: it samples the batches (datasets with a budget) before they
// are logged, not when the loader loads them, so that a group of the log
// loaded again after an outage or a crash is the same rows as the first
// time (the sampler picks by arrival time and its own state), which
// ClickHouse then drops as a repeat. A write's idempotency record is
// logged with it whether sampling kept its points or not: its load
// records the key in PostgreSQL (again, after the server did at the
// acknowledgement), which a node that stopped in between needs.
type sampledLog struct {
	ld  *loader.Loader
	smp *sampling.Sampler
}

func (s *sampledLog) Append(ctx context.Context, batches []store.Batch) error {
	out := s.smp.Sample(batches, time.Now())
	for i := range batches {
		r := batches[i].Idem
		if r == nil || slices.ContainsFunc(out, func(b store.Batch) bool { return b.Idem == r }) {
			continue
		}
		out = append(out, store.Batch{Project: batches[i].Project, Idem: r})
	}
	return s.ld.Append(ctx, out)
}

// flush logs what the sampler holds back (the open group of each sampled
// index value); call it after the last Append.
func (s *sampledLog) flush(ctx context.Context) error {
	if held := s.smp.Flush(); len(held) > 0 {
		return s.ld.Append(ctx, held)
	}
	return nil
}

// sharedMeta is a metadata store several nodes share, which tells each
// of them what the others changed.
type sharedMeta interface {
	Watch(fn func(meta.Change))
	Key(ctx context.Context, hash []byte) (*meta.Key, error)
	Keys(ctx context.Context, project int64) ([]meta.Key, error)
}

// followSharedMeta keeps the key table of au current with the shared
// metadata: a key made on another node is found on its first use, one
// revoked there is refused here as soon as its notification arrives.
func followSharedMeta(ctx context.Context, sh sharedMeta, au *auth.Authenticator, log *slog.Logger) {
	au.Share(sh)
	sh.Watch(func(c meta.Change) {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := au.Apply(lctx, sh, c); err != nil {
			// The table stays as it was; revocations apply without a load.
			log.Warn("keys: change not applied", "change", c.Kind, "project", c.Project, "err", err)
		}
	})
}

// leaderStore is a store whose nodes take turns at what must run once
// per cluster (postgres.Store.Lead).
type leaderStore interface {
	Lead(ctx context.Context, name string, fn func(ctx context.Context))
}

// retentionLock is the lock of the node that expires points; the alert
// rules, checks and cron monitors have the server's (server.LeaderLock).
const retentionLock = "alidade-retention"

// redactURL drops a URL's password (and its query, which may hold one).
func redactURL(raw string) string {
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

// checkSharedRootKey refuses to start a node of a cluster whose
// ALIDADE_ROOT_KEY is not the root key the cluster's other nodes use (the
// one stored in PostgreSQL): on the embedded store a restart with another
// key replaces it, but on a cluster one node started with a mistyped key
// would silently change it for all. rotate (ALIDADE_ROOT_KEY_ROTATE=1)
// replaces it on purpose.
func checkSharedRootKey(ctx context.Context, st interface {
	Setting(ctx context.Context, name string) (string, error)
}, envRoot string, rotate bool) error {
	if envRoot == "" || rotate {
		return nil
	}
	stored, err := st.Setting(ctx, server.SettingRootHash)
	if err != nil || stored == "" {
		return err
	}
	if hex.EncodeToString(auth.Hash(envRoot)) != stored {
		return &usageError{msg: "ALIDADE_ROOT_KEY is not the root key this cluster's metadata holds (the other nodes' key): " +
			"start every node with the same one, or set ALIDADE_ROOT_KEY_ROTATE=1 on one node to replace the cluster's root key with this one"}
	}
	return nil
}

// startTailBus forwards the points committed on this node to the nodes
// whose dashboards or tails watch their project, and delivers what the
// others forward to this node's hubs (never forwarding it again), through
// PostgreSQL's LISTEN/NOTIFY. Each project is bounded to the tail's
// --tail-max-rate points a second at the source.
func startTailBus(cs *clusterStore, lh *live.Hub, th *livetail.Hub, m *server.Metrics, log *slog.Logger) (*postgres.Bus, error) {
	r := m.Registry
	forwarded := r.NewCounter("alidade_cluster_points_forwarded_total", "Points this node forwarded to other nodes' live tails and dashboards (pg_notify).", "")
	received := r.NewCounter("alidade_cluster_points_received_total", "Points other nodes forwarded to this node's live tails and dashboards.", "")
	notes := r.NewCounter("alidade_cluster_tail_notifications_total", "Notifications of points this node sent with pg_notify.", "")
	bytes := r.NewCounter("alidade_cluster_tail_notify_bytes_total", "Bytes of the notifications of points this node sent.", "")
	lost := r.NewCounter("alidade_cluster_points_not_forwarded_total", "Points of watched projects not forwarded, by reason (sampled: over --tail-max-rate; too_big: over a notification; dropped: queue full or send failed).", "reason")
	cut := r.NewCounter("alidade_cluster_points_cut_total", "Points forwarded with their blobs shortened to fit a notification.", "")
	errs := r.NewCounter("alidade_cluster_tail_errors_total", "Tail bus failures, by kind (send_errors, invalid, receive_dropped).", "kind")
	b, err := cs.StartBus(postgres.BusOptions{
		Deliver: func(bs []store.Batch) {
			lh.PublishBatches(bs)
			th.Publish(bs)
		},
		Local: func() []int64 {
			return append(lh.Projects(), th.Projects()...)
		},
		MaxRate: th.MaxRate(),
		Count: func(event string, n uint64) {
			switch event {
			case "forwarded":
				forwarded.Add(n)
			case "received":
				received.Add(n)
			case "notifications":
				notes.Add(n)
			case "bytes":
				bytes.Add(n)
			case "cut":
				cut.Add(n)
			case "sampled", "too_big", "dropped":
				lost.AddWith(event, n)
			case "send_errors", "invalid", "receive_dropped":
				errs.AddWith(event, n)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	lh.OnChange(b.LocalChanged)
	th.OnChange(b.LocalChanged)
	log.Debug("tail bus started", "node", b.Node())
	return b, nil
}

// nodeName is the name a node with a write-ahead log in walDir claims
// idempotency keys under: kept in walDir/node, so that the node, at its
// restart, settles the keys it claimed before it stopped.
func nodeName(walDir string) (string, error) {
	path := filepath.Join(walDir, "node")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the node's name: %w", err)
	}
	host, _ := os.Hostname()
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := host + "-" + hex.EncodeToString(r[:])
	if err := os.MkdirAll(walDir, 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write the node's name: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write the node's name: %w", err)
	}
	return name, nil
}
