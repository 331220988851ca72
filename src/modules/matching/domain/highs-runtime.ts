import loadHighs, { type Highs } from 'highs';

/**
 * The HiGHS solver (WebAssembly) that call clearings use. Loading compiles the wasm module, which
 * is asynchronous; solving afterwards is synchronous, so a clearing stays a plain function. A
 * process loads it once (`loadCallSolver`) before its first clearing, and every later load returns
 * the same instance.
 */
let instance: Highs | null = null;
let loading: Promise<Highs> | null = null;

export function loadCallSolver(): Promise<Highs> {
  if (instance !== null) return Promise.resolve(instance);
  loading ??= loadHighs().then(
    (highs) => {
      instance = highs;
      return highs;
    },
    (error: unknown) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

/** The loaded solver; throws when `loadCallSolver()` has not completed. */
export function callSolver(): Highs {
  if (instance === null)
    throw new Error('the call-clearing solver is not loaded: await loadCallSolver() first');
  return instance;
}
