package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// A group's --help lists every flag of every subcommand, with its
// environment variable.
func TestGroupHelpListsEveryFlag(t *testing.T) {
	for _, c := range commands() {
		if len(c.subs) == 0 || c.defaultSub != "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			var help bytes.Buffer
			err := run(context.Background(), []string{c.name, "--help"}, func(string) string { return "" }, &bytes.Buffer{}, &help)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("%s --help: %v", c.name, err)
			}
			for _, sub := range c.subs {
				fs := flag.NewFlagSet(sub.name, flag.ContinueOnError)
				sub.flags(fs, cmdEnv{getenv: func(string) string { return "" }})
				fs.VisitAll(func(f *flag.Flag) {
					if !strings.Contains(help.String(), "--"+f.Name+" (AUTHSTORE_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))+")") {
						t.Errorf("%s --help does not list --%s of %s", c.name, f.Name, sub.name)
					}
				})
			}
		})
	}
}

// authstore bench points to authstore-bench and exits 2.
func TestBenchPointsToItsOwnCommand(t *testing.T) {
	err := run(context.Background(), []string{"bench", "--scenario", "signin"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "authstore-bench") || exitCode(err) != 2 {
		t.Errorf("bench: %v (exit %d), want a pointer to authstore-bench, exit 2", err, exitCode(err))
	}
}
