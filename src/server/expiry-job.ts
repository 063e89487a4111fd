// Settles expired grants in the background, so that expirations appear in histories on time even for
// accounts nobody reads or writes. Correctness does not depend on it: every read and write settles the
// accounts it touches first. Several gateway instances may run it at once; the account locks keep them
// from settling one grant twice.
import type { Ledger } from "../ledger/index.ts";

export function startExpiryJob(
  ledger: Ledger,
  intervalMs: number,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => ledger.settleDue()).catch(onError);
  }, intervalMs);
  // The job must not keep the process alive on its own.
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
