package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// runSQL runs one query of the SQL API against a server, like
// `wrangler analytics-engine run`.
func runSQL(ctx context.Context, args []string) error {
	var u, key, format string
	fs := newFlagSet("sql", `sql "SELECT …" [--format table|json|tsv|csv] [flags]`)
	fs.group("Connection")
	fs.str(&u, "url", "ALIDADE_URL", "http://127.0.0.1:8080", "server URL")
	fs.str(&key, "key", "ALIDADE_READ_KEY", "", "a read (or admin) key of the project")
	fs.group("Output")
	fs.str(&format, "format", "", "table", "table (readable), json, tsv or csv; a FORMAT clause in the query wins")
	if err := fs.parse(args); err != nil {
		return err
	}
	if key == "" {
		key = os.Getenv("ALIDADE_KEY")
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "sql takes one query\nTry: alidade sql \"SELECT index1, count() FROM requests GROUP BY index1\""}
	}
	def := map[string]string{"table": "JSON", "json": "JSON", "tsv": "TabSeparated", "csv": "CSV"}[format]
	if def == "" {
		return &usageError{msg: fmt.Sprintf("unknown --format %q; use table, json, tsv or csv", format)}
	}
	c, err := newAPIClient(u, key, "--key or set ALIDADE_READ_KEY (a read key of the project)")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.url+"/api/v1/sql?default_format="+url.QueryEscape(def), strings.NewReader(fs.Arg(0)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "text/plain")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s", e.Error.Message)
		}
		return fmt.Errorf("server said %s", resp.Status)
	}
	if format != "table" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_, err = os.Stdout.Write(body)
		return err
	}
	return printTable(os.Stdout, body, time.Since(start))
}

// printTable renders a FORMAT JSON (or JSONCompact) answer as an aligned
// table.
func printTable(w io.Writer, body []byte, took time.Duration) error {
	var res struct {
		Meta   []struct{ Name, Type string } `json:"meta"`
		Data   []json.RawMessage             `json:"data"`
		Totals json.RawMessage               `json:"totals"` // GROUP BY … WITH TOTALS
		Rows   int                           `json:"rows"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, m := range res.Meta {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, m.Name)
	}
	fmt.Fprintln(tw)
	rows := res.Data
	if res.Totals != nil {
		rows = append(rows[:len(rows):len(rows)], nil, res.Totals) // an empty line, then the totals
	}
	for _, raw := range rows {
		// JSON rows are objects, JSONCompact rows arrays
		var obj map[string]json.RawMessage
		var arr []json.RawMessage
		if raw == nil {
			fmt.Fprintln(tw, strings.Repeat("\t", len(res.Meta)-1)) // empty cells keep the columns aligned
			continue
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			if err := json.Unmarshal(raw, &arr); err != nil {
				return fmt.Errorf("read answer: a row is neither an object nor an array: %w", err)
			}
		}
		for i, m := range res.Meta {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			if obj != nil {
				fmt.Fprint(tw, cell(obj[m.Name]))
			} else if i < len(arr) {
				fmt.Fprint(tw, cell(arr[i]))
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	totals := ""
	if res.Totals != nil {
		totals = " and totals"
	}
	fmt.Fprintf(w, "(%d rows%s, %v)\n", res.Rows, totals, took.Round(time.Millisecond))
	return nil
}

func cell(raw json.RawMessage) string {
	if string(raw) == "null" || raw == nil { // before the string: null unmarshals into one
		return "NULL"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(s)
	}
	return string(raw)
}
