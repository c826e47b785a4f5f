package duckdb_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// What alidade migrate reads: every setting, the dataset records as
// stored (no built-in schema filled in), and error tracking's counts, a
// group updated counted once.
func TestExport(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]string{"initialized": "1", "pricing/2": `{"entries":[]}`, "visitor_salts": "x y"}
	for k, v := range want {
		if err := st.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.Settings(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Settings = %v, %v; want %v", got, err, want)
	}

	if err := st.EnsureDataset(ctx, 2, "requests"); err != nil {
		t.Fatal(err)
	}
	own := &point.Schema{Index: "page", Blobs: []string{"button"}}
	if err := st.SetSchema(ctx, 1, "clicks", own); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRetention(ctx, 1, "clicks", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	ds := st.DatasetRecords()
	if len(ds) != 2 || ds[0].ProjectID != 1 || ds[0].Name != "clicks" || !reflect.DeepEqual(ds[0].Schema, own) || ds[0].Retention != 48*time.Hour ||
		ds[1].ProjectID != 2 || ds[1].Name != "requests" || ds[1].Schema != nil {
		t.Errorf("DatasetRecords = %+v; want clicks of project 1 with its schema, requests of project 2 without one", ds)
	}
	ds[0].Schema.Index = "changed"
	if d := st.Dataset(1, "clicks"); d.Schema.Index != "page" {
		t.Errorf("DatasetRecords' schema is the store's own: a change shows in Dataset (%q)", d.Schema.Index)
	}

	g := &errtrack.Group{ID: 1, Project: 1, Fingerprint: "f", Grouping: "v1", Title: "E", Level: "error", Status: "unresolved", Count: 1, LastEventID: "e1"}
	ev := errtrack.StoredEvent{Project: 1, EventID: "e1", GroupID: 1, Level: "error", Title: "E", Payload: errtrack.Compress([]byte(`{}`)), Size: 2}
	if err := st.CommitErrors(ctx, errtrack.Commit{New: []*errtrack.Group{g}, Events: []errtrack.StoredEvent{ev}}); err != nil {
		t.Fatal(err)
	}
	up := g.Clone()
	up.Count = 2
	ev2 := ev
	ev2.EventID = "e2"
	if err := st.CommitErrors(ctx, errtrack.Commit{Changed: []*errtrack.Group{up}, Events: []errtrack.StoredEvent{ev2}}); err != nil {
		t.Fatal(err)
	}
	if groups, events, atts, err := st.ErrorCounts(ctx); err != nil || groups != 1 || events != 2 || atts != 0 {
		t.Errorf("ErrorCounts = %d groups, %d events, %d attachments, %v; want 1, 2, 0", groups, events, atts, err)
	}
}
