import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ChamaEvent } from './decode/event.ts';
import type { Db } from './store/db.ts';
import { streamEvents } from './store/events.ts';

/** An event as the API and exports show it (SPEC §4 `/events`). */
export function presentEvent(e: ChamaEvent) {
  return {
    chainId: e.chainId,
    blockNumber: e.blockNumber,
    blockHash: e.blockHash,
    logIndex: e.logIndex,
    txHash: e.txHash,
    address: e.address,
    event: e.event,
    args: Object.fromEntries(Object.entries(e.args).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])),
  };
}

export const csvHeader = 'chainId,blockNumber,blockHash,logIndex,txHash,address,event,args\n';

export function csvLine(e: ChamaEvent): string {
  const p = presentEvent(e);
  const args = JSON.stringify(p.args).replaceAll('"', '""');
  return `${p.chainId},${p.blockNumber},${p.blockHash},${p.logIndex},${p.txHash},${p.address},${p.event},"${args}"\n`;
}

/** Streams stored events in chain order; memory stays at one page whatever the range. */
export async function exportEvents(db: Db, chainId: number, options: { format: 'ndjson' | 'csv'; fromBlock?: number | undefined; toBlock?: number | undefined }, out: Writable): Promise<number> {
  let count = 0;
  if (options.format === 'csv') await write(out, csvHeader);
  for await (const page of streamEvents(db.orm, chainId, { pageSize: 5000, fromBlock: options.fromBlock, toBlock: options.toBlock })) {
    const chunk = page.map((e) => (options.format === 'csv' ? csvLine(e) : `${JSON.stringify(presentEvent(e))}\n`)).join('');
    await write(out, chunk);
    count += page.length;
  }
  return count;
}

async function write(out: Writable, chunk: string) {
  if (!out.write(chunk)) await once(out, 'drain');
}
