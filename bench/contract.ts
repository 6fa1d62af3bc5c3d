import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import type { Abi, Hex } from 'viem';

export type Artifact = { abi: Abi; bytecode: Hex; sourceHash: string };

const source = fileURLToPath(new URL('./ChamaBench.sol', import.meta.url));

/**
 * Compiles bench/ChamaBench.sol with the solc npm package, cached under `cacheDir` by the
 * source's hash (a changed contract gets a new artifact, and so a new chain).
 */
export function compileBenchContract(cacheDir: string): Artifact {
  const content = readFileSync(source, 'utf8');
  const sourceHash = createHash('sha256').update(content).update(solc.version()).digest('hex').slice(0, 12);
  const file = path.join(cacheDir, `ChamaBench-${sourceHash}.json`);
  if (existsSync(file)) return { ...(JSON.parse(readFileSync(file, 'utf8')) as Omit<Artifact, 'sourceHash'>), sourceHash };
  const input = {
    language: 'Solidity',
    sources: { 'ChamaBench.sol': { content } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  type Output = { errors?: { severity: string; formattedMessage: string }[]; contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>> };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as Output;
  const errors = (output.errors ?? []).filter((m) => m.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: cannot compile ChamaBench.sol:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const compiled = output.contracts?.['ChamaBench.sol']?.['ChamaBench'];
  if (!compiled) throw new Error('solc: no ChamaBench in the output');
  const artifact = { abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}` as Hex };
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, JSON.stringify(artifact));
  return { ...artifact, sourceHash };
}
