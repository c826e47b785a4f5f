package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
)

func runRollups(ctx context.Context, args []string) error {
	var url, key, dataset string
	fs := newFlagSet("rollups", "rollups rebuild [--dataset NAME] | rollups status [flags]")
	fs.group("Connection")
	fs.str(&url, "url", "ALIDADE_URL", "http://127.0.0.1:8080", "server URL")
	fs.str(&key, "key", "ALIDADE_ADMIN_KEY", "", "the project's admin key")
	fs.group("Rebuild")
	fs.str(&dataset, "dataset", "", "", "rebuild only this dataset (default: every dataset of the project)")
	fs.footer = "\nrebuild re-reads a project's raw points into its rollups, with each dataset's current\nrollup spec (how a schema change reaches history); status lists each dataset's spec.\n"
	if len(args) == 0 {
		return &usageError{msg: "missing subcommand\nTry: alidade rollups rebuild, or alidade rollups status"}
	}
	sub, rest := args[0], args[1:]
	if err := fs.parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade rollups --help", fs.Arg(0))}
	}
	c, err := newAPIClient(url, key, "--key or set ALIDADE_ADMIN_KEY (the project's admin key)")
	if err != nil {
		return err
	}
	switch sub {
	case "status":
		var out struct {
			Enabled  bool `json:"enabled"`
			Datasets []struct {
				Dataset, Spec, Want string
				Rebuilding          bool
			} `json:"datasets"`
		}
		if err := c.do(ctx, "GET", "/api/v1/rollups", nil, &out); err != nil {
			return err
		}
		if !out.Enabled {
			fmt.Println("Rollups are turned off on this server (serve --rollups=off).")
			return nil
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DATASET\tROLLUP SPEC\tPENDING")
		for _, d := range out.Datasets {
			pending := "-"
			if d.Rebuilding {
				pending = "rebuilding"
			} else if d.Want != "" {
				pending = d.Want + " (run: alidade rollups rebuild --dataset " + d.Dataset + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Dataset, d.Spec, pending)
		}
		return tw.Flush()
	case "rebuild":
		return c.rebuildRollups(ctx, dataset, os.Stdout)
	}
	return &usageError{msg: fmt.Sprintf("unknown subcommand %q\nTry: alidade rollups rebuild, or alidade rollups status", sub)}
}

// rebuildRollups asks the server to rebuild and prints its progress lines
// as they come.
func (c *apiClient) rebuildRollups(ctx context.Context, dataset string, w io.Writer) error {
	body := []byte{}
	if dataset != "" {
		body, _ = json.Marshal(map[string]string{"dataset": dataset})
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.url+"/api/v1/rollups/rebuild", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	// A rebuild takes as long as reading the points does: no timeout.
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return serverError(resp, data)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var line struct {
			Dataset  string `json:"dataset"`
			Day      string `json:"day"`
			Points   int64  `json:"points"`
			Error    string `json:"error"`
			Done     bool   `json:"done"`
			Datasets []struct {
				Dataset   string  `json:"dataset"`
				Days      int     `json:"days"`
				Points    int64   `json:"points"`
				Spec      string  `json:"spec"`
				ElapsedMs float64 `json:"elapsedMs"`
			} `json:"datasets"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("rebuild: unreadable progress line: %w", err)
		}
		switch {
		case line.Error != "":
			return fmt.Errorf("rebuild of %s failed: %s", line.Dataset, line.Error)
		case line.Done:
			for _, d := range line.Datasets {
				fmt.Fprintf(w, "rebuilt %s: %d points over %d days in %.1f s (%s)\n", d.Dataset, d.Points, d.Days, d.ElapsedMs/1000, d.Spec)
			}
			return nil
		default:
			fmt.Fprintf(w, "  %s %s: %d points\n", line.Dataset, line.Day, line.Points)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	return fmt.Errorf("rebuild: the server closed the stream before it finished")
}
