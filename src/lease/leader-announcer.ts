/** A leadership announcement carried on the bus. */
export interface LeaderAnnouncement {
  type: 'elected' | 'released';
  holder: string;
  epoch: number;
}

/**
 * How the elector tells the cluster about elections and releases, and hears about others'.
 * The cluster implements it on the table bus; a release announced here lets a follower acquire
 * within one bus poll instead of waiting out the lease.
 */
export interface LeaderAnnouncer {
  announce(announcement: LeaderAnnouncement): Promise<void>;
  /** Registers a listener; returns a function that removes it. */
  onAnnouncement(listener: (announcement: LeaderAnnouncement) => void): () => void;
}
