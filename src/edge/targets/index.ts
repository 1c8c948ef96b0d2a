/**
 * Every edge target, each one file of the same shape ({@link EdgeTargetShape}): the registry the
 * planner reads, and the file names and texts the targets publish. The folder's only door.
 *
 * @packageDocumentation
 */
import type { EdgeTarget } from '../model.js';
import type { EdgeTargetShape } from '../target-shape.js';
import { azureApimTarget } from './azure-apim.js';
import { azureAppGatewayTarget } from './azure-app-gateway.js';
import { azureFrontDoorTarget } from './azure-front-door.js';
import { envoyGlobalTarget, envoyLocalTarget } from './envoy.js';
import { haproxyTarget } from './haproxy.js';
import { ingressNginxTarget } from './ingress-nginx.js';
import { nginxTarget } from './nginx.js';
import { traefikTarget } from './traefik.js';

/**
 * Every target's shapes, by name: one per target, one per variant for a target that writes more
 * than one configuration (Envoy: local, then global).
 */
export const EDGE_TARGET_SHAPES: Readonly<Record<EdgeTarget, readonly EdgeTargetShape[]>> = {
  nginx: [nginxTarget],
  haproxy: [haproxyTarget],
  traefik: [traefikTarget],
  envoy: [envoyLocalTarget, envoyGlobalTarget],
  'azure-front-door': [azureFrontDoorTarget],
  'azure-app-gateway': [azureAppGatewayTarget],
  'azure-apim': [azureApimTarget],
  'ingress-nginx': [ingressNginxTarget],
};

export { nginxRate, NGINX_FILE } from './nginx.js';
export type { NginxRate } from './nginx.js';
export { HAPROXY_FILE } from './haproxy.js';
export { TRAEFIK_FILE } from './traefik.js';
export { ENVOY_FILES } from './envoy.js';
export { FRONT_DOOR_FILES, FRONT_DOOR_API_VERSION } from './azure-front-door.js';
export {
  APP_GATEWAY_FILES,
  APP_GATEWAY_API_VERSION,
  APP_GATEWAY_MANAGED_RULES_WARNING,
} from './azure-app-gateway.js';
export { APIM_FILE } from './azure-apim.js';
export { INGRESS_NGINX_FILE, INGRESS_NGINX_RETIRED } from './ingress-nginx.js';
