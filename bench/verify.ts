/**
 * Time of `verify` over N chamas of the reference contract on anvil (issue 4's figure): builds
 * the chamas (create, joins, one full round each), indexes them into a fresh PostgreSQL
 * database, then times verifyChain over all of them at the indexed block.
 *
 * @example npx tsx bench/verify.ts [--chamas 1000]
 */
import { parseArgs } from 'node:util';
import { parseEther } from 'viem';
import { pino } from 'pino';
import { createIndexer } from '../src/indexer/index.ts';
import { verifyChain } from '../src/operator/verify.ts';
import { rebuildProjections } from '../src/projections/engine.ts';
import { createRpc } from '../src/rpc/client.ts';
import { migrate, openDb } from '../src/store/db.ts';
import { startTestChain } from '../test/helpers/chain.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../test/helpers/db.ts';

const { values } = parseArgs({ options: { chamas: { type: 'string', default: '1000' } } });
const count = Number(values.chamas);
const logger = pino({ level: 'silent' });
// anvil slows down per mined block as its history grows unless it prunes it; views are read at the head.
const chain = await startTestChain({ args: ['--prune-history'] });
const url = await createPostgresDatabase();
const db = await openDb({ databaseUrl: url });
try {
  await migrate(db);
  let started = performance.now();
  const accounts = chain.accounts;
  for (let i = 0; i < count; i++) {
    const members = [accounts[i % 10]!, accounts[(i + 1) % 10]!, accounts[(i + 2) % 10]!];
    const { chamaId } = await chain.actions.createChama(`verify ${i}`, parseEther('0.001'), 3n, members[0]!);
    await chain.actions.join(chamaId, members[1]!);
    await chain.actions.join(chamaId, members[2]!);
    for (const m of members) await chain.actions.contribute(chamaId, m);
  }
  process.stdout.write(`built ${count} chamas (${count * 6} transactions) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const rpc = createRpc({ urls: [chain.rpcUrl], logger });
  const address = chain.address.toLowerCase() as `0x${string}`;
  started = performance.now();
  await createIndexer({ db, rpc, chainId: 31337, addresses: [address], startBlock: 0, confirmations: 0, maxReorgDepth: 64, maxBlockRange: 10_000, pollIntervalMs: 100, logger }).syncToHead();
  process.stdout.write(`indexed in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  started = performance.now();
  const report = await verifyChain({ db, rpc, chainId: 31337, addresses: [address], logger, record: false });
  process.stdout.write(`verify: ${report.chamas} chamas, ${report.members} members, ${report.mismatches.length} mismatches, ${report.errors.length} errors in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
  started = performance.now();
  const { events } = await rebuildProjections(db, 31337);
  process.stdout.write(`rebuild: ${events} events in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
} finally {
  await db.close();
  await dropPostgresDatabase(url);
  await chain.stop();
}
