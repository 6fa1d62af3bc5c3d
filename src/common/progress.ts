import cliProgress from 'cli-progress';
import type { Logger } from './logger.ts';

export type Progress = { update(done: number, total?: number): void; stop(): void };

/**
 * Progress of long CLI work: a bar with rate and ETA on a terminal; otherwise (CI, systemd,
 * a pipe) a log line every few seconds, so logs stay one object per line.
 */
export function createProgress({ label, unit, logger, everyMs = 5000, tty = process.stderr.isTTY === true }: { label: string; unit: string; logger: Logger; everyMs?: number; tty?: boolean }): Progress {
  const started = performance.now();
  let total = 0;
  let done = 0;
  if (tty) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(0, 0, { rate: 0 });
    return {
      update(d, t) {
        done = d;
        if (t !== undefined && t !== total) {
          total = t;
          bar.setTotal(t);
        }
        bar.update(d, { rate: Math.round(d / Math.max((performance.now() - started) / 1000, 1e-3)) });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(d, t) {
      done = d;
      if (t !== undefined) total = t;
      const now = performance.now();
      if (now - last < everyMs) return;
      last = now;
      const seconds = (now - started) / 1000;
      const rate = done / Math.max(seconds, 1e-3);
      logger.info({ task: label, done, total, rate_per_s: Math.round(rate), eta_s: total > done && rate > 0 ? Math.round((total - done) / rate) : 0 }, `${label}: progress`);
    },
    stop() {},
  };
}
