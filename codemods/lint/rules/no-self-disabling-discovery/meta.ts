import type { RuleMeta } from '../../finding.js';

/** Metadata of `no-self-disabling-discovery`, shared by the CLI formatters and the ESLint plugin. */
export const noSelfDisablingDiscoveryMeta: RuleMeta = {
  id: 'no-self-disabling-discovery',
  shortDescription:
    'A failure handler around peer discovery swallows the failure, or switches discovery off and falls back to "I am alone / I am leader".',
  fullDescription:
    "Flags try/catch, promise .catch()/.then(_, onRejected), 'error' event handlers and error-first start callbacks " +
    'around peer discovery (UDP multicast/broadcast, node-discover, swim, ringpop, mdns, gossip/membership joins) that ' +
    'neither propagate nor surface the failure. On a platform that does not carry multicast, such a handler makes every ' +
    'replica believe it is alone and leader: split brain by construction. Error when the handler disables discovery or ' +
    'falls back to leader/standalone; warning when it only swallows (empty, or only logs).',
  helpUri: 'https://github.com/gossipless/gossipless/blob/main/docs/rules/no-self-disabling-discovery.md',
};
