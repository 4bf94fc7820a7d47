package main

import "testing"

func TestLocalPostgres(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--db=/tmp/a.db"}, false},
		{[]string{"--db=postgres://u@127.0.0.1:5432/db"}, true},
		{[]string{"--db", "postgresql://u@localhost/db?sslmode=disable"}, true},
		{[]string{"--db=postgres://u@[::1]:5432/db"}, true},
		{[]string{"--db=postgres:///db?host=/var/run/postgresql"}, true},
		{[]string{"--db=postgres://u@db.example.com/db?host=127.0.0.1"}, true},
		{[]string{"--db=postgres://u@db.example.com/db"}, false},
		{[]string{"--db=postgres://u@10.0.0.5/db"}, false},
		{[]string{"--db=postgres://u@127.0.0.1/db", "--db=/tmp/b.db"}, false}, // the last one wins
	}
	for _, tt := range tests {
		if got := localPostgres(tt.args); got != tt.want {
			t.Errorf("localPostgres(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
