package main

import "context"

// benchMoved answers `authstore bench`: the load generator is its own
// command, authstore-bench, so that this binary does not link it. It fails
// with a usage error (exit status 2) saying so.
func benchMoved(context.Context, cmdEnv, []string) error {
	return usageError{Msg: "bench is a command of its own now: authstore-bench [flags] (authstore-bench --help lists them)"}
}
