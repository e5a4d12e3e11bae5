/**
 * The kernel: routes requests from the sockets, runs execute requests one after another while
 * other requests (comms, completion, interrupts) are served as they arrive, publishes outputs
 * on IOPub attributed to the cell that produced them, and aborts cells on interrupt.
 */
import { AsyncLocalStorage } from "async_hooks";
import { createJupyterApi, type JupyterApi } from "./api";
import { CommManager } from "./comms";
import { CONTROL_TARGET, type StopReply } from "./control-protocol";
import { toBundle } from "./display";
import { type CellExecutor, InterruptedError } from "./executor";
import { History } from "./history";
import { kernelInfo } from "./kernel-info";
import { log } from "./log";
import type { Channel, KernelSockets } from "./sockets";
import { child, type Message } from "./wire";

/** How long to keep reading the sockets after a failed cell, to abort requests already sent. */
const ABORT_DRAIN_MS = 20;
/**
 * After an interrupt, how long a cell may take to end the await it is in (e.g. a library run
 * stopping at its next step) before it is abandoned; its next await stops it (await-checkpoints.ts).
 */
const INTERRUPT_GRACE_MS = Number(process.env.LORA_RECYCLE_INTERRUPT_GRACE_MS ?? 10_000);

interface CellContext {
  parent: Message;
  /** Its signal is the cell's `jupyter.signal`. */
  controller: AbortController;
  /** Aborted when the kernel stops waiting for the cell. */
  abandon: AbortController;
  count: number;
}

export class Kernel {
  readonly api: JupyterApi;
  private readonly comms: CommManager;
  private readonly history = new History();
  private readonly context = new AsyncLocalStorage<CellContext>();
  private readonly queue: Message[] = [];
  private running: CellContext | undefined;
  private lastCell: CellContext | undefined;
  private draining = false;
  private executionCount = 0;
  private readonly fileNames = new Set<string>();
  private pendingInput: { resolve: (value: string) => void } | undefined;

  constructor(
    private readonly sockets: KernelSockets,
    private readonly executor: CellExecutor,
  ) {
    this.comms = new CommManager((msgType, content, buffers) => this.publish(msgType, content, undefined, buffers));
    this.api = createJupyterApi({
      publish: (msgType, content) => this.publish(msgType, content),
      requestInput: (prompt, password) => this.requestInput(prompt, password),
      currentSignal: () => (this.context.getStore() ?? this.running ?? this.lastCell)?.controller.signal ?? new AbortController().signal,
      currentExecutionCount: () => (this.context.getStore() ?? this.running ?? this.lastCell)?.count ?? 0,
      comms: this.comms,
    });
    this.comms.registerTarget(CONTROL_TARGET, (comm) => {
      comm.onMsg((data) => {
        const reply = (content: StopReply) => comm.send(content);
        if (data.type !== "stop")
          return reply({ type: "error", message: `expected {"type": "stop"}, found type ${JSON.stringify(data.type)}` });
        reply({ type: "stopped", running: this.interrupt(new InterruptedError("stopped from the front end")) });
      });
    });
  }

  async start(): Promise<void> {
    this.captureStreams();
    await this.sockets.bind((channel, msg) => this.dispatch(channel, msg));
    this.publish("status", { execution_state: "starting" }, null);
    process.on("SIGINT", () => this.interrupt(new InterruptedError()));
  }

  /**
   * Aborts the running cell's AbortSignal; returns whether a cell was running. The cell stops at
   * its next await; the await it is in gets INTERRUPT_GRACE_MS to end, a second interrupt
   * abandons it at once.
   */
  interrupt(reason: Error): boolean {
    const cell = this.running;
    if (!cell) return false;
    if (cell.controller.signal.aborted) {
      cell.abandon.abort(reason);
      return true;
    }
    cell.controller.abort(reason);
    setTimeout(() => cell.abandon.abort(reason), INTERRUPT_GRACE_MS).unref();
    return true;
  }

  private dispatch(channel: Channel, msg: Message): void {
    if (channel === "stdin") {
      if (msg.header.msg_type === "input_reply" && this.pendingInput) this.pendingInput.resolve(String(msg.content.value ?? ""));
      else log(`ignoring ${msg.header.msg_type} on stdin`);
      return;
    }
    if (msg.header.msg_type === "execute_request" && channel === "shell") {
      this.queue.push(msg);
      if (!this.draining) void this.drainQueue();
      return;
    }
    // while a cell runs the kernel stays busy: an `idle` here would show it idle to the front end
    const bracket = !this.running;
    if (bracket) this.publish("status", { execution_state: "busy" }, msg);
    try {
      this.handleNow(channel, msg);
    } catch (e) {
      // a request that breaks the kernel's own code still gets an answer
      log(`${msg.header.msg_type} failed: ${(e as Error).stack ?? e}`);
      if (msg.header.msg_type.endsWith("_request")) {
        const error = { status: "error", ename: (e as Error).name ?? "Error", evalue: String((e as Error).message ?? e), traceback: [] };
        void this.sockets.send(
          channel,
          child(msg, msg.header.msg_type.replace(/_request$/, "_reply"), error, { identities: msg.identities }),
        );
      }
    } finally {
      if (bracket) this.publish("status", { execution_state: "idle" }, msg);
    }
  }

  private handleNow(channel: Channel, msg: Message): void {
    const c = msg.content;
    const field = <T>(name: string, type: "string" | "number"): T => {
      if (typeof c[name] !== type) {
        throw new TypeError(`${msg.header.msg_type}: expected "${name}" to be a ${type}, found ${JSON.stringify(c[name])}`);
      }
      return c[name] as T;
    };
    const reply = (content: Record<string, unknown>) =>
      this.sockets.send(channel, child(msg, msg.header.msg_type.replace(/_request$/, "_reply"), content, { identities: msg.identities }));
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        return void reply(kernelInfo());
      case "complete_request": {
        const r = this.executor.complete(field("code", "string"), field("cursor_pos", "number"));
        return void reply({ status: "ok", matches: r.candidates, cursor_start: r.start, cursor_end: r.end, metadata: {} });
      }
      case "inspect_request": {
        const text = this.executor.inspect(field("code", "string"), field("cursor_pos", "number"));
        return void reply({ status: "ok", found: text !== undefined, data: text ? { "text/plain": text } : {}, metadata: {} });
      }
      case "is_complete_request":
        return void reply(this.executor.isComplete(field("code", "string")));
      case "history_request":
        return void reply({ status: "ok", history: this.history.query(c) });
      case "comm_info_request":
        return void reply({ status: "ok", comms: this.comms.info(c.target_name) });
      case "connect_request": {
        const i = this.sockets.info;
        return void reply({
          status: "ok",
          shell_port: i.shell_port,
          iopub_port: i.iopub_port,
          stdin_port: i.stdin_port,
          hb_port: i.hb_port,
          control_port: i.control_port,
        });
      }
      case "comm_open":
        return void this.context.run(this.commContext(msg), () => this.comms.handleOpen(msg));
      case "comm_msg":
        return void this.context.run(this.commContext(msg), () => this.comms.handleMsg(msg));
      case "comm_close":
        return void this.context.run(this.commContext(msg), () => this.comms.handleClose(msg));
      case "interrupt_request":
        this.interrupt(new InterruptedError());
        return void reply({ status: "ok" });
      case "shutdown_request":
        return void this.shutdown(channel, msg);
      default:
        log(`ignoring unsupported ${msg.header.msg_type} on ${channel}`);
    }
  }

  /** Sends input_request to the front end of the running cell and waits for its input_reply. */
  private requestInput(prompt: string, password: boolean): Promise<string> {
    const cell = this.context.getStore() ?? this.running;
    if (cell?.parent.header.msg_type !== "execute_request" || !cell.parent.content.allow_stdin) {
      return Promise.reject(new Error("input: expected a front end that accepts input (allow_stdin), found none"));
    }
    if (this.pendingInput) return Promise.reject(new Error("input: another input request is still waiting for its reply"));
    return new Promise<string>((resolve, reject) => {
      const signal = cell.controller.signal;
      const done = () => {
        this.pendingInput = undefined;
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.pendingInput = {
        resolve: (value) => {
          done();
          resolve(value);
        },
      };
      const request = child(cell.parent, "input_request", { prompt, password }, { identities: cell.parent.identities });
      void this.sockets.send("stdin", request);
    });
  }

  /** Comm handlers run with the comm message as parent of their outputs, and the running cell's signal. */
  private commContext(msg: Message): CellContext {
    const cell = this.running ?? this.lastCell;
    return {
      parent: msg,
      controller: cell?.controller ?? new AbortController(),
      abandon: cell?.abandon ?? new AbortController(),
      count: cell?.count ?? 0,
    };
  }

  private async drainQueue(): Promise<void> {
    this.draining = true;
    try {
      for (let msg = this.queue.shift(); msg; msg = this.queue.shift()) await this.execute(msg);
    } finally {
      this.draining = false;
    }
  }

  /** Runs one execute_request; on failure with stop_on_error, aborts the requests queued behind it. */
  private async execute(msg: Message): Promise<void> {
    const { code = "", silent = false } = msg.content;
    const storeHistory = !silent && msg.content.store_history !== false;
    this.publish("status", { execution_state: "busy" }, msg);
    if (storeHistory) this.executionCount += 1;
    const count = this.executionCount;
    if (!silent) this.publish("execute_input", { code, execution_count: count }, msg);
    const cell: CellContext = { parent: msg, controller: new AbortController(), abandon: new AbortController(), count };
    this.running = cell;
    this.lastCell = cell;
    let content: Record<string, unknown>;
    let resultText: string | null = null;
    try {
      const outcome = await this.context.run(cell, () =>
        this.executor.execute(code, this.fileName(count), cell.controller.signal, cell.abandon.signal),
      );
      if (outcome.status === "ok") {
        if (outcome.hasValue && !silent) {
          const data = toBundle(outcome.value);
          resultText = typeof data["text/plain"] === "string" ? data["text/plain"] : null;
          this.publish("execute_result", { execution_count: count, data, metadata: {} }, msg);
        }
        content = { status: "ok", execution_count: count, payload: [], user_expressions: {} };
      } else {
        this.publish("error", { ...outcome.error }, msg);
        content = { status: "error", execution_count: count, ...outcome.error };
      }
    } catch (e) {
      const error = {
        ename: (e as Error).name ?? "Error",
        evalue: (e as Error).message ?? String(e),
        traceback: [String((e as Error).stack ?? e)],
      };
      this.publish("error", error, msg);
      content = { status: "error", execution_count: count, ...error };
    } finally {
      this.running = undefined;
    }
    if (storeHistory) this.history.add(count, code, resultText);
    const abortQueued = content.status !== "ok" && msg.content.stop_on_error !== false;
    // requests the client sent before it saw this failure are read now, and aborted below
    if (abortQueued) await new Promise((r) => setTimeout(r, ABORT_DRAIN_MS));
    await this.sockets.send("shell", child(msg, "execute_reply", content, { identities: msg.identities }));
    this.publish("status", { execution_state: "idle" }, msg);
    if (abortQueued) for (const queued of this.queue.splice(0)) this.abortRequest(queued);
  }

  /** Replies to a queued execute_request that will not run because an earlier cell failed. */
  private abortRequest(msg: Message): void {
    this.publish("status", { execution_state: "busy" }, msg);
    const content = {
      status: "error",
      execution_count: this.executionCount,
      ename: "ExecutionAborted",
      evalue: "not run: an earlier cell failed and stop_on_error was set",
      traceback: [],
    };
    void this.sockets.send("shell", child(msg, "execute_reply", content, { identities: msg.identities }));
    this.publish("status", { execution_state: "idle" }, msg);
  }

  /** Traceback file name of a cell: `cell[N]`, made unique for cells that do not count. */
  private fileName(count: number): string {
    let name = `cell[${count}]`;
    for (let i = 1; this.fileNames.has(name); i++) name = `cell[${count}.${i}]`;
    this.fileNames.add(name);
    return name;
  }

  /**
   * Publishes on IOPub. The parent is the cell (or comm message) whose code is running in this
   * async context, else the running cell, else the last cell: output from timers and callbacks
   * goes to the cell that started them.
   */
  private publish(msgType: string, content: Record<string, unknown>, parent?: Message | null, buffers?: Buffer[]): void {
    const p = parent === undefined ? (this.context.getStore() ?? this.running ?? this.lastCell)?.parent : (parent ?? undefined);
    void this.sockets.send("iopub", child(p, msgType, content, { buffers, identities: [Buffer.from(msgType)] }));
  }

  private captureStreams(): void {
    const tslabJupyter = require("tslab/dist/jupyter");
    tslabJupyter.lastWriteDisplayData = (data: Record<string, unknown>, update: boolean) =>
      this.publish(update ? "update_display_data" : "display_data", data);
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      stream.write = ((chunk: string | Uint8Array, encoding?: any, cb?: any) => {
        const text =
          typeof chunk === "string"
            ? chunk
            : Buffer.from(chunk).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
        this.publish("stream", { name, text });
        const done = typeof encoding === "function" ? encoding : cb;
        if (typeof done === "function") process.nextTick(done);
        return true;
      }) as typeof stream.write;
    }
  }

  private async shutdown(channel: Channel, msg: Message): Promise<void> {
    const content = { status: "ok", restart: Boolean(msg.content.restart) };
    this.interrupt(new InterruptedError("the kernel is shutting down"));
    await this.sockets.send(channel, child(msg, "shutdown_reply", content, { identities: msg.identities }));
    await this.sockets.send("iopub", child(msg, "shutdown_reply", content));
    this.executor.close();
    this.sockets.close();
    setTimeout(() => process.exit(0), 50).unref();
  }
}
