/**
 * Shutdown steps of a benchmark process: registered as resources start, run last-in first-out
 * once (on success, failure or Ctrl-C), each bounded so a stuck step cannot hang the exit.
 */

/** A benchmark's clean-up list. */
export interface Cleanup {
  /** Registers a step (named for the log line if it fails or times out). */
  defer: (what: string, fn: () => Promise<unknown>) => void;
  /** Runs every registered step, newest first; later calls return the same promise. */
  cleanup: () => Promise<void>;
}

/**
 * @param log - prints a progress line (the benchmark's own `step`).
 * @param timeoutMs - how long one step may take before it is given up.
 */
export function createCleanup(log: (msg: string) => void, timeoutMs: number): Cleanup {
  const steps: Array<[string, () => Promise<unknown>]> = [];
  let running: Promise<void> | undefined;
  return {
    defer: (what, fn) => {
      steps.push([what, fn]);
    },
    cleanup: () => {
      running ??= (async () => {
        while (steps.length > 0) {
          const [what, fn] = steps.pop()!;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            fn().catch((err: unknown) => log(`cleanup of ${what} failed: ${err instanceof Error ? err.message : String(err)}`)),
            new Promise<void>((resolve) => {
              timer = setTimeout(() => {
                log(`cleanup of ${what} timed out`);
                resolve();
              }, timeoutMs);
            }),
          ]);
          clearTimeout(timer);
        }
      })();
      return running;
    },
  };
}
