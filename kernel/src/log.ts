/** Kernel diagnostics go to the kernel's own terminal, never to a notebook's output. */
const terminal = process.stderr.write.bind(process.stderr);

export function log(message: string): void {
  terminal(`[lora-recycle-ts] ${message}\n`);
}
