import { readChama } from '../projections/persist.ts';
import type { ChamaRow } from '../projections/rows.ts';
import type { Tx } from '../store/db.ts';
import { notFound } from './errors.ts';

/** The chama a `/chamas/:id/...` route is about (the first contract with that id unless `?contract=`), or a 404. */
export async function chamaOr404(tx: Tx, chainId: number, id: string, contract: string | undefined): Promise<ChamaRow> {
  const chama = await readChama(tx, chainId, contract, BigInt(id));
  if (!chama) throw notFound(contract ? `no chama ${id} in contract ${contract}` : `no chama ${id}`);
  return chama;
}
