package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; "dev"
// defers to the module version in the build info.
var version = "dev"

// versionCmd runs `authstore version`: one line describing this build. It
// ignores any arguments.
func versionCmd(_ context.Context, e cmdEnv, _ []string) error {
	fmt.Fprintln(e.stdout, versionLine(debug.ReadBuildInfo()))
	return nil
}

// versionLine describes this build from its build info (ok false: none):
// the version (-ldflags -X main.version, else the module's), and the VCS
// revision, its commit time and whether the tree had uncommitted changes,
// when the build recorded them (go build in a checkout does; go run and
// go test do not). Go records no build time: the commit time stands in.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	v := version
	if !ok {
		return "authstore " + v
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	out := "authstore " + v
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if r := settings["vcs.revision"]; r != "" {
		out += " revision " + r
		if settings["vcs.modified"] == "true" {
			out += " (dirty)"
		}
		if t := settings["vcs.time"]; t != "" {
			out += " committed " + t
		}
	}
	return out + " " + bi.GoVersion
}
