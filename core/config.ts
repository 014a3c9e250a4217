/**
 * Environment -> typed, validated configuration.
 *
 * Every variable is parsed at start; all problems are reported at once, each naming the variable
 * and the rule it breaks. `NODE_ENV=production` additionally refuses anything only fit for a
 * laptop (embedded Postgres, the dev chain, a generated Fernet key, a weak admin key).
 */
import path from 'node:path';
import { z } from 'zod';
import { parseUnits } from 'ethers';
import { ConfigError } from './errors.ts';
import { PROVIDER_NAMES, type KeyRingConfig, type ProviderName } from '../keyproviders/index.ts';
import { parseCidr } from './auth/scopes.ts';

/** Every environment variable VaultPilot reads (documented in `.env.example` and docs). */
export const CONFIG_VARIABLES = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'DATA_DIR',
  'DATABASE_URL',
  'RPC_URLS',
  'WEB3_RPC_URL',
  'KEY_PROVIDER',
  'KEY_PROVIDER_TIMEOUT_MS',
  'FERNET_KEYS',
  'FERNET_KEY',
  'ENCRYPT_KEY',
  'AWS_KMS_KEY_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL_KMS',
  'AWS_ENDPOINT_URL',
  'VAULT_ADDR',
  'VAULT_TOKEN',
  'VAULT_ROLE_ID',
  'VAULT_SECRET_ID',
  'VAULT_TRANSIT_MOUNT',
  'VAULT_TRANSIT_KEY',
  'VAULT_NAMESPACE',
  'ALLOW_KEY_EXPORT',
  'ALLOW_PLAINTEXT_EXPORT',
  'EXPORT_CODE',
  'AGENTVAULT_ALLOW_PLAINTEXT_EXPORT',
  'AGENTVAULT_EXPORT_CODE',
  'ADMIN_API_KEY',
  'MAX_TX_ETH',
  'TX_CONFIRM_CODE',
  'AGENTVAULT_MAX_TX_ETH',
  'AGENTVAULT_TX_CONFIRM_CODE',
  'TX_CONFIRMATIONS',
  'FAUCET_PRIVATE_KEY',
  'FAUCET_MAX_ETH',
  'WORKER_METRICS_PORT',
  'LOG_LEVEL',
  'POLICY_FILE',
  'APPROVAL_TTL',
  'TRUSTED_PROXIES',
  'ALLOWED_HOSTS',
  'ALLOWED_ORIGINS',
  'METRICS_TOKEN',
  'MAX_FEE_PER_GAS_GWEI',
  'KDF_THREADS',
  'KDF_QUEUE',
] as const;

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

/** The private keys of anvil's well-known dev accounts 0-2 (public knowledge; dev chain only). */
export const ANVIL_DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
] as const;

/** Typed configuration shared by the server, the worker and the CLI scripts. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Absolute directory for embedded defaults (Postgres data, generated Fernet key). */
  dataDir: string;
  /** `undefined` means "embedded Postgres" (only the launcher `npm start` provides one). */
  databaseUrl: string | undefined;
  /** RPC endpoints in failover order; empty means "local dev chain" (launcher only). */
  rpcUrls: string[];
  /** The provider that wraps new wallet keys (`KEY_PROVIDER`). */
  keyProvider: ProviderName;
  /** Fernet keys (url-safe base64, 32 bytes), newest first; empty means "generated key under DATA_DIR" when Fernet is active. */
  fernetKeys: string[];
  /** AWS KMS settings when `AWS_KMS_KEY_ID` is set (credentials come from the SDK's default chain). */
  awsKms: KeyRingConfig['awsKms'];
  /** Vault transit settings when `VAULT_TRANSIT_KEY` is set. */
  vault: KeyRingConfig['vault'];
  /** Per-request timeout of remote key providers, in ms. */
  keyProviderTimeoutMs: number;
  /**
   * `ALLOW_KEY_EXPORT=1` (older names `ALLOW_PLAINTEXT_EXPORT`, `AGENTVAULT_ALLOW_PLAINTEXT_EXPORT`):
   * key material may leave at all, as a keystore or in plaintext, for an owner key and after a
   * second person's approval (docs/key-custody.md). Off by default.
   */
  allowKeyExport: boolean;
  /** The code `export_wallet_private_key` must be given as well (`EXPORT_CODE`). */
  exportCode: string | undefined;
  adminApiKey: string | undefined;
  /** Transfers above this many wei need `TX_CONFIRM_CODE` (default 0.1 ETH, AgentVault's). */
  maxTxWei: bigint;
  txConfirmCode: string | undefined;
  /** Blocks on top of the receipt's block before a transaction counts as `confirmed`. */
  txConfirmations: number;
  /** Funds `request_faucet_funds`; unset disables the faucet. */
  faucetPrivateKey: string | undefined;
  /** Cap of one faucet payment, in wei. */
  faucetMaxWei: bigint;
  workerMetricsPort: number;
  /** Absolute path of `vaultpilot.yml` (`POLICY_FILE`); unset means built-in defaults (docs/policies.md). */
  policyFile: string | undefined;
  /** How long a pending approval waits for a human before it expires, in ms (`APPROVAL_TTL`, default 24 h). */
  approvalTtlMs: number;
  /**
   * Reverse proxies (CIDRs) whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`); empty:
   * the socket's peer is the client. Used for key IP scopes and the audit log's `ip`.
   */
  trustedProxies: string[];
  /**
   * Host names (`ALLOWED_HOSTS`, lowercase, without port) the server answers MCP requests for;
   * empty: loopback names only (`localhost`, `127.0.0.1`, `::1`), which is all a server bound to
   * loopback needs. A server bound elsewhere must list its names (configuration refuses otherwise).
   */
  allowedHosts: string[];
  /**
   * Origins (`ALLOWED_ORIGINS`, `scheme://host[:port]`) besides the server's own that may send a
   * browser `Origin` to MCP and cookie-authenticated REST writes (cross-site write and DNS
   * rebinding protection, docs/security.md).
   */
  allowedOrigins: string[];
  /** Bearer token `/metrics` requires (`METRICS_TOKEN`); unset: `/metrics` is open. */
  metricsToken: string | undefined;
  /** Highest EIP-1559 max fee per gas a send may be signed with, in wei (`MAX_FEE_PER_GAS_GWEI`, default 500 gwei). */
  maxFeePerGasWei: bigint;
  /** Keystore key derivations (scrypt, pbkdf2) run in this many worker threads (`KDF_THREADS`, default 1: each holds up to 256 MiB). */
  kdfThreads: number;
  /** Derivations that may wait for a thread before `BUSY` is answered (`KDF_QUEUE`, default 16). */
  kdfQueue: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const FERNET_KEY_RE = /^[A-Za-z0-9_-]{43}=$/;

/** Shortest `EXPORT_CODE` accepted, and shortest `TX_CONFIRM_CODE` in production. */
export const MIN_CODE_LENGTH = 12;

/** Whether `host` (a `HOST` bind address or a Host header's name) is a loopback name or address. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const port = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^\d+$/.test(v) || Number(v) > 65535) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer port from 0 to 65535, 0 meaning any free port (got "${v}")` });
        return z.NEVER;
      }
      return Number(v);
    });

const ethAmount = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      try {
        if (!/^\d+(\.\d{1,18})?$/.test(v)) throw new Error('bad');
        return parseUnits(v, 18);
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a decimal ETH amount like "0.1" (got "${v}")` });
        return z.NEVER;
      }
    });

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: whole seconds (`900`) or a number with a unit (`15m`, `24h`, `7d`). */
const duration = (name: string, fallbackMs: number, minMs: number, maxMs: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallbackMs;
      const m = /^(\d{1,9})([smhd]?)$/.exec(v.trim());
      const ms = m ? Number(m[1]) * DURATION_UNITS_MS[m[2] || 's']! : NaN;
      if (!(ms >= minMs && ms <= maxMs)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a duration from ${minMs / 1000} s to ${maxMs / 86_400_000} d, as seconds or with a unit like "15m", "24h", "7d" (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });

/** A whole-number setting (a count, never money) in [min, max]. */
const count = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      if (!/^\d{1,9}$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer from ${min} to ${max} (got "${v}")` });
        return z.NEVER;
      }
      return Number.parseInt(v.trim(), 10);
    });

/** Comma-separated values, trimmed, empty ones dropped. */
const list = (v: string | undefined): string[] => (v ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], { message: 'NODE_ENV must be development, production or test' })
    .default('development'),
  PORT: port('PORT', 8080),
  HOST: optionalString,
  DATA_DIR: optionalString,
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'DATABASE_URL must be a postgres:// or postgresql:// URL',
  }),
  RPC_URLS: optionalString,
  WEB3_RPC_URL: optionalString,
  KEY_PROVIDER: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || (PROVIDER_NAMES as readonly string[]).includes(v), {
      message: `KEY_PROVIDER must be one of ${PROVIDER_NAMES.join(', ')}`,
    }),
  KEY_PROVIDER_TIMEOUT_MS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return 5000;
      if (!/^\d+$/.test(v) || Number(v) < 100 || Number(v) > 120_000) {
        ctx.addIssue({ code: 'custom', message: `KEY_PROVIDER_TIMEOUT_MS must be an integer from 100 to 120000 milliseconds (got "${v}")` });
        return z.NEVER;
      }
      return Number(v);
    }),
  FERNET_KEYS: optionalString,
  FERNET_KEY: optionalString,
  ENCRYPT_KEY: optionalString,
  AWS_KMS_KEY_ID: optionalString,
  AWS_REGION: optionalString,
  AWS_DEFAULT_REGION: optionalString,
  AWS_ENDPOINT_URL_KMS: optionalString,
  AWS_ENDPOINT_URL: optionalString,
  VAULT_ADDR: optionalString,
  VAULT_TOKEN: optionalString,
  VAULT_ROLE_ID: optionalString,
  VAULT_SECRET_ID: optionalString,
  VAULT_TRANSIT_MOUNT: optionalString,
  VAULT_TRANSIT_KEY: optionalString,
  VAULT_NAMESPACE: optionalString,
  ALLOW_KEY_EXPORT: optionalString,
  ALLOW_PLAINTEXT_EXPORT: optionalString,
  AGENTVAULT_ALLOW_PLAINTEXT_EXPORT: optionalString,
  EXPORT_CODE: optionalString,
  AGENTVAULT_EXPORT_CODE: optionalString,
  ADMIN_API_KEY: optionalString,
  MAX_TX_ETH: ethAmount('MAX_TX_ETH'),
  AGENTVAULT_MAX_TX_ETH: ethAmount('AGENTVAULT_MAX_TX_ETH'),
  TX_CONFIRM_CODE: optionalString,
  AGENTVAULT_TX_CONFIRM_CODE: optionalString,
  TX_CONFIRMATIONS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return 2;
      if (!/^\d+$/.test(v) || Number(v) > 1000) {
        ctx.addIssue({ code: 'custom', message: `TX_CONFIRMATIONS must be an integer from 0 to 1000 (got "${v}")` });
        return z.NEVER;
      }
      return Number(v);
    }),
  FAUCET_PRIVATE_KEY: optionalString.refine((v) => v === undefined || /^0x[0-9a-fA-F]{64}$/.test(v), {
    message: 'FAUCET_PRIVATE_KEY must be 0x followed by 64 hex characters',
  }),
  FAUCET_MAX_ETH: ethAmount('FAUCET_MAX_ETH'),
  WORKER_METRICS_PORT: port('WORKER_METRICS_PORT', 9464),
  POLICY_FILE: optionalString,
  APPROVAL_TTL: duration('APPROVAL_TTL', 86_400_000, 60_000, 30 * 86_400_000),
  TRUSTED_PROXIES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = (v ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
      const bad = list.filter((x) => parseCidr(x) === undefined);
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDRs such as 10.0.0.0/8 (got "${bad[0]}")` });
        return z.NEVER;
      }
      return list;
    }),
  ALLOWED_HOSTS: optionalString,
  ALLOWED_ORIGINS: optionalString,
  METRICS_TOKEN: optionalString,
  MAX_FEE_PER_GAS_GWEI: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return parseUnits('500', 'gwei');
      if (!/^\d{1,12}(\.\d{1,9})?$/.test(v.trim()) || parseUnits(v.trim(), 'gwei') === 0n) {
        ctx.addIssue({ code: 'custom', message: `MAX_FEE_PER_GAS_GWEI must be a positive decimal gwei amount like "300" or "0.5" (got "${v}")` });
        return z.NEVER;
      }
      return parseUnits(v.trim(), 'gwei');
    }),
  KDF_THREADS: count('KDF_THREADS', 1, 1, 16),
  KDF_QUEUE: count('KDF_QUEUE', 16, 0, 1000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/**
 * Parses and validates the environment.
 *
 * @param env - usually `process.env`; only the variables in {@link CONFIG_VARIABLES} are read.
 * @returns the typed {@link Config}.
 * @throws {ConfigError} listing every invalid variable (and, in production, every laptop-only
 *   default) at once. Secret values are never echoed in the messages.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(
    Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, env[name]])),
  );
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      problems.push(issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.data;

  const rpcSource = e.RPC_URLS ?? e.WEB3_RPC_URL;
  const rpcName = e.RPC_URLS ? 'RPC_URLS' : 'WEB3_RPC_URL';
  const rpcUrls = rpcSource ? rpcSource.split(',').map((u) => u.trim()).filter(Boolean) : [];
  for (const url of rpcUrls) {
    if (!/^(https?|wss?):\/\/[^\s]+$/.test(url)) problems.push(`${rpcName} entries must be http(s):// or ws(s):// URLs (got "${url}")`);
  }

  const fernetSource = e.FERNET_KEYS ?? e.FERNET_KEY ?? e.ENCRYPT_KEY;
  const fernetName = e.FERNET_KEYS ? 'FERNET_KEYS' : e.FERNET_KEY ? 'FERNET_KEY' : 'ENCRYPT_KEY';
  const fernetKeys = fernetSource ? fernetSource.split(',').map((k) => k.trim()).filter(Boolean) : [];
  for (const key of fernetKeys) {
    if (!FERNET_KEY_RE.test(key)) {
      problems.push(`${fernetName} must be a Fernet key, or several separated by commas: each 32 bytes in url-safe base64 (44 characters ending in "="), as made by Fernet.generate_key()`);
      break;
    }
  }

  const keyProvider = (e.KEY_PROVIDER || 'fernet') as ProviderName;
  const endpointOk = (name: string, v: string | undefined) => {
    if (v !== undefined && !/^https?:\/\/[^\s]+$/.test(v)) problems.push(`${name} must be an http(s):// URL (got "${v}")`);
  };
  endpointOk('AWS_ENDPOINT_URL_KMS', e.AWS_ENDPOINT_URL_KMS);
  endpointOk('AWS_ENDPOINT_URL', e.AWS_ENDPOINT_URL);
  endpointOk('VAULT_ADDR', e.VAULT_ADDR);
  const awsKms: Config['awsKms'] = e.AWS_KMS_KEY_ID
    ? {
        keyId: e.AWS_KMS_KEY_ID,
        region: e.AWS_REGION ?? e.AWS_DEFAULT_REGION,
        endpoint: e.AWS_ENDPOINT_URL_KMS ?? e.AWS_ENDPOINT_URL,
        timeoutMs: e.KEY_PROVIDER_TIMEOUT_MS,
      }
    : undefined;
  if (keyProvider === 'aws-kms' && !awsKms) problems.push('AWS_KMS_KEY_ID is required when KEY_PROVIDER=aws-kms (a key id, key ARN or alias such as alias/vaultpilot)');
  let vault: Config['vault'];
  if (e.VAULT_TRANSIT_KEY) {
    if (!e.VAULT_ADDR) problems.push('VAULT_ADDR is required when VAULT_TRANSIT_KEY is set (e.g. https://vault.internal:8200)');
    if (!e.VAULT_TOKEN && !(e.VAULT_ROLE_ID && e.VAULT_SECRET_ID)) {
      problems.push('VAULT_TOKEN, or VAULT_ROLE_ID with VAULT_SECRET_ID (AppRole), is required when VAULT_TRANSIT_KEY is set');
    }
    if (e.VAULT_TRANSIT_MOUNT !== undefined && !/^[A-Za-z0-9_.\-/]+$/.test(e.VAULT_TRANSIT_MOUNT)) problems.push('VAULT_TRANSIT_MOUNT must be a mount path like "transit"');
    if (!/^[A-Za-z0-9_.-]+$/.test(e.VAULT_TRANSIT_KEY)) problems.push('VAULT_TRANSIT_KEY must be a transit key name (letters, digits, _ . -)');
    vault = {
      addr: e.VAULT_ADDR ?? '',
      token: e.VAULT_TOKEN,
      roleId: e.VAULT_ROLE_ID,
      secretId: e.VAULT_SECRET_ID,
      mount: (e.VAULT_TRANSIT_MOUNT ?? 'transit').replace(/^\/+|\/+$/g, ''),
      key: e.VAULT_TRANSIT_KEY,
      namespace: e.VAULT_NAMESPACE,
      timeoutMs: e.KEY_PROVIDER_TIMEOUT_MS,
    };
  } else if (keyProvider === 'vault') {
    problems.push('VAULT_TRANSIT_KEY is required when KEY_PROVIDER=vault (with VAULT_ADDR and VAULT_TOKEN or AppRole)');
  }

  const allowExportName = e.ALLOW_KEY_EXPORT !== undefined ? 'ALLOW_KEY_EXPORT' : e.ALLOW_PLAINTEXT_EXPORT !== undefined ? 'ALLOW_PLAINTEXT_EXPORT' : 'AGENTVAULT_ALLOW_PLAINTEXT_EXPORT';
  const allowExportRaw = e.ALLOW_KEY_EXPORT ?? e.ALLOW_PLAINTEXT_EXPORT ?? e.AGENTVAULT_ALLOW_PLAINTEXT_EXPORT;
  if (allowExportRaw !== undefined && !['0', '1'].includes(allowExportRaw)) problems.push(`${allowExportName} must be 0 or 1 (got "${allowExportRaw}")`);
  const exportCode = e.EXPORT_CODE ?? e.AGENTVAULT_EXPORT_CODE;
  if (exportCode !== undefined && exportCode.length < MIN_CODE_LENGTH) problems.push(`EXPORT_CODE must be at least ${MIN_CODE_LENGTH} characters (generate one with: openssl rand -hex 16)`);
  const txConfirmCode = e.TX_CONFIRM_CODE ?? e.AGENTVAULT_TX_CONFIRM_CODE;

  const host = e.HOST ?? (e.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1');
  const allowedHosts = list(e.ALLOWED_HOSTS).map((h) => h.toLowerCase());
  for (const h of allowedHosts) {
    if (!/^(\[[0-9a-f:.]+\]|[0-9a-z.-]+|[0-9a-f:]+)$/.test(h)) problems.push(`ALLOWED_HOSTS must be comma-separated host names or IP addresses without scheme or port, like vaultpilot.example.com (got "${h}")`);
  }
  if (!isLoopbackHost(host) && allowedHosts.length === 0) {
    problems.push(`ALLOWED_HOSTS is required when HOST (${host}) is not a loopback address: list the names clients use to reach this server, e.g. ALLOWED_HOSTS=vaultpilot.example.com,localhost (MCP refuses any other Host header, which stops DNS rebinding)`);
  }
  const allowedOrigins: string[] = [];
  for (const o of list(e.ALLOWED_ORIGINS)) {
    let origin: string | undefined;
    try {
      const u = new URL(o);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, '').toLowerCase()) origin = u.origin;
    } catch {
      origin = undefined;
    }
    if (origin) allowedOrigins.push(origin);
    else problems.push(`ALLOWED_ORIGINS must be comma-separated origins like https://admin.example.com (scheme, host and optional port; no path) (got "${o}")`);
  }
  if (e.METRICS_TOKEN !== undefined && e.METRICS_TOKEN.length < 24) problems.push('METRICS_TOKEN must be at least 24 characters (generate one with: openssl rand -hex 32)');

  const adminApiKey = e.ADMIN_API_KEY;
  if (adminApiKey !== undefined && adminApiKey.length < 24) {
    problems.push('ADMIN_API_KEY must be at least 24 characters (generate one with: openssl rand -hex 32)');
  }

  if (e.NODE_ENV === 'production') {
    if (!e.DATABASE_URL) problems.push('DATABASE_URL is required in production (the embedded Postgres is for development)');
    if (rpcUrls.length === 0) problems.push('RPC_URLS is required in production (the local dev chain is for development)');
    if (keyProvider === 'fernet' && fernetKeys.length === 0) {
      problems.push('FERNET_KEYS is required in production when KEY_PROVIDER=fernet (a generated key under DATA_DIR is for development)');
    }
    if (adminApiKey !== undefined && /change|example|default|admin|secret|password/i.test(adminApiKey)) {
      problems.push('ADMIN_API_KEY looks like a default or example value; generate one with: openssl rand -hex 32');
    }
    if (e.FAUCET_PRIVATE_KEY && (ANVIL_DEV_KEYS as readonly string[]).includes(e.FAUCET_PRIVATE_KEY.toLowerCase())) {
      problems.push('FAUCET_PRIVATE_KEY is a well-known dev chain key; unset it in production');
    }
    // A short code falls to guessing, lockout or not (docs/security.md).
    if (txConfirmCode !== undefined && txConfirmCode.length < MIN_CODE_LENGTH) {
      problems.push(`TX_CONFIRM_CODE must be at least ${MIN_CODE_LENGTH} characters in production (generate one with: openssl rand -hex 16)`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host,
    dataDir: path.resolve(e.DATA_DIR ?? '.data'),
    databaseUrl: e.DATABASE_URL,
    rpcUrls,
    keyProvider,
    fernetKeys,
    awsKms,
    vault,
    keyProviderTimeoutMs: e.KEY_PROVIDER_TIMEOUT_MS,
    allowKeyExport: allowExportRaw === '1',
    exportCode,
    adminApiKey,
    maxTxWei: e.MAX_TX_ETH ?? e.AGENTVAULT_MAX_TX_ETH ?? parseUnits('0.1', 18),
    txConfirmCode,
    txConfirmations: e.TX_CONFIRMATIONS,
    faucetPrivateKey: e.FAUCET_PRIVATE_KEY,
    faucetMaxWei: e.FAUCET_MAX_ETH ?? parseUnits('1', 18),
    workerMetricsPort: e.WORKER_METRICS_PORT,
    policyFile: e.POLICY_FILE === undefined ? undefined : path.resolve(e.POLICY_FILE),
    approvalTtlMs: e.APPROVAL_TTL,
    trustedProxies: e.TRUSTED_PROXIES,
    allowedHosts,
    allowedOrigins,
    metricsToken: e.METRICS_TOKEN,
    maxFeePerGasWei: e.MAX_FEE_PER_GAS_GWEI,
    kdfThreads: e.KDF_THREADS,
    kdfQueue: e.KDF_QUEUE,
    logLevel: e.LOG_LEVEL,
  };
}
