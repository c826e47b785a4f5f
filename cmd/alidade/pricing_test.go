package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServePricingFlag starts the binary with an operator price file and
// checks that its entries are in force, and that a bad file stops serve
// with the entry named.
func TestServePricingFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "prices.json")
	os.WriteFile(good, []byte(`{"models":[{"model":"house-llm","input":0.5,"output":1},{"model":"gpt-4o","input":2,"output":8}]}`), 0o600)
	p := start(t, filepath.Join(dir, "data"), "ALIDADE_PRICING="+good)
	keys := bannerKeys(t, p)
	req, _ := http.NewRequest("GET", p.url+"/api/v1/pricing", nil)
	req.Header.Set("Authorization", "Bearer "+keys["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a struct {
		Models []struct {
			Model  string  `json:"model"`
			Input  float64 `json:"input"`
			Source string  `json:"source"`
		} `json:"models"`
	}
	if err := json.Unmarshal(data, &a); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET pricing = %d %s", resp.StatusCode, data)
	}
	got := map[string]string{}
	for _, m := range a.Models {
		got[m.Model] = m.Source
		if m.Model == "gpt-4o" && m.Input != 2 {
			t.Errorf("gpt-4o input = %v; want the operator's 2", m.Input)
		}
	}
	if got["house-llm"] != "operator" || got["gpt-4o"] != "operator" || got["gpt-4o-mini"] != "default" {
		t.Errorf("sources = house-llm %q, gpt-4o %q, gpt-4o-mini %q; want operator, operator, default", got["house-llm"], got["gpt-4o"], got["gpt-4o-mini"])
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"models":[{"model":"x","input":-1}]}`), 0o600)
	out, err := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data2"), "--pricing", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "models[0]: input must be") {
		t.Errorf("serve --pricing with a bad file = %v %s; want exit 2 naming the entry", err, out)
	}
}
