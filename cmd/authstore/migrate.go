package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// migrate runs `authstore migrate up|status`: up applies the pending
// migrations (creating a SQLite database if there is none); both then list
// every migration and when it was applied.
func migrate(ctx context.Context, e cmdEnv, c adminConfig, act string) error {
	mode := openExisting
	if act == "up" {
		mode = openCreate
	}
	db, _, err := c.open(ctx, mode, e.stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if act == "up" {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
	}
	list, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VERSION\tNAME\tAPPLIED\n")
	for _, m := range list {
		applied := "pending"
		if m.Applied {
			applied = rfc3339(m.AppliedAt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	return tw.Flush()
}
