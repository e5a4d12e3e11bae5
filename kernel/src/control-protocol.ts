/**
 * The control comm between the JupyterLab extension and this kernel, defined once: the kernel
 * serves it (kernel.ts), the extension's Stop button uses it (extension/src/kernel-control.ts).
 * The front end opens a comm on CONTROL_TARGET and sends {"type": "stop"}; the kernel aborts the
 * running cell's `jupyter.signal` and answers {"type": "stopped", "running": bool}, or
 * {"type": "error", "message"} to any other message. No imports: the extension compiles it too.
 */
export const CONTROL_TARGET = "lora_recycle.control";

export interface StopRequest {
  type: "stop";
}

export type StopReply = { type: "stopped"; running: boolean } | { type: "error"; message: string };
