import { event } from '../log.js';

// Sends queued webhooks. On more than one replica at once, customers get every webhook twice.
export async function runWebhookPass(replicaId: string, tick: number): Promise<void> {
  event('webhooks', { replicaId, tick });
}
