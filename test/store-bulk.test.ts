import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRows, runBulk, upsertRows } from '../src/store/bulk.ts';
import { rows } from '../src/store/db.ts';
import type { ChamaEvent } from '../src/decode/event.ts';
import { eventCopy, eventReadList, eventsOfChamas, insertEvents, transfersOfChama } from '../src/store/events.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { encodeLog, synthesize } from './helpers/synthetic.ts';

describe.each(['postgres', 'pglite'] as const)('bulk writes on %s', (kind) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(() => db?.drop());

  it('events round-trip, a name with any character included (it lives in the raw data)', async () => {
    const { events } = synthesize([{ kind: 'create', pick: 0, size: 0 }, { kind: 'join', pick: 0, size: 1 }], { chainId: 5, firstBlock: 1, fork: 'copy' });
    const created = events[0]!;
    if (created.event !== 'ChamaCreated') throw new Error('expected a creation first');
    created.args.name = 'tab\there, newline\nthere, backslash \\ and "quotes", \\N, ünïcødé 🎉';
    Object.assign(created, encodeLog(created));
    await db.orm.transaction((tx) => insertEvents(tx, events));
    expect(await eventsOfChamas(db.orm, 5, [{ address: created.address, chamaId: created.args.chamaId }])).toEqual(events);
  });

  it('topics are stored only when they are not the canonical ones, and read back the same either way', async () => {
    const { events } = synthesize([{ kind: 'create', pick: 0, size: 0 }, { kind: 'join', pick: 0, size: 1 }, { kind: 'join', pick: 0, size: 2 }], { chainId: 6, firstBlock: 1, fork: 'topics' });
    // Valid, but not how a conforming contract writes them: upper-case hex in the account topic.
    const odd = events[2]!;
    if (odd.event !== 'MemberJoined') throw new Error('expected a join');
    odd.args.member = '0x00000000000000000000000000000000000000ab';
    Object.assign(odd, encodeLog(odd));
    odd.topics = [odd.topics[0]!, odd.topics[1]!, odd.topics[2]!.replace(/ab$/, 'AB') as `0x${string}`];
    await db.orm.transaction((tx) => insertEvents(tx, events));
    const stored = await rows<{ log_index: number; topics: string[] | null }>(db.orm, sql`SELECT log_index, topics FROM events WHERE chain_id = 6 ORDER BY block_number, log_index`);
    expect(stored.map((r) => r.topics)).toEqual([null, null, odd.topics]);
    expect(await eventsOfChamas(db.orm, 6, [{ address: odd.address, chamaId: odd.args.chamaId }])).toEqual(events);
  });

  /** The events by COPY, as the backfill writer sends them: the format's start, then the ranges' rows. */
  const copyIn = async (...ranges: ChamaEvent[][]) => {
    const tx = db.begin();
    const writes = ranges.filter((events) => events.length > 0).map((events) => eventCopy(events)!);
    const copy = tx.copy(writes[0]!.copy);
    await copy.write(writes[0]!.start);
    for (const write of writes) await copy.write(write.data);
    void copy.end();
    await tx.commit([]);
  };
  const storedRows = (chainId: number) =>
    rows(db.orm, sql`SELECT ${eventReadList('', ['block_number', 'block_hash', 'log_index', 'tx_hash', 'tx_index', 'address', 'event'])}, chama_id::text, account, topics, ${eventReadList('', ['data'])} FROM events WHERE chain_id = ${chainId} ORDER BY block_number, log_index`);

  it.runIf(kind === 'postgres')('events copied in hold every value as the INSERT stores it, whatever the sizes and repeats', async () => {
    const { events } = synthesize([{ kind: 'create', pick: 0, size: 0 }, { kind: 'join', pick: 0, size: 1 }], { chainId: 1, firstBlock: 1, fork: 'digits' });
    const joined = events[1]!;
    const count = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 2 ** 32 + 1 }), fc.maxSafeNat());
    const chamaId = fc.oneof(
      fc.bigInt({ min: 0n, max: 3n }),
      fc.constantFrom(9_999n, 10_000n, 10_001n, 100_000_000n, 10n ** 77n, 2n ** 256n - 1n),
      fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
      fc.integer({ min: 1, max: 19 }).map((zeros) => 7n * 10n ** BigInt(zeros)),
    );
    // Mostly one value, so that rows next to each other often share a transaction's fields, or
    // all of them but one (which the writer must not take for the row before's).
    const mostly = <T,>(common: T, other: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(common), weight: 6 }, { arbitrary: other, weight: 1 });
    const [hashA, hashB] = [`0x${'1'.repeat(64)}`, `0x${'2'.repeat(64)}`] as const;
    const row = fc.record({
      blockNumber: mostly(7, count),
      logIndex: count,
      txIndex: mostly(0, count),
      chamaId: mostly(5n, chamaId),
      blockHash: fc.constantFrom(hashA, hashB),
      txHash: mostly(hashA, fc.constant(hashB)),
      address: mostly(joined.address, fc.constant('0x00000000000000000000000000000000000000c0' as const)),
      // Data that repeats the row before's (which the writer copies), as the same string or an
      // equal one, or differs from it, in length too.
      data: fc.constantFrom(joined.data, (joined.data.slice(0, 9) + joined.data.slice(9)) as `0x${string}`, '0x' as const, `0x${'ab'.repeat(96)}` as const, `0x${'AB'.repeat(96)}` as const),
    });
    let chainId = 100;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(row, { minLength: 1, maxLength: 8, selector: (r) => `${r.blockNumber}:${r.logIndex}` }), fc.integer({ min: 1, max: 3 }), async (values, split) => {
        chainId += 2;
        const story = (id: number) => values.map(({ chamaId, ...position }) => ({ ...joined, chainId: id, ...position, args: { ...joined.args, chamaId } }) as typeof joined);
        const copied = story(chainId);
        await copyIn(copied.slice(0, split), copied.slice(split));
        await db.orm.transaction((t) => insertEvents(t, story(chainId + 1)));
        expect(await storedRows(chainId)).toEqual(await storedRows(chainId + 1));
      }),
      { numRuns: 60 },
    );
  });

  it.runIf(kind === 'postgres')('events copied in (the backfill writer) are stored exactly as the INSERT stores them', async () => {
    const story = (chainId: number) => {
      const { events } = synthesize([{ kind: 'create', pick: 0, size: 0 }, { kind: 'join', pick: 0, size: 1 }, { kind: 'join', pick: 0, size: 2 }, { kind: 'contribute', pick: 0, size: 0 }], { chainId, firstBlock: 1, fork: 'copy-in' });
      // Topics that are not the canonical ones are stored: they go as an array in the COPY rows.
      const odd = events[2]!;
      if (odd.event !== 'MemberJoined') throw new Error('expected a join');
      odd.args.member = '0x00000000000000000000000000000000000000ab';
      Object.assign(odd, encodeLog(odd));
      odd.topics = [odd.topics[0]!, odd.topics[1]!, odd.topics[2]!.replace(/ab$/, 'AB') as `0x${string}`];
      return events;
    };
    const copied = story(41);
    await copyIn(copied);
    await db.orm.transaction((t) => insertEvents(t, story(42)));
    const byCopy = await storedRows(41);
    expect(byCopy).toHaveLength(copied.length);
    expect(byCopy).toEqual(await storedRows(42));
    expect((byCopy[2] as { topics: string[] | null }).topics).toEqual(copied[2]!.topics);
    const created = copied[0]!;
    expect(await eventsOfChamas(db.orm, 41, [{ address: created.address, chamaId: created.args.chamaId }])).toEqual(copied);
  });

  it("a chama's contributions come from its events, filtered by round (in any hex case), account and position", async () => {
    const choices = [{ kind: 'create', pick: 0, size: 0 }, ...[1, 2].map((size) => ({ kind: 'join', pick: 0, size }) as const), ...[1, 2, 3, 4, 5, 6].map((size) => ({ kind: 'contribute', pick: 0, size }) as const)] as const;
    const { events } = synthesize(choices as never, { chainId: 8, firstBlock: 1, fork: 'transfers' });
    const paid = events.filter((e) => e.event === 'ContributionMade');
    expect(paid.length).toBeGreaterThanOrEqual(4);
    // Rounds whose words differ only past the last hex digit, and one log in upper-case hex.
    [16n, 255n, 256n, 255n].forEach((round, i) => {
      const e = paid[i]!;
      if (e.event !== 'ContributionMade') return;
      e.args.round = round;
      Object.assign(e, encodeLog(e));
    });
    paid[3]!.data = paid[3]!.data.toUpperCase().replace(/^0X/, '0x') as `0x${string}`;
    await db.orm.transaction((tx) => insertEvents(tx, events));
    const chama = { address: paid[0]!.address, chamaId: (paid[0]!.args as { chamaId: bigint }).chamaId };
    const all = await transfersOfChama(db.orm, 8, { ...chama, event: 'ContributionMade', limit: 100 });
    expect(all.map((t) => [t.blockNumber, t.logIndex, t.args.round])).toEqual(paid.map((e) => [e.blockNumber, e.logIndex, (e.args as { round: bigint }).round]));
    for (const round of [16, 255, 256, 1, 4096]) {
      const got = await transfersOfChama(db.orm, 8, { ...chama, event: 'ContributionMade', round, limit: 100 });
      expect(got).toEqual(all.filter((t) => t.args.round === BigInt(round)));
    }
    const who = all[1]!.args.contributor;
    expect(await transfersOfChama(db.orm, 8, { ...chama, event: 'ContributionMade', account: who, limit: 100 })).toEqual(all.filter((t) => t.args.contributor === who));
    const after = [all[1]!.blockNumber, all[1]!.logIndex] as const;
    expect(await transfersOfChama(db.orm, 8, { ...chama, event: 'ContributionMade', after, limit: 2 })).toEqual(all.slice(2, 4));
    const payouts = await transfersOfChama(db.orm, 8, { ...chama, event: 'PayoutProcessed', limit: 100 });
    expect(payouts.map((t) => [t.blockNumber, t.logIndex])).toEqual(events.filter((e) => e.event === 'PayoutProcessed').map((e) => [e.blockNumber, e.logIndex]));
  });

  it('array parameters carry awkward strings, empty arrays and big numbers unchanged', async () => {
    await db.orm.execute(sql`CREATE TABLE awkward (id int8, label text, tags text[], amount numeric(78,0), delta int8)`);
    const labels = ['plain', '', 'NULL', 'null', 'a,b', '{x}', 'say "hi"', 'back\\slash', 'tab\tand\nnewline', ' spaced ', 'ünï🎉', null];
    const items = labels.map((label, i) => ({ id: i, label, tags: i % 3 === 2 ? null : i % 2 ? [`0x${i}`, '0xff'] : [], amount: 2n ** 255n + BigInt(i), delta: i % 4 === 0 ? null : i - 5 }));
    await db.orm.transaction((tx) => runBulk(tx, [appendRows('awkward', [['id', 'int8'], ['label', 'text'], ['tags', 'text[]'], ['amount', 'numeric'], ['delta', 'int8']], items, (r) => [r.id, r.label, r.tags, r.amount, r.delta])]));
    const back = await rows<{ id: number; label: string | null; tags: string[] | null; amount: string; delta: number | null }>(db.orm, sql`SELECT id, label, tags, amount::text AS amount, delta FROM awkward ORDER BY id`);
    expect(back.map((r) => ({ id: Number(r.id), label: r.label, tags: r.tags, amount: BigInt(r.amount), delta: r.delta === null ? null : Number(r.delta) }))).toEqual(items);

    // The same rows again, as upserts on the key: every value replaced, awkward ones included.
    await db.orm.execute(sql`ALTER TABLE awkward ADD PRIMARY KEY (id)`);
    const changed = items.map((r, i) => ({ ...r, label: items[(i + 1) % items.length]!.label, amount: BigInt(i), delta: i % 3 === 0 ? null : -i }));
    await db.orm.transaction((tx) => runBulk(tx, [upsertRows('awkward', [['id', 'int8'], ['label', 'text'], ['tags', 'text[]'], ['amount', 'numeric'], ['delta', 'int8']], ['id'], changed, (r) => [r.id, r.label, r.tags, r.amount, r.delta])]));
    const again = await rows<{ id: number; label: string | null; tags: string[] | null; amount: string; delta: number | null }>(db.orm, sql`SELECT id, label, tags, amount::text AS amount, delta FROM awkward ORDER BY id`);
    expect(again.map((r) => ({ id: Number(r.id), label: r.label, tags: r.tags, amount: BigInt(r.amount), delta: r.delta === null ? null : Number(r.delta) }))).toEqual(changed);
  });

  it('a single row goes as arrays of one element, whatever its first value', async () => {
    await db.orm.execute(sql`CREATE TABLE single (label text, id int8, hash text)`);
    for (const [i, label] of ['', 'a,b', 'say "hi"', null, 'plain'].entries()) {
      await db.orm.transaction((tx) => runBulk(tx, [appendRows('single', [['label', 'text'], ['id', 'int8'], ['hash', 'hex']], [{ label, id: i }], (r) => [r.label, r.id, `0x${r.id}`])]));
    }
    const back = await rows<{ label: string | null; id: string; hash: string }>(db.orm, sql`SELECT label, id::text AS id, hash FROM single ORDER BY id`);
    expect(back).toEqual(['', 'a,b', 'say "hi"', null, 'plain'].map((label, i) => ({ label, id: String(i), hash: `0x${i}` })));
  });

  it('a column with one value in every row (it travels once) gives each row that value, awkward ones and duplicate rows included', async () => {
    const columns = [['id', 'int8'], ['label', 'text'], ['tags', 'text[]'], ['amount', 'numeric'], ['delta', 'int8']] as const;
    await db.orm.execute(sql`CREATE TABLE constant (id int8, label text, tags text[], amount numeric(78,0), delta int8)`);
    const read = async () =>
      (await rows<{ id: string; label: string | null; tags: string[] | null; amount: string | null; delta: string | null }>(db.orm, sql`SELECT id::text, label, tags, amount::text AS amount, delta::text FROM constant ORDER BY id, label`)).map((r) => [
        Number(r.id),
        r.label,
        r.tags,
        r.amount === null ? null : BigInt(r.amount),
        r.delta === null ? null : Number(r.delta),
      ]);
    for (const [label, tags, amount] of [['say "hi", {x}', ['0xab', '0xcd'], 2n ** 255n], ['', [], 0n], [null, null, null]] as const) {
      await db.orm.execute(sql`DELETE FROM constant`);
      // Every column constant but the id; then every column constant (three equal rows).
      const varied = [1, 2, 3].map((id) => [id, label, tags, amount, null] as const);
      const same = [7, 7, 7].map((id) => [id, label, tags, amount, -1] as const);
      await db.orm.transaction((tx) => runBulk(tx, [appendRows('constant', columns, varied, (r) => [...r]), appendRows('constant', columns, same, (r) => [...r])]));
      expect(await read()).toEqual([...varied, ...same].map((r) => [...r]));
    }
  });

  // Unprepared, each statement would wait for its parameter types before it could run, so a
  // batch's statements could not be pipelined (see `prepared` in store/db.ts).
  it.runIf(kind === 'postgres')('statements with parameters run prepared, in transactions too, and without JIT', async () => {
    const seen = await db.orm.transaction(async (tx) => {
      await rows(tx, sql`SELECT ${42}::int8 AS answer`);
      return rows<{ statement: string }>(tx, sql`SELECT statement FROM pg_prepared_statements WHERE statement LIKE ${'%AS answer%'}`);
    });
    expect(seen.length).toBeGreaterThan(0);
    // And never JIT-compiled (see openPostgres).
    expect(await rows<{ jit: string }>(db.orm, sql`SHOW jit`)).toEqual([{ jit: 'off' }]);
  });
});
