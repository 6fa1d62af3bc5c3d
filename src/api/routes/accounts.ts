import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { eventsOfAccounts } from '../../store/events.ts';
import { accountsOf, createWorkingSet, foldEvents } from '../../projections/fold.ts';
import { rows, type Db, type Tx } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { dec, num } from '../present.ts';
import { createRouter } from '../router.ts';
import { accountSchema, addressInput, blockNumberQuery, contractQuery, errorResponses, meta } from '../schemas.ts';
import { checkAtBlock, inSnapshot, readWithMeta, withMeta, type Meta } from '../snapshot.ts';

const getAccount = createRoute({
  method: 'get',
  path: '/accounts/{address}',
  summary: "An address across every chama: totals and memberships, now or as of a block",
  description: 'An address the index has never seen answers with zero totals and no memberships.',
  request: {
    params: z.object({ address: addressInput.openapi({ param: { name: 'address', in: 'path' }, type: 'string', example: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266' }) }),
    query: z
      .object({
        atBlock: blockNumberQuery.optional().openapi({ type: 'integer', description: 'state as of this block (at most the indexed block)' }),
        contract: contractQuery.optional().openapi({ type: 'string', description: 'only memberships in this contract' }),
      })
      .strict(),
  },
  responses: {
    200: { description: 'the account', content: { 'application/json': { schema: z.object({ data: accountSchema, meta }) } } },
    ...errorResponses,
  },
});

type Membership = { contract: string; chamaId: string; position: number; joinedAtBlock: number; totalContributed: string; totalReceived: string; contributions: number };
type Account = { address: string; chamas: number; totalContributed: string; totalReceived: string; memberships: Membership[] };

type MemberRaw = { address: string; chama_id: string; position: number; joined_at_block: number; total_contributed: string; total_received: string; contributions: number };

const toMembership = (m: MemberRaw): Membership => ({
  contract: m.address,
  chamaId: dec(m.chama_id),
  position: num(m.position),
  joinedAtBlock: num(m.joined_at_block),
  totalContributed: dec(m.total_contributed),
  totalReceived: dec(m.total_received),
  contributions: num(m.contributions),
});

async function storedMemberships(tx: Tx, chainId: number, account: string, contract: string | undefined): Promise<Membership[]> {
  const found = await rows<MemberRaw>(
    tx,
    sql`SELECT address, chama_id, position, joined_at_block, total_contributed, total_received, contributions FROM members
        WHERE chain_id = ${chainId} AND member = ${account} ${contract ? sql`AND address = ${contract}` : sql``}
        ORDER BY address, chama_id`,
  );
  return found.map(toMembership);
}

/**
 * The account's totals (its member rows summed, across every contract) and memberships as one
 * statement: one round trip, one snapshot with the cursor.
 */
async function currentAccount(db: Db, chainId: number, account: string, contract: string | undefined): Promise<{ data: Account; meta: Meta }> {
  const { rows: [row], meta } = await readWithMeta<{ chamas: number | null; total_contributed: string | null; total_received: string | null; memberships: MemberRaw[] | null }>(
    db,
    chainId,
    sql`SELECT sum(m.joins) AS chamas, sum(m.total_contributed)::text AS total_contributed, sum(m.total_received)::text AS total_received,
          json_agg(json_build_object('address', m.address, 'chama_id', m.chama_id::text, 'position', m.position, 'joined_at_block', m.joined_at_block,
                   'total_contributed', m.total_contributed::text, 'total_received', m.total_received::text, 'contributions', m.contributions) ORDER BY m.address, m.chama_id)
            ${contract ? sql`FILTER (WHERE m.address = ${contract})` : sql``} AS memberships
        FROM members m WHERE m.chain_id = ${chainId} AND m.member = ${account}`,
  );
  const memberships = row?.memberships ?? []; // json: both drivers parse it
  return {
    data: {
      address: account,
      chamas: row?.chamas == null ? 0 : num(row.chamas),
      totalContributed: row?.total_contributed == null ? '0' : dec(row.total_contributed),
      totalReceived: row?.total_received == null ? '0' : dec(row.total_received),
      memberships: memberships.map(toMembership),
    },
    meta,
  };
}

/**
 * Time travel: the fold of the account's own events up to the block. Totals come straight from
 * that fold. A position needs the whole chama's join order, which never changes once made: it is
 * taken from the stored member row when the fold saw the join by that block.
 */
async function accountAtBlock(tx: Tx, chainId: number, account: string, contract: string | undefined, block: number): Promise<Account> {
  const ws = foldEvents(createWorkingSet(), await eventsOfAccounts(tx, chainId, [account], block));
  const acct = accountsOf(ws.members.values()).get(account);
  const stored = new Map((await storedMemberships(tx, chainId, account, contract)).map((m) => [`${m.contract}:${m.chamaId}`, m]));
  const memberships = [...ws.members.values()]
    .filter((m) => !contract || m.address === contract)
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.chamaId < b.chamaId ? -1 : a.chamaId > b.chamaId ? 1 : 0))
    .map((m) => ({
      contract: m.address,
      chamaId: m.chamaId.toString(),
      position: m.position > 0 ? (stored.get(`${m.address}:${m.chamaId}`)?.position ?? 0) : 0,
      joinedAtBlock: m.joinedAtBlock,
      totalContributed: m.totalContributed.toString(),
      totalReceived: m.totalReceived.toString(),
      contributions: m.contributions,
    }));
  return {
    address: account,
    chamas: acct?.chamas ?? 0,
    totalContributed: (acct?.totalContributed ?? 0n).toString(),
    totalReceived: (acct?.totalReceived ?? 0n).toString(),
    memberships,
  };
}

export function registerAccounts(deps: ApiDeps) {
  return createRouter().openapi(getAccount, async (c) => {
    const { address } = c.req.valid('param');
    const { atBlock, contract } = c.req.valid('query');
    const { data, meta } =
      atBlock === undefined
        ? await currentAccount(deps.db, deps.chainId, address, contract)
        : await inSnapshot(deps.db, deps.chainId, async (tx, meta) => {
            checkAtBlock(atBlock, meta);
            return accountAtBlock(tx, deps.chainId, address, contract, atBlock);
          });
    return c.json({ data, meta: withMeta(c, meta) }, 200);
  });
}
