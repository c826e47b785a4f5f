package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
)

func runProjects(ctx context.Context, args []string) error {
	var url, key string
	fs := newFlagSet("projects", "projects create NAME | projects list | projects dsn NAME [flags]")
	fs.group("Connection")
	fs.str(&url, "url", "ALIDADE_URL", "http://127.0.0.1:8080", "server URL")
	fs.str(&key, "root-key", "ALIDADE_ROOT_KEY", "", "the instance root key")
	if len(args) == 0 {
		return &usageError{msg: "missing subcommand\nTry: alidade projects create NAME, alidade projects list, or alidade projects dsn NAME"}
	}
	sub, rest := args[0], args[1:]
	if err := fs.parse(rest); err != nil {
		return err
	}
	c, err := newAPIClient(url, key, "--root-key or set ALIDADE_ROOT_KEY (the instance root key)")
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if fs.NArg() != 1 {
			return &usageError{msg: "projects create takes one NAME\nTry: alidade projects create web"}
		}
		var p struct {
			ID   int64             `json:"id"`
			Name string            `json:"name"`
			Keys map[string]string `json:"keys"`
			DSN  string            `json:"dsn"`
		}
		if err := c.do(ctx, "POST", "/api/v1/projects", map[string]string{"name": fs.Arg(0)}, &p); err != nil {
			return err
		}
		fmt.Printf("Created project %q (id %d). Its keys, shown only now:\n", p.Name, p.ID)
		for _, k := range []string{"public", "write", "read", "admin"} {
			fmt.Printf("  %-7s %s\n", k, p.Keys[k])
		}
		if p.DSN != "" {
			fmt.Printf("  Sentry DSN %s\n", p.DSN)
		}
		return nil
	case "dsn":
		if fs.NArg() != 1 {
			return &usageError{msg: "projects dsn takes one NAME\nTry: alidade projects dsn default"}
		}
		var out struct {
			Projects []struct {
				ID   int64   `json:"id"`
				Name string  `json:"name"`
				DSN  *string `json:"dsn"`
			} `json:"projects"`
		}
		if err := c.do(ctx, "GET", "/api/v1/projects", nil, &out); err != nil {
			return err
		}
		for _, p := range out.Projects {
			if p.Name != fs.Arg(0) {
				continue
			}
			if p.DSN == nil {
				return fmt.Errorf("project %q has no public key whose DSN can be shown (keys made before Alidade kept them): make one with 'alidade keys create --kind public'", p.Name)
			}
			fmt.Println(*p.DSN)
			return nil
		}
		return fmt.Errorf("no project named %q; 'alidade projects list' lists them", fs.Arg(0))
	case "list":
		var out struct {
			Projects []struct {
				ID      int64  `json:"id"`
				Name    string `json:"name"`
				Created string `json:"created"`
			} `json:"projects"`
		}
		if err := c.do(ctx, "GET", "/api/v1/projects", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, p := range out.Projects {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", p.ID, p.Name, p.Created)
		}
		return tw.Flush()
	}
	return &usageError{msg: fmt.Sprintf("unknown subcommand %q\nTry: alidade projects create NAME, alidade projects list, or alidade projects dsn NAME", sub)}
}
