import { EventEmitter } from 'node:events';
import type { LeaderAnnouncement, LeaderAnnouncer } from '../../src/lease/index.js';

/** An in-process announcer shared by electors in one test: the bus's role without the table. */
export function memoryAnnouncerHub(): { announcer(): LeaderAnnouncer; announcements: LeaderAnnouncement[] } {
  const hub = new EventEmitter();
  const announcements: LeaderAnnouncement[] = [];
  return {
    announcements,
    announcer: () => ({
      announce: async (a) => {
        announcements.push(a);
        hub.emit('a', a);
      },
      onAnnouncement: (listener) => {
        hub.on('a', listener);
        return () => hub.off('a', listener);
      },
    }),
  };
}
