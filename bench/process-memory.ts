/** This process's resident memory from /proc (Linux), for the benchmarks' peak-memory columns. */
import { readFileSync, writeFileSync } from 'node:fs';

export function statusBytes(field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`no ${field} in /proc/self/status`);
  return Number(line.split(/\s+/)[1]) * 1024;
}

/** Resets VmHWM to the current resident size (Linux clear_refs 5); false where not allowed. */
export function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
