/**
 * Installs the kernelspec ("TypeScript (LoRA Recycle)") into a Jupyter data directory:
 * --user, --sys-prefix (of the Python given by --python, default the active venv) or --prefix.
 * The spec runs this Node binary on this checkout's kernel/dist/main.js.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const KERNEL_NAME = "lora-recycle-ts";
export const DISPLAY_NAME = "TypeScript (LoRA Recycle)";

export interface InstallOptions {
  target: "user" | "sys-prefix" | "prefix";
  prefix?: string;
  python?: string;
  name?: string;
}

export function kernelSpec(): Record<string, unknown> {
  return {
    argv: [process.execPath, path.join(__dirname, "main.js"), "kernel", "--connection-file", "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { debugger: false },
  };
}

export function kernelsDir(opts: InstallOptions): string {
  switch (opts.target) {
    case "prefix":
      if (!opts.prefix) throw new Error("install --prefix: expected a directory, found nothing");
      return path.join(path.resolve(opts.prefix), "share", "jupyter", "kernels");
    case "sys-prefix": {
      const python = opts.python ?? (process.env.VIRTUAL_ENV ? path.join(process.env.VIRTUAL_ENV, "bin", "python") : "python3");
      const prefix = execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
      return path.join(prefix, "share", "jupyter", "kernels");
    }
    case "user":
      return path.join(userDataDir(), "kernels");
  }
}

function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? os.homedir(), "jupyter");
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"), "jupyter");
}

/** Writes <kernels>/<name>/kernel.json atomically (temp dir + rename); returns the spec dir. */
export function install(opts: InstallOptions): string {
  const dir = path.join(kernelsDir(opts), opts.name ?? KERNEL_NAME);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  fs.writeFileSync(path.join(tmp, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}
