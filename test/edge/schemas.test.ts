import { readFileSync } from 'node:fs';
import { IngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute';
import { Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware';
import { Ajv } from 'ajv';
import { XMLParser } from 'fast-xml-parser';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  APIM_FILE,
  APP_GATEWAY_FILES,
  FRONT_DOOR_FILES,
  INGRESS_NGINX_FILE,
  INGRESS_NGINX_RETIRED,
  TRAEFIK_FILE,
  type EdgePlan,
} from '../../src/edge/index.js';
import { edgeCases } from './helpers.js';

const schema = (name: string): object =>
  JSON.parse(readFileSync(new URL(`../../src/edge/schemas/${name}`, import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
const validateFrontDoor = ajv.compile(schema('front-door-waf-policy.schema.json'));
const validateAppGateway = ajv.compile(schema('app-gateway-waf-policy.schema.json'));
const apimSchema = schema('apim-policy.schema.json') as { definitions: { policyContract: object } };
const validateApim = ajv.compile(apimSchema);
const validatePolicyContract = ajv.compile(apimSchema.definitions.policyContract);
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  commentPropName: false,
});

function file(plan: EdgePlan, path: string): string {
  const found = plan.files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} was not generated`);
  return found.content;
}

function manifests(text: string): Array<{ kind: string } & Record<string, unknown>> {
  return parseAllDocuments(text).map((doc) => doc.toJS() as { kind: string } & Record<string, unknown>);
}

function armResource(text: string): { properties: Record<string, unknown> } & Record<string, unknown> {
  return (JSON.parse(text) as { resources: Array<{ properties: Record<string, unknown> }> }).resources[0]!;
}

describe.each(edgeCases())('published schemas accept the $name outputs', ({ plan }) => {
  it('Traefik Middleware and IngressRoute (@kubernetes-models/traefik)', () => {
    const docs = manifests(file(plan, TRAEFIK_FILE));
    const accepted = plan.rows.filter((r) => r.target === 'traefik' && r.fidelity !== 'refused');
    expect(docs.filter((d) => d.kind === 'Middleware')).toHaveLength(accepted.length);
    for (const doc of docs) {
      if (doc.kind === 'Middleware') new Middleware(doc as never).validate();
      else if (doc.kind === 'IngressRoute') new IngressRoute(doc as never).validate();
      else throw new Error(`unexpected kind ${doc.kind}`);
    }
  });

  it('ingress-nginx Ingress and ConfigMap (kubernetes-models), marked retired', () => {
    const text = file(plan, INGRESS_NGINX_FILE);
    expect(text).toContain(INGRESS_NGINX_RETIRED);
    for (const doc of manifests(text)) {
      if (doc.kind === 'Ingress') new Ingress(doc as never).validate();
      else if (doc.kind === 'ConfigMap') new ConfigMap(doc as never).validate();
      else if (doc !== null) throw new Error(`unexpected kind ${doc.kind}`);
    }
  });

  it('Front Door WAF policy (azure-rest-api-specs frontdoor 2024-02-01), Bicep in step with ARM', () => {
    const resource = armResource(file(plan, FRONT_DOOR_FILES.arm));
    expect(validateFrontDoor(resource), ajv.errorsText(validateFrontDoor.errors)).toBe(true);
    const bicep = file(plan, FRONT_DOOR_FILES.bicep);
    const rules = (
      resource.properties.customRules as { rules: Array<{ name: string; rateLimitThreshold: number }> }
    ).rules;
    for (const rule of rules) {
      expect(bicep).toContain(`name: '${rule.name}'`);
      expect(bicep).toContain(`rateLimitThreshold: ${rule.rateLimitThreshold}\n`);
    }
  });

  it('Application Gateway WAF policy (azure-rest-api-specs network 2024-05-01)', () => {
    const resource = armResource(file(plan, APP_GATEWAY_FILES.arm));
    expect(validateAppGateway(resource), ajv.errorsText(validateAppGateway.errors)).toBe(true);
  });

  it('API Management policy XML (rate-limit-by-key reference, PolicyContract)', () => {
    const text = file(plan, APIM_FILE);
    expect(validateApim(xml.parse(text)), ajv.errorsText(validateApim.errors)).toBe(true);
    expect(validatePolicyContract({ format: 'rawxml', value: text })).toBe(true);
  });
});

describe('the schema checks can fail', () => {
  const first = edgeCases().find((c) => c.name === 'per-ip-100-per-30s-with-burst');
  it('rejects a Traefik rateLimit with a non-integer average', () => {
    expect(() =>
      new Middleware({
        metadata: { name: 'x' },
        spec: { rateLimit: { average: 'fast' as never } },
      }).validate(),
    ).toThrow(/average/);
  });

  it('rejects an Ingress annotation that is not a string', () => {
    expect(() => new Ingress({ metadata: { name: 'x', annotations: { a: 5 as never } } }).validate()).toThrow(
      /annotations/,
    );
  });

  it('rejects a Front Door rule with an unknown action or a misspelt property', () => {
    const resource = armResource(file(first!.plan, FRONT_DOOR_FILES.arm));
    const rules = (resource.properties.customRules as { rules: Array<Record<string, unknown>> }).rules;
    rules[0]!.action = 'Deny';
    expect(validateFrontDoor(resource)).toBe(false);
    rules[0]!.action = 'Block';
    rules[0]!.rateLimitTreshold = 5;
    expect(validateFrontDoor(resource)).toBe(false);
  });

  it('rejects an App Gateway rule with a 2-minute duration', () => {
    const resource = armResource(file(first!.plan, APP_GATEWAY_FILES.arm));
    (resource.properties.customRules as Array<Record<string, unknown>>)[0]!.rateLimitDuration = 'TwoMins';
    expect(validateAppGateway(resource)).toBe(false);
  });

  it('rejects a rate-limit-by-key renewal-period above 300 s', () => {
    const text = file(first!.plan, APIM_FILE).replace(/renewal-period="\d+"/, 'renewal-period="301"');
    expect(validateApim(xml.parse(text))).toBe(false);
  });
});
