import type { TableBus } from '../bus/index.js';
import type { LeaderAnnouncement, LeaderAnnouncer } from '../lease/index.js';

/** The bus channel leadership announcements ride on. */
export const LEADER_CHANNEL = 'gossipless.leader';

/** Announces elections and releases on the table bus, and hears others' announcements. */
export function busLeaderAnnouncer(bus: TableBus): LeaderAnnouncer {
  return {
    announce: async (announcement) => {
      await bus.publish(LEADER_CHANNEL, announcement);
    },
    onAnnouncement: (listener) =>
      bus.subscribe(LEADER_CHANNEL, (message) => {
        const a = message.payload as Partial<LeaderAnnouncement> | null;
        // Rows are validated by the bus; the payload shape is ours to check.
        if (
          a &&
          (a.type === 'elected' || a.type === 'released') &&
          typeof a.holder === 'string' &&
          typeof a.epoch === 'number'
        ) {
          listener({ type: a.type, holder: a.holder, epoch: a.epoch });
        }
      }),
  };
}
