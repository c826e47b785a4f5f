package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
)

func runKeys(ctx context.Context, args []string) error {
	var url, key, kind, name string
	fs := newFlagSet("keys", "keys create --kind KIND [--name NAME] | keys list | keys revoke ID [flags]")
	fs.group("Connection")
	fs.str(&url, "url", "ALIDADE_URL", "http://127.0.0.1:8080", "server URL")
	fs.str(&key, "key", "ALIDADE_ADMIN_KEY", "", "the project's admin key")
	fs.group("Create")
	fs.str(&kind, "kind", "", "", "public, write, read or admin")
	fs.str(&name, "name", "", "", "a name to recognise the key by")
	if len(args) == 0 {
		return &usageError{msg: "missing subcommand\nTry: alidade keys create --kind read, alidade keys list, or alidade keys revoke ID"}
	}
	sub, rest := args[0], args[1:]
	if err := fs.parse(rest); err != nil {
		return err
	}
	if key == "" {
		key = os.Getenv("ALIDADE_KEY")
	}
	c, err := newAPIClient(url, key, "--key or set ALIDADE_ADMIN_KEY (the project's admin key)")
	if err != nil {
		return err
	}
	type keyInfo struct {
		ID      int64  `json:"id"`
		Kind    string `json:"kind"`
		Name    string `json:"name"`
		Prefix  string `json:"prefix"`
		Created string `json:"created"`
		Key     string `json:"key"`
	}
	switch sub {
	case "create":
		if kind == "" {
			return &usageError{msg: "keys create needs --kind\nTry: alidade keys create --kind read --name grafana"}
		}
		var k keyInfo
		if err := c.do(ctx, "POST", "/api/v1/keys", map[string]string{"kind": kind, "name": name}, &k); err != nil {
			return err
		}
		fmt.Printf("Created %s key %q (id %d), shown only now:\n  %s\n", k.Kind, k.Name, k.ID, k.Key)
		return nil
	case "list":
		var out struct {
			Keys []keyInfo `json:"keys"`
		}
		if err := c.do(ctx, "GET", "/api/v1/keys", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tNAME\tPREFIX\tCREATED")
		for _, k := range out.Keys {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.Kind, k.Name, k.Prefix, k.Created)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return &usageError{msg: "keys revoke takes one key ID\nTry: alidade keys list, then alidade keys revoke 7"}
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("key id %q is not a number", fs.Arg(0))}
		}
		if err := c.do(ctx, "DELETE", "/api/v1/keys/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
			return err
		}
		fmt.Printf("Revoked key %d.\n", id)
		return nil
	}
	return &usageError{msg: fmt.Sprintf("unknown subcommand %q\nTry: alidade keys create --kind read, alidade keys list, or alidade keys revoke ID", sub)}
}
