package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// flagSet wraps flag.FlagSet with ALIDADE_* environment fallbacks and grouped help.
type flagSet struct {
	*flag.FlagSet
	groups []flagGroup
	footer string
	// positional holds the non-flag arguments, wherever they stood.
	positional []string
	env        map[string]string // flag name -> variable
}

type flagGroup struct {
	title string
	names []string
}

func newFlagSet(name, synopsis string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: map[string]string{}}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: alidade %s\n", synopsis)
		for _, g := range fs.groups {
			fmt.Fprintf(out, "\n%s:\n", g.title)
			for _, n := range g.names {
				f := fs.Lookup(n)
				def := ""
				if f.DefValue != "" {
					def = fmt.Sprintf(" (default %s)", f.DefValue)
				}
				env := ""
				if v := fs.env[n]; v != "" {
					env = " [$" + v + "]"
				}
				fmt.Fprintf(out, "  --%-24s %s%s%s\n", n, f.Usage, def, env)
			}
		}
		fmt.Fprint(out, fs.footer)
	}
	return fs
}

func (fs *flagSet) group(title string) *flagGroup {
	fs.groups = append(fs.groups, flagGroup{title: title})
	return &fs.groups[len(fs.groups)-1]
}

// str declares a string flag in the last group with an environment fallback.
func (fs *flagSet) str(p *string, name, envVar, def, usage string) {
	if v, ok := os.LookupEnv(envVar); ok && envVar != "" {
		def = v
	}
	fs.StringVar(p, name, def, usage)
	fs.env[name] = envVar
	g := &fs.groups[len(fs.groups)-1]
	g.names = append(g.names, name)
}

// parse parses args; a usage mistake becomes a usageError with a hint.
// Flags may come before or after positional arguments.
func (fs *flagSet) parse(args []string) error {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(os.Stderr)
				fs.Usage()
				return err
			}
			return &usageError{msg: strings.TrimSpace(err.Error()) + "\nTry: alidade " + fs.Name() + " --help"}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	fs.positional = positional
	return nil
}

// NArg is the number of positional arguments.
func (fs *flagSet) NArg() int { return len(fs.positional) }

// Arg returns positional argument i, or "".
func (fs *flagSet) Arg(i int) string {
	if i < len(fs.positional) {
		return fs.positional[i]
	}
	return ""
}
