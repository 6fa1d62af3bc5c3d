import { createWalletClient, http, parseEther, type Address } from 'viem';
import type { AnvilLogger } from './anvil.ts';
import { ChamaTxError, createChamaClient } from './chama-client.ts';

/**
 * Keeps believable chama activity going on a dev chain with unlocked accounts (anvil's 10):
 * chamas are created, filled by joins, then every member pays each round until everyone has
 * received the pot once. A few actions per tick, one info line per tick.
 */
export type Simulator = { start(): void; stop(): Promise<void> };

export type SimulatorOptions = {
  rpcUrl: string;
  address: Address;
  intervalMs?: number;
  logger: Pick<AnvilLogger, 'info' | 'warn'>;
  /** Same seed, same sequence of actions (block hashes still differ: timestamps). */
  seed?: number;
};

/**
 * The simulator's model of one chama. It is the only sender in the demo, so the model follows
 * the chain exactly; the client simulates each write before sending it, so a stale model costs
 * a ChamaTxError (the chama is then dropped), never a reverted transaction on chain.
 * Invariants: `paid ⊆ members`; `started` once any contribution was made (joins are closed).
 */
type Group = {
  id: bigint;
  maxMembers: number;
  members: Address[];
  round: number;
  paid: Set<Address>;
  started: boolean;
};

const MAX_ACTIVE = 4;
const NAMES = ['Umoja', 'Harambee', 'Jamii', 'Tumaini', 'Baraka', 'Upendo', 'Amani', 'Neema', 'Pamoja'];
const KINDS = ['Savers', 'Circle', 'Women Group', 'Youth', 'Traders', 'Farmers', 'Boda Riders'];

export function createSimulator({ rpcUrl, address, intervalMs = 2000, logger, seed }: SimulatorOptions): Simulator {
  const client = createChamaClient({ rpcUrl, address });
  const random = mulberry32(seed ?? Math.floor(Math.random() * 2 ** 32));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const active: Group[] = [];
  let accounts: Address[] = [];
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function create(): Promise<string> {
    const creator = pick(accounts);
    const name = `${pick(NAMES)} ${pick(KINDS)}`;
    const amount = parseEther('0.01') * BigInt(1 + Math.floor(random() * 100));
    const maxMembers = 2 + Math.floor(random() * 4);
    const { chamaId } = await client.createChama(name, amount, BigInt(maxMembers), creator);
    active.push({ id: chamaId, maxMembers, members: [creator], round: 1, paid: new Set(), started: false });
    return `create#${chamaId}`;
  }

  async function advance(group: Group): Promise<string> {
    const open = !group.started && group.members.length < group.maxMembers;
    // Mostly wait until full; sometimes a group starts paying with the members it has.
    if (open && (group.members.length < 2 || random() >= 0.1)) {
      const joiner = pick(accounts.filter((a) => !group.members.includes(a)));
      await client.join(group.id, joiner);
      group.members.push(joiner);
      return `join#${group.id}`;
    }
    const payer = pick(group.members.filter((m) => !group.paid.has(m)));
    await client.contribute(group.id, payer);
    group.started = true;
    group.paid.add(payer);
    if (group.paid.size < group.members.length) return `contribute#${group.id}`;
    const done = `payout#${group.id}/round${group.round}`;
    group.paid.clear();
    group.round += 1;
    // Every member has received the pot once: the cycle is complete, stop driving this chama.
    if (group.round > group.members.length) active.splice(active.indexOf(group), 1);
    return done;
  }

  async function runTick(): Promise<void> {
    tick += 1;
    const actions: string[] = [];
    const count = 1 + Math.floor(random() * 3);
    try {
      if (accounts.length === 0) accounts = await createWalletClient({ transport: http(rpcUrl) }).getAddresses();
      for (let i = 0; i < count && !stopped; i++) {
        const shouldCreate = active.length < 2 || (active.length < MAX_ACTIVE && random() < 0.2);
        const group = shouldCreate ? undefined : pick(active);
        try {
          actions.push(group ? await advance(group) : await create());
        } catch (error) {
          if (!(error instanceof ChamaTxError) || !group) throw error;
          active.splice(active.indexOf(group), 1);
          logger.warn({ chama_id: group.id.toString(), err: error.message }, 'simulator: chama dropped after a rejected action');
        }
      }
      logger.info({ tick, actions, active_chamas: active.length }, 'simulator tick');
    } catch (error) {
      logger.warn({ tick, actions, err: error instanceof Error ? error.message : String(error) }, 'simulator tick failed');
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runTick().then(schedule);
    }, intervalMs);
  }

  return {
    start() {
      if (timer || running) return;
      stopped = false;
      running = runTick().then(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      timer = undefined;
      running = undefined;
    },
  };
}

/** A small seedable PRNG (mulberry32): uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
