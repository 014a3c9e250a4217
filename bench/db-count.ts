/**
 * Counts and times SQL statements by which part of the process sent them. Every pg pool created
 * after {@link installSqlCounter} (VaultPilot's kysely pools and pg-boss's, which share the `pg`
 * module) is tagged with the label current at its creation (`server`, `worker`, …); each
 * statement a client of that pool runs adds one to the tag's count and its time, from sending to
 * its result (so it includes waiting for this event loop, not for a pool connection), to the
 * tag's total.
 */
import pg from 'pg';

/** Statements and milliseconds spent in them, per tag. */
export type SqlCounts = Map<string, { statements: number; ms: number }>;

const totals: SqlCounts = new Map();
const byStatement: SqlCounts = new Map();
const clientTags = new WeakMap<object, string>();
let currentTag = 'other';
let installed = false;
let perStatement = false;

/** The statement's text, whitespace collapsed, cut at 100 characters (to group by). */
function statementKey(arg: unknown): string {
  const text = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && typeof (arg as { text?: unknown }).text === 'string' ? (arg as { text: string }).text : '?';
  return text.replace(/\s+/g, ' ').trim().slice(0, 100);
}

function record(tag: string, ms: number, statement: string | undefined): void {
  const t = totals.get(tag) ?? { statements: 0, ms: 0 };
  t.statements += 1;
  t.ms += ms;
  totals.set(tag, t);
  if (statement === undefined) return;
  const s = byStatement.get(statement) ?? { statements: 0, ms: 0 };
  s.statements += 1;
  s.ms += ms;
  byStatement.set(statement, s);
}

/** Pools created from now on are tagged `tag`. */
export function setSqlTag(tag: string): void {
  currentTag = tag;
}

/**
 * Wraps `pg.Pool` and `pg.Client.prototype.query` (once per process).
 * @param opts.byStatement - also total by statement text (see {@link sqlByStatement}).
 */
export function installSqlCounter(opts: { byStatement?: boolean } = {}): void {
  perStatement ||= opts.byStatement === true;
  if (installed) return;
  installed = true;
  const BasePool = pg.Pool;
  const TaggedPool = class extends BasePool {
    constructor(config?: pg.PoolConfig) {
      super(config);
      const tag = currentTag;
      this.on('connect', (client) => clientTags.set(client, tag));
    }
  };
  (pg as { Pool: typeof pg.Pool }).Pool = TaggedPool;

  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: object, ...args: unknown[]): unknown {
    const tag = clientTags.get(this) ?? 'other';
    const statement = perStatement ? statementKey(args[0]) : undefined;
    const started = performance.now();
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const cb = args[last] as (...r: unknown[]) => unknown;
      args[last] = (...r: unknown[]) => {
        record(tag, performance.now() - started, statement);
        return cb(...r);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      const done = () => record(tag, performance.now() - started, statement);
      (result as Promise<unknown>).then(done, done);
    } else {
      record(tag, 0, statement);
    }
    return result;
  };
}

/** A copy of the totals by statement text (all tags together; empty unless installed with `byStatement`). */
export function sqlByStatement(): SqlCounts {
  return new Map([...byStatement].map(([k, v]) => [k, { ...v }]));
}

/** A copy of the totals. */
export function sqlCounts(): SqlCounts {
  return new Map([...totals].map(([k, v]) => [k, { ...v }]));
}

/** Statements and milliseconds per call for `tag` between two copies. */
export function sqlPerCall(before: SqlCounts, after: SqlCounts, tag: string, calls: number): { statements: number; ms: number } {
  const a = after.get(tag) ?? { statements: 0, ms: 0 };
  const b = before.get(tag) ?? { statements: 0, ms: 0 };
  return { statements: (a.statements - b.statements) / calls, ms: (a.ms - b.ms) / calls };
}
