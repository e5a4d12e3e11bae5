/**
 * Comms (Jupyter messaging, "Custom messages"): targets registered by kernel code receive
 * comm_open from the front end; comms opened in the kernel send comm_open to it. Both kinds
 * then exchange comm_msg and end with comm_close, in either direction.
 */
import { randomUUID } from "crypto";
import type { Message } from "./wire";
import { log } from "./log";

export type CommData = Record<string, unknown>;
export type CommMsgHandler = (data: CommData, msg: { buffers: Buffer[]; metadata: Record<string, unknown> }) => void;
export type CommTargetHandler = (comm: Comm, data: CommData, msg: { buffers: Buffer[] }) => void;

/** Sends one comm message (comm_open, comm_msg, comm_close) to the front end over IOPub. */
export type CommSend = (msgType: string, content: Record<string, unknown>, buffers?: Buffer[]) => void;

export class Comm {
  private msgHandlers: CommMsgHandler[] = [];
  private closeHandlers: Array<(data: CommData) => void> = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly sendRaw: CommSend,
    private readonly onClosed: () => void,
  ) {}

  send(data: CommData = {}, buffers: Buffer[] = []): void {
    if (this.closed) throw new Error(`comm ${this.id} (${this.targetName}) is closed; expected an open comm`);
    this.sendRaw("comm_msg", { comm_id: this.id, data }, buffers);
  }

  onMsg(handler: CommMsgHandler): void {
    this.msgHandlers.push(handler);
  }

  onClose(handler: (data: CommData) => void): void {
    this.closeHandlers.push(handler);
  }

  /** Closes from the kernel side and tells the front end. */
  close(data: CommData = {}): void {
    if (this.closed) return;
    this.sendRaw("comm_close", { comm_id: this.id, data });
    this.closedBy(data);
  }

  /** @internal */
  received(data: CommData, buffers: Buffer[], metadata: Record<string, unknown>): void {
    for (const h of this.msgHandlers) h(data, { buffers, metadata });
  }

  /** @internal */
  closedBy(data: CommData): void {
    this.closed = true;
    this.onClosed();
    for (const h of this.closeHandlers) h(data);
  }
}

export class CommManager {
  private readonly targets = new Map<string, CommTargetHandler>();
  private readonly comms = new Map<string, Comm>();

  constructor(private readonly send: CommSend) {}

  registerTarget(name: string, handler: CommTargetHandler): void {
    this.targets.set(name, handler);
  }

  unregisterTarget(name: string): void {
    this.targets.delete(name);
  }

  /** Opens a comm from the kernel side on the front end's target `targetName`. */
  open(targetName: string, data: CommData = {}, buffers: Buffer[] = []): Comm {
    const comm = this.add(randomUUID().replace(/-/g, ""), targetName);
    this.send("comm_open", { comm_id: comm.id, target_name: targetName, data }, buffers);
    return comm;
  }

  handleOpen(msg: Message): void {
    const { comm_id, target_name, data } = msg.content;
    const handler = this.targets.get(target_name);
    if (!handler) {
      log(`comm_open for unknown target "${target_name}"; closing comm ${comm_id}`);
      this.send("comm_close", { comm_id, data: {} });
      return;
    }
    const comm = this.add(comm_id, target_name);
    try {
      handler(comm, data ?? {}, { buffers: msg.buffers });
    } catch (e) {
      log(`comm target "${target_name}" failed on open: ${(e as Error).stack}`);
    }
  }

  handleMsg(msg: Message): void {
    const comm = this.comms.get(msg.content.comm_id);
    if (!comm) return void log(`comm_msg for unknown comm ${msg.content.comm_id}`);
    try {
      comm.received(msg.content.data ?? {}, msg.buffers, msg.metadata);
    } catch (e) {
      log(`comm ${comm.id} (${comm.targetName}) handler failed: ${(e as Error).stack}`);
    }
  }

  handleClose(msg: Message): void {
    const comm = this.comms.get(msg.content.comm_id);
    if (comm) comm.closedBy(msg.content.data ?? {});
  }

  /** comm_info_reply content: open comms, optionally only those of one target. */
  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const c of this.comms.values()) {
      if (!targetName || c.targetName === targetName) out[c.id] = { target_name: c.targetName };
    }
    return out;
  }

  private add(id: string, targetName: string): Comm {
    const comm = new Comm(id, targetName, this.send, () => this.comms.delete(id));
    this.comms.set(id, comm);
    return comm;
  }
}
