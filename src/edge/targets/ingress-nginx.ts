import type { RateLimitRule } from '../model.js';
import { kubernetesManifests, slashTolerantPrefix } from '../config-text.js';
import {
  describeKey,
  describeRate,
  isIpOnly,
  kubernetesName,
  statusReason,
  worstCase,
} from '../report-row.js';
import type { EdgeTargetShape, TranslatedRule } from '../target-shape.js';
import { nginxRate } from './nginx.js';

/** Output file of the ingress-nginx target, relative to `--out`. */
export const INGRESS_NGINX_FILE = 'ingress-nginx/rate-limits.yaml';

/** The warning every ingress-nginx output carries. */
export const INGRESS_NGINX_RETIRED =
  'ingress-nginx is a retired project (Kubernetes SIG Network announced its retirement in November 2025; best-effort maintenance ended March 2026): plan a move to Gateway API or another controller';

/** ingress-nginx's model of one rule: its Ingress and the host and path it takes. */
interface IngressNginxRule extends TranslatedRule {
  readonly route: string;
  readonly ingress: object;
}

/** The reject status, one per controller: the first rejecting rule the annotations can key. */
interface IngressNginxSurvey {
  readonly status: number;
}

/**
 * ingress-nginx annotations (`limit-rps`/`limit-rpm`, `limit-burst-multiplier`) on one Ingress per
 * rule, plus the controller ConfigMap key that sets the reject status (503 by default).
 */
export const ingressNginxTarget: EdgeTargetShape<IngressNginxRule, IngressNginxSurvey> = {
  target: 'ingress-nginx',
  counterScope: 'per instance',
  survey(rules) {
    const firstReject = rules.find((rule) => rule.action === 'reject' && isIpOnly(rule));
    return { status: firstReject?.status ?? 429 };
  },
  refuse(rule, context) {
    const refusals = [
      ...(!isIpOnly(rule)
        ? [
            `ingress-nginx annotations always key by client address ($binary_remote_addr), not ${describeKey(rule)}`,
          ]
        : []),
      ...(rule.action === 'log'
        ? ['ingress-nginx rate-limit annotations have no log-only (dry-run) mode']
        : []),
      ...(!nginxRate(rule.limit, rule.windowMs)
        ? [
            `${describeRate(rule.limit, rule.windowMs)} is slower than 1 request per minute, the slowest annotation`,
          ]
        : []),
    ];
    const route = routeOf(rule);
    if (refusals.length === 0 && context.earlier.some((earlier) => earlier.route === route)) {
      refusals.push(
        `an earlier rule already limits ${route}: ingress-nginx applies one set of rate-limit annotations per host and path`,
      );
    }
    return refusals;
  },
  translate(rule, context) {
    // refuse() has checked that the rate exists.
    const rate = nginxRate(rule.limit, rule.windowMs)!;
    const { status } = context.survey;
    const perSecond = rate.text.endsWith('r/s');
    const rateValue = Number.parseInt(rate.text, 10);
    // ingress-nginx sets burst = rate value × multiplier, and treats a multiplier below 1 as 5.
    const multiplier = Math.max(1, Math.round(rule.burst / rateValue));
    const burst = rateValue * multiplier;
    const annotations: Record<string, string> = {
      [`nginx.ingress.kubernetes.io/${perSecond ? 'limit-rps' : 'limit-rpm'}`]: String(rateValue),
      'nginx.ingress.kubernetes.io/limit-burst-multiplier': String(multiplier),
      // With use-regex the controller writes `location ~* "^<path>"`: case-insensitive, matched on
      // nginx's normalised URI. Regex paths need pathType ImplementationSpecific: recent releases
      // reject anything but a plain path under Prefix (strict path validation).
      ...(rule.match.path ? { 'nginx.ingress.kubernetes.io/use-regex': 'true' } : {}),
    };
    const ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: kubernetesName(rule.name),
        labels: { 'app.kubernetes.io/managed-by': 'gossipless' },
        annotations,
      },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            ...(rule.match.host ? { host: rule.match.host } : {}),
            http: {
              paths: [
                {
                  path: rule.match.path ? slashTolerantPrefix(rule.match.path.toLowerCase()) : '/',
                  pathType: rule.match.path ? 'ImplementationSpecific' : 'Prefix',
                  backend: { service: { name: context.serviceName, port: { number: context.servicePort } } },
                },
              ],
            },
          },
        ],
      },
    };
    const shadowedBy = context.rules.filter(
      (other) =>
        other.name !== rule.name &&
        isIpOnly(other) &&
        other.match.path &&
        other.match.path !== (rule.match.path ?? '/') &&
        other.match.path.startsWith(rule.match.path ?? '/'),
    );
    return {
      rule,
      route: routeOf(rule),
      ingress,
      row: {
        setting: Object.entries(annotations)
          .map(([k, v]) => `${k}: "${v}"`)
          .join(', '),
        reasons: [
          ...rate.reasons,
          ...(burst !== rule.burst
            ? [
                `burst ${burst} instead of ${rule.burst}: ingress-nginx sets burst = ${rateValue} × limit-burst-multiplier (at least 1)`,
              ]
            : []),
          ...(rule.match.methods
            ? [
                `applies to every method, not only ${rule.match.methods.join(', ')} (stricter): annotations cannot match methods`,
              ]
            : []),
          ...statusReason(rule, status, 'limit-req-status-code is one per controller'),
          ...(shadowedBy.length > 0
            ? [
                `requests under ${shadowedBy.map((o) => o.match.path).join(', ')} go to the more specific Ingress and are not counted by this rule`,
              ]
            : []),
        ],
        notes: [
          rule.match.path
            ? 'path is a case-insensitive regex prefix (use-regex, pathType ImplementationSpecific): /api covers /API/x and /apiary; use-regex applies to every Ingress path of the same host'
            : 'pathType Prefix on /: every path',
          'ingress-nginx adds a per-connection limit only if limit-connections is set; none is set here',
        ],
        worstCasePerWindow: worstCase.leakyBucket(rate.rateMilli, burst, rule.windowMs),
        burstAtOnce: burst + 1,
      },
    };
  },
  render(translated, context) {
    const manifests = translated.map((t) => t.ingress);
    if (translated.length > 0) {
      manifests.unshift({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'ingress-nginx-controller', namespace: 'ingress-nginx' },
        // Merge this key into the controller's existing ConfigMap: the default reject status is 503.
        data: { 'limit-req-status-code': String(context.survey.status) },
      });
    }
    const content = [
      '# Generated by `gossipless edge` from rate-limit rules; regenerate instead of editing.',
      `# WARNING: ${INGRESS_NGINX_RETIRED}.`,
      '# Counters are per controller pod: N replicas allow N times the limit.',
      kubernetesManifests(manifests),
    ].join('\n');
    return {
      files: [{ path: INGRESS_NGINX_FILE, content }],
      notes: [
        INGRESS_NGINX_RETIRED,
        `apply with \`kubectl apply -f ${INGRESS_NGINX_FILE}\` (merge the ConfigMap key into the controller's ConfigMap)`,
      ],
    };
  },
};

function routeOf(rule: RateLimitRule): string {
  return `${rule.match.host ?? '*'} ${rule.match.path ?? '/'}`;
}
