import type { RateLimitRule } from '../model.js';
import { slashTolerantPrefix } from '../config-text.js';
import { describeKey, isIpOnly, statusReason, worstCase } from '../report-row.js';
import type { EdgeTargetShape, TranslatedRule } from '../target-shape.js';
import {
  toBicep,
  wafBlockStatus,
  wafPolicyFiles,
  wafRateRefusals,
  wafRuleName,
  wafWindow,
} from './azure-shared.js';

/** Output files of the Application Gateway target, relative to `--out`. */
export const APP_GATEWAY_FILES = {
  bicep: 'azure-app-gateway/waf-policy.bicep',
  arm: 'azure-app-gateway/waf-policy.json',
} as const;

/** The API version the templates use (azure-rest-api-specs, network stable 2024-05-01). */
export const APP_GATEWAY_API_VERSION = '2024-05-01';

/**
 * What else the Application Gateway policy turns on. The API requires a managed rule set in every
 * WAF policy and rate-limit rules need the CRS 3.2 engine, so a standalone policy cannot carry only
 * the rate limits: attached to a gateway, it also starts blocking what OWASP CRS 3.2 flags.
 */
export const APP_GATEWAY_MANAGED_RULES_WARNING =
  'WARNING: this policy also enables OWASP CRS 3.2 managed rules in Prevention mode (Azure requires a managed rule set in every WAF policy and rate-limit rules need the CRS 3.2 engine): attaching it to a gateway without a WAF policy starts blocking what CRS flags. To add only the rate limits, merge these customRules into your existing policy instead of deploying this one';
const MANAGED_RULES_WARNING = APP_GATEWAY_MANAGED_RULES_WARNING;

// Custom-rule priorities on Application Gateway run from 1 to 100.
const MAX_RULES = 100;

/** Application Gateway's model of one rule: its custom rule. */
interface AppGatewayRule extends TranslatedRule {
  readonly customRule: object;
}

/** The block status, one per policy. */
interface AppGatewaySurvey {
  readonly blockStatus: number;
}

/**
 * Azure Application Gateway WAF v2 policy with one `RateLimitRule` per rule, grouped by client
 * address, over `OneMin` or `FiveMins`; as Bicep and as an ARM template.
 */
export const azureAppGatewayTarget: EdgeTargetShape<AppGatewayRule, AppGatewaySurvey> = {
  target: 'azure-app-gateway',
  counterScope: 'per instance',
  survey(rules) {
    return { blockStatus: wafBlockStatus(rules) };
  },
  refuse(rule, context) {
    if (!isIpOnly(rule)) {
      return [
        `Application Gateway groups rate-limit counters by client address, geography or nothing, not by ${describeKey(rule)}`,
      ];
    }
    const rateRefusals = wafRateRefusals(rule, 'Application Gateway');
    if (rateRefusals.length > 0) return rateRefusals;
    if (context.earlier.length >= MAX_RULES) {
      return [`Application Gateway custom-rule priorities stop at ${MAX_RULES}`];
    }
    return [];
  },
  translate(rule, context) {
    const { blockStatus } = context.survey;
    // refuse() has checked that the window exists.
    const window = wafWindow(rule, 'Application Gateway')!;
    const name = wafRuleName(rule.name);
    const duration = window.minutes === 1 ? 'OneMin' : 'FiveMins';
    const action = rule.action === 'log' ? 'Log' : 'Block';
    return {
      rule,
      customRule: {
        name,
        priority: context.earlier.length + 1,
        state: 'Enabled',
        ruleType: 'RateLimitRule',
        rateLimitDuration: duration,
        rateLimitThreshold: window.threshold,
        groupByUserSession: [{ groupByVariables: [{ variableName: 'ClientAddr' }] }],
        matchConditions: matchConditions(rule),
        action,
      },
      row: {
        setting: `${name}: RateLimitRule, rateLimitDuration ${duration}, rateLimitThreshold ${window.threshold}, groupBy ClientAddr, action ${action}`,
        reasons: [
          ...window.reasons,
          ...(rule.burst > 0
            ? [`no burst: the WAF counts a sliding window, the burst of ${rule.burst} is not added`]
            : []),
          ...statusReason(
            rule,
            blockStatus,
            'the block status is one per policy (customBlockResponseStatusCode)',
          ),
        ],
        notes: [
          'sliding window; Azure says thresholds are not always enforced exactly',
          'counted separately per listener the policy is attached to; the bound assumes one counter per gateway instance (--instances), which Azure does not document',
          'the policy also enables OWASP CRS 3.2 managed rules in Prevention mode (see the target warning)',
          ...(rule.match.path
            ? ['path matched after the UrlDecode and Lowercase transforms, repeated slashes allowed']
            : []),
        ],
        worstCasePerWindow: worstCase.slidingWindow(window.threshold, window.minutes * 60_000, rule.windowMs),
        burstAtOnce: window.threshold,
      },
    };
  },
  render(translated, context) {
    const properties = {
      policySettings: {
        state: 'Enabled',
        mode: 'Prevention',
        customBlockResponseStatusCode: context.survey.blockStatus,
      },
      customRules: translated.map((t) => t.customRule),
      managedRules: { managedRuleSets: [{ ruleSetType: 'OWASP', ruleSetVersion: '3.2' }] },
    };
    return {
      files: wafPolicyFiles(
        APP_GATEWAY_FILES,
        [
          '// Deploying replaces the rules of the named policy: merge into an existing policy by hand.',
          `// ${MANAGED_RULES_WARNING}.`,
          "param policyName string = 'gossipless-rate-limits'",
          'param location string = resourceGroup().location',
          '',
          `resource wafPolicy 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies@${APP_GATEWAY_API_VERSION}' = {`,
          '  name: policyName',
          '  location: location',
          `  properties: ${toBicep(properties, '  ')}`,
          '}',
        ],
        {
          parameters: {
            policyName: { type: 'string', defaultValue: 'gossipless-rate-limits' },
            location: { type: 'string', defaultValue: '[resourceGroup().location]' },
          },
          resources: [
            {
              type: 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies',
              apiVersion: APP_GATEWAY_API_VERSION,
              name: "[parameters('policyName')]",
              location: "[parameters('location')]",
              properties,
            },
          ],
        },
      ),
      notes: [
        MANAGED_RULES_WARNING,
        `deploy with \`az deployment group create -g <resource-group> --template-file ${APP_GATEWAY_FILES.bicep}\` and attach the policy to the gateway or listener`,
      ],
    };
  },
};

function matchConditions(rule: RateLimitRule): object[] {
  const conditions: object[] = [];
  if (rule.match.path) {
    // Decoded and lower-cased by the transforms first, so /API/%6cogin matches /api/login.
    conditions.push({
      matchVariables: [{ variableName: 'RequestUri' }],
      operator: 'Regex',
      matchValues: [`^${slashTolerantPrefix(rule.match.path.toLowerCase())}`],
      transforms: ['UrlDecode', 'Lowercase'],
    });
  }
  if (rule.match.methods) {
    conditions.push({
      matchVariables: [{ variableName: 'RequestMethod' }],
      operator: 'Equal',
      matchValues: [...rule.match.methods],
    });
  }
  if (rule.match.host) {
    conditions.push({
      matchVariables: [{ variableName: 'RequestHeaders', selector: 'Host' }],
      operator: 'Equal',
      matchValues: [rule.match.host],
      transforms: ['Lowercase'],
    });
  }
  if (conditions.length === 0) {
    // Azure's documented "match everything" condition for rate-limit rules.
    conditions.push({
      matchVariables: [{ variableName: 'RemoteAddr' }],
      operator: 'IPMatch',
      negationConditon: true,
      matchValues: ['255.255.255.255/32'],
    });
  }
  return conditions;
}
