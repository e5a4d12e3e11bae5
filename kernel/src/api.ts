/**
 * The `jupyter` global that notebook code uses: display and display handles, clear_output,
 * the running cell's AbortSignal and comms. Documented in kernel/README.md.
 */
import { randomUUID } from "crypto";
import type { Comm, CommData, CommManager, CommTargetHandler } from "./comms";
import { normalizeBundle, toBundle } from "./display";

export interface DisplayOptions {
  /** `value` is already a MIME bundle ({"text/html": "...", "application/x+json": {...}}). */
  raw?: boolean;
  metadata?: Record<string, unknown>;
  /** Show under this display id (later updates with the same id replace it). */
  displayId?: string;
  /** Replace the output shown under `displayId` instead of adding a new one. */
  update?: boolean;
}

export interface DisplayHandle {
  readonly id: string;
  /** Adds an output showing `value` (every call adds one more place showing this id). */
  display(value: unknown, opts?: Omit<DisplayOptions, "displayId" | "update">): void;
  /** Replaces every output shown under this id, from this cell or any later one. */
  update(value: unknown, opts?: Omit<DisplayOptions, "displayId" | "update">): void;
}

export interface JupyterComms {
  /** Handles comm_open from the front end on target `name`. */
  registerTarget(name: string, handler: CommTargetHandler): void;
  unregisterTarget(name: string): void;
  /** Opens a comm to the front end's target `targetName`. */
  open(targetName: string, data?: CommData, buffers?: Buffer[]): Comm;
}

export interface JupyterApi {
  display(value: unknown, opts?: DisplayOptions): void;
  newDisplay(): DisplayHandle;
  clearOutput(wait?: boolean): void;
  /** Asks the front end for a line of text (stdin channel); rejects if the front end allows no input. */
  input(prompt?: string, opts?: { password?: boolean }): Promise<string>;
  /** The AbortSignal of the cell this code belongs to; aborted on interrupt or a stop request. */
  readonly signal: AbortSignal;
  /** The execution count of that cell. */
  readonly executionCount: number;
  readonly comm: JupyterComms;
}

/** What the API needs from the kernel: IOPub publishing and the current cell. */
export interface ApiHost {
  publish(msgType: string, content: Record<string, unknown>): void;
  currentSignal(): AbortSignal;
  requestInput(prompt: string, password: boolean): Promise<string>;
  currentExecutionCount(): number;
  comms: CommManager;
}

export function createJupyterApi(host: ApiHost): JupyterApi {
  const display = (value: unknown, opts: DisplayOptions = {}) => {
    const data = opts.raw ? normalizeBundle(value as Record<string, unknown>) : toBundle(value, true);
    const content: Record<string, unknown> = { data, metadata: opts.metadata ?? {}, transient: {} };
    if (opts.displayId) content.transient = { display_id: opts.displayId };
    if (opts.update && !opts.displayId) throw new Error("display: `update: true` needs a `displayId`");
    host.publish(opts.update ? "update_display_data" : "display_data", content);
  };
  return {
    display,
    newDisplay(): DisplayHandle {
      const id = randomUUID();
      return {
        id,
        display: (value, opts = {}) => display(value, { ...opts, displayId: id }),
        update: (value, opts = {}) => display(value, { ...opts, displayId: id, update: true }),
      };
    },
    clearOutput(wait = false) {
      host.publish("clear_output", { wait });
    },
    input: (prompt = "", opts = {}) => host.requestInput(prompt, Boolean(opts.password)),
    get signal() {
      return host.currentSignal();
    },
    get executionCount() {
      return host.currentExecutionCount();
    },
    comm: {
      registerTarget: (name, handler) => host.comms.registerTarget(name, handler),
      unregisterTarget: (name) => host.comms.unregisterTarget(name),
      open: (target, data, buffers) => host.comms.open(target, data, buffers),
    },
  };
}
