// Validates every document of deploy/k8s/*.yaml:
//  1. against the Kubernetes OpenAPI schema of its apiVersion/kind, with
//     kubernetes-models (Kubernetes' schemas as JSON Schema, checked by
//     ajv): unknown apiVersion/kind, missing required fields, wrong types
//     and malformed values (quantities, ports) fail. Kubernetes' schemas
//     allow unknown fields, so a misspelt field passes step 1;
//  2. against the project's own rules, which catch a misspelling of the
//     fields that matter: for the tradecheck workloads (every
//     container non-root with a read-only root file system, resources set,
//     native gRPC probes, the metrics port annotated, the store on a PVC).
// Exit 0 when all pass; otherwise prints each problem and exits 1.
//   node validate.mjs FILE.yaml...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as models from "kubernetes-models";

const problems = [];
const seen = [];

function modelFor(doc) {
  const [group, version] = doc.apiVersion.includes("/")
    ? doc.apiVersion.split("/")
    : ["", doc.apiVersion];
  const path = group === "" ? `${version}` : `${group}/${version}`;
  return import(`kubernetes-models/${path}/${doc.kind}`).then(
    (m) => m[doc.kind],
    () => null,
  );
}

function podSpecOf(doc) {
  if (doc.kind === "StatefulSet" || doc.kind === "Deployment") {
    return doc.spec.template.spec;
  }
  if (doc.kind === "CronJob") return doc.spec.jobTemplate.spec.template.spec;
  return null;
}

function checkWorkload(where, doc) {
  const pod = podSpecOf(doc);
  if (pod === null) return;
  const need = (ok, what) => {
    if (!ok) problems.push(`${where}: ${what}`);
  };
  need(pod.securityContext?.runAsNonRoot === true,
       "pod securityContext.runAsNonRoot must be true");
  for (const c of pod.containers) {
    const sc = c.securityContext ?? {};
    need(sc.readOnlyRootFilesystem === true,
         `container ${c.name}: readOnlyRootFilesystem must be true`);
    need(sc.allowPrivilegeEscalation === false,
         `container ${c.name}: allowPrivilegeEscalation must be false`);
    need(c.resources?.requests?.cpu && c.resources?.requests?.memory &&
         c.resources?.limits?.memory,
         `container ${c.name}: cpu/memory requests and a memory limit`);
  }
  if (doc.kind === "StatefulSet") {
    const c = pod.containers[0];
    need(c.readinessProbe?.grpc?.port, "readinessProbe must be a native grpc probe");
    need(c.livenessProbe?.grpc?.port, "livenessProbe must be a native grpc probe");
    const ann = doc.spec.template.metadata?.annotations ?? {};
    const metrics = (c.ports ?? []).find((p) => p.name === "metrics");
    need(ann["prometheus.io/scrape"] === "true" && metrics &&
         ann["prometheus.io/port"] === String(metrics.containerPort),
         "metrics port annotated for scraping (prometheus.io/scrape, /port)");
    need((doc.spec.volumeClaimTemplates ?? []).some((v) => v.metadata.name === "data"),
         "the store needs a volumeClaimTemplate named data");
  }
}

for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const [i, parsed] of docs.entries()) {
    const where = `${file}#${i}`;
    if (parsed.errors.length > 0) {
      problems.push(`${where}: YAML: ${parsed.errors[0].message}`);
      continue;
    }
    const doc = parsed.toJS();
    if (doc === null) continue;
    const Model = await modelFor(doc);
    if (Model === null) {
      problems.push(`${where}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${where} (${doc.kind} ${doc.metadata?.name}): ${e.message}`);
      continue;
    }
    checkWorkload(`${where} (${doc.kind} ${doc.metadata?.name})`, doc);
    seen.push(`${doc.kind}/${doc.metadata?.name}`);
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`valid: ${seen.join(", ")}`);
