import { z } from '@hono/zod-openapi';

/** Shared zod schemas of the API: inputs are validated with them and the OpenAPI document is generated from them. */

export const decimal = z.string().regex(/^\d+$/).openapi({ example: '1000000000000000000', description: 'a uint256 as a decimal string' });
export const address = z.string().regex(/^0x[0-9a-f]{40}$/).openapi({ example: '0x5fbdb2315678afecb367f032d93f642f64180aa3' });

export const chamaIdParam = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,77}$/, 'must be a positive whole number (a uint256 in decimal)')
    .openapi({ param: { name: 'id', in: 'path' }, example: '1' }),
});

export const blockNumberQuery = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a block number (a whole number)')
  .transform(Number);

export const contractQuery = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .transform((a) => a.toLowerCase());

export const meta = z
  .object({ chainId: z.number(), indexedBlock: z.number().nullable(), indexedBlockHash: z.string().nullable(), finalizedBlock: z.number().nullable() })
  .openapi('Meta');

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) }).openapi('Error');

export const chamaSchema = z
  .object({
    id: decimal,
    address,
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
