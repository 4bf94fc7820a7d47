#!/bin/sh
# Runs the scenarios of docs/performance.md's results with two builds in
# turn, so that both share the machine's conditions:
#
#   BEFORE=dir AFTER=dir [PG=postgres://user@host:port] scripts/perf-compare.sh
#
# BEFORE and AFTER are directories, each holding an authstore and an
# authstore-bench built from the commit to compare. PG is a durable
# PostgreSQL on this machine (fsync and synchronous_commit on) with the
# databases bench_b0 and bench_new. It writes one report per run into the
# current directory and prints the summary lines of each.
set -u
B=$BEFORE; A=$AFTER; PG=${PG:-postgres://postgres@127.0.0.1:25480}
export AUTHSTORE_SECRET_KEY=$(openssl rand -base64 32)
run() { name=$1; shift; "$@" >"$name.txt" 2>/dev/null; grep -E "^ +(refresh|signin|signup|total) |server:|database:|load gen|ceiling|mixed:" "$name.txt" | sed "s/^/$name: /"; }
# SQLite refresh, c=32: the old load generator on the old server (as the
# figures were taken before), then old and new servers under the new one.
run sqlite-refresh-oldbench-before $B/authstore-bench --scenario refresh --concurrency 32 --duration 10s --warmup 2s --hash-time 0
for i in 1 2 3; do
  run sqlite-refresh-before-$i $A/authstore-bench --server-bin $B/authstore --scenario refresh --concurrency 32 --duration 10s --warmup 2s --hash-time 0
  run sqlite-refresh-after-$i $A/authstore-bench --server-bin $A/authstore --scenario refresh --concurrency 32 --duration 10s --warmup 2s --hash-time 0
done
# PostgreSQL, durable, on this machine.
for i in 1 2; do
  run pg-refresh-before-$i $A/authstore-bench --server-bin $B/authstore --scenario refresh --concurrency 32 --duration 10s --warmup 2s --hash-time 0 "--server-arg=--db=$PG/bench_b0?sslmode=disable"
  run pg-refresh-after-$i $A/authstore-bench --server-bin $A/authstore --scenario refresh --concurrency 32 --duration 10s --warmup 2s --hash-time 0 "--server-arg=--db=$PG/bench_new?sslmode=disable"
done
# Signin, signup and mixed against the hashing ceiling of the same run.
for s in signin signup mixed; do
  run $s-before $A/authstore-bench --server-bin $B/authstore --scenario $s --concurrency 32 --duration 15s --warmup 3s
  run $s-after $A/authstore-bench --server-bin $A/authstore --scenario $s --concurrency 32 --duration 15s --warmup 3s
done
# 1,000 concurrent signins: peak RSS.
run flood-before $A/authstore-bench --server-bin $B/authstore --scenario flood --concurrency 1000 --duration 10s --hash-time 0
run flood-after $A/authstore-bench --server-bin $A/authstore --scenario flood --concurrency 1000 --duration 10s --hash-time 0
