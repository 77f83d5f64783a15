/** A one-line terminal progress bar (steps, loss, it/s, ETA), redrawn in place on a TTY. */

export interface ProgressState {
  label: string;
  done: number;
  total: number;
  loss?: number;
  extra?: string;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(r).padStart(2, '0')}`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly interactive: boolean;
  private width = 24;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.interactive = !!stream.isTTY;
  }

  /** Redraws (at most 10 times a second on a TTY; one line per call otherwise when `force`). */
  update(state: ProgressState, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const elapsed = (now - this.started) / 1000;
    const rate = state.done / Math.max(elapsed, 1e-9);
    const eta = (state.total - state.done) / Math.max(rate, 1e-9);
    const filled = Math.round((this.width * state.done) / Math.max(1, state.total));
    const bar = '#'.repeat(filled) + '.'.repeat(this.width - filled);
    const line = `${state.label} [${bar}] ${state.done}/${state.total}${state.loss !== undefined ? ` loss ${state.loss.toFixed(4)}` : ''} ${rate.toFixed(2)} it/s ETA ${clock(eta)}${state.extra ? ` ${state.extra}` : ''}`;
    if (this.interactive) this.stream.write(`\r\x1b[2K${line}`);
    else if (force) this.stream.write(`${line}\n`);
  }

  finish(): void {
    if (this.interactive) this.stream.write('\n');
  }
}
