export { defaultNodeId, isValidNodeId, isValidClusterName } from './node-id.js';
