/**
 * The heartbeat socket, echoed from a worker thread so the kernel answers heartbeats even while a
 * synchronous cell blocks the main event loop (as ipykernel's heartbeat thread does).
 */
import { isMainThread, parentPort, Worker, workerData } from "worker_threads";
import * as zmq from "zeromq";

/** Starts the echo worker bound to `address`; resolves once it is bound. */
export function startHeartbeat(address: string): Promise<Worker> {
  const worker = new Worker(__filename, { workerData: { address } });
  worker.unref();
  return new Promise((resolve, reject) => {
    worker.once("message", (m) => (m === "bound" ? resolve(worker) : reject(new Error(String(m)))));
    worker.once("error", reject);
  });
}

async function echo(address: string): Promise<void> {
  const socket = new zmq.Reply();
  try {
    await socket.bind(address);
  } catch (e) {
    parentPort?.postMessage(`heartbeat: cannot bind ${address}: ${(e as Error).message}`);
    return;
  }
  parentPort?.postMessage("bound");
  for await (const frames of socket) await socket.send(frames);
}

if (!isMainThread && workerData?.address) void echo(workerData.address);
