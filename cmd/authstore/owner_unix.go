//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByUs reports whether fi's file belongs to the user running this
// process or to root, as ssh requires of its key files.
func ownedByUs(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return int(st.Uid) == os.Geteuid() || st.Uid == 0
}
