// Summarizes `go test -json` output (the file named by the first argument):
// package results, the output of failing tests, and the count of PostgreSQL
// tests (names containing "Postgres"), which must all have run. Exits 1 if a
// PostgreSQL test was skipped or none passed.
import fs from "node:fs";
const outputs = new Map(); // "package test" -> output lines
const failed = [], pgSkipped = [];
const running = new Set(); // tests that started and never ended (a timeout, a crash)
let pgPassed = 0, pgFailed = 0;
for (const line of fs.readFileSync(process.argv[2], "utf8").split("\n")) {
  if (!line) continue;
  let e;
  try { e = JSON.parse(line); } catch { console.log(line); continue; }
  if (e.Action === "build-output") { process.stdout.write(e.Output); continue; }
  const key = `${e.Package} ${e.Test ?? ""}`;
  if (e.Action === "output") {
    if (!outputs.has(key)) outputs.set(key, []);
    outputs.get(key).push(e.Output);
    continue;
  }
  if (e.Action === "run") running.add(key);
  if (!["pass", "fail", "skip"].includes(e.Action)) continue;
  running.delete(key);
  if (!e.Test) {
    const res = { pass: "ok  ", fail: "FAIL", skip: "?   " }[e.Action];
    if (e.Action === "fail") {
      for (const k of running) if (k.startsWith(e.Package + " ")) failed.push(k);
      failed.push(key);
    }
    console.log(`${res} ${e.Package}${e.Action === "skip" ? " [no test files]" : ` ${e.Elapsed ?? 0}s`}`);
    continue;
  }
  if (e.Action === "fail") failed.push(key);
  if (e.Test.includes("Postgres")) {
    if (e.Action === "pass") pgPassed++;
    if (e.Action === "fail") pgFailed++;
    if (e.Action === "skip") pgSkipped.push(key);
  }
}
for (const key of failed) {
  console.log(`\n--- output of ${key.trim()}:`);
  process.stdout.write((outputs.get(key) ?? []).join(""));
}
for (const key of pgSkipped) {
  console.log(`\n--- skipped: ${key}`);
  process.stdout.write((outputs.get(key) ?? []).join(""));
}
console.log(`\nPostgreSQL tests: ${pgPassed} passed, ${pgSkipped.length} skipped${pgFailed ? `, ${pgFailed} failed` : ""}`);
if (pgSkipped.length > 0 || pgPassed === 0) {
  console.log("FAIL: every PostgreSQL test must run and at least one must pass");
  process.exit(1);
}
