import { decodeFunctionResult, encodeFunctionData, parseAbi, type Address } from 'viem';
import type { Rpc } from '../rpc/client.ts';

/** The views of SPEC §1 that verification reads; other contracts need them only to be verified. */
export const chamaViewsAbi = parseAbi([
  'function getChama(uint256 chamaId) view returns (address creator, string name, uint256 contributionAmount, uint256 maxMembers, uint256 memberCount, uint256 currentRound, uint256 totalContributed, uint256 totalPaidOut)',
  'function memberStats(uint256 chamaId, address member) view returns (bool isMember, uint256 position, uint256 contributed, uint256 received)',
  'function chamaCount() view returns (uint256)',
]);

export type ChamaView = { creator: Address; contributionAmount: bigint; maxMembers: bigint; memberCount: bigint; currentRound: bigint; totalContributed: bigint; totalPaidOut: bigint };
export type MemberView = { isMember: boolean; position: bigint; contributed: bigint; received: bigint };

/** Typed `eth_call`s of the views at one block, through the RPC client's checks and retries. */
export function createViews(rpc: Rpc, address: Address, blockNumber: number) {
  async function call<const N extends 'getChama' | 'memberStats' | 'chamaCount'>(functionName: N, args: readonly unknown[]) {
    const data = encodeFunctionData({ abi: chamaViewsAbi, functionName, args } as never);
    const result = await rpc.call({ to: address, data, blockNumber });
    return decodeFunctionResult({ abi: chamaViewsAbi, functionName, data: result } as never) as unknown;
  }
  return {
    async chamaCount(): Promise<bigint> {
      return (await call('chamaCount', [])) as bigint;
    },
    async getChama(id: bigint): Promise<ChamaView> {
      const [creator, , contributionAmount, maxMembers, memberCount, currentRound, totalContributed, totalPaidOut] = (await call('getChama', [id])) as readonly [Address, string, bigint, bigint, bigint, bigint, bigint, bigint];
      return { creator: creator.toLowerCase() as Address, contributionAmount, maxMembers, memberCount, currentRound, totalContributed, totalPaidOut };
    },
    async memberStats(id: bigint, member: Address): Promise<MemberView> {
      const [isMember, position, contributed, received] = (await call('memberStats', [id, member])) as readonly [boolean, bigint, bigint, bigint];
      return { isMember, position, contributed, received };
    },
  };
}
