import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeAbiParameters, encodeFunctionData, keccak256, type Hex } from 'viem';
import { startBenchAnvil, type BenchAnvil } from './anvil.ts';
import { compileBenchContract, type Artifact } from './contract.ts';
import { createJsonRpc, hexNumber, type JsonRpc } from './jsonrpc.ts';

/** What the cache remembers about a built chain. */
export type ChainInfo = {
  events: number;
  blocks: number;
  head: number;
  address: Hex;
  chamas: number;
  txs: number;
  emptyBlocks: number;
  maxEventsPerBlock: number;
  buildSeconds: number;
  stateFile: string;
};

export type ChainSpec = { events: number; blocks: number; seed: number };

const POOL = 5000;

/**
 * Anvil 1.7 slows down per block as the chain grows (EIP-2935's history contract and state
 * history retention; foundry-rs/foundry#15715): cancun has no EIP-2935, and without history
 * retention mining stays ~0.1 ms per block. Blocks, receipts and logs are still kept and dumped.
 */
export const anvilChainArgs = ['--hardfork', 'cancun', '--prune-history', '--gas-limit', '100000000'];
const from = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'; // anvil's first dev account, unlocked

/** Member `position` of a chama: the same formula as ChamaBench.memberOf. */
export function memberOf(chamaId: number, position: number): Hex {
  const index = (BigInt(chamaId) * 7919n + BigInt(position)) % BigInt(POOL);
  return `0x${keccak256(encodeAbiParameters([{ type: 'uint256' }], [index])).slice(-40)}` as Hex;
}

export function poolAccount(index: number): Hex {
  return `0x${keccak256(encodeAbiParameters([{ type: 'uint256' }], [BigInt(index % POOL)])).slice(-40)}` as Hex;
}

/** One word of ChamaBench.run: kind | chamaId | members | round | from | to. */
export function op(kind: 0 | 1, chamaId: number, members: number, round: number, fromPos: number, toPos: number): bigint {
  return (BigInt(kind) << 248n) | (BigInt(chamaId) << 184n) | (BigInt(members) << 168n) | (BigInt(round) << 136n) | (BigInt(fromPos) << 120n) | (BigInt(toPos) << 104n);
}

export function runCalldata(artifact: Artifact, ops: bigint[]): Hex {
  return encodeFunctionData({ abi: artifact.abi, functionName: 'run', args: [ops] });
}

/** Deterministic PRNG (mulberry32), so a spec always plans the same chain. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Chama = { id: number; members: number; rounds: number; joined: number; round: number; paid: number };
export type PlannedTx = { ops: bigint[]; events: number };

/**
 * Plans the history: chamas of 3..40 members that go through a full rotation (one round per
 * member), advanced in interleaved chunks, ~64 in flight at once. Transactions carry uneven
 * event counts (most a few, a quarter tens to ~150, one in twenty 300..900), one per block.
 */
export function planTxs(spec: ChainSpec): { txs: PlannedTx[]; chamas: number; events: number; createdIds: number[] } {
  const random = rng(spec.seed);
  const active: Chama[] = [];
  let nextId = 1;
  let events = 0;
  const txs: PlannedTx[] = [];
  const createdIds: number[] = [];
  const capacity = () => {
    const u = random();
    if (u < 0.7) return 1 + Math.floor(random() * 10);
    if (u < 0.95) return 20 + Math.floor(random() * 131);
    return 300 + Math.floor(random() * 601);
  };
  while (events < spec.events) {
    let room = Math.min(capacity(), spec.events - events);
    const tx: PlannedTx = { ops: [], events: 0 };
    while (room > 0) {
      while (active.length < 64) {
        const members = 3 + Math.floor(random() * 38);
        active.push({ id: nextId++, members, rounds: members, joined: 0, round: 1, paid: 0 });
      }
      const i = Math.floor(random() * active.length);
      const c = active[i]!;
      let n: number;
      if (c.joined < c.members) {
        const k = Math.max(1, Math.min(room - (c.joined === 0 ? 1 : 0), c.members - c.joined));
        tx.ops.push(op(0, c.id, c.members, 0, c.joined + 1, c.joined + k));
        if (c.joined === 0) createdIds.push(c.id);
        n = k + (c.joined === 0 ? 1 : 0);
        c.joined += k;
      } else {
        const k = Math.max(1, Math.min(room, c.members - c.paid));
        const closes = c.paid + k === c.members;
        tx.ops.push(op(1, c.id, c.members, c.round, c.paid + 1, c.paid + k));
        n = k + (closes ? 1 : 0);
        c.paid += k;
        if (closes) {
          c.paid = 0;
          c.round++;
          if (c.round > c.rounds) active.splice(i, 1);
        }
      }
      tx.events += n;
      events += n;
      room -= n;
    }
    txs.push(tx);
  }
  return { txs, chamas: createdIds.length, events, createdIds };
}

export function chainDir(root: string, spec: ChainSpec, artifact: Artifact): string {
  return path.join(root, `chain-${spec.events}-${spec.blocks}-${spec.seed}-${artifact.sourceHash}`);
}

export function readChainInfo(dir: string): ChainInfo | undefined {
  const file = path.join(dir, 'chain.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ChainInfo) : undefined;
}

/** Builds the chain into `dir` (anvil state dump + chain.json) unless it is cached there. */
export async function ensureChain(root: string, spec: ChainSpec, log: (msg: string) => void): Promise<{ info: ChainInfo; artifact: Artifact; cached: boolean }> {
  const artifact = compileBenchContract(root);
  const dir = chainDir(root, spec, artifact);
  const cached = readChainInfo(dir);
  if (cached && existsSync(cached.stateFile)) return { info: cached, artifact, cached: true };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const stateFile = path.join(dir, 'anvil-state.json');
  const partial = `${stateFile}.partial`;
  const anvil = await startBenchAnvil([...anvilChainArgs, '--dump-state', partial]);
  try {
    const info = await build(anvil, createJsonRpc(anvil.rpcUrl), artifact, spec, log);
    await anvil.stop();
    renameSync(partial, stateFile);
    const result: ChainInfo = { ...info, buildSeconds: Math.round((performance.now() - started) / 100) / 10, stateFile };
    writeFileSync(path.join(dir, 'chain.json'), `${JSON.stringify(result, null, 2)}\n`);
    return { info: result, artifact, cached: false };
  } finally {
    await anvil.stop();
  }
}

async function build(anvil: BenchAnvil, rpc: JsonRpc, artifact: Artifact, spec: ChainSpec, log: (msg: string) => void): Promise<Omit<ChainInfo, 'buildSeconds' | 'stateFile'>> {
  const plan = planTxs(spec);
  log(`planned ${plan.events} events in ${plan.txs.length} transactions over ${spec.blocks} blocks (${plan.chamas} chamas)`);
  const deployHash = await rpc.call<Hex>('eth_sendTransaction', [{ from, data: artifact.bytecode, gas: hexNumber(3_000_000) }]);
  // anvil may answer before it has mined the block: wait for the receipt.
  let receipt: { contractAddress: Hex; status: Hex } | null = null;
  while (!(receipt = await rpc.call<{ contractAddress: Hex; status: Hex } | null>('eth_getTransactionReceipt', [deployHash]))) await new Promise((r) => setTimeout(r, 20));
  if (receipt.status !== '0x1') throw new Error('ChamaBench deployment failed');
  const address = receipt.contractAddress.toLowerCase() as Hex;
  const random = rng(spec.seed ^ 0x5eed);
  let block = 1; // the deployment
  const emptyBudget = Math.max(0, spec.blocks - 1 - plan.txs.length);
  let emptyLeft = emptyBudget;
  let lastReport = performance.now();
  let lastHash: Hex | undefined;
  for (let i = 0; i < plan.txs.length; i++) {
    const tx = plan.txs[i]!;
    const txsLeft = plan.txs.length - i;
    // Gaps of empty blocks: exponential around the mean still to spend, so some stretches are long.
    const gap = Math.min(emptyLeft, Math.floor(-Math.log(1 - random()) * (emptyLeft / txsLeft)));
    if (gap > 0) {
      await rpc.call('anvil_mine', [hexNumber(gap)]);
      emptyLeft -= gap;
      block += gap;
    }
    const data = runCalldata(artifact, tx.ops);
    lastHash = await rpc.call<Hex>('eth_sendTransaction', [{ from, to: address, data, gas: hexNumber(80_000 + 6_000 * tx.events + 3_000 * tx.ops.length) }]);
    block++;
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      log(`  ${i + 1}/${plan.txs.length} transactions, block ${block}`);
    }
  }
  // eth_sendTransaction answers before the block is sealed: wait for the last receipt.
  while (lastHash && !(await rpc.call('eth_getTransactionReceipt', [lastHash]))) await new Promise((r) => setTimeout(r, 20));
  if (emptyLeft > 0) await rpc.call('anvil_mine', [hexNumber(emptyLeft)]);
  const head = Number(await rpc.call<Hex>('eth_blockNumber'));
  // Every planned event must be on the chain (an out-of-gas transaction would emit none).
  const onChain = await countLogs(rpc, address, head);
  if (onChain !== plan.events) throw new Error(`the chain holds ${onChain} ChamaBench events, planned ${plan.events}: a transaction failed`);
  void anvil;
  return {
    events: plan.events,
    blocks: head + 1,
    head,
    address,
    chamas: plan.chamas,
    txs: plan.txs.length,
    emptyBlocks: head - plan.txs.length - 1,
    maxEventsPerBlock: Math.max(...plan.txs.map((t) => t.events)),
  };
}

async function countLogs(rpc: JsonRpc, address: Hex, head: number): Promise<number> {
  let total = 0;
  for (let start = 0; start <= head; start += 5000) {
    const logs = await rpc.call<unknown[]>('eth_getLogs', [{ address, fromBlock: hexNumber(start), toBlock: hexNumber(Math.min(head, start + 4999)) }]);
    total += logs.length;
  }
  return total;
}
