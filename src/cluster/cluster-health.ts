/**
 * What a Kubernetes probe asks a node: readiness (route traffic to it / count it as up) and
 * liveness (restart it). See {@link Cluster.health} and docs/operations.md.
 */
export interface ClusterHealth {
  /** Started, not stopping, and this node's member row is in its own view of the table. */
  ready: boolean;
  /** False only when restarting the process is the fix: see {@link judgeClusterHealth}. */
  live: boolean;
  /** Why, in words, for the probe's response body and logs. */
  reason: string;
  /** True while this node leads (by the monotonic clock). */
  isLeader: boolean;
}

/** The facts {@link judgeClusterHealth} decides from. */
export interface ClusterHealthInputs {
  started: boolean;
  stopping: boolean;
  /** This node's row is in its last membership view. */
  joined: boolean;
  isLeader: boolean;
  /** The term the elector still claims (not demoted), with monotonic times. */
  claimedTerm: { epoch: number; confirmedAt: number; stepDownAt: number } | undefined;
  /** Monotonic now. */
  now: number;
  /** Slack past the step-down time before the node is judged stuck. */
  livenessGraceMs: number;
}

/**
 * Readiness: started, not stopping, joined. Liveness: not live when the node still claims a term
 * whose step-down time has passed by more than the grace — its renewals have failed past the
 * deadline and the demotion that must follow has not run (a blocked event loop, a wedged process).
 * Storage outages alone never fail liveness: the node steps down by itself and restarting would
 * not bring storage back.
 */
export function judgeClusterHealth(inputs: ClusterHealthInputs): ClusterHealth {
  const { started, stopping, joined, isLeader, claimedTerm, now, livenessGraceMs } = inputs;
  if (claimedTerm && now > claimedTerm.stepDownAt + livenessGraceMs) {
    const ageS = ((now - claimedTerm.confirmedAt) / 1000).toFixed(1);
    return {
      ready: false,
      live: false,
      isLeader,
      reason: `claims leadership of epoch ${claimedTerm.epoch} but its last successful renewal was ${ageS} s ago, past the step-down deadline: renewals are failing and the step-down has not run`,
    };
  }
  if (stopping) return { ready: false, live: true, isLeader, reason: 'stopping' };
  if (!started) return { ready: false, live: true, isLeader, reason: 'not started' };
  if (!joined) {
    return { ready: false, live: true, isLeader, reason: 'starting: its member row is not in the table yet' };
  }
  return { ready: true, live: true, isLeader, reason: isLeader ? 'joined, leading' : 'joined' };
}
