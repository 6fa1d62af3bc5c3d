import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyStream } from '../src/store/bulk.ts';
import { eventsOfChamas, insertEvents } from '../src/store/events.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { synthesize } from './helpers/synthetic.ts';

describe.each(['postgres', 'pglite'] as const)('bulk event writes on %s', (kind) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(() => db?.drop());

  it(kind === 'postgres' ? 'go through COPY and round-trip any string' : 'go through a JSON recordset and round-trip any string', async () => {
    const { events } = synthesize([{ kind: 'create', pick: 0, size: 0 }, { kind: 'join', pick: 0, size: 1 }], { chainId: 5, firstBlock: 1, fork: 'copy' });
    const created = events[0]!;
    if (created.event !== 'ChamaCreated') throw new Error('expected a creation first');
    created.args.name = 'tab\there, newline\nthere, backslash \\ and "quotes", \\N, ünïcødé 🎉';
    await db.orm.transaction(async (tx) => {
      expect(copyStream(tx) !== undefined).toBe(kind === 'postgres');
      await insertEvents(tx, events);
    });
    expect(await eventsOfChamas(db.orm, 5, [{ address: created.address, chamaId: created.args.chamaId }])).toEqual(events);
  });
});
