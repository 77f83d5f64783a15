#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs to run the TypeScript tests on a GPU machine that has no
# Node.js and no network: the compiled tests and library (tsc output) and the runtime packages
# they load (the Node-API headers, uvu, sharp), with their dependencies, as .gpu-kit/kit.tar.xz
# (ignored by git; about 10 MB). Node itself comes from .portable-node/node.xz, which
# ../shared/tools/portable-node.sh makes. Then carry both folders to the GPU machine:
#   scripts/gpu-check.sh "$OUT"    with carry: [".portable-node", ".gpu-kit"]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
kit=.gpu-kit
rm -rf "$kit"
mkdir -p "$kit"
node node_modules/typescript/bin/tsc -p tsconfig.json --outDir "$kit/dist"
# Each package and, recursively, what it depends on, as node would resolve them from here.
packages=$(node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  function visit(name, from) {
    for (let dir = from; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, "node_modules", name);
      if (fs.existsSync(path.join(candidate, "package.json"))) {
        if (seen.has(candidate)) return;
        seen.add(candidate);
        const pkg = JSON.parse(fs.readFileSync(path.join(candidate, "package.json"), "utf8"));
        for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, candidate);
        return;
      }
      if (path.dirname(dir) === dir) return;
    }
  }
  for (const name of ["node-addon-api", "node-api-headers", "uvu", "sharp"]) visit(name, process.cwd());
  console.log([...seen].map((p) => path.relative(process.cwd(), p)).join("\n"));
')
# shellcheck disable=SC2086
tar -cJf "$kit/kit.tar.xz" -C "$kit" dist -C "$root" $packages
rm -rf "$kit/dist"
echo "$kit/kit.tar.xz: $(du -h "$kit/kit.tar.xz" | cut -f1), $(echo "$packages" | wc -l) packages"
