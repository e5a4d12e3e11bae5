/**
 * The five ZeroMQ sockets of a kernel (shell, control, stdin, IOPub, heartbeat), bound from a
 * connection file. Incoming frames are decoded and verified here; anything malformed or wrongly
 * signed is logged to the kernel's terminal and dropped, and the socket keeps serving.
 */
import * as fs from "fs";
import * as zmq from "zeromq";
import { decode, encode, type Message, Signer, WireError } from "./wire";
import type { Worker } from "worker_threads";
import { startHeartbeat } from "./heartbeat";
import { log } from "./log";

export interface ConnectionInfo {
  transport: string;
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
}

export type Channel = "shell" | "control" | "stdin";
export type Handler = (channel: Channel, msg: Message) => void;

/**
 * Sends frames at once, so messages go out even while a synchronous cell blocks the event loop
 * (libzmq's I/O thread does the writing); a send refused as busy is retried.
 */
class SendQueue {
  constructor(private readonly socket: zmq.Writable) {}
  send(frames: Array<Buffer | string>): Promise<void> {
    const attempt = (): Promise<void> =>
      this.socket.send(frames).catch((e) => {
        if ((e as { code?: string }).code === "EBUSY") return new Promise<void>((r) => setImmediate(r)).then(attempt);
        log(`send failed: ${(e as Error).message}`);
      });
    return attempt();
  }
}

export class KernelSockets {
  readonly signer: Signer;
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private heartbeat: Worker | undefined;
  private readonly queues = new Map<Channel | "iopub", SendQueue>();
  /** How many incoming messages were rejected (bad signature, malformed). */
  rejected = 0;

  constructor(readonly info: ConnectionInfo) {
    this.signer = new Signer(info.key, info.signature_scheme);
    this.queues.set("shell", new SendQueue(this.shell));
    this.queues.set("control", new SendQueue(this.control));
    this.queues.set("stdin", new SendQueue(this.stdin));
    this.queues.set("iopub", new SendQueue(this.iopub));
  }

  static fromFile(path: string): KernelSockets {
    return new KernelSockets(JSON.parse(fs.readFileSync(path, "utf8")) as ConnectionInfo);
  }

  async bind(handler: Handler): Promise<void> {
    const addr = (port: number) =>
      this.info.transport === "ipc" ? `ipc://${this.info.ip}-${port}` : `${this.info.transport}://${this.info.ip}:${port}`;
    await Promise.all([
      this.shell.bind(addr(this.info.shell_port)),
      this.control.bind(addr(this.info.control_port)),
      this.stdin.bind(addr(this.info.stdin_port)),
      this.iopub.bind(addr(this.info.iopub_port)),
      startHeartbeat(addr(this.info.hb_port)).then((w) => (this.heartbeat = w)),
    ]);
    void this.receive("shell", this.shell, handler);
    void this.receive("control", this.control, handler);
    void this.receive("stdin", this.stdin, handler);
  }

  private async receive(channel: Channel, socket: zmq.Router, handler: Handler): Promise<void> {
    for await (const frames of socket) {
      let msg: Message;
      try {
        msg = decode(frames, this.signer);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        this.rejected += 1;
        log(`rejected a message on ${channel}: ${e.message}`);
        continue;
      }
      try {
        handler(channel, msg);
      } catch (e) {
        log(`handler for ${msg.header.msg_type} failed: ${(e as Error).stack}`);
      }
    }
  }

  send(channel: Channel | "iopub", msg: Message): Promise<void> {
    return this.queues.get(channel)!.send(encode(msg, this.signer));
  }

  close(): void {
    for (const s of [this.shell, this.control, this.stdin, this.iopub]) s.close();
    void this.heartbeat?.terminate();
  }
}
