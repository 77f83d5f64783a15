#!/usr/bin/env node
// Runs one benchmark: `npm run bench -- <name> [--quick] [...]` (npm compiles the TypeScript first).
// A bench is bench/<name>.ts (run as dist/bench/<name>.js), bench/<name>.mjs or bench/<name>.py;
// every argument after the name is passed on. Each bench prints `RESULT ...` lines and writes its
// JSON to bench/results/ (bench/report.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);

function available() {
  const names = readdirSync(join(root, 'bench'))
    .filter((f) => /\.(ts|mjs|py)$/.test(f) && !f.endsWith('.d.ts') && f !== 'report.ts')
    .map((f) => f.replace(/\.(ts|mjs|py)$/, ''));
  return [...new Set(names)].sort().join(', ');
}

if (!name || name.startsWith('-')) {
  console.error(`usage: npm run bench -- <name> [--quick]\nbenches: ${available()}`);
  process.exit(2);
}

const candidates = [
  { source: join(root, 'bench', `${name}.ts`), command: process.execPath, script: join(root, 'dist', 'bench', `${name}.js`) },
  { source: join(root, 'bench', `${name}.mjs`), command: process.execPath, script: join(root, 'bench', `${name}.mjs`) },
  { source: join(root, 'bench', `${name}.py`), command: 'python3', script: join(root, 'bench', `${name}.py`) },
];
const bench = candidates.find((c) => existsSync(c.source));
if (!bench) {
  console.error(`sam-cobot bench: no bench named "${name}" (benches: ${available()})`);
  process.exit(2);
}
if (!existsSync(bench.script)) {
  console.error(`sam-cobot bench: ${bench.script} is missing: compile first (npm run bench compiles with tsc)`);
  process.exit(2);
}
const result = spawnSync(bench.command, [bench.script, ...args], { cwd: root, stdio: 'inherit', env: process.env });
if (result.error) {
  console.error(`sam-cobot bench: could not run ${bench.command}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
