import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { resolveLeaseElectorOptions, type StorageConnection } from '../../src/index.js';
import { packageApiCompilerOptions } from '../helpers/package-api-typecheck.js';
import { isValidClusterName } from '../../src/node-id/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const folder = join(root, 'docs/deploy/kubernetes');

/** Every YAML file under the example, recursively. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

interface Manifest {
  file: string;
  object: Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string } };
}

function manifests(): Manifest[] {
  return yamlFiles(folder).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
      expect(doc.errors, `${relative(root, file)}: ${doc.errors.join('; ')}`).toEqual([]);
      return { file: relative(root, file), object: doc.toJS() as Manifest['object'] };
    }),
  );
}

// Each kind the example uses, validated against its Kubernetes OpenAPI schema.
const MODELS: Record<string, (object: never) => { validate(): void }> = {
  Deployment: (o) => new Deployment(o),
  ServiceAccount: (o) => new ServiceAccount(o),
};

function only<T>(list: T[], what: string): T {
  expect(list, what).toHaveLength(1);
  return list[0]!;
}

/** Worst case of cluster.stop() on the leader, in seconds, from the defaults in the code. */
function shutdownBoundSeconds(): number {
  const lease = resolveLeaseElectorOptions({ storage: {} as StorageConnection, cluster: 'bound' });
  const jobsSettle = lease.leaseDurationMs - lease.safetyMarginMs; // stop() waits at most the lease time left
  const release = lease.callTimeoutMs;
  const busCallTimeoutMs = 5000; // TableBusOptions.callTimeoutMs default: the `released` announcement
  const memberCallTimeoutMs = 5000; // MembershipOptions.callTimeoutMs default: deleting the member row
  return (jobsSettle + release + busCallTimeoutMs + memberCallTimeoutMs) / 1000;
}

describe('docs/deploy/kubernetes', () => {
  const all = manifests();
  const deployment = only(
    all.filter((m) => m.object.kind === 'Deployment'),
    'one Deployment',
  ).object as unknown as Deployment;
  const serviceAccount = only(
    all.filter((m) => m.object.kind === 'ServiceAccount'),
    'one ServiceAccount',
  ).object as unknown as ServiceAccount;
  const pod = deployment.spec!.template.spec!;
  const app = only(pod.containers, 'one container');

  it('every YAML document validates against the Kubernetes schemas', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const { file, object } of all) {
      const model = MODELS[object.kind ?? ''];
      expect(model, `${file}: no schema check for kind ${String(object.kind)}`).toBeDefined();
      expect(() => model!(object as never).validate(), file).not.toThrow();
    }
  });

  it('the schema check would catch a broken manifest', () => {
    const broken = structuredClone(deployment) as unknown as { spec: { replicas: unknown } };
    broken.spec.replicas = 'three';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
    const misspelt = structuredClone(serviceAccount) as unknown as { metadata: { annotations: unknown } };
    misspelt.metadata.annotations = { 'azure.workload.identity/client-id': 42 };
    expect(() => new ServiceAccount(misspelt as never).validate()).toThrow(/annotations/);
  });

  it('runs 3 replicas as the annotated service account, with the workload identity label', () => {
    expect(deployment.spec!.replicas).toBe(3);
    expect(pod.serviceAccountName).toBe(serviceAccount.metadata!.name);
    expect(deployment.metadata!.namespace).toBe(serviceAccount.metadata!.namespace);
    // The webhook matches the string "true", not a YAML boolean.
    expect(deployment.spec!.template.metadata!.labels!['azure.workload.identity/use']).toBe('true');
    expect(serviceAccount.metadata!.annotations!['azure.workload.identity/client-id']).toMatch(
      /^[0-9a-f-]{36}$/,
    );
    const selector = deployment.spec!.selector.matchLabels!;
    for (const [key, value] of Object.entries(selector)) {
      expect(deployment.spec!.template.metadata!.labels![key]).toBe(value);
    }
  });

  it('gives SIGTERM more time than cluster.stop() can take at the defaults', () => {
    const bound = shutdownBoundSeconds();
    expect(bound).toBe(26);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(bound);
  });

  it('configures storage by account name only, with a readiness probe', () => {
    const env = new Map((app.env ?? []).map((e) => [e.name, e]));
    expect(env.get('AZURE_STORAGE_ACCOUNT')?.value).toMatch(/^[a-z0-9]{3,24}$/);
    expect(isValidClusterName(env.get('GOSSIPLESS_CLUSTER')?.value ?? '')).toBe(true);
    // Least privilege: no key, connection string or SAS in the pod.
    for (const name of env.keys()) expect(name).not.toMatch(/CONNECTION_STRING|SAS|KEY/);
    expect(app.readinessProbe?.httpGet?.path).toBe('/ready');
    const port = app.readinessProbe!.httpGet!.port;
    expect(app.ports!.some((p) => p.name === port || p.containerPort === port)).toBe(true);
  });

  it('keeps the Bicep and the CLI commands in step with the service account', () => {
    const bicep = readFileSync(join(folder, 'role-assignments.bicep'), 'utf8');
    const readme = readFileSync(join(folder, 'README.md'), 'utf8');
    const ns = serviceAccount.metadata!.namespace!;
    const sa = serviceAccount.metadata!.name!;
    expect(bicep).toContain(`param serviceAccountNamespace string = '${ns}'`);
    expect(bicep).toContain(`param serviceAccountName string = '${sa}'`);
    expect(bicep).toContain(
      "subject: 'system:serviceaccount:${serviceAccountNamespace}:${serviceAccountName}'",
    );
    expect(readme).toContain(`NS=${ns} SA=${sa}`);
    expect(readme).toContain('--subject "system:serviceaccount:$NS:$SA"');
    // Storage Blob Data Contributor on the container, Storage Table Data Contributor on the table.
    expect(bicep).toMatch(/storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'/);
    expect(bicep).toMatch(/storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'/);
    expect(bicep).toMatch(/resource blobRole [^\n]+\n\s+scope: container\n/);
    expect(bicep).toMatch(/resource tableRole [^\n]+\n\s+scope: table\n/);
    expect(bicep.match(/Microsoft\.Authorization\/roleAssignments@/g)).toHaveLength(2);
    expect(readme).toContain(
      '--role "Storage Blob Data Contributor" --scope "$ACCOUNT_ID/blobServices/default/containers/$CONTAINER"',
    );
    expect(readme).toContain(
      '--role "Storage Table Data Contributor" --scope "$ACCOUNT_ID/tableServices/default/tables/$TABLE"',
    );
    // The defaults the code uses: container 'gossipless', table '<tablePrefix>bus'.
    expect(bicep).toContain("param containerName string = 'gossipless'");
    expect(bicep).toContain("param tableName string = 'gossiplessbus'");
  });

  it('app/main.ts type-checks against the package API', () => {
    const file = join(folder, 'app/main.ts');
    const program = ts.createProgram([file], packageApiCompilerOptions(root));
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('connectStorage({ accountName })');
    expect(text).toContain('handleShutdownSignals(cluster');
  }, 60_000);
});
