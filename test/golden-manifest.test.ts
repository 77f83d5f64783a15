/**
 * test/golden/ is a byte-identical copy of the shared golden data: every file matches its own
 * MANIFEST.sha256 (always checked, so a fresh clone notices a damaged copy), and when ../shared
 * exists beside the repository the copy's manifest equals the shared one and no file is missing
 * or extra. `npm run golden:sync` refreshes the copy.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goldenRoot } from './helpers/golden.js';

const repositoryRoot = join(goldenRoot, '..', '..');
const sharedGolden = join(repositoryRoot, '..', 'shared', 'golden');

function manifest(folder: string): Map<string, string> {
  const entries = readFileSync(join(folder, 'MANIFEST.sha256'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [hash, path] = line.trim().split(/\s+/);
      return [path!.replace(/^\.\//, ''), hash!] as const;
    });
  return new Map(entries);
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true })
    .map((name) => join(folder, String(name)))
    .filter((path) => statSync(path).isFile())
    .map((path) => relative(folder, path).split(sep).join('/'))
    .sort();
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

test('every file of test/golden matches its MANIFEST.sha256, and nothing is unlisted', () => {
  const listed = manifest(goldenRoot);
  assert.ok(listed.size > 20, `${listed.size} manifest entries`);
  for (const [path, hash] of listed) assert.is(sha256(join(goldenRoot, path)), hash, `${path} (run npm run golden:sync)`);
  assert.equal(filesUnder(goldenRoot).filter((f) => f !== 'MANIFEST.sha256'), [...listed.keys()].sort());
});

test('test/golden is the same data as ../shared/golden', () => {
  if (!existsSync(join(sharedGolden, 'MANIFEST.sha256'))) {
    console.log(`  (skipped: ${sharedGolden} is absent; the copy was checked against its own manifest)`);
    return;
  }
  assert.equal(readFileSync(join(goldenRoot, 'MANIFEST.sha256')), readFileSync(join(sharedGolden, 'MANIFEST.sha256')), 'manifests differ: run npm run golden:sync');
  const shared = manifest(sharedGolden);
  for (const [path, hash] of shared) assert.is(sha256(join(goldenRoot, path)), hash, `${path} differs from ../shared/golden (run npm run golden:sync)`);
});

test.run();
