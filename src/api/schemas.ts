import { z } from '@hono/zod-openapi';

/** Shared zod schemas of the API: inputs are validated with them and the OpenAPI document is generated from them. */

const UINT256_MAX = 2n ** 256n - 1n;
/** Runs after the regex check even when it failed (zod keeps checking), so it must not throw on non-digits. */
const fitsUint256 = (v: string) => !/^\d+$/.test(v) || BigInt(v) <= UINT256_MAX;

export const decimal = z.string().regex(/^\d+$/).openapi({ example: '1000000000000000000', description: 'a uint256 as a decimal string' });
export const address = z.string().regex(/^0x[0-9a-f]{40}$/).openapi({ example: '0x5fbdb2315678afecb367f032d93f642f64180aa3' });
export const hash = z.string().regex(/^0x[0-9a-f]{64}$/).openapi({ example: `0x${'ab'.repeat(32)}` });

/** A uint256 in decimal, as a string (inputs: ids). */
export const uint256Input = z
  .string()
  .regex(/^\d{1,78}$/, 'must be a whole number (a uint256 in decimal)')
  .refine(fitsUint256, 'must be at most 2^256 - 1');

export const chamaIdParam = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,77}$/, 'must be a positive whole number (a uint256 in decimal)')
    .refine(fitsUint256, 'must be at most 2^256 - 1')
    .openapi({ param: { name: 'id', in: 'path' }, example: '1' }),
});

export const blockNumberQuery = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a block number (a whole number)')
  .transform(Number);

/** A round: rounds count from 1 and are JSON numbers. */
export const roundQuery = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, 'must be a round number (a whole number from 1)')
  .transform(Number);

/** An address in any case; lower-cased. */
export const addressInput = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .transform((a) => a.toLowerCase());

export const contractQuery = addressInput;

export const meta = z
  .object({ chainId: z.number(), indexedBlock: z.number().nullable(), indexedBlockHash: z.string().nullable(), finalizedBlock: z.number().nullable() })
  .openapi('Meta');

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) }).openapi('Error');

/** The error responses most routes can give. */
export const errorResponses = {
  400: { description: 'bad input', content: { 'application/json': { schema: errorSchema } } },
} as const;
export const notFoundResponse = { 404: { description: 'not found', content: { 'application/json': { schema: errorSchema } } } } as const;

export const chamaSchema = z
  .object({
    id: decimal,
    address: address.openapi({ description: 'the contract' }),
    creator: address.nullable(),
    name: z.string().nullable(),
    contributionAmount: decimal.nullable(),
    maxMembers: decimal.nullable(),
    memberCount: z.number(),
    currentRound: z.number(),
    totalContributed: decimal,
    totalPaidOut: decimal,
    balance: decimal,
    createdAtBlock: z.number().nullable(),
    updatedAtBlock: z.number(),
  })
  .openapi('Chama');

export const memberSchema = z
  .object({
    chamaId: decimal,
    address: address.openapi({ description: 'the member' }),
    position: z.number().openapi({ description: 'join order from 1; 0 when the join lies before the indexed range' }),
    joinedAtBlock: z.number(),
    totalContributed: decimal,
    totalReceived: decimal,
    contributions: z.number(),
  })
  .openapi('Member');

const transfer = {
  amount: decimal,
  round: z.number(),
  timestamp: z.number().openapi({ description: 'block timestamp, unix seconds' }),
  blockNumber: z.number(),
  txHash: hash,
  logIndex: z.number(),
};

export const contributionSchema = z.object({ chamaId: decimal, contributor: address, ...transfer }).openapi('Contribution');
export const payoutSchema = z.object({ chamaId: decimal, recipient: address, ...transfer }).openapi('Payout');

export const membershipSchema = z
  .object({
    contract: address,
    chamaId: decimal,
    position: z.number(),
    joinedAtBlock: z.number(),
    totalContributed: decimal,
    totalReceived: decimal,
    contributions: z.number(),
  })
  .openapi('Membership');

export const accountSchema = z
  .object({
    address,
    chamas: z.number().openapi({ description: 'how many chamas the address joined' }),
    totalContributed: decimal,
    totalReceived: decimal,
    memberships: z.array(membershipSchema),
  })
  .openapi('Account');

export const eventNames = ['ChamaCreated', 'MemberJoined', 'ContributionMade', 'PayoutProcessed'] as const;

export const eventSchema = z
  .object({
    chainId: z.number(),
    blockNumber: z.number(),
    blockHash: hash,
    logIndex: z.number(),
    txHash: hash,
    address,
    event: z.enum(eventNames),
    args: z.record(z.string(), z.string()).openapi({ description: 'decoded arguments; uint256 values as decimal strings, addresses lower-case' }),
  })
  .openapi('Event');

export const statusSchema = z
  .object({
    state: z.enum(['syncing', 'live', 'paused', 'error']),
    chainId: z.number(),
    headBlock: z.number().nullable(),
    indexedBlock: z.number().nullable(),
    indexedBlockHash: z.string().nullable(),
    finalizedBlock: z.number().nullable(),
    lagBlocks: z.number().nullable(),
    eventsTotal: z.number(),
    lastReorg: z
      .object({ depth: z.number(), forkBlock: z.number(), oldHash: z.string(), newHash: z.string(), orphanedEvents: z.number(), detectedAt: z.string() })
      .nullable(),
  })
  .openapi('Status');
