import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/common/errors.ts';

const run = promisify(execFile);
const cli = new URL('../bin/chama-indexer.js', import.meta.url).pathname;

const good = { RPC_URL: 'http://127.0.0.1:8545', CHAMA_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };

/** One bad value per variable of SPEC §2 (and the ones we added beside it). */
const bad: [variable: string, value: string][] = [
  ['DATABASE_URL', 'mysql://localhost/x'],
  ['RPC_URL', 'ftp://example.com'],
  ['CHAIN_ID', 'mainnet'],
  ['CHAMA_ADDRESS', '0x1234'],
  ['START_BLOCK', '-5'],
  ['CONFIRMATIONS', '1.5'],
  ['MAX_REORG_DEPTH', '0'],
  ['POLL_INTERVAL_MS', 'soon'],
  ['MAX_BLOCK_RANGE', '0'],
  ['MAX_BATCH_EVENTS', '0'],
  ['PORT', '70000'],
  ['LOG_LEVEL', 'loud'],
  ['ADMIN_JWT_SECRET', 'short'],
  ['READY_MAX_LAG_BLOCKS', 'x'],
  ['VERIFY_INTERVAL_MS', '-1'],
  ['JOB_RETENTION_MS', '1e9'],
];

describe('configuration', () => {
  it('has the defaults of SPEC §2', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ databaseUrl: undefined, dataDir: '.data', rpcUrls: [], startBlock: 0, confirmations: 0, maxReorgDepth: 64, pollIntervalMs: 1000, port: 3000, host: '127.0.0.1', logLevel: 'info' });
  });

  it('parses lists and lower-cases addresses', () => {
    const config = loadConfig({ RPC_URL: 'http://a:1, ws://b:2', CHAMA_ADDRESS: `${good.CHAMA_ADDRESS},0x0000000000000000000000000000000000000001`, CHAIN_ID: '31337' });
    expect(config.rpcUrls).toEqual(['http://a:1', 'ws://b:2']);
    expect(config.chamaAddresses).toEqual(['0x5fbdb2315678afecb367f032d93f642f64180aa3', '0x0000000000000000000000000000000000000001']);
    expect(config.chainId).toBe(31337);
  });

  it('requires CHAMA_ADDRESS with RPC_URL', () => {
    expect(() => loadConfig({ RPC_URL: good.RPC_URL })).toThrow(/^CHAMA_ADDRESS is required when RPC_URL is set/);
  });

  it.each(bad)('%s=%s is refused, naming the variable', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ ...good, [variable]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.startsWith(`${variable} `)).toBe(true);
  });

  it('the CLI exits 2 with one line naming the variable, for every bad value', async () => {
    const results = await Promise.all(
      bad.map(async ([variable, value]) => {
        const outcome = await run(process.execPath, [cli, 'index'], { env: { PATH: process.env.PATH, ...good, [variable]: value } }).then(
          () => ({ code: 0, stderr: '' }),
          (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
        );
        return { variable, ...outcome };
      }),
    );
    for (const r of results) {
      expect(r.code, r.variable).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^chama-indexer: bad configuration: ${r.variable} `));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const secret = results.find((r) => r.variable === 'ADMIN_JWT_SECRET')!;
    expect(secret.stderr).not.toContain('short');
  }, 60_000);

  it('an unknown command or option is a usage error (exit 2)', async () => {
    const unknown = await run(process.execPath, [cli, 'frobnicate']).catch((e) => e);
    expect(unknown.code).toBe(2);
    const badOption = await run(process.execPath, [cli, 'export', '--format', 'xml'], { env: { PATH: process.env.PATH } }).catch((e) => e);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('--format must be ndjson or csv');
  });
});
