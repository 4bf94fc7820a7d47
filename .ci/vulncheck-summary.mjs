// Summarizes `govulncheck -format json` output (the file named by the first
// argument): one line per vulnerability whose vulnerable code this module
// calls, with where it is fixed. Exits 1 if one of them is in a module we
// require (an upgrade in go.mod fixes it). Called vulnerabilities of the
// standard library are listed as warnings: their fix is a newer Go
// toolchain, which the machine provides, not this repository.
import fs from "node:fs";
const text = fs.readFileSync(process.argv[2], "utf8");
// The output is a stream of pretty-printed JSON objects, one after another.
const objects = [];
let depth = 0, start = -1, inString = false, escaped = false;
for (let i = 0; i < text.length; i++) {
  const c = text[i];
  if (inString) {
    if (escaped) escaped = false;
    else if (c === "\\") escaped = true;
    else if (c === '"') inString = false;
    continue;
  }
  if (c === '"') inString = true;
  else if (c === "{") { if (depth++ === 0) start = i; }
  else if (c === "}" && --depth === 0) objects.push(JSON.parse(text.slice(start, i + 1)));
}
const summaries = new Map();
for (const o of objects) if (o.osv) summaries.set(o.osv.id, o.osv.summary ?? "");
const called = new Map(); // id -> {module, fixed}
for (const o of objects) {
  const f = o.finding;
  if (!f || !f.trace?.length || !f.trace[0].function) continue; // imported or required, not called
  called.set(f.osv, { module: f.trace[0].module, version: f.trace[0].version, fixed: f.fixed_version ?? "none" });
}
let failing = 0;
for (const [id, c] of [...called].sort()) {
  const stdlib = c.module === "stdlib" || c.module === "toolchain";
  if (!stdlib) failing++;
  console.log(`${stdlib ? "warning (Go toolchain)" : "VULNERABLE"} ${id} ${c.module}@${c.version}, fixed in ${c.fixed}: ${summaries.get(id)}`);
}
const total = objects.filter((o) => o.finding).length;
console.log(`govulncheck: ${called.size} called vulnerabilities (${failing} in required modules), ${total} findings in all`);
process.exit(failing > 0 ? 1 : 0);
