#!/usr/bin/env node
// Builds the native addon on `npm install`: cmake-js from CMakeLists.txt (CPU backend always, CUDA
// when a CUDA compiler and cuBLAS are found), else node-gyp from binding.gyp (CPU only). Nothing is
// downloaded: Node-API headers come from the node-api-headers package.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const addon = join(root, 'build', 'Release', 'sam_cobot.node');
const force = process.argv.includes('--force');

if (!force && existsSync(addon) && process.env.SAM_COBOT_REBUILD !== '1') {
  console.log(`sam-cobot: ${addon} exists (npm run build:native rebuilds it)`);
  process.exit(0);
}

function run(command, args) {
  console.log(`sam-cobot: ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env }).status === 0;
}

const cmakeArgs = [];
if (process.env.SAM_COBOT_CUDA === '0') cmakeArgs.push('--CDSAM_COBOT_CUDA=OFF');
if (process.env.SAM_COBOT_CUBLAS_ROOT) cmakeArgs.push(`--CDSAM_COBOT_CUBLAS_ROOT=${process.env.SAM_COBOT_CUBLAS_ROOT}`);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const parallel = process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? '2';
if (run(process.execPath, [cmakeJs, 'compile', '--parallel', parallel, ...cmakeArgs])) process.exit(0);

console.warn('sam-cobot: cmake-js failed; trying node-gyp (CPU backend only)');
const npmDir = dirname(dirname(process.env.npm_execpath ?? ''));
const gyp = [join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'].find(existsSync);
if (gyp && run(process.execPath, [gyp, 'rebuild', '--nodedir', dirname(dirname(process.execPath))])) process.exit(0);
console.error('sam-cobot: the native build failed. Install CMake >= 3.19 and a C++17 compiler (g++ >= 9 or clang >= 10), then run `npm run build:native`.');
process.exit(1);
