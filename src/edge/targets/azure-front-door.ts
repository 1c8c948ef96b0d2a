import type { RateLimitRule } from '../model.js';
import { slashTolerantPrefix } from '../config-text.js';
import { describeKey, isIpOnly, statusReason, worstCase } from '../report-row.js';
import type { EdgeTargetShape, TranslatedRule } from '../target-shape.js';
import {
  toBicep,
  WAF_BLOCK_STATUSES,
  wafBlockStatus,
  wafPolicyFiles,
  wafRateRefusals,
  wafRuleName,
  wafWindow,
} from './azure-shared.js';

/** Output files of the Front Door target, relative to `--out`. */
export const FRONT_DOOR_FILES = {
  bicep: 'azure-front-door/waf-policy.bicep',
  arm: 'azure-front-door/waf-policy.json',
} as const;

/** The API version the templates use (azure-rest-api-specs, frontdoor stable 2024-02-01). */
export const FRONT_DOOR_API_VERSION = '2024-02-01';

/** Front Door's model of one rule: its custom rule. */
interface FrontDoorRule extends TranslatedRule {
  readonly customRule: object;
}

/** The block status, one per policy. */
interface FrontDoorSurvey {
  readonly blockStatus: number;
}

/**
 * Azure Front Door (Standard/Premium) WAF policy with one `RateLimitRule` per rule, grouped by
 * socket IP, over a 1- or 5-minute window; as Bicep and as an ARM template with the same content.
 */
export const azureFrontDoorTarget: EdgeTargetShape<FrontDoorRule, FrontDoorSurvey> = {
  target: 'azure-front-door',
  counterScope: 'per edge server',
  survey(rules) {
    return { blockStatus: wafBlockStatus(rules) };
  },
  refuse(rule) {
    if (!isIpOnly(rule)) {
      return [
        `Front Door groups rate-limit counters by socket IP, geography or nothing, not by ${describeKey(rule)}`,
      ];
    }
    return wafRateRefusals(rule, 'Front Door');
  },
  translate(rule, context) {
    const { blockStatus } = context.survey;
    // refuse() has checked that the window exists.
    const window = wafWindow(rule, 'Front Door')!;
    const name = wafRuleName(rule.name);
    const customRule = {
      name,
      priority: 100 + context.earlier.length,
      enabledState: 'Enabled',
      ruleType: 'RateLimitRule',
      rateLimitDurationInMinutes: window.minutes,
      rateLimitThreshold: window.threshold,
      groupBy: [{ variableName: 'SocketAddr' }],
      matchConditions: matchConditions(rule),
      action: rule.action === 'log' ? 'Log' : 'Block',
    };
    const reasons = [
      ...window.reasons,
      ...(rule.burst > 0
        ? [`no burst: Front Door counts fixed windows, the burst of ${rule.burst} is not added`]
        : []),
      ...statusReason(
        rule,
        blockStatus,
        `the block status is one per policy (customBlockResponseStatusCode${WAF_BLOCK_STATUSES.has(rule.status) ? '' : ', which allows 200, 403, 405, 406, 429'})`,
      ),
    ];
    return {
      rule,
      customRule,
      row: {
        setting: `${name}: RateLimitRule, rateLimitDurationInMinutes ${window.minutes}, rateLimitThreshold ${window.threshold}, groupBy SocketAddr, action ${rule.action === 'log' ? 'Log' : 'Block'}`,
        reasons,
        notes: [
          'fixed windows: up to twice the threshold across a window boundary',
          'each Front Door edge server counts on its own; a client whose requests reach several servers gets more',
          'socket IP is the TCP peer of Front Door (a proxy in front of Front Door shares one counter)',
          ...(rule.match.path
            ? ['path matched after the UrlDecode and Lowercase transforms, repeated slashes allowed']
            : []),
        ],
        worstCasePerWindow: worstCase.fixedWindow(window.threshold, window.minutes * 60_000, rule.windowMs),
        burstAtOnce: window.threshold,
      },
    };
  },
  render(translated, context) {
    const properties = {
      policySettings: {
        enabledState: 'Enabled',
        mode: 'Prevention',
        customBlockResponseStatusCode: context.survey.blockStatus,
      },
      customRules: { rules: translated.map((t) => t.customRule) },
    };
    return {
      files: wafPolicyFiles(
        FRONT_DOOR_FILES,
        [
          '// Deploying replaces the custom rules of the named policy: merge into an existing policy by hand.',
          "@description('WAF policy name: letters and digits.')",
          "param policyName string = 'gossiplessRateLimits'",
          "@allowed(['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor'])",
          "param skuName string = 'Standard_AzureFrontDoor'",
          '',
          `resource wafPolicy 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies@${FRONT_DOOR_API_VERSION}' = {`,
          '  name: policyName',
          "  location: 'Global'",
          '  sku: {',
          '    name: skuName',
          '  }',
          `  properties: ${toBicep(properties, '  ')}`,
          '}',
        ],
        {
          parameters: {
            policyName: {
              type: 'string',
              defaultValue: 'gossiplessRateLimits',
              metadata: { description: 'WAF policy name: letters and digits.' },
            },
            skuName: {
              type: 'string',
              defaultValue: 'Standard_AzureFrontDoor',
              allowedValues: ['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor'],
            },
          },
          resources: [
            {
              type: 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies',
              apiVersion: FRONT_DOOR_API_VERSION,
              name: "[parameters('policyName')]",
              location: 'Global',
              sku: { name: "[parameters('skuName')]" },
              properties,
            },
          ],
        },
      ),
      notes: [
        `deploy with \`az deployment group create -g <resource-group> --template-file ${FRONT_DOOR_FILES.bicep}\`, then associate the policy with your endpoint in a security policy`,
      ],
    };
  },
};

function matchConditions(rule: RateLimitRule): object[] {
  const conditions: object[] = [];
  if (rule.match.path) {
    // Front Door's RequestUri may carry scheme and host; the pattern accepts it with or without.
    // Its transforms decode and lower-case the URI first, so /API/%6cogin matches /api/login.
    conditions.push({
      matchVariable: 'RequestUri',
      operator: 'RegEx',
      matchValue: [`^(https?://[^/]+)?${slashTolerantPrefix(rule.match.path.toLowerCase())}`],
      transforms: ['UrlDecode', 'Lowercase'],
    });
  }
  if (rule.match.methods)
    conditions.push({
      matchVariable: 'RequestMethod',
      operator: 'Equal',
      matchValue: [...rule.match.methods],
    });
  if (rule.match.host) {
    conditions.push({
      matchVariable: 'RequestHeader',
      selector: 'Host',
      operator: 'Equal',
      matchValue: [rule.match.host],
      transforms: ['Lowercase'],
    });
  }
  if (conditions.length === 0) {
    // A rate-limit rule needs a condition; "socket address is not 255.255.255.255" matches every request.
    conditions.push({
      matchVariable: 'SocketAddr',
      operator: 'IPMatch',
      negateCondition: true,
      matchValue: ['255.255.255.255/32'],
    });
  }
  return conditions;
}
