/**
 * deploy/kubernetes/ cannot be applied here (no cluster), so it is checked against the contracts it
 * must keep: every variable it sets is one loadConfig knows and the ConfigMap with the Secret
 * template is a configuration loadConfig accepts; each Deployment runs one role that exists, with
 * probes on /livez and /readyz, resource requests and a memory limit; each role has a
 * PodDisruptionBudget and the Service reaches the web pods; the structure of every object is
 * validated by zod schemas of the fields dfm relies on, and, when the `kubernetes-models` package
 * is installed, by the Kubernetes schemas themselves (the test says so when it is not).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { loadConfig, variables } from '../../src/config/load-config.js';
import { selectRoles } from '../../src/service/select-roles.js';
import { serviceRoles } from '../../src/service/service-roles.js';

const DIR = 'deploy/kubernetes';
const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
// secret.yaml is the operator's copy of the template (ignored by Git).
const files = kustomization.resources.map((f) => (f === 'secret.yaml' ? 'secret.template.yaml' : f));
const objects = files.flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => ({ file: f, object: d.toJS() as Record<string, unknown> })));

const labels = z.record(z.string(), z.string());
const probe = z.object({ httpGet: z.object({ path: z.string().startsWith('/'), port: z.union([z.string(), z.number()]) }), periodSeconds: z.number().int().positive(), failureThreshold: z.number().int().positive() });
const quantity = z.string().regex(/^\d+(\.\d+)?(m|Mi|Gi)?$/);
const envVar = z.object({ name: z.string(), value: z.string() }).strict();
const deploymentSchema = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: z.object({ name: z.string(), labels }),
  spec: z.object({
    replicas: z.number().int().positive(),
    selector: z.object({ matchLabels: labels }),
    template: z.object({
      metadata: z.object({ labels, annotations: labels.optional() }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number().int().positive(),
        containers: z.array(
          z.object({
            name: z.string(),
            image: z.string(),
            args: z.array(z.string()),
            ports: z.array(z.object({ name: z.string(), containerPort: z.number().int() })),
            env: z.array(envVar),
            envFrom: z.array(z.object({ configMapRef: z.object({ name: z.string() }).optional(), secretRef: z.object({ name: z.string() }).optional() })),
            startupProbe: probe,
            livenessProbe: probe,
            readinessProbe: probe,
            resources: z.object({ requests: z.object({ cpu: quantity, memory: quantity }), limits: z.object({ memory: quantity }) }),
          }),
        ).length(1),
      }),
    }),
  }),
});
type Deployment = z.infer<typeof deploymentSchema>;
const pdbSchema = z.object({ apiVersion: z.literal('policy/v1'), kind: z.literal('PodDisruptionBudget'), metadata: z.object({ name: z.string() }), spec: z.object({ minAvailable: z.number().int().positive(), selector: z.object({ matchLabels: labels }) }) });
const serviceSchema = z.object({ apiVersion: z.literal('v1'), kind: z.literal('Service'), metadata: z.object({ name: z.string() }), spec: z.object({ selector: labels, ports: z.array(z.object({ name: z.string(), port: z.number().int(), targetPort: z.union([z.string(), z.number()]) })) }) });
const configMapSchema = z.object({ apiVersion: z.literal('v1'), kind: z.literal('ConfigMap'), metadata: z.object({ name: z.string() }), data: z.record(z.string(), z.string()) });
const secretSchema = z.object({ apiVersion: z.literal('v1'), kind: z.literal('Secret'), metadata: z.object({ name: z.string() }), type: z.literal('Opaque'), stringData: z.record(z.string(), z.string()) });
const schemas: Record<string, z.ZodType> = { Deployment: deploymentSchema, PodDisruptionBudget: pdbSchema, Service: serviceSchema, ConfigMap: configMapSchema, Secret: secretSchema };

const ofKind = <T,>(kind: string) => objects.filter((o) => o.object['kind'] === kind).map((o) => o.object as T);
const deployments = ofKind<Deployment>('Deployment');
const configMap = ofKind<z.infer<typeof configMapSchema>>('ConfigMap')[0]!;
const secret = ofKind<z.infer<typeof secretSchema>>('Secret')[0]!;
// kubernetes-models (npm, 5.1.0) validates against the Kubernetes OpenAPI schemas; it is not a
// dependency yet. With it installed, the last test checks every object for real.
const models = await loadKubernetesModels();
const matches = (selector: Record<string, string>, podLabels: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);

describe('deploy/kubernetes', () => {
  it('lists files that exist, and every object has a known kind and the fields dfm relies on', () => {
    for (const f of files) expect(existsSync(join(DIR, f)), f).toBe(true);
    for (const { file, object } of objects) {
      const schema = schemas[String(object['kind'])];
      expect(schema, `${file}: ${String(object['kind'])}`).toBeDefined();
      const result = schema!.safeParse(object);
      expect(result.success ? [] : result.error.issues.map((i) => `${file}: ${i.path.join('.')}: ${i.message}`)).toEqual([]);
    }
  });

  it('sets only variables loadConfig knows, and the ConfigMap with the Secret is a configuration it accepts', () => {
    const set = new Set([...Object.keys(configMap.data), ...Object.keys(secret.stringData), ...deployments.flatMap((d) => d.spec.template.spec.containers[0]!.env.map((e) => e.name))]);
    expect([...set].filter((name) => !(name in variables))).toEqual([]);
    for (const d of deployments) {
      const env = { ...configMap.data, ...secret.stringData, ...Object.fromEntries(d.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value])) };
      const config = loadConfig(env);
      // Each Deployment runs a role the service knows.
      expect(() => selectRoles(config.role, Object.entries(serviceRoles).map(([name, r]) => ({ name, http: r.http ?? false }))), d.metadata.name).not.toThrow();
      expect(config.port).toBe(8080);
    }
  });

  it('runs one Deployment per role, probed on /livez and /readyz at the port dfm listens on', () => {
    const roles = deployments.map((d) => d.spec.template.spec.containers[0]!.env.find((e) => e.name === 'DFM_ROLE')?.value).sort();
    expect(roles).toEqual(['scheduler', 'web', 'worker']);
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0]!;
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name).toBe(true);
      expect([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path, c.startupProbe.httpGet.path], d.metadata.name).toEqual(['/livez', '/readyz', '/livez']);
      expect(c.ports.find((p) => p.name === c.readinessProbe.httpGet.port)?.containerPort).toBe(Number(configMap.data['PORT']));
      // The pod outlives dfm's own shutdown limit: dfm, not the kubelet's SIGKILL, ends the work.
      expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(configMap.data['DFM_SHUTDOWN_TIMEOUT_MS']));
    }
  });

  it('gives every role a PodDisruptionBudget and the Service the web pods', () => {
    const pdbs = ofKind<z.infer<typeof pdbSchema>>('PodDisruptionBudget');
    for (const d of deployments) {
      const budget = pdbs.filter((p) => matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels));
      expect(budget.length, d.metadata.name).toBe(1);
      expect(budget[0]!.spec.minAvailable).toBeLessThan(d.spec.replicas);
    }
    const [service] = ofKind<z.infer<typeof serviceSchema>>('Service');
    const reached = deployments.filter((d) => matches(service!.spec.selector, d.spec.template.metadata.labels));
    expect(reached.map((d) => d.metadata.name)).toEqual(['dfm-web']);
  });

  it.skipIf(models === undefined)('validates against the Kubernetes schemas (kubernetes-models)', () => {
    for (const { file, object } of objects) {
      const Model = models![`${String(object['apiVersion'])}/${String(object['kind'])}`];
      expect(Model, `${file}: ${String(object['kind'])}`).toBeDefined();
      expect(() => new Model!(object).validate(), file).not.toThrow();
    }
  });
});

type ModelClass = new (data: unknown) => { validate(): void };
async function loadKubernetesModels(): Promise<Record<string, ModelClass> | undefined> {
  const paths: Record<string, string> = {
    'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
    'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
    'v1/Service': 'kubernetes-models/v1/Service',
    'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
    'v1/Secret': 'kubernetes-models/v1/Secret',
  };
  try {
    const entries = await Promise.all(Object.entries(paths).map(async ([key, path]) => [key, ((await import(/* @vite-ignore */ path)) as Record<string, ModelClass>)[key.split('/').at(-1)!]!] as const));
    return Object.fromEntries(entries);
  } catch {
    return undefined;
  }
}
