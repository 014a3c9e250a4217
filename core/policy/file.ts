/**
 * Loads `vaultpilot.yml` (`POLICY_FILE`). The file is parsed with `yaml` (YAML 1.2) keeping
 * source positions, then validated with the zod schema; every problem is reported at once as
 * `file:line:column: path: message`, so an operator can fix the file in one pass. A process
 * refuses to start on an invalid file rather than run with a guardrail it did not understand.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { EMPTY_POLICY_FILE, policyFileSchema, type PolicyFile } from './schema.ts';
import { describeIssue } from './issues.ts';

const KNOWN_SECTIONS = new Set(['version', 'rate_limits', 'policy']);

/** Line and column (1-based) of the node at `path`, or of its nearest existing parent. */
function position(doc: Document, lines: LineCounter, path: PropertyKey[]): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}

/**
 * Parses and validates policy YAML.
 * @param source - the file's text; `name` is used in error messages.
 * @returns the policy and the unknown top-level sections (ignored, for a warning).
 * @throws {ConfigError} listing every syntax and schema problem with its line and column.
 */
export function parsePolicyYaml(source: string, name: string): { policy: PolicyFile; ignored: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `${name}:${line}:${col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError([`${name}:1:1: the file must be a mapping with sections such as rate_limits and policy`]);
  }
  const parsed = policyFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      // Wallet-policy issues get the same words as the REST API gives (core/policy/issues.ts).
      const described =
        issue.path[0] === 'policy'
          ? describeIssue({ ...issue, path: issue.path.slice(1) } as typeof issue, (data as Record<string, unknown>).policy)
          : { field: issue.path.join('.'), message: issue.message };
      const path = described.field ? described.field.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)) : [];
      const pos = position(doc, lines, path);
      return { pos, text: `${name}:${pos.line}:${pos.col}: ${described.field ? `${described.field}: ` : ''}${described.message}` };
    });
    // In file order, so the operator reads them top to bottom.
    problems.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
    throw new ConfigError(problems.map((p) => p.text));
  }
  const ignored = Object.keys(data).filter((k) => !KNOWN_SECTIONS.has(k));
  return {
    policy: { path: name, rateLimits: parsed.data.rate_limits ?? {}, defaults: parsed.data.policy ?? {} },
    ignored,
  };
}

/**
 * Loads the policy file named by `POLICY_FILE`, or the built-in empty policy when unset.
 * @throws {ConfigError} when the file cannot be read or is invalid (see {@link parsePolicyYaml}).
 */
export async function loadPolicyFile(path: string | undefined, logger?: Logger): Promise<PolicyFile> {
  if (!path) return EMPTY_POLICY_FILE;
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError([`POLICY_FILE ${path}: cannot be read (${reason})`]);
  }
  const { policy, ignored } = parsePolicyYaml(source, path);
  if (ignored.length > 0) logger?.warn({ file: path, sections: ignored }, 'policy file: unknown top-level sections ignored');
  return policy;
}
