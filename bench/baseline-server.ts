/**
 * Servers of two releases side by side, for a benchmark that measures this tree against an older
 * one in the same run: a detached `git worktree` of a ref (outside the repository, under the OS
 * temp directory, using this tree's `node_modules` through a symlink), VaultPilot servers started
 * from a directory as child processes (`node server/main.ts`, probed by server-probe.ts), and a
 * fresh database per server on the benchmark's Postgres.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { PROBE_MESSAGE, type ProbeReading } from './server-probe.ts';

const run = promisify(execFile);

/** A checked-out ref: its directory, the commit, and how to remove it again. */
export interface RefCheckout {
  ref: string;
  /** Full commit id the ref resolved to. */
  commit: string;
  /** `git log -1 --format=%h %s` of the commit. */
  subject: string;
  dir: string;
  /** Removes the worktree (`git worktree remove --force`) and its directory; safe to call twice. */
  remove: () => Promise<void>;
}

/** Why a ref could not be checked out (the phase that needs it is skipped). */
export interface CheckoutSkipped {
  skipped: string;
}

async function git(repo: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd: repo, maxBuffer: 1 << 20 });
  return stdout.trim();
}

/** stderr of a failed `execFile`, else its message. */
function failure(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  return (typeof e.stderr === 'string' && e.stderr.trim() !== '' ? e.stderr : String(e.message ?? err)).trim();
}

/**
 * Checks `ref` out with `git worktree add --detach` into a new directory under the OS temp
 * directory (never inside `repo`) and links `repo`'s `node_modules` into it, so the old server
 * runs on the dependencies installed here. Nothing in `repo`'s working tree, index or branches
 * changes; git records the worktree under `.git/worktrees` until {@link RefCheckout.remove}.
 * @returns the checkout, or why it cannot be made (not a git repository, a ref this clone does
 *   not have, e.g. a shallow CI clone, or git failing).
 */
export async function checkoutRef(repo: string, ref: string): Promise<RefCheckout | CheckoutSkipped> {
  let commit: string;
  try {
    commit = await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch (err) {
    // --quiet: a ref that does not exist fails with no output; anything else says what happened.
    const why = (err as { stderr?: unknown }).stderr ? failure(err) : 'this clone does not have it';
    const shallow = await git(repo, ['rev-parse', '--is-shallow-repository']).catch(() => 'unknown');
    return { skipped: `git ref "${ref}" is not a commit in ${repo}: ${why}${shallow === 'true' ? ' (a shallow clone: fetch more history, e.g. git fetch --unshallow)' : ''}` };
  }
  const subject = await git(repo, ['log', '-1', '--format=%h %s', commit]).catch(() => commit.slice(0, 7));
  const dir = mkdtempSync(path.join(tmpdir(), 'vaultpilot-baseline-'));
  try {
    await git(repo, ['worktree', 'add', '--detach', dir, commit]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skipped: `git worktree add of ${ref} (${commit.slice(0, 7)}) failed: ${failure(err)}` };
  }
  const modules = path.join(dir, 'node_modules');
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    // The link first, so nothing below could ever walk into this tree's node_modules.
    try {
      if (lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
    } catch {
      // not there
    }
    await git(repo, ['worktree', 'remove', '--force', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await git(repo, ['worktree', 'prune']).catch(() => undefined);
  };
  try {
    symlinkSync(path.join(repo, 'node_modules'), modules, 'dir');
  } catch (err) {
    await remove();
    return { skipped: `linking node_modules into the checkout of ${ref} failed: ${failure(err)}` };
  }
  return { ref, commit, subject, dir, remove };
}

/** A VaultPilot server running as a child process. */
export interface ServerProcess {
  label: string;
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  pid: number;
  /** Lines the server wrote to stdout and stderr after it was up (its logs at the level it was given). */
  logLines: () => number;
  /** The last few KiB it wrote, for error messages. */
  output: () => string;
  /** The process's counters now (server-probe.ts). */
  probe: () => Promise<ProbeReading>;
  /** SIGTERM, then SIGKILL after 10 s; resolves when it has exited. */
  stop: () => Promise<void>;
}

/**
 * Starts `node --import bench/server-probe.ts server/main.ts` in `cwd` with exactly `env` (the
 * caller passes the whole environment: nothing of this process's leaks in) and waits until
 * `<url>/healthz` answers. The server must listen on `url`'s port (`PORT` in `env`).
 * @throws when the process exits or `/healthz` does not answer within `timeoutMs`; its output is
 *   in the message.
 */
export async function startServerProcess(opts: {
  label: string;
  cwd: string;
  env: Record<string, string>;
  url: string;
  timeoutMs?: number;
  /** More node options before the entry point (e.g. `--cpu-prof`). */
  execArgv?: string[];
}): Promise<ServerProcess> {
  const probeModule = pathToFileURL(path.join(import.meta.dirname, 'server-probe.ts')).href;
  const entry = path.join(opts.cwd, 'server', 'main.ts');
  if (!existsSync(entry)) throw new Error(`${opts.label}: ${entry} does not exist`);
  const child: ChildProcess = spawn(process.execPath, [...(opts.execArgv ?? []), '--import', probeModule, entry], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // Whatever ends the benchmark, the server must not outlive it.
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', kill);
  let tail = '';
  let up = false;
  let lines = 0;
  const collect = (d: Buffer) => {
    const text = d.toString();
    tail = (tail + text).slice(-8000);
    if (up) lines += text.split('\n').length - 1;
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.off('exit', kill);
      throw new Error(`${opts.label}: the server exited (${child.exitCode ?? child.signalCode}) before answering /healthz:\n${tail}`);
    }
    const ok = await fetch(`${opts.url}/healthz`).then(
      async (r) => {
        await r.arrayBuffer();
        return r.ok;
      },
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      kill();
      process.off('exit', kill);
      throw new Error(`${opts.label}: /healthz did not answer within ${opts.timeoutMs ?? 60_000} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  up = true;

  const probe = () =>
    new Promise<ProbeReading>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`${opts.label}: no answer to the probe within 5 s`));
      }, 5_000);
      const onMessage = (m: unknown) => {
        const msg = m as { type?: unknown; reading?: ProbeReading };
        if (msg?.type !== PROBE_MESSAGE || !msg.reading) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(msg.reading);
      };
      child.on('message', onMessage);
      child.send(PROBE_MESSAGE);
    });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(kill, 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', kill);
    })());

  return { label: opts.label, url: opts.url, pid: child.pid!, logLines: () => lines, output: () => tail, probe, stop };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for one server, on the cluster of another database's URL. */
export interface ArmDatabase {
  name: string;
  url: string;
  /** Drops it (`with (force)`); safe to call twice. */
  drop: () => Promise<void>;
}

/**
 * Creates `<prefix>_<random>` on the cluster `clusterUrl` points at (connecting to that URL's
 * database to do so).
 * @param prefix - lowercase letters, digits and `_`.
 */
export async function createArmDatabase(clusterUrl: string, prefix: string): Promise<ArmDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`database prefix "${prefix}" must be lowercase letters, digits and _`);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withClient(clusterUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withClient(clusterUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** Runs `fn` with a client connected to `url`, closed after. */
export function queryDatabase<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, fn);
}

/** `HEAD <short id>` of `repo`, with `+ uncommitted changes` when tracked files differ from it. */
export async function describeHead(repo: string): Promise<string> {
  const head = await git(repo, ['rev-parse', '--short', 'HEAD']).catch(() => 'unknown');
  // --no-optional-locks: read only, never refreshing the index others may be committing from.
  const dirty = await git(repo, ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']).then((out) => out !== '', () => false);
  return dirty ? `HEAD ${head} + uncommitted changes` : `HEAD ${head}`;
}
