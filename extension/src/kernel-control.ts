/**
 * Stopping a run from the front end: the renderer asks the plugin (which knows the shell) for the
 * kernel of the notebook its node sits in, opens a comm on the kernel's control target and sends
 * {"type": "stop"} (the protocol: kernel/src/control-protocol.ts).
 */
import type { Kernel } from '@jupyterlab/services';
import { CONTROL_TARGET, type StopReply, type StopRequest } from '../../kernel/src/control-protocol';

export type { StopReply };

type KernelLocator = (node: HTMLElement) => Kernel.IKernelConnection | null;
let locator: KernelLocator = () => null;

/** Called once by the frontend plugin. */
export function setKernelLocator(find: KernelLocator): void {
  locator = find;
}

export function kernelFor(node: HTMLElement): Kernel.IKernelConnection | null {
  return locator(node);
}

export async function sendStop(kernel: Kernel.IKernelConnection, timeoutMs = 5000): Promise<StopReply> {
  const comm = kernel.createComm(CONTROL_TARGET);
  const reply = new Promise<StopReply>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from the kernel within ${timeoutMs} ms`)), timeoutMs);
    comm.onMsg = (msg) => {
      clearTimeout(timer);
      resolve(msg.content.data as unknown as StopReply);
    };
  });
  // Not awaiting `.done`: while a cell runs the kernel publishes no idle for comm messages.
  comm.open({}).done.catch(() => undefined);
  const request: StopRequest = { type: 'stop' };
  comm.send({ ...request }).done.catch(() => undefined);
  try {
    return await reply;
  } finally {
    if (!comm.isDisposed) comm.close();
  }
}
