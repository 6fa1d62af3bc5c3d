import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A pino log line of the indexer: one JSON object. */
export type LogLine = { msg: string; level: string; [field: string]: unknown };

/**
 * The real CLI (`node bin/chama-indexer.js <command>`) as a child process: its log lines
 * (pino writes them to stderr) are parsed and handed to listeners, its memory is sampled.
 */
export type IndexerChild = {
  pid: number;
  /** Resolves with the first log line that matches. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine & { at: number }>;
  onLine(listener: (line: LogLine, at: number) => void): () => void;
  /** SIGTERM, then wait for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
  /** The last lines of output, for error messages. */
  tail(): string;
  /**
   * Garbage collections the child reported (run with `--trace-gc-nvp`), by kind: count, pause
   * ms, and bytes promoted to the old generation (what outlived two scavenges: the cost that
   * a noisy host's timings hide).
   */
  gc: Map<string, { count: number; ms: number; promoted: number }>;
};

/** A `--trace-gc-nvp` line: `[pid:0x…]  1234 ms: pause=4.5 mutator=30.1 gc=s … promoted=701624 …`. */
const gcLine = / pause=([\d.]+) .* gc=(\w+) .* promoted=(\d+) /;
const gcKinds: Record<string, string> = { s: 'Scavenge', mc: 'Mark-Compact', mmc: 'Minor Mark-Sweep' };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function spawnIndexer(command: string[], env: Record<string, string>, { nodeArgs = [] as string[] } = {}): IndexerChild {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin/chama-indexer.js'), ...command], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const listeners = new Set<(line: LogLine, at: number) => void>();
  const gc = new Map<string, { count: number; ms: number; promoted: number }>();
  const recent: string[] = [];
  const keep = (text: string) => {
    recent.push(text);
    if (recent.length > 40) recent.shift();
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (text) => {
      const at = performance.now();
      keep(text);
      if (!text.startsWith('{')) {
        const collected = gcLine.exec(text);
        if (collected) {
          const name = gcKinds[collected[2]!] ?? collected[2]!;
          const kind = gc.get(name) ?? { count: 0, ms: 0, promoted: 0 };
          kind.count++;
          kind.ms += Number(collected[1]);
          kind.promoted += Number(collected[3]);
          gc.set(name, kind);
        }
        return;
      }
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      for (const listener of listeners) listener(line, at);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const tail = () => recent.slice(-15).join('\n');
  return {
    pid: child.pid!,
    exited,
    gc,
    tail,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitFor(match, timeoutMs = 600_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`timed out waiting for the indexer; last output:\n${tail()}`));
        }, timeoutMs);
        const off = (() => {
          const listener = (line: LogLine, at: number) => {
            if (!match(line)) return;
            clearTimeout(timer);
            off();
            resolve({ ...line, at });
          };
          listeners.add(listener);
          return () => listeners.delete(listener);
        })();
        void exited.then((code) => {
          clearTimeout(timer);
          off();
          reject(new Error(`the indexer exited (code ${code}) before the awaited log line; last output:\n${tail()}`));
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Resident memory of a process in MB, now (VmRSS) and at its peak (VmHWM), from /proc. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user + system, all threads) a process has used; with `children`, also those of
 * its children that have exited (a PostgreSQL backend's time goes to the postmaster when it
 * ends). Unlike wall time it leaves out time the host gave to other machines (steal), so it
 * compares runs on a noisy machine.
 */
function cpuSeconds(stat: string, children: boolean): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 of proc(5): utime is field 14, stime 15, cutime 16, cstime 17.
  const own = Number(fields[11]) + Number(fields[12]);
  return (children ? own + Number(fields[13]) + Number(fields[14]) : own) / ticksPerSecond;
}

export function cpuSecondsOf(pid: number): number {
  try {
    return cpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'), false);
  } catch {
    return NaN;
  }
}

/** CPU seconds of every process named `name` (e.g. postgres), exited children included. */
export function cpuSecondsOfAll(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === name) total += cpuSeconds(stat, true);
    } catch {
      // the process ended between the listing and the read
    }
  }
  return total;
}
