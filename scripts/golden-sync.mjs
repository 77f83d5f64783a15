#!/usr/bin/env node
/**
 * `npm run golden:sync [-- --from <folder>]`: makes test/golden/ a byte-identical copy of the
 * shared golden data (default: ../shared/golden beside the repository), then verifies every file
 * against the copied MANIFEST.sha256. Files in test/golden/ that the source lacks are removed, so
 * the copy never keeps stale data. The tests read test/golden/ so that a fresh clone passes
 * without ../shared; test/golden-manifest.test.ts checks the copy whenever ../shared exists.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fromFlag = process.argv.indexOf('--from');
const source = fromFlag > 0 ? resolve(process.argv[fromFlag + 1] ?? '') : resolve(root, '..', 'shared', 'golden');
const target = join(root, 'test', 'golden');

/** Relative paths (with '/') of every file under `folder`. */
function listFiles(folder) {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true })
    .map((name) => join(folder, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => relative(folder, path).split(sep).join('/'))
    .sort();
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

if (!existsSync(join(source, 'MANIFEST.sha256'))) {
  console.error(`golden:sync: no MANIFEST.sha256 in ${source}; pass --from <folder> with the shared golden data.`);
  process.exit(1);
}

const wanted = listFiles(source);
let copied = 0;
for (const name of wanted) {
  const from = join(source, name);
  const to = join(target, name);
  if (existsSync(to) && sha256(to) === sha256(from)) continue;
  mkdirSync(dirname(to), { recursive: true });
  // The shared files are read-only; the copy must stay writable for the next sync.
  rmSync(to, { force: true });
  copyFileSync(from, to);
  chmodSync(to, 0o644);
  copied++;
}
const stale = listFiles(target).filter((name) => !wanted.includes(name));
for (const name of stale) rmSync(join(target, name));

const manifest = readFileSync(join(target, 'MANIFEST.sha256'), 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => {
    const [hash, path] = line.trim().split(/\s+/);
    return { hash, path: path.replace(/^\.\//, '') };
  });
const bad = manifest.filter(({ hash, path }) => !existsSync(join(target, path)) || sha256(join(target, path)) !== hash);
const unlisted = listFiles(target).filter((name) => name !== 'MANIFEST.sha256' && !manifest.some((m) => m.path === name));
if (bad.length || unlisted.length) {
  for (const { path } of bad) console.error(`golden:sync: ${path} does not match MANIFEST.sha256`);
  for (const path of unlisted) console.error(`golden:sync: ${path} is not listed in MANIFEST.sha256`);
  process.exit(1);
}
console.log(`golden:sync: ${relative(root, target)} matches ${source} (${wanted.length} files, ${copied} copied, ${stale.length} removed); manifest verified.`);
