export { defaultNodeId, isValidNodeId, isValidClusterName, resolveNodeIdentity } from './node-id.js';
