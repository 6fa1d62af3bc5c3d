import { parseEther, parseEventLogs, type Address, type Hex, type TransactionReceipt } from 'viem';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chamaAbi } from '../src/contracts/chama-abi.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';

/** The reference contract of SPEC §1, exercised on a real anvil; each test starts from a fresh deploy. */

let chain: TestChain;
let snap: Hex;
beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(() => chain?.stop());
beforeEach(async () => {
  snap = await chain.snapshot();
});
afterEach(() => chain.revert(snap));

const events = (receipt: TransactionReceipt) => parseEventLogs({ abi: chamaAbi, logs: receipt.logs });

async function blockTime(receipt: TransactionReceipt): Promise<bigint> {
  return (await chain.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
}

/** Creates a chama by `creator` and has `joiners` join, in that order. */
async function group(creator: Address, joiners: Address[], amount = parseEther('0.5'), maxMembers = BigInt(joiners.length + 1)) {
  const { chamaId } = await chain.actions.createChama('Umoja Savers', amount, maxMembers, creator);
  for (const joiner of joiners) await chain.actions.join(chamaId, joiner);
  return chamaId;
}

describe('createChama', () => {
  it('numbers chamas from 1 and emits ChamaCreated then MemberJoined for the creator', async () => {
    const [alice, bob] = chain.accounts;
    expect(await chain.actions.chamaCount()).toBe(0n);
    const first = await chain.actions.createChama('Umoja', parseEther('0.1'), 3n, alice);
    const second = await chain.actions.createChama('Harambee', parseEther('1'), 2n, bob);
    expect([first.chamaId, second.chamaId]).toEqual([1n, 2n]);
    expect(await chain.actions.chamaCount()).toBe(2n);

    expect(events(first.receipt).map((e) => [e.eventName, e.args])).toEqual([
      ['ChamaCreated', { chamaId: 1n, creator: alice, name: 'Umoja', contributionAmount: parseEther('0.1'), maxMembers: 3n }],
      ['MemberJoined', { chamaId: 1n, member: alice }],
    ]);
    expect(await chain.actions.readChama(1n)).toEqual({
      creator: alice,
      name: 'Umoja',
      contributionAmount: parseEther('0.1'),
      maxMembers: 3n,
      memberCount: 1n,
      currentRound: 1n,
      totalContributed: 0n,
      totalPaidOut: 0n,
    });
    expect(await chain.actions.readMember(1n, alice)).toEqual({ isMember: true, position: 1n, contributed: 0n, received: 0n });
    expect(await chain.actions.readMember(1n, bob)).toEqual({ isMember: false, position: 0n, contributed: 0n, received: 0n });
  });

  it('rejects a zero contribution and fewer than two members', async () => {
    const [alice] = chain.accounts;
    await expect(chain.actions.createChama('x', 0n, 3n, alice)).rejects.toMatchObject({ errorName: 'ZeroContribution' });
    await expect(chain.actions.createChama('x', 1n, 1n, alice)).rejects.toMatchObject({ errorName: 'TooFewMembers' });
    await expect(chain.actions.createChama('x', 1n, 0n, alice)).rejects.toMatchObject({ errorName: 'TooFewMembers' });
    expect(await chain.actions.chamaCount()).toBe(0n);
  });
});

describe('join', () => {
  it('adds members in join order and emits MemberJoined', async () => {
    const [, bob, carol, dave] = chain.accounts;
    const { chamaId } = await chain.actions.createChama('Jamii', parseEther('0.2'), 3n, dave);
    const receipt = await chain.actions.join(chamaId, bob);
    expect(events(receipt).map((e) => [e.eventName, e.args])).toEqual([['MemberJoined', { chamaId, member: bob }]]);
    await chain.actions.join(chamaId, carol);
    expect(await chain.actions.membersOf(chamaId)).toEqual([dave, bob, carol]);
    expect((await chain.actions.readMember(chamaId, carol)).position).toBe(3n);
    expect((await chain.actions.readChama(chamaId)).memberCount).toBe(3n);
  });

  it('reverts for an unknown chama, a full one, an existing member, and after the first contribution', async () => {
    const [alice, bob, carol, dave] = chain.accounts;
    await expect(chain.actions.join(0n, bob)).rejects.toMatchObject({ errorName: 'UnknownChama' });
    await expect(chain.actions.join(7n, bob)).rejects.toMatchObject({ errorName: 'UnknownChama' });

    const full = await group(alice, [bob], parseEther('0.1'), 2n);
    await expect(chain.actions.join(full, carol)).rejects.toMatchObject({ errorName: 'ChamaFull' });

    const open = await group(alice, [], parseEther('0.1'), 4n);
    await expect(chain.actions.join(open, alice)).rejects.toMatchObject({ errorName: 'AlreadyMember' });
    await chain.actions.join(open, bob);
    await expect(chain.actions.join(open, bob)).rejects.toMatchObject({ errorName: 'AlreadyMember' });

    await chain.actions.contribute(open, alice);
    await expect(chain.actions.join(open, dave)).rejects.toMatchObject({ errorName: 'ContributionsStarted' });
    expect(await chain.actions.membersOf(open)).toEqual([alice, bob]);
  });
});

describe('contribute', () => {
  it('pays each round to the members in join order and moves the balances', async () => {
    const [, bob, carol, dave] = chain.accounts;
    const amount = parseEther('0.5');
    const members = [dave, bob, carol]; // join order differs from account order on purpose
    const chamaId = await group(dave, [bob, carol], amount);
    const pot = amount * 3n;
    const before = await Promise.all(members.map((m) => chain.publicClient.getBalance({ address: m })));
    const gas = new Map<Address, bigint>(members.map((m) => [m, 0n]));

    for (let round = 1n; round <= 4n; round++) {
      const recipient = members[Number((round - 1n) % 3n)];
      const payers = round % 2n === 0n ? [carol, dave, bob] : [bob, carol, dave]; // paying order is irrelevant
      for (const [i, payer] of payers.entries()) {
        const receipt = await chain.actions.contribute(chamaId, payer);
        gas.set(payer, gas.get(payer)! + receipt.gasUsed * receipt.effectiveGasPrice);
        const timestamp = await blockTime(receipt);
        const logged = events(receipt).map((e) => [e.eventName, e.args]);
        const contribution = ['ContributionMade', { chamaId, contributor: payer, amount, round, timestamp }];
        const last = i === payers.length - 1;
        expect(logged).toEqual(last ? [contribution, ['PayoutProcessed', { chamaId, recipient, amount: pot, round, timestamp }]] : [contribution]);
        expect((await chain.actions.readChama(chamaId)).currentRound).toBe(last ? round + 1n : round);
      }
      expect(await chain.publicClient.getBalance({ address: chain.address })).toBe(0n);
    }

    // Four rounds of three members: dave (position 1) has received twice, the others once.
    const received = [2n * pot, pot, pot];
    for (const [i, member] of members.entries()) {
      expect(await chain.actions.readMember(chamaId, member)).toEqual({ isMember: true, position: BigInt(i + 1), contributed: 4n * amount, received: received[i] });
      const after = await chain.publicClient.getBalance({ address: member });
      expect(after - before[i]!).toBe(received[i]! - 4n * amount - gas.get(member)!);
    }
    expect(await chain.actions.readChama(chamaId)).toMatchObject({ memberCount: 3n, currentRound: 5n, totalContributed: 12n * amount, totalPaidOut: 4n * pot });
  });

  it('holds the pot until every member has paid; the first contribution closes joins even when not full', async () => {
    const [alice, bob, carol] = chain.accounts;
    const chamaId = await group(alice, [bob], parseEther('0.3'), 3n);
    await chain.actions.contribute(chamaId, bob);
    expect(await chain.publicClient.getBalance({ address: chain.address })).toBe(parseEther('0.3'));
    expect(await chain.actions.readChama(chamaId)).toMatchObject({ memberCount: 2n, currentRound: 1n, totalContributed: parseEther('0.3'), totalPaidOut: 0n });
    await expect(chain.actions.join(chamaId, carol)).rejects.toMatchObject({ errorName: 'ContributionsStarted' });
    const receipt = await chain.actions.contribute(chamaId, alice);
    const payout = events(receipt).find((e) => e.eventName === 'PayoutProcessed');
    expect(payout?.args).toMatchObject({ recipient: alice, amount: parseEther('0.6'), round: 1n });
  });

  it('reverts on a wrong value, a non-member, a second payment in a round, and an unknown chama', async () => {
    const [alice, bob, carol] = chain.accounts;
    const amount = parseEther('0.25');
    const chamaId = await group(alice, [bob], amount, 3n);
    await expect(chain.actions.contribute(chamaId, alice, amount - 1n)).rejects.toMatchObject({ errorName: 'WrongAmount' });
    await expect(chain.actions.contribute(chamaId, alice, amount + 1n)).rejects.toMatchObject({ errorName: 'WrongAmount' });
    await expect(chain.actions.contribute(chamaId, alice, 0n)).rejects.toMatchObject({ errorName: 'WrongAmount' });
    await expect(chain.actions.contribute(chamaId, carol)).rejects.toMatchObject({ errorName: 'NotMember' });
    await chain.actions.contribute(chamaId, alice);
    await expect(chain.actions.contribute(chamaId, alice)).rejects.toThrow(/AlreadyContributed\(1, 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, 1\)/);
    await expect(chain.actions.contribute(99n, alice, amount)).rejects.toMatchObject({ errorName: 'UnknownChama' });

    // The rejected calls changed nothing: one contribution, still round 1.
    expect(await chain.actions.readChama(chamaId)).toMatchObject({ currentRound: 1n, totalContributed: amount });
    expect(await chain.actions.readMember(chamaId, alice)).toMatchObject({ contributed: amount });
  });
});
