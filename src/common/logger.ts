import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON object per line, snake_case fields; bigints are printed as decimal strings. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'chama-indexer' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const [first, ...rest] = args;
          if (first && typeof first === 'object') {
            method.apply(this, [toPrintable(first) as object, ...(rest as [string])]);
          } else {
            method.apply(this, args);
          }
        },
      },
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

function toPrintable(o: object): object {
  if (o instanceof Error) return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out;
}
